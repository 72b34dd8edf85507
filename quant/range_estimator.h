// Range estimators (pot-spec §3.3): which statistics to collect for one FakeQuantize and how
// to turn them into (min, max), with POT's `default` table and `quantile` preset, and every key
// (type, aggregator, outlier_prob, clipping_value, granularity) overridable for the min and max
// sides separately, for weights and activations separately.
//
// POT default table (per FQ, by tensor role, granularity and mode):
//   activations pertensor  symmetric : min = min / min      max = abs_max / mean
//   activations pertensor  asymmetric: min = min / mean     max = max / mean
//   activations perchannel symmetric : min = min (pertensor) / min
//                                      max = abs_max / max
//   activations perchannel asymmetric: min = min / min      max = max / max
//   weights symmetric : max = abs_max (no min statistic)
//   weights asymmetric: min = min, max = max
// Weights have no aggregator (the statistic is computed once on the constant). The `quantile`
// preset changes min/max types to quantile and abs_max to abs_quantile, with outlier_prob 1e-4;
// the min side uses q = outlier_prob, the max side q = 1 - outlier_prob.
//
// Thread-safety: pure functions and plain structs.
#pragma once

#include <optional>
#include <string>

#include "graph/status.h"
#include "quant/fake_quantize.h"
#include "quant/statistics.h"

namespace ptqflow::quant {

// User overrides of one side (min or max) of a range estimator; unset keys keep the preset.
struct EstimatorSideConfig {
  std::optional<StatType> type;
  std::optional<Aggregator> aggregator;
  std::optional<double> outlier_prob;
  std::optional<float> clipping_value;
  std::optional<Granularity> granularity;
};

// `range_estimator` section of a weights/activations config.
struct RangeEstimatorConfig {
  std::string preset = "default";  // "default" or "quantile"
  EstimatorSideConfig min;
  EstimatorSideConfig max;
};

// What to collect for one side and how to aggregate it.
struct StatisticPlan {
  bool needed = false;  // false: this side is not used (symmetric weights' min)
  StatType type = StatType::kMax;
  double quantile = 0.0;  // for quantile types: outlier_prob (min) or 1 - outlier_prob (max)
  double outlier_prob = 0.0;
  Granularity granularity = Granularity::kPerTensor;
  Aggregator aggregator = Aggregator::kMean;  // activations only
  std::optional<float> clipping_value;

  // The per-sample reduction for an activation tensor (channel axis 1 when per channel).
  ReductionSpec Reduction(int channel_axis = 1) const;
};

struct RangeEstimatorPlan {
  StatisticPlan min;
  StatisticPlan max;
};

// Builds the plan for an FQ. Errors name the bad key: unknown preset, outlier_prob outside
// [0, 1), a per-channel side for a per-tensor FQ, or a quantile type without outlier_prob
// (which the presets always provide).
Result<RangeEstimatorPlan> PlanRangeEstimator(TensorRole role, QuantMode mode,
                                              Granularity granularity,
                                              const RangeEstimatorConfig& config);

}  // namespace ptqflow::quant
