#include "quant/range_estimator.h"

namespace ptqflow::quant {

ReductionSpec StatisticPlan::Reduction(int channel_axis) const {
  ReductionSpec spec;
  spec.type = type;
  spec.quantile = quantile;
  spec.per_channel = granularity == Granularity::kPerChannel;
  spec.channel_axis = channel_axis;
  return spec;
}

namespace {

constexpr double kQuantileOutlierProb = 1e-4;

StatisticPlan Side(StatType type, Aggregator agg, Granularity g) {
  StatisticPlan p;
  p.needed = true;
  p.type = type;
  p.aggregator = agg;
  p.granularity = g;
  return p;
}

StatType ToQuantileType(StatType t) {
  switch (t) {
    case StatType::kMin:
    case StatType::kMax:
      return StatType::kQuantile;
    case StatType::kAbsMax:
      return StatType::kAbsQuantile;
    default:
      return t;
  }
}

Status ApplyOverrides(const char* side_name, bool is_min, const EstimatorSideConfig& o,
                      Granularity fq_granularity, StatisticPlan* p) {
  const std::string key = std::string("range_estimator.") + side_name;
  if (o.type) p->type = *o.type;
  if (o.aggregator) p->aggregator = *o.aggregator;
  if (o.outlier_prob) {
    if (!(*o.outlier_prob >= 0.0 && *o.outlier_prob < 1.0)) {
      return Status::Error(key + ".outlier_prob must be in [0, 1), got " +
                           std::to_string(*o.outlier_prob));
    }
    p->outlier_prob = *o.outlier_prob;
  }
  if (o.clipping_value) p->clipping_value = o.clipping_value;
  if (o.granularity) {
    if (*o.granularity == Granularity::kPerChannel && fq_granularity == Granularity::kPerTensor) {
      return Status::Error(key +
                           ".granularity: perchannel statistics for a pertensor "
                           "FakeQuantize are not possible");
    }
    p->granularity = *o.granularity;
  }
  if (p->type == StatType::kQuantile || p->type == StatType::kAbsQuantile) {
    p->quantile = is_min ? p->outlier_prob : 1.0 - p->outlier_prob;
  }
  return Status::Ok();
}

}  // namespace

Result<RangeEstimatorPlan> PlanRangeEstimator(TensorRole role, QuantMode mode,
                                              Granularity granularity,
                                              const RangeEstimatorConfig& config) {
  if (config.preset != "default" && config.preset != "quantile") {
    return Status::Error("range_estimator.preset: unknown preset \"" + config.preset +
                         "\" (expected \"default\" or \"quantile\")");
  }
  const bool sym = mode == QuantMode::kSymmetric;
  RangeEstimatorPlan plan;
  if (role == TensorRole::kWeights) {
    // Aggregator is meaningless for weights; keep the default value.
    if (!sym) plan.min = Side(StatType::kMin, Aggregator::kMin, granularity);
    plan.max = Side(sym ? StatType::kAbsMax : StatType::kMax, Aggregator::kMax, granularity);
  } else if (granularity == Granularity::kPerTensor) {
    plan.min =
        Side(StatType::kMin, sym ? Aggregator::kMin : Aggregator::kMean, Granularity::kPerTensor);
    plan.max =
        Side(sym ? StatType::kAbsMax : StatType::kMax, Aggregator::kMean, Granularity::kPerTensor);
  } else {
    plan.min = Side(StatType::kMin, Aggregator::kMin,
                    sym ? Granularity::kPerTensor : Granularity::kPerChannel);
    plan.max =
        Side(sym ? StatType::kAbsMax : StatType::kMax, Aggregator::kMax, Granularity::kPerChannel);
  }
  if (config.preset == "quantile") {
    for (StatisticPlan* p : {&plan.min, &plan.max}) {
      if (!p->needed) continue;
      p->type = ToQuantileType(p->type);
      p->outlier_prob = kQuantileOutlierProb;
    }
  }
  if (plan.min.needed) {
    PTQ_RETURN_IF_ERROR(ApplyOverrides("min", true, config.min, granularity, &plan.min));
  }
  PTQ_RETURN_IF_ERROR(ApplyOverrides("max", false, config.max, granularity, &plan.max));
  return plan;
}

}  // namespace ptqflow::quant
