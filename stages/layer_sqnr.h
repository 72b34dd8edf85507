// Per-layer SQNR of a quantized model against its FP32 original, for the run report: both models
// run on the same few samples with a tap on each measured layer's output, and for each layer
//
//   SQNR = 10 · log10( Σ ref² / Σ (ref − q)² )   [dB]
//
// where ref is the FP32 model's value, q the quantized model's value, and the sums run over every
// element of every sample (the same aggregation as the `sqnr` metric of quant/metrics.h, so more
// samples sharpen the estimate instead of averaging decibels). +inf when the values are
// identical; -inf when the FP32 value is all zeros and the quantized one is not.
//
// The measured layers are the ops that read a FakeQuantize output (QuantizedLayers: the
// convolutions, MatMuls, ... whose inputs and weights are quantized); their outputs include the
// error of every quantized layer before them, as a user sees it. The quantized graph must be a
// copy of the FP32 graph with nodes only added (what PlaceFakeQuantize and the algorithms do:
// node ids never change), so a layer id denotes the same layer in both; a layer whose id names
// another node in the FP32 graph is an error naming it.
//
// Ownership: borrows everything for the call. Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "io/data/dataset.h"
#include "quant/quantization_plan.h"

namespace ptqflow::stages {

struct LayerSqnrOptions {
  int threads = 1;  // intra-op threads of the one session per model (0 = all cores)
  // Measure a layer after the bias Add that follows it (an Add with a Const input that is the
  // only reader of the layer's output), so what bias correction changed counts: a convolution
  // imported from ONNX is Convolution -> Add(bias).
  bool after_bias_add = true;
};

struct LayerSqnr {
  graph::NodeId id = graph::kNoNode;
  std::string name;  // the layer's name (same in both graphs)
  std::string type;  // op type, e.g. "Convolution"
  // The value measured: output 0 of the layer, or of its bias Add (after_bias_add).
  graph::ValueRef value;
  std::string measured;  // name of the node producing `value`
  double sqnr_db = 0.0;
  double signal = 0.0;  // Σ ref² (the FP32 output's energy over the samples)
  double noise = 0.0;   // Σ (ref − q)²
};

// The ops reading a FakeQuantize output of `plan` (FqInfo::consumers), once each, in the order
// of `plan.fqs` (topological).
std::vector<graph::NodeId> QuantizedLayers(const quant::QuantizationPlan& plan);

// Runs `fp32` and `quantized` on the dataset samples `sample_indices` (dynamic input dimensions
// fixed from each sample) and returns one entry per layer of `layers` (ids in `quantized`),
// measured on output port 0 (or its bias Add's), in the given order. Errors: a sample that cannot
// be read or run (names the sample), a layer missing from `fp32`, a layer output that is not f32 or
// whose shapes differ between the models (names the layer).
Result<std::vector<LayerSqnr>> ComputeLayerSqnr(const graph::Graph& fp32,
                                                const graph::Graph& quantized,
                                                std::span<const graph::NodeId> layers,
                                                const io::Dataset& dataset,
                                                std::span<const size_t> sample_indices,
                                                const LayerSqnrOptions& options = {});

}  // namespace ptqflow::stages
