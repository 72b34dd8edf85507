// MinMaxQuantization: fills the FakeQuantize layers that placement inserted (a
// QuantizationPlan) with POT's ranges (pot-spec §2, §3.3, §4.4).
//
// Per FQ of the plan:
//   activations: the range estimator's min/max statistics of the FQ input, one value per
//                index of axis 0 of every calibration sample (Engine::Collect, one pass for all
//                FQs, on the FP32 view of the graph: every FakeQuantize bypassed), then the
//                estimator's aggregators;
//   weights:     the statistic computed directly on the constant, per output channel
//                (FqInfo::channel_axis) or per tensor;
//   then levels from the plan, the symmetric range (il = -m·levels/(levels-2) for signed
//   activations, ±m for weights) or the asymmetric range (zero-filter fixes, clamp to contain
//   0, tune_range), the clipping_value of each side, and the saturation fix on the selected
//   weight FQs (their weight Const divided by 2, ol/oh = 2·il/ih). Last, every unified-scales
//   group gets il = min over the group and ih = max over the group, ol = il, oh = ih, without
//   re-symmetrising (POT's unify_fq_scales).
// The four limit Consts of each FQ (inputs 1..4, created by placement) are overwritten in
// place with f32 data of their existing shape; the FQ's `levels` attribute is set.
//
// Saturation fix targets (POT's set_rescaling_factors): nothing unless target_device is CPU or
// ANY, the graph has a (Group)Convolution and saturation_fix != kNo; kFirstLayer: the weight
// FQs the plan marks saturation_fix_candidate; kAll: the weight FQs of every op with weights
// (input port 1); both plus the weight FQs of the ops in `need_rescale` (from
// ActivationChannelAlignment).
//
// Thread-safety: a MinMaxQuantization is immutable; Run edits the graph it is given.
#pragma once

#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/engine.h"
#include "quant/fake_quantize.h"
#include "quant/quantization_plan.h"
#include "quant/range_estimator.h"

namespace ptqflow::quant {

enum class SaturationFix { kFirstLayer, kAll, kNo };
const char* SaturationFixName(SaturationFix s);  // "first_layer", "all", "no"
// Error names the config key `saturation_fix` and the bad value.
Result<SaturationFix> ParseSaturationFix(const std::string& s);

struct MinMaxOptions {
  // range_estimator of the weights / activations sections (default: preset "default", no
  // overrides = POT's table).
  RangeEstimatorConfig weights_range_estimator;
  RangeEstimatorConfig activations_range_estimator;
  // compression.target_device; the saturation fix applies on "CPU" and "ANY" only.
  std::string target_device = "ANY";
  // saturation_fix: POT's default is first_layer.
  SaturationFix saturation_fix = SaturationFix::kFirstLayer;
  // POT's scaling factor of the saturation fix (fixed at 2 in POT).
  float saturation_scaling_factor = 2.0f;
};

// What MinMax computed for one FQ (also what it wrote into the graph).
struct FittedFq {
  FqParams params;        // final limits, as written
  FqParams before_unify;  // the FQ's own range before unified-scales groups were applied
  bool saturation_fixed = false;
};

class MinMaxQuantization {
 public:
  explicit MinMaxQuantization(MinMaxOptions options) : options_(std::move(options)) {}

  // Statistic requests of the activation FQs of `plan`, on values of `g` (deduplicated).
  // `request_of_fq` (optional) receives, per plan entry, the indices of its min and max
  // requests (-1 when unused / weights).
  Result<std::vector<StatRequest>> ActivationRequests(
      const graph::Graph& g, const QuantizationPlan& plan,
      std::vector<std::pair<int, int>>* request_of_fq) const;

  // One FitJob per plan entry for the Collect of ActivationRequests' requests (weight entries
  // do not need statistics): job i writes entry i's range before the saturation fix and
  // unified scales (its statistics — activations: aggregated from the pass's results, read
  // from position `first_result`; weights: computed on the constant — turned into limits, with
  // the clipping values applied) to (*ranges)[i]. Jobs read `g` only. `g`, `plan` and `ranges` must
  // outlive the Collect and `g` must not change during it.
  std::vector<FitJob> FitJobs(const graph::Graph& g, const QuantizationPlan& plan,
                              size_t first_result,
                              std::vector<std::optional<FqParams>>* ranges) const;

  // Computes and writes every FQ's limits. `results` are the Collect results of the requests
  // from ActivationRequests (same order). `need_rescale` lists ops whose weight FQ gets the
  // saturation fix whatever saturation_fix selects (except kNo). `ranges`, when not empty, holds
  // what FitJobs computed (one per plan entry); entries without a value are fitted here.
  Result<std::vector<FittedFq>> Fit(graph::Graph* g, const QuantizationPlan& plan,
                                    std::span<const StatResult> results,
                                    const std::set<graph::NodeId>& need_rescale = {},
                                    std::span<const std::optional<FqParams>> ranges = {}) const;

  // ActivationRequests + one Engine::Collect on BypassFakeQuantize(*g) with FitJobs + Fit.
  Result<std::vector<FittedFq>> Run(graph::Graph* g, const QuantizationPlan& plan, Engine* engine,
                                    const std::set<graph::NodeId>& need_rescale = {}) const;

  const MinMaxOptions& options() const { return options_; }

 private:
  // The range of one entry (as a FitJob computes it) whose min / max requests are at
  // `requests` in `results`. Reads `g` only.
  Result<FqParams> FitEntry(const graph::Graph& g, const FqInfo& info,
                            std::span<const StatResult> results,
                            std::pair<int, int> requests) const;

  MinMaxOptions options_;
};

// Overwrites the four limit Consts (inputs 1..4) of FakeQuantize `fq` with `p` (one value, or
// one per channel matching the Const's element count) and sets `levels`. Errors name the FQ.
Status WriteFqLimits(graph::Graph* g, graph::NodeId fq, const FqParams& p);
// Reads the four limits of a FakeQuantize (as float32, flattened) and its levels.
Result<FqParams> ReadFqLimits(const graph::Graph& g, graph::NodeId fq);

}  // namespace ptqflow::quant
