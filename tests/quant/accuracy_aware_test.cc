// AccuracyAwareQuantization's pure logic (quant/accuracy_aware.h) on tiny hand-built graphs:
// FQ blocks (POT's find_fq_nodes_to_cut), reverting a block (FQs gone, saturation fix and bias
// correction undone), the ranking subset and order, and the greedy revert loop with and
// without use_prev_if_drop_increase against a hand-written accuracy table. Every expectation
// below is derived by hand from pot-spec §2.4, §6 and POT's loop as the header describes it.
#include "quant/accuracy_aware.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/ops/shape_inference.h"
#include "io/hardware_config_reader.h"
#include "quant/algorithms_common.h"
#include "quant/default_quantization.h"
#include "quant/placement.h"
#include "tests/quant/loop_engine.h"

namespace ptqflow::quant {
namespace {

using graph::Graph;
using graph::NodeId;
using graph::Tensor;
using graph::ValueRef;

const HardwareConfig& Cpu() {
  static const HardwareConfig hw = [] {
    auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    auto h = FlattenHardwareConfig(*spec, "ANY");
    EXPECT_TRUE(h.ok()) << h.status().message();
    return *h;
  }();
  return hw;
}

Tensor Values(graph::Shape s, float scale, float offset) {
  std::vector<float> v(static_cast<size_t>(graph::ElementCount(s)));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = scale * std::sin(0.9f * static_cast<float>(i) + offset) + 0.1f * offset;
  }
  return Tensor::FromVector<float>(graph::ElementType::kF32, s, v);
}

graph::Attributes ConvAttrs() {
  graph::Attributes a;
  a.Set("strides", "1,1");
  a.Set("dilations", "1,1");
  a.Set("pads_begin", "0,0");
  a.Set("pads_end", "0,0");
  a.Set("auto_pad", "explicit");
  return a;
}

// A 1x1 convolution `name` (weights "<name>/w" [cout,cin,1,1]) with a bias Add "<name>/b".
ValueRef ConvBias(Graph& g, const std::string& name, ValueRef x, int64_t cin, int64_t cout,
                  float seed) {
  NodeId w = g.AddConst(name + "/w", Values({cout, cin, 1, 1}, 0.8f, seed));
  NodeId conv = g.AddOp("Convolution", name, {x, {w, 0}}, ConvAttrs(), 1, "opset1");
  NodeId b = g.AddConst(name + "/b", Values({1, cout, 1, 1}, 0.3f, seed + 1.5f));
  return {g.AddOp("Add", name + "/add", {{conv, 0}, {b, 0}}, {}, 1, "opset1"), 0};
}

ValueRef Relu(Graph& g, const std::string& name, ValueRef x) {
  return {g.AddOp("Relu", name, {x}, {}, 1, "opset1"), 0};
}

// x[1,3,4,4] -> conv1 -> relu -> conv2 -> relu -> conv3 -> Result.
Graph Chain() {
  Graph g;
  ValueRef x = {g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 3, 4, 4})),
                0};
  ValueRef y = Relu(g, "relu1", ConvBias(g, "conv1", x, 3, 4, 0.f));
  y = Relu(g, "relu2", ConvBias(g, "conv2", y, 4, 4, 1.f));
  y = ConvBias(g, "conv3", y, 4, 2, 2.f);
  g.AddResult("out", y);
  EXPECT_TRUE(graph::ops::InferShapes(g).ok());
  return g;
}

QuantizationPlan Place(Graph* g) {
  PlacementOptions po;
  po.hardware = &Cpu();
  auto plan = PlaceFakeQuantize(g, po);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return plan.ok() ? *plan : QuantizationPlan{};
}

std::set<std::string> Names(const Graph& g, const std::vector<NodeId>& ids) {
  std::set<std::string> s;
  for (NodeId id : ids) s.insert(g.node(id).name);
  return s;
}

