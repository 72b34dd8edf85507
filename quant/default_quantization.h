// DefaultQuantization (pot-spec §3.1): POT's default pipeline on a graph whose FakeQuantize
// layers placement already inserted (a QuantizationPlan):
//   1. ActivationChannelAlignment: its own statistics pass on the FP32 model, then it edits
//      weights and biases in place and marks convolutions need_rescale;
//   2. one statistics pass on the ACA-modified FP32 model (every FakeQuantize bypassed) for
//      MinMaxQuantization and FastBiasCorrection together (BiasCorrection collects its own
//      FP32 statistics on its first 20% of the samples, also before any weight changes);
//   3. MinMaxQuantization fills every FQ (saturation fix included);
//   4. FastBiasCorrection (use_fast_bias, the default) or BiasCorrection.
// (OverflowCorrection for GNA and layer-wise fine-tuning are not implemented.)
//
// Thread-safety: Run edits the graph it is given; the options are plain values.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/bias_correction.h"
#include "quant/channel_alignment.h"
#include "quant/engine.h"
#include "quant/fast_bias_correction.h"
#include "quant/minmax.h"
#include "quant/quantization_plan.h"

namespace ptqflow::quant {

struct DefaultQuantizationOptions {
  MinMaxOptions minmax;  // range estimators, target device, saturation fix
  ActivationChannelAlignmentOptions channel_alignment;
  bool use_fast_bias = true;              // `use_fast_bias` (POT default true)
  FastBiasCorrectionOptions fast_bias;    // threshold 2.0
  BiasCorrectionOptions bias_correction;  // threshold 1000
};

// What the algorithms did, for logs and reports.
struct QuantizationReport {
  std::set<graph::NodeId> need_rescale;     // ActivationChannelAlignment's aligned consumers
  std::vector<FittedFq> fitted;             // MinMaxQuantization, parallel to plan.fqs
  std::vector<BiasCorrectionEntry> biases;  // Fast/BiasCorrection decisions
  int statistics_passes = 0;                // Engine::Collect calls
  // The Consts (weights, biases) that the saturation fix and bias correction changed, with the
  // value each had before (after ActivationChannelAlignment): what AccuracyAwareQuantization
  // restores when it returns an op to FP32. Tensors share storage; no bytes are copied.
  std::map<graph::NodeId, graph::Tensor> fp32_constants;
};

Result<QuantizationReport> RunDefaultQuantization(graph::Graph* g, const QuantizationPlan& plan,
                                                  Engine* engine,
                                                  const DefaultQuantizationOptions& options);

}  // namespace ptqflow::quant
