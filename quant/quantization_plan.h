// QuantizationPlan: what FakeQuantize placement (quant/placement.h) decided, handed to the
// range-fitting and bias-correction algorithms (MinMaxQuantization, FastBiasCorrection, ...).
//
// Placement inserts every FakeQuantize-1 node into the graph with placeholder limits (Const
// f32 inputs 1..4 of the right per-tensor/per-channel shape, values 0) and the final `levels`
// attribute, and describes each one here. The fitting algorithm computes the statistics each FQ
// needs on the FQ's input value and overwrites the four limit constants in place.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/fake_quantize.h"
#include "quant/hardware_config.h"

namespace ptqflow::quant {

struct FqInfo {
  graph::NodeId fq = -1;  // the FakeQuantize node (its name follows POT's naming)
  graph::ValueRef input;  // the quantized value (FQ input 0): a weight Const or an activation
  TensorRole role = TensorRole::kActivations;
  QuantConfig config;  // chosen config (bits, mode, granularity, level_low/high)
  LevelsInfo levels;   // ComputeLevels(config) as written to the FQ's `levels`
  // Channel axis of a per-channel FQ in the quantized tensor: output channels of a weight
  // (0, or 1 for ConvolutionBackpropData/transposed MatMul weights as the op requires), 1 for
  // activations. Unused for per-tensor FQs.
  int channel_axis = 0;
  // The quantized ops consuming the FQ output, with the input port each uses.
  std::vector<std::pair<graph::NodeId, int>> consumers;
  // Weights of the first convolution-like op after a model input and of ops POT marks
  // `need_rescale` (ActivationChannelAlignment): the saturation fix applies here when
  // saturation_fix = "first_layer" (pot-spec §2.4).
  bool saturation_fix_candidate = false;
};

struct QuantizationPlan {
  std::vector<FqInfo> fqs;  // in graph topological order of the FQ nodes
  // Groups of indices into `fqs` whose scales must be unified (Concat inputs and other
  // `unified_scales` ops, pot-spec §4.4); each group has >= 2 members.
  std::vector<std::vector<int>> unified_groups;

  // Index of the FqInfo describing node `fq`, or -1.
  int Find(graph::NodeId fq) const {
    for (size_t i = 0; i < fqs.size(); ++i) {
      if (fqs[i].fq == fq) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace ptqflow::quant