// The block whose ops are exactly `ops`.
const FqBlock* BlockOf(const Graph& g, const std::vector<FqBlock>& blocks,
                       const std::set<std::string>& ops) {
  for (const FqBlock& b : blocks) {
    if (Names(g, b.ops) == ops) return &b;
  }
  ADD_FAILURE() << "no block with those ops";
  return nullptr;
}

TEST(AccuracyAwareBlocksTest, SharedInputFqAndConcatInputsFormOneBlockEach) {
  // x ─► conv_a ─► relu_a ─┐
  //  └─► conv_b ─► relu_b ─┴► Concat ─► conv_c ─► Result
  // Placement: one FQ on x (the FQs of conv_a and conv_b merge), the FQ in front of conv_c moves
  // above the Concat (one per input), and a weight FQ per convolution.
  Graph g;
  ValueRef x = {g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 3, 4, 4})),
                0};
  ValueRef a = Relu(g, "relu_a", ConvBias(g, "conv_a", x, 3, 4, 0.f));
  ValueRef b = Relu(g, "relu_b", ConvBias(g, "conv_b", x, 3, 4, 1.f));
  graph::Attributes cat;
  cat.SetInt("axis", 1);
  ValueRef c = {g.AddOp("Concat", "concat", {a, b}, cat, 1, "opset1"), 0};
  g.AddResult("out", ConvBias(g, "conv_c", c, 8, 2, 2.f));
  ASSERT_TRUE(graph::ops::InferShapes(g).ok());
  QuantizationPlan plan = Place(&g);
  ASSERT_EQ(plan.fqs.size(), 6u);  // 1 on x + 2 Concat inputs + 3 weights

  const std::vector<FqBlock> blocks = FindFqBlocks(g, Cpu());
  ASSERT_EQ(blocks.size(), 2u);
  const FqBlock* in = BlockOf(g, blocks, {"conv_a", "conv_b"});
  const FqBlock* cc = BlockOf(g, blocks, {"conv_c"});
  ASSERT_TRUE(in && cc);
  // The x FQ and both weight FQs of the convolutions it feeds.
  std::set<std::string> in_fqs = Names(g, in->fqs);
  EXPECT_EQ(in_fqs.size(), 3u);
  EXPECT_TRUE(in_fqs.count("conv_a/fq_weights_1"));
  EXPECT_TRUE(in_fqs.count("conv_b/fq_weights_1"));
  EXPECT_EQ(g.node(g.node(in->fqs[0]).input(0).node).name, "x");
  // Both Concat inputs' FQs and conv_c's weight FQ.
  std::set<std::string> cc_fqs = Names(g, cc->fqs);
  EXPECT_EQ(cc_fqs.size(), 3u);
  EXPECT_TRUE(cc_fqs.count("conv_c/fq_weights_1"));
  int concat_inputs = 0;
  for (NodeId f : cc->fqs) {
    const std::string producer = g.node(g.node(f).input(0).node).name;
    concat_inputs += producer == "relu_a" || producer == "relu_b";
  }
  EXPECT_EQ(concat_inputs, 2);
  // The key FQ comes first; the blocks are found from FQs in node id order.
  EXPECT_LT(blocks[0].key, blocks[1].key);
  EXPECT_EQ(blocks[0].fqs[0], blocks[0].key);
  EXPECT_EQ(QuantizedOps(g, Cpu()).size(), 3u);
}

