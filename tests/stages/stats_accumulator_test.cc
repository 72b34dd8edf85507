// StatsAccumulator: samples appended in order come out in order, whatever blocks the
// accumulator buffers them in, and a sample that does not fit is refused by its own Append.
#include <gtest/gtest.h>

#include "graph/ops/shape_inference.h"
#include "stages/sample_stats.h"

namespace ptqflow::stages {
namespace {

using quant::StatKind;
using quant::StatRequest;

// Requests: 0 per tensor (1 value), 1 per channel (3 values), 2 the shape.
std::vector<StatRequest> Requests() {
  std::vector<StatRequest> r(3);
  r[0].reduction.type = quant::StatType::kMin;
  r[1].reduction.type = quant::StatType::kMax;
  r[1].reduction.per_channel = true;
  r[2].kind = StatKind::kShape;
  return r;
}

// Sample k: request 0 gives k, request 1 gives {k, 10k, 100k}; its shape is [1, k]. With
// `swapped`, request 1's values come first in the buffer (another production order).
SampleStats Sample(int k, bool swapped = false, int64_t channels = 3) {
  SampleStats s;
  s.per_request.resize(3);
  const float v0 = static_cast<float>(k);
  std::vector<float> v1;
  for (int64_t c = 0; c < channels; ++c) {
    v1.push_back(static_cast<float>(k) * (c == 0 ? 1 : c == 1 ? 10 : 100));
  }
  s.per_request[0] = {1, 1, swapped ? v1.size() : size_t{0}};
  s.per_request[1] = {1, channels, swapped ? size_t{0} : size_t{1}};
  if (swapped) {
    s.values = v1;
    s.values.push_back(v0);
  } else {
    s.values = {v0};
    s.values.insert(s.values.end(), v1.begin(), v1.end());
  }
  s.per_request[2].offset = 0;
  s.others.emplace_back().shape = graph::Shape{1, k};
  return s;
}

void ExpectSamples(const quant::CollectedStats& st, int n) {
  ASSERT_EQ(st.num_samples, static_cast<size_t>(n));
  ASSERT_TRUE(st.results[0].samples.has_value());
  ASSERT_TRUE(st.results[1].samples.has_value());
  const std::vector<float>& a = st.results[0].samples->values();
  const std::vector<float>& b = st.results[1].samples->values();
  ASSERT_EQ(a.size(), static_cast<size_t>(n));
  ASSERT_EQ(b.size(), static_cast<size_t>(3 * n));
  ASSERT_EQ(st.results[0].samples->batch_sizes().size(), static_cast<size_t>(n));
  ASSERT_EQ(st.results[2].shapes.size(), static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    EXPECT_EQ(a[k], static_cast<float>(k)) << k;
    EXPECT_EQ(b[3 * k], static_cast<float>(k)) << k;
    EXPECT_EQ(b[3 * k + 1], 10.0f * k) << k;
    EXPECT_EQ(b[3 * k + 2], 100.0f * k) << k;
    EXPECT_EQ(st.results[2].shapes[k], (graph::Shape{1, k})) << k;
  }
}

TEST(StatsAccumulatorTest, BufferedBlocksComeOutInSampleOrder) {
  StatsAccumulator acc(Requests(), {"r0", "r1", "r2"});
  acc.Reserve(150);
  // 150 samples: more than two blocks; the layout changes at 70 and back at 100.
  for (int k = 0; k < 150; ++k) {
    ASSERT_TRUE(acc.Append(Sample(k, k >= 70 && k < 100)).ok()) << k;
    if (k == 69) ExpectSamples(acc.stats(), 70);  // mid-pass, as a checkpoint reads it
  }
  EXPECT_EQ(acc.num_samples(), 150u);
  ExpectSamples(acc.Release(), 150);
}

TEST(StatsAccumulatorTest, ASampleThatDoesNotFitIsRefusedByItsOwnAppend) {
  StatsAccumulator acc(Requests(), {"r0", "r1", "r2"});
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(acc.Append(Sample(k)).ok());
  // Four channels where the earlier samples had three, while they are still buffered.
  const Status st = acc.Append(Sample(5, false, 4));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("r1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("4 channels"), std::string::npos) << st.message();
  // Nothing of it was kept; the pass could go on with fitting samples.
  EXPECT_EQ(acc.num_samples(), 5u);
  ASSERT_TRUE(acc.Append(Sample(5)).ok());
  ExpectSamples(acc.stats(), 6);
  SampleStats empty = Sample(6);
  empty.per_request[0].rows = 0;
  const Status st2 = acc.Append(empty);
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("r0"), std::string::npos) << st2.message();
  ExpectSamples(acc.Release(), 6);
}

// PlanCache: one plan per input shape; the plan a worker already has is reused only when the
// sample's inputs are exactly its inputs.
TEST(PlanCacheTest, CurrentPlanIsReusedOnlyForTheSameInputs) {
  graph::Graph g;
  const graph::NodeId x =
      g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({graph::kDynamicDim, 4}));
  const graph::NodeId two = g.AddConst("two", graph::Tensor::Scalar(2.f));
  const graph::NodeId mul = g.AddOp("Multiply", "mul", {{x, 0}, {two, 0}});
  g.AddResult("out", {mul, 0});
  ASSERT_TRUE(graph::ops::InferShapes(g).ok());
  PlanCache plans(g, exec::CompileOptions{});
  auto in = [](int64_t rows, const char* name = "x") {
    std::map<std::string, graph::Tensor> m;
    m.emplace(name, graph::Tensor::Allocate(graph::ElementType::kF32, {rows, 4}));
    return m;
  };
  auto one = plans.Get(in(1));
  ASSERT_TRUE(one.ok()) << one.status().message();
  auto again = plans.Get(in(1), *one);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *one);
  // Another shape: not the current plan, but its own, the same each time it is asked for.
  auto three = plans.Get(in(3), *one);
  ASSERT_TRUE(three.ok());
  EXPECT_NE(*three, *one);
  ASSERT_EQ((*three)->inputs().size(), 1u);
  EXPECT_EQ((*three)->inputs()[0].shape, (graph::Shape{3, 4}));
  auto three_again = plans.Get(in(3));
  ASSERT_TRUE(three_again.ok());
  EXPECT_EQ(*three_again, *three);
  // Another element type or an extra input: never the current plan.
  std::map<std::string, graph::Tensor> u8;
  u8.emplace("x", graph::Tensor::Allocate(graph::ElementType::kU8, {1, 4}));
  auto typed = plans.Get(u8, *one);
  EXPECT_TRUE(!typed.ok() || *typed != *one);
  auto extra = in(1);
  extra.emplace("y", graph::Tensor::Allocate(graph::ElementType::kF32, {1, 4}));
  auto more = plans.Get(extra, *one);
  EXPECT_TRUE(!more.ok() || *more != *one);
}

}  // namespace
}  // namespace ptqflow::stages
