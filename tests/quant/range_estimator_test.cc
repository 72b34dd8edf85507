#include "quant/range_estimator.h"

#include <gtest/gtest.h>

namespace ptqflow::quant {
namespace {

RangeEstimatorPlan Plan(TensorRole role, QuantMode mode, Granularity g,
                        const RangeEstimatorConfig& cfg = {}) {
  auto r = PlanRangeEstimator(role, mode, g, cfg);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : RangeEstimatorPlan{};
}

TEST(RangeEstimatorTest, PotDefaultTableForActivations) {
  auto sym = Plan(TensorRole::kActivations, QuantMode::kSymmetric, Granularity::kPerTensor);
  EXPECT_EQ(sym.min.type, StatType::kMin);
  EXPECT_EQ(sym.min.aggregator, Aggregator::kMin);
  EXPECT_EQ(sym.max.type, StatType::kAbsMax);
  EXPECT_EQ(sym.max.aggregator, Aggregator::kMean);
  auto asym = Plan(TensorRole::kActivations, QuantMode::kAsymmetric, Granularity::kPerTensor);
  EXPECT_EQ(asym.min.aggregator, Aggregator::kMean);
  EXPECT_EQ(asym.max.type, StatType::kMax);
  EXPECT_EQ(asym.max.aggregator, Aggregator::kMean);
  auto ch = Plan(TensorRole::kActivations, QuantMode::kSymmetric, Granularity::kPerChannel);
  EXPECT_EQ(ch.min.granularity, Granularity::kPerTensor);  // sign test is per tensor
  EXPECT_EQ(ch.max.granularity, Granularity::kPerChannel);
  EXPECT_EQ(ch.max.aggregator, Aggregator::kMax);
  EXPECT_TRUE(ch.max.Reduction().per_channel);
  EXPECT_FALSE(ch.min.Reduction().per_channel);
}

TEST(RangeEstimatorTest, PotDefaultTableForWeights) {
  auto sym = Plan(TensorRole::kWeights, QuantMode::kSymmetric, Granularity::kPerChannel);
  EXPECT_FALSE(sym.min.needed);
  EXPECT_EQ(sym.max.type, StatType::kAbsMax);
  auto asym = Plan(TensorRole::kWeights, QuantMode::kAsymmetric, Granularity::kPerChannel);
  EXPECT_TRUE(asym.min.needed);
  EXPECT_EQ(asym.min.type, StatType::kMin);
  EXPECT_EQ(asym.max.type, StatType::kMax);
}

TEST(RangeEstimatorTest, QuantilePreset) {
  RangeEstimatorConfig cfg;
  cfg.preset = "quantile";
  auto p = Plan(TensorRole::kActivations, QuantMode::kAsymmetric, Granularity::kPerTensor, cfg);
  EXPECT_EQ(p.min.type, StatType::kQuantile);
  EXPECT_DOUBLE_EQ(p.min.quantile, 1e-4);
  EXPECT_EQ(p.max.type, StatType::kQuantile);
  EXPECT_DOUBLE_EQ(p.max.quantile, 1.0 - 1e-4);
  auto s = Plan(TensorRole::kActivations, QuantMode::kSymmetric, Granularity::kPerTensor, cfg);
  EXPECT_EQ(s.max.type, StatType::kAbsQuantile);
  EXPECT_EQ(s.max.aggregator, Aggregator::kMean);
}

TEST(RangeEstimatorTest, OverridesEveryKey) {
  RangeEstimatorConfig cfg;
  cfg.max.type = StatType::kQuantile;
  cfg.max.outlier_prob = 0.01;
  cfg.max.aggregator = Aggregator::kMedian;
  cfg.max.clipping_value = 6.0f;
  cfg.min.aggregator = Aggregator::kHlEstimator;
  auto p = Plan(TensorRole::kActivations, QuantMode::kAsymmetric, Granularity::kPerTensor, cfg);
  EXPECT_EQ(p.max.type, StatType::kQuantile);
  EXPECT_DOUBLE_EQ(p.max.quantile, 0.99);
  EXPECT_EQ(p.max.aggregator, Aggregator::kMedian);
  EXPECT_EQ(p.max.clipping_value, 6.0f);
  EXPECT_EQ(p.min.aggregator, Aggregator::kHlEstimator);
}

TEST(RangeEstimatorTest, RejectsBadConfig) {
  RangeEstimatorConfig bad_preset;
  bad_preset.preset = "fancy";
  EXPECT_FALSE(PlanRangeEstimator(TensorRole::kActivations, QuantMode::kSymmetric,
                                  Granularity::kPerTensor, bad_preset)
                   .ok());
  RangeEstimatorConfig bad_prob;
  bad_prob.max.outlier_prob = 1.5;
  auto r = PlanRangeEstimator(TensorRole::kActivations, QuantMode::kSymmetric,
                              Granularity::kPerTensor, bad_prob);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("range_estimator.max.outlier_prob"), std::string::npos);
  RangeEstimatorConfig bad_gran;
  bad_gran.max.granularity = Granularity::kPerChannel;
  EXPECT_FALSE(PlanRangeEstimator(TensorRole::kActivations, QuantMode::kSymmetric,
                                  Granularity::kPerTensor, bad_gran)
                   .ok());
}

}  // namespace
}  // namespace ptqflow::quant