TEST(AccuracyAwareBlocksTest, RevertUndoesSaturationFixAndBiasCorrection) {
  const Graph fp32 = Chain();
  Graph g = fp32;
  QuantizationPlan plan = Place(&g);
  ASSERT_EQ(plan.fqs.size(), 6u);
  std::vector<std::map<std::string, Tensor>> calib;
  for (int s = 0; s < 4; ++s) calib.push_back({{"x", Values({1, 3, 4, 4}, 1.0f, 0.37f * s)}});
  testing::LoopEngine engine(calib);
  auto qr = RunDefaultQuantization(&g, plan, &engine, DefaultQuantizationOptions{});
  ASSERT_TRUE(qr.ok()) << qr.status().message();

  const NodeId w1 = g.FindByName("conv1/w");
  const NodeId w2 = g.FindByName("conv2/w");
  const std::vector<float> original_w1 = ConstValuesF32(fp32, fp32.FindByName("conv1/w"));
  // pot-spec §2.4: the saturation fix (first_layer, target ANY) halves the first convolution's
  // weight constant; DefaultQuantization records the value it had before.
  std::vector<float> halved = ConstValuesF32(g, w1);
  for (size_t i = 0; i < halved.size(); ++i) ASSERT_EQ(halved[i] * 2.0f, original_w1[i]);
  ASSERT_TRUE(qr->fp32_constants.count(w1));
  EXPECT_FALSE(qr->fp32_constants.count(w2));  // conv2's weights were not touched

  const std::vector<FqBlock> blocks = FindFqBlocks(g, Cpu());
  ASSERT_EQ(blocks.size(), 3u);
  const FqBlock* b1 = BlockOf(g, blocks, {"conv1"});
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->fqs.size(), 2u);  // input and weights of conv1
  const size_t nodes_before = g.LiveNodes().size();
  auto restored = RevertFqBlock(&g, *b1, qr->fp32_constants);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_TRUE(g.Validate().ok()) << g.Validate().message();
  // Two FQs and their 4 limit constants each are gone.
  EXPECT_EQ(g.LiveNodes().size(), nodes_before - 10);
  EXPECT_EQ(g.NodesOfType("FakeQuantize").size(), 4u);
  const NodeId conv1 = g.FindByName("conv1");
  EXPECT_EQ(g.node(g.node(conv1).input(0).node).name, "x");
  EXPECT_EQ(g.node(conv1).input(1).node, w1);
  EXPECT_EQ(ConstValuesF32(g, w1), original_w1);
  // The bias is the FP32 model's again, whether or not FastBiasCorrection had changed it.
  EXPECT_EQ(ConstValuesF32(g, g.FindByName("conv1/b")),
            ConstValuesF32(fp32, fp32.FindByName("conv1/b")));
  // conv2 is still quantized.
  EXPECT_EQ(g.node(g.node(g.FindByName("conv2")).input(1).node).type, "FakeQuantize");

  // A block whose FQs are gone is an error naming the layer, not a crash.
  auto again = RevertFqBlock(&g, *b1, qr->fp32_constants);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("not a live FakeQuantize"), std::string::npos);
}

TEST(AccuracyAwareRankingTest, RankingSubsetTakesTheMostDegradedSamples) {
  const std::vector<double> fp32 = {1, 1, 0, 1, 1, 0};
  const std::vector<double> q = {0, 1, 0, 0, 1, 1};
  // Degradation (higher is better) = fp32 - q = {1, 0, 0, 1, 0, -1}: positions 0 and 3 first,
  // then the zeros by position.
  EXPECT_EQ(RankingSubset(fp32, q, true, 3), (std::vector<size_t>{0, 3, 1}));
  EXPECT_EQ(RankingSubset(fp32, q, true, 10), (std::vector<size_t>{0, 3, 1, 2, 4, 5}));
  // Lower is better (an error rate): degradation = q - fp32 = {-1, 0, 0, -1, 0, 1}.
  EXPECT_EQ(RankingSubset(fp32, q, false, 2), (std::vector<size_t>{5, 1}));
}

TEST(AccuracyAwareRankingTest, HardestSubsetTakesMetricsRoundRobin) {
  std::vector<AaqMetric> metrics(2);
  metrics[1].higher_is_better = false;
  const std::vector<std::vector<double>> fp32 = {{1, 1, 1, 1}, {0, 0, 0, 0}};
  const std::vector<std::vector<double>> q = {{1, 0, 1, 1}, {0, 0, 0, 5}};
  // Metric 0 ranks position 1 first, metric 1 position 3; then 0 for both.
  EXPECT_EQ(HardestSubset(fp32, q, metrics, 2), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(HardestSubset(fp32, q, metrics, 3), (std::vector<size_t>{0, 1, 3}));
}

TEST(AccuracyAwareRankingTest, ImportanceOrderIsScoreThenNameDescending) {
  EXPECT_EQ(OrderByImportance({{"b", 0.5}, {"a", 0.5}, {"c", 0.7}, {"d", 0.1}}),
            (std::vector<std::string>{"c", "b", "a", "d"}));
}

TEST(AccuracyAwareRankingTest, DropsAndMetricToOptimize) {
  AaqMetric acc{"acc", true, 0.9, 0.01};
  AaqMetric cer{"cer", false, 0.2, 0.02};
  EXPECT_NEAR(MetricDrop(acc, 0.85), 0.05, 1e-12);
  EXPECT_NEAR(MetricDrop(cer, 0.25), 0.05, 1e-12);  // error rate rose by 0.05
  const std::vector<AaqMetric> metrics = {acc, cer};
  // (0.05 - 0.01) / 0.9 = 0.044 < (0.05 - 0.02) / 0.2 = 0.15: cer is further from its bound.
  EXPECT_EQ(MetricToOptimize(metrics, std::vector<double>{0.05, 0.05}), 1u);
  EXPECT_EQ(MetricToOptimize(metrics, std::vector<double>{0.05, 0.0}), 0u);
  EXPECT_FALSE(DropsMet(metrics, std::vector<double>{0.01, 0.03}));
  EXPECT_TRUE(DropsMet(metrics, std::vector<double>{0.01, 0.02}));
}

// The greedy loop on Chain() with a hand-written accuracy: each quantized conv costs `harm`
// (conv1 0.04, conv2 0.10, conv3 -0.02: quantizing conv3 happens to help); the value is
// 1 - sum of the harms of the convs still quantized. The ranking hook scores a block by the
// true value with it reverted, except conv3, which it scores 0.97 (a misleading ranking, as a
// small ranking subset can give).
class GreedyLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = Chain();
    plan_ = Place(&model_);
    hooks_.evaluate = [this](const Graph& g) -> Result<AaqEvaluation> {
      ++evaluations_;
      AaqEvaluation ev;
      const double v = Value(g, "");
      ev.values = {v};
      ev.per_sample = {{v, v, v, v}};
      return ev;
    };
    hooks_.score_blocks = [this](const Graph& g, std::span<const FqBlock> blocks, size_t metric,
                                 std::span<const size_t> ranking) -> Result<std::vector<double>> {
      EXPECT_EQ(metric, 0u);
      EXPECT_EQ(ranking.size(), 4u);
      std::vector<double> out;
      for (const FqBlock& b : blocks) {
        const std::string op = g.node(b.ops.at(0)).name;
        out.push_back(op == "conv3" ? 0.97 : Value(g, op));
      }
      return out;
    };
  }
  // The value with the convs that have lost their FQs, plus `also`, in FP32.
  static double Value(const Graph& g, const std::string& also) {
    const std::map<std::string, double> harm = {{"conv1", 0.04}, {"conv2", 0.10}, {"conv3", -0.02}};
    double v = 1.0;
    for (const auto& [conv, h] : harm) {
      const NodeId id = g.FindByName(conv);
      const bool quantized = g.node(g.node(id).input(1).node).type == "FakeQuantize";
      if (quantized && conv != also) v -= h;
    }
    return v;
  }
  Result<AaqSearchResult> Run(bool use_prev) {
    AccuracyAwareOptions o;
    o.use_prev_if_drop_increase = use_prev;
    AaqMetric m{"accuracy", true, 1.0, 0.01};
    AaqEvaluation dq;
    dq.values = {0.88};
    dq.per_sample = {{0.88, 0.88, 0.88, 0.88}};
    return RunGreedyRevert(model_, dq, {{1, 1, 1, 1}}, std::vector<AaqMetric>{m}, o, Cpu(), {},
                           hooks_);
  }

  Graph model_;
  QuantizationPlan plan_;
  AccuracyAwareHooks hooks_;
  int evaluations_ = 0;
};

TEST_F(GreedyLoopTest, StepsBackWhenTheDropRises) {
  // DQ 0.88 (drop 0.12). Ranking: conv2 0.98, conv3 0.97 (misleading), conv1 0.92.
  // 1: revert conv2 -> 0.98, drop 0.02: 0.01 < 0.02 <= 0.12, go on without re-ranking.
  // 2: revert conv3 -> 0.96, drop 0.04 > 0.02: step back to {conv2}; re-rank: conv1 1.02,
  //    conv3 0.97.
  // 3: revert conv1 -> 1.02, drop -0.02: met. FP32: conv1, conv2.
  auto r = Run(/*use_prev=*/true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->iterations.size(), 3u);
  EXPECT_EQ(r->iterations[0].ops, std::vector<std::string>{"conv2"});
  EXPECT_EQ(r->iterations[1].ops, std::vector<std::string>{"conv3"});
  EXPECT_EQ(r->iterations[2].ops, std::vector<std::string>{"conv1"});
  EXPECT_FALSE(r->iterations[0].stepped_back);
  EXPECT_TRUE(r->iterations[1].stepped_back);
  EXPECT_FALSE(r->iterations[2].stepped_back);
  EXPECT_NEAR(r->iterations[1].values[0], 0.96, 1e-12);
  EXPECT_EQ(r->iterations[0].blocks_ranked, 3u);
  EXPECT_EQ(r->iterations[1].blocks_ranked, 0u);  // no re-ranking after iteration 1
  EXPECT_EQ(r->iterations[2].blocks_ranked, 2u);
  EXPECT_EQ(r->rankings, 2u);
  EXPECT_EQ(evaluations_, 3);  // one per iteration; the ranking reused the saved per-sample
  EXPECT_TRUE(r->target_met);
  EXPECT_EQ(r->stop_reason, "target met");
  EXPECT_EQ(r->reverted_ops, (std::vector<std::string>{"conv1", "conv2"}));
  EXPECT_EQ(r->quantized_ops, 3u);
  EXPECT_NEAR(r->values[0], 1.02, 1e-12);
  // conv3 is still quantized in the result, conv1 and conv2 are not.
  EXPECT_EQ(r->model.NodesOfType("FakeQuantize").size(), 2u);
  EXPECT_NEAR(Value(r->model, ""), 1.02, 1e-12);
}

TEST_F(GreedyLoopTest, KeepsGoingWithoutUsePrev) {
  // Same start; 2: conv3 reverted -> drop 0.04 rises but is kept; re-rank {conv1};
  // 3: conv1 -> every FQ removed, value 1.0, drop 0.
  auto r = Run(/*use_prev=*/false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->iterations.size(), 3u);
  EXPECT_FALSE(r->iterations[1].stepped_back);
  EXPECT_EQ(r->iterations[2].blocks_ranked, 1u);
  EXPECT_EQ(r->stop_reason, "all FakeQuantize removed");
  EXPECT_TRUE(r->target_met);
  EXPECT_EQ(r->reverted_ops, (std::vector<std::string>{"conv1", "conv2", "conv3"}));
  EXPECT_NEAR(r->values[0], 1.0, 1e-12);
}

TEST_F(GreedyLoopTest, MaxIterNumStopsTheSearch) {
  AccuracyAwareOptions o;
  o.max_iter_num = 1;
  AaqEvaluation dq;
  dq.values = {0.88};
  dq.per_sample = {{0.88, 0.88, 0.88, 0.88}};
  auto r =
      RunGreedyRevert(model_, dq, {{1, 1, 1, 1}},
                      std::vector<AaqMetric>{{"accuracy", true, 1.0, 0.01}}, o, Cpu(), {}, hooks_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->iterations.size(), 1u);
  EXPECT_FALSE(r->target_met);
  EXPECT_EQ(r->stop_reason, "max_iter_num reached");
  EXPECT_NEAR(r->drops[0], 0.02, 1e-12);
  EXPECT_EQ(r->reverted_ops, std::vector<std::string>{"conv2"});
}

}  // namespace
}  // namespace ptqflow::quant
