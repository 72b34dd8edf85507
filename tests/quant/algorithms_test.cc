// Unit tests of POT's algorithms on tiny graphs, expectations computed by hand or with plain
// reference loops written here (pot-spec §2–§5, §8).
#include <cfenv>
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "graph/ops/shape_inference.h"
#include "io/ir/ir_reader.h"
#include "io/ir/ir_writer.h"
#include "quant/algorithms.h"
#include "quant/algorithms_common.h"
#include "quant/compress_weights.h"
#include "tests/quant/fq_test_util.h"
#include "tests/quant/loop_engine.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

using graph::Graph;
using graph::NodeId;
using graph::ValueRef;
using testing::Config;
using testing::F32;
using testing::InsertFq;
using testing::LoopEngine;
using Sample = std::map<std::string, graph::Tensor>;

graph::Attributes ConvAttrs() {
  graph::Attributes a;
  a.Set("strides", "1,1");
  a.Set("pads_begin", "0,0");
  a.Set("pads_end", "0,0");
  a.Set("dilations", "1,1");
  a.Set("auto_pad", "explicit");
  return a;
}

std::vector<float> Values(const Graph& g, NodeId c) { return ConstValuesF32(g, c); }

// Plain FakeQuantize-1 reference (round half to even).
float FqRef(float x, float il, float ih, float ol, float oh, int64_t levels) {
  if (x <= std::min(il, ih)) return ol;
  if (x > std::max(il, ih)) return oh;
  return std::nearbyint((x - il) / (ih - il) * float(levels - 1)) / float(levels - 1) * (oh - ol) +
         ol;
}

// x[2,4] -> FQ -> MatMul(W[3,4], transpose_b) -> Result, with an activation and a weight FQ.
struct MatMulModel {
  Graph g;
  QuantizationPlan plan;
  NodeId w = graph::kNoNode;
};
MatMulModel BuildMatMul(QuantMode act_mode, std::vector<float> w) {
  MatMulModel m;
  Graph& g = m.g;
  NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({2, 4}));
  m.w = g.AddConst("w", F32({3, 4}, std::move(w)));
  graph::Attributes a;
  a.SetBool("transpose_a", false);
  a.SetBool("transpose_b", true);
  NodeId mm = g.AddOp("MatMul", "mm", {{x, 0}, {m.w, 0}}, a, 1, "opset1");
  g.AddResult("out", {mm, 0});
  InsertFq(&g, &m.plan, {x, 0}, {{mm, 0}}, "mm/fq_input_0", TensorRole::kActivations,
           Config(act_mode, Granularity::kPerTensor), {}, 1);
  InsertFq(&g, &m.plan, {m.w, 0}, {{mm, 1}}, "mm/fq_weights_1", TensorRole::kWeights,
           Config(QuantMode::kSymmetric, Granularity::kPerChannel), {3, 1}, 0);
  testing::InferOrDie(&g);
  return m;
}

std::vector<Sample> TwoSamples() {
  return {{{"x", F32({2, 4}, {1, -2, 0.5f, 0, 3, 1, 1, 1})}},
          {{"x", F32({2, 4}, {0.5f, 0.25f, 0, 0, 1.5f, 0, 0, 0})}}};
}

TEST(MinMaxTest, SymmetricSignedActivationsAndWeightsByHand) {
  MatMulModel m =
      BuildMatMul(QuantMode::kSymmetric, {1, -4, 2, 0, 0, 0, 0, 0, 0.5f, 0.5f, -0.5f, 0});
  LoopEngine engine(TwoSamples());
  auto fitted = MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  // Per-row abs max: sample 1 -> 2, 3 (mean 2.5); sample 2 -> 0.5, 1.5 (mean 1). Mean: 1.75.
  // Global min -2 < 0: signed, il = -1.75 * 256 / 254.
  auto a = ReadFqLimits(m.g, m.plan.fqs[0].fq);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->levels, 256);
  EXPECT_FLOAT_EQ(a->input_high[0], 1.75f);
  EXPECT_FLOAT_EQ(a->input_low[0], -1.75f * 256.0f / 254.0f);
  EXPECT_EQ(a->output_low[0], a->input_low[0]);
  // Weights: per output channel abs max 4, 0 -> max(8e-5, 0.01 * 4), 0.5.
  auto w = ReadFqLimits(m.g, m.plan.fqs[1].fq);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->levels, 255);
  ASSERT_EQ(w->input_high.size(), 3u);
  EXPECT_FLOAT_EQ(w->input_high[0], 4.0f);
  EXPECT_FLOAT_EQ(w->input_high[1], 0.04f);
  EXPECT_FLOAT_EQ(w->input_high[2], 0.5f);
  EXPECT_FLOAT_EQ(w->input_low[1], -0.04f);
  EXPECT_EQ(engine.collect_calls(), 1);
}

// An engine that ignores CollectOptions::fit (MinMax must then fit inline).
class NoFitEngine : public LoopEngine {
 public:
  using LoopEngine::LoopEngine;
  Result<CollectedStats> Collect(const Graph& g, std::span<const StatRequest> requests,
                                 const CollectOptions& options) override {
    CollectOptions without = options;
    without.fit.clear();
    return LoopEngine::Collect(g, requests, without);
  }
};

// Fitting inside the pass (FitJobs, run by the engine) gives exactly what fitting after it does;
// weight ranges need no statistics, so an engine may fit them while the samples run.
TEST(MinMaxTest, FitJobsInsideThePassGiveTheInlineResult) {
  const std::vector<float> w = {1, -4, 2, 0, 0, 0, 0, 0, 0.5f, 0.5f, -0.5f, 0};
  MatMulModel a = BuildMatMul(QuantMode::kAsymmetric, w);
  MatMulModel b = BuildMatMul(QuantMode::kAsymmetric, w);
  MinMaxQuantization minmax(MinMaxOptions{});

  std::vector<std::optional<FqParams>> ranges;
  std::vector<FitJob> jobs = minmax.FitJobs(a.g, a.plan, 0, &ranges);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_TRUE(jobs[0].needs_stats);   // activations
  EXPECT_FALSE(jobs[1].needs_stats);  // weights
  ASSERT_TRUE(jobs[1].run(CollectedStats{}).ok());
  ASSERT_TRUE(ranges[1].has_value());
  EXPECT_FLOAT_EQ(ranges[1]->input_high[0], 4.0f);
  // An activation job without the pass's statistics is an error, not a guess.
  EXPECT_FALSE(jobs[0].run(CollectedStats{}).ok());

  LoopEngine with_jobs(TwoSamples());
  NoFitEngine without_jobs(TwoSamples());
  auto fa = minmax.Run(&a.g, a.plan, &with_jobs);
  auto fb = minmax.Run(&b.g, b.plan, &without_jobs);
  ASSERT_TRUE(fa.ok() && fb.ok());
  for (size_t i = 0; i < a.plan.fqs.size(); ++i) {
    auto la = ReadFqLimits(a.g, a.plan.fqs[i].fq);
    auto lb = ReadFqLimits(b.g, b.plan.fqs[i].fq);
    ASSERT_TRUE(la.ok() && lb.ok());
    EXPECT_EQ(la->input_low, lb->input_low) << i;
    EXPECT_EQ(la->input_high, lb->input_high) << i;
    EXPECT_EQ(la->output_low, lb->output_low) << i;
    EXPECT_EQ(la->output_high, lb->output_high) << i;
  }
}

TEST(MinMaxTest, UnsignedWhenGlobalMinIsNonNegative) {
  MatMulModel m = BuildMatMul(QuantMode::kSymmetric, std::vector<float>(12, 1.0f));
  LoopEngine engine({{{"x", F32({2, 4}, {0, 2, 1, 1, 0, 0, 0, 4})}}});
  ASSERT_TRUE(MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine).ok());
  auto a = ReadFqLimits(m.g, m.plan.fqs[0].fq);
  EXPECT_EQ(a->input_low[0], 0.0f);
  EXPECT_FLOAT_EQ(a->input_high[0], 3.0f);  // mean of row abs-max 2 and 4
}

TEST(MinMaxTest, AsymmetricActivationsTuneRangeByHand) {
  MatMulModel m = BuildMatMul(QuantMode::kAsymmetric, std::vector<float>(12, 1.0f));
  // Rows: min -1 and -1 (mean -1), max 3 and 3 (mean 3).
  LoopEngine engine({{{"x", F32({2, 4}, {-1, 3, 0, 0, 3, -1, 0, 0})}}});
  ASSERT_TRUE(MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine).ok());
  // tune_range(-1, 3, 8): q = round(1 * 255 / 4) = 64; ra = 64 / (64 - 255) * 3 = -192/191,
  // rb = (64 - 255) / 64 * -1 = 2.984375; 3 - ra > rb + 1, so [ -192/191, 3 ].
  auto a = ReadFqLimits(m.g, m.plan.fqs[0].fq);
  EXPECT_FLOAT_EQ(a->input_low[0], static_cast<float>(-192.0 / 191.0));
  EXPECT_FLOAT_EQ(a->input_high[0], 3.0f);
}

TEST(MinMaxTest, ClippingValueAndQuantileEstimator) {
  MatMulModel m = BuildMatMul(QuantMode::kSymmetric, std::vector<float>(12, 1.0f));
  MinMaxOptions o;
  o.activations_range_estimator.max.clipping_value = 1.5f;
  LoopEngine engine(TwoSamples());
  ASSERT_TRUE(MinMaxQuantization(o).Run(&m.g, m.plan, &engine).ok());
  auto a = ReadFqLimits(m.g, m.plan.fqs[0].fq);
  EXPECT_FLOAT_EQ(a->input_high[0], 1.5f);  // min(1.75, 1.5)
  EXPECT_FLOAT_EQ(a->output_high[0], 1.5f);

  MatMulModel q = BuildMatMul(QuantMode::kSymmetric, std::vector<float>(12, 1.0f));
  MinMaxOptions qo;
  qo.activations_range_estimator.preset = "quantile";
  LoopEngine e2({{{"x", F32({2, 4}, {1, -2, 0.5f, 0, 3, 1, 1, 1})}}});
  ASSERT_TRUE(MinMaxQuantization(qo).Run(&q.g, q.plan, &e2).ok());
  // abs_quantile(1 - 1e-4) of row {1,2,0.5,0}: sorted {0,0.5,1,2}, index 2.9997 ->
  // 2 - (2 - 1) * 0.0003; of row {3,1,1,1}: 3 - 2 * 0.0003. Mean of the two.
  const double r0 = 2 - 1 * 0.0003, r1 = 3 - 2 * 0.0003;
  auto qa = ReadFqLimits(q.g, q.plan.fqs[0].fq);
  EXPECT_NEAR(qa->input_high[0], (r0 + r1) / 2, 1e-6);
}

// x[1,1,2,2] -> FQ -> Conv(W[2,1,1,1]) -> Result.
struct ConvModel {
  Graph g;
  QuantizationPlan plan;
  NodeId w = graph::kNoNode, conv = graph::kNoNode;
};
ConvModel BuildConv(bool candidate) {
  ConvModel m;
  Graph& g = m.g;
  NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 1, 2, 2}));
  m.w = g.AddConst("w", F32({2, 1, 1, 1}, {0.8f, -0.3f}));
  m.conv = g.AddOp("Convolution", "conv", {{x, 0}, {m.w, 0}}, ConvAttrs(), 1, "opset1");
  g.AddResult("out", {m.conv, 0});
  InsertFq(&g, &m.plan, {x, 0}, {{m.conv, 0}}, "conv/fq_input_0", TensorRole::kActivations,
           Config(QuantMode::kSymmetric, Granularity::kPerTensor), {}, 1);
  InsertFq(&g, &m.plan, {m.w, 0}, {{m.conv, 1}}, "conv/fq_weights_1", TensorRole::kWeights,
           Config(QuantMode::kSymmetric, Granularity::kPerChannel), {2, 1, 1, 1}, 0);
  m.plan.fqs[1].saturation_fix_candidate = candidate;
  testing::InferOrDie(&g);
  return m;
}

std::vector<Sample> ConvSamples() { return {{{"x", F32({1, 1, 2, 2}, {1, 2, 3, 4})}}}; }

TEST(MinMaxTest, SaturationFixOnFirstLayerByDefault) {
  ConvModel m = BuildConv(true);
  LoopEngine engine(ConvSamples());
  auto fitted = MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  EXPECT_TRUE((*fitted)[1].saturation_fixed);
  EXPECT_EQ(Values(m.g, m.w), (std::vector<float>{0.4f, -0.15f}));  // W / 2
  auto w = ReadFqLimits(m.g, m.plan.fqs[1].fq);
  EXPECT_EQ(w->input_high, (std::vector<float>{0.8f, 0.3f}));  // from the original weights
  EXPECT_EQ(w->output_high, (std::vector<float>{1.6f, 0.6f}));
  EXPECT_EQ(w->output_low, (std::vector<float>{-1.6f, -0.6f}));
}

TEST(MinMaxTest, SaturationFixModesAndDevices) {
  struct Case {
    bool candidate;
    SaturationFix mode;
    std::string device;
    bool need_rescale;
    bool fixed;
  };
  for (const Case& c : std::vector<Case>{{true, SaturationFix::kNo, "ANY", false, false},
                                         {true, SaturationFix::kFirstLayer, "GPU", false, false},
                                         {true, SaturationFix::kFirstLayer, "CPU", false, true},
                                         {false, SaturationFix::kFirstLayer, "ANY", false, false},
                                         {false, SaturationFix::kAll, "ANY", false, true},
                                         {false, SaturationFix::kFirstLayer, "ANY", true, true},
                                         {false, SaturationFix::kNo, "ANY", true, false}}) {
    ConvModel m = BuildConv(c.candidate);
    MinMaxOptions o;
    o.saturation_fix = c.mode;
    o.target_device = c.device;
    LoopEngine engine(ConvSamples());
    std::set<NodeId> rescale;
    if (c.need_rescale) rescale.insert(m.conv);
    auto fitted = MinMaxQuantization(o).Run(&m.g, m.plan, &engine, rescale);
    ASSERT_TRUE(fitted.ok());
    EXPECT_EQ((*fitted)[1].saturation_fixed, c.fixed)
        << SaturationFixName(c.mode) << " " << c.device << " candidate " << c.candidate;
    EXPECT_EQ(Values(m.g, m.w)[0], c.fixed ? 0.4f : 0.8f);
  }
}

TEST(MinMaxTest, UnifiedGroupTakesMinLowAndMaxHighWithoutResymmetrising) {
  Graph g;
  NodeId a = g.AddParameter("a", graph::ElementType::kF32, graph::PartialShape({1, 3}));
  NodeId b = g.AddParameter("b", graph::ElementType::kF32, graph::PartialShape({1, 3}));
  graph::Attributes ca;
  ca.SetInt("axis", 1);
  NodeId cat = g.AddOp("Concat", "cat", {{a, 0}, {b, 0}}, ca, 1, "opset1");
  g.AddResult("out", {cat, 0});
  QuantizationPlan plan;
  const QuantConfig cfg = Config(QuantMode::kSymmetric, Granularity::kPerTensor);
  InsertFq(&g, &plan, {a, 0}, {{cat, 0}}, "cat/fq_input_0", TensorRole::kActivations, cfg, {}, 1);
  InsertFq(&g, &plan, {b, 0}, {{cat, 1}}, "cat/fq_input_1", TensorRole::kActivations, cfg, {}, 1);
  plan.unified_groups.push_back({0, 1});
  testing::InferOrDie(&g);
  LoopEngine engine({{{"a", F32({1, 3}, {-1, 0.5f, 0.25f})}, {"b", F32({1, 3}, {2, 8, 1})}}});
  auto fitted = MinMaxQuantization(MinMaxOptions{}).Run(&g, plan, &engine);
  ASSERT_TRUE(fitted.ok());
  // a: signed [-256/254, 1]; b: unsigned [0, 8]; group: [-256/254, 8] for both.
  EXPECT_FLOAT_EQ((*fitted)[0].before_unify.input_high[0], 1.0f);
  for (int i = 0; i < 2; ++i) {
    auto p = ReadFqLimits(g, plan.fqs[static_cast<size_t>(i)].fq);
    EXPECT_FLOAT_EQ(p->input_low[0], -256.0f / 254.0f);
    EXPECT_FLOAT_EQ(p->input_high[0], 8.0f);
    EXPECT_EQ(p->output_low[0], p->input_low[0]);
  }
}

// ---- ActivationChannelAlignment ----

// x[1,1,1,2] -> Conv1(W_in[2,1,1,1]) -> Add(b_in) -> Conv2(W_out[1,2,1,1]) -> Add(b_out).
struct AcaModel {
  Graph g;
  NodeId w_in, b_in, w_out, b_out, conv2;
};
AcaModel BuildAca() {
  AcaModel m;
  Graph& g = m.g;
  NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 1, 1, 2}));
  m.w_in = g.AddConst("w_in", F32({2, 1, 1, 1}, {2, 4}));
  m.b_in = g.AddConst("b_in", F32({1, 2, 1, 1}, {1, -1}));
  m.w_out = g.AddConst("w_out", F32({1, 2, 1, 1}, {1, 1}));
  m.b_out = g.AddConst("b_out", F32({1, 1, 1, 1}, {0.5f}));
  NodeId c1 = g.AddOp("Convolution", "conv1", {{x, 0}, {m.w_in, 0}}, ConvAttrs(), 1, "opset1");
  NodeId a1 = g.AddOp("Add", "conv1/add", {{c1, 0}, {m.b_in, 0}}, {}, 1, "opset1");
  m.conv2 = g.AddOp("Convolution", "conv2", {{a1, 0}, {m.w_out, 0}}, ConvAttrs(), 1, "opset1");
  NodeId a2 = g.AddOp("Add", "conv2/add", {{m.conv2, 0}, {m.b_out, 0}}, {}, 1, "opset1");
  g.AddResult("out", {a2, 0});
  testing::InferOrDie(&g);
  return m;
}

TEST(ActivationChannelAlignmentTest, AlignsMeansAndScalesByHand) {
  AcaModel m = BuildAca();
  const Sample s = {{"x", F32({1, 1, 1, 2}, {0, 1})}};
  LoopEngine engine({s});
  auto before = engine.Infer(m.g, s);
  ASSERT_TRUE(before.ok());
  auto marked = ActivationChannelAlignment().Run(&m.g, &engine);
  ASSERT_TRUE(marked.ok()) << marked.status().message();
  EXPECT_EQ(*marked, (std::set<NodeId>{m.conv2}));
  // Channel values: ch0 = {1, 3}, ch1 = {-1, 3}. numpy linear quantiles of two points.
  const double q = 1e-4;
  const double lo0 = 1 + 2 * q, hi0 = 3 - 2 * q, lo1 = -1 + 4 * q, hi1 = 3 - 4 * q;
  const double mean0 = (lo0 + hi0) / 2, mean1 = (lo1 + hi1) / 2;
  const double sc0 = hi0 - lo0, sc1 = hi1 - lo1, med = (sc0 + sc1) / 2;
  const double sf0 = sc0 / med, sf1 = sc1 / med;
  auto near = [](const std::vector<float>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
  };
  near(Values(m.g, m.b_in), {(1 - mean0) / sf0, (-1 - mean1) / sf1});
  near(Values(m.g, m.w_in), {2 / sf0, 4 / sf1});
  near(Values(m.g, m.w_out), {1 * sf0, 1 * sf1});
  near(Values(m.g, m.b_out), {0.5 + mean0 + mean1});
  // The FP32 function is unchanged (the layers between are linear).
  auto after = engine.Infer(m.g, s);
  ASSERT_TRUE(after.ok());
  const auto& y0 = before->at("out");
  const auto& y1 = after->at("out");
  for (int64_t i = 0; i < y0.size(); ++i)
    EXPECT_NEAR(y1.data<float>()[i], y0.data<float>()[i], 1e-5);
}

TEST(ActivationChannelAlignmentTest, SkipsPaddedOrBranchingConsumers) {
  AcaModel m = BuildAca();
  m.g.node(m.conv2).attrs.Set("pads_begin", "1,0");
  auto pairs = ActivationChannelAlignment().FindPairs(m.g);
  ASSERT_TRUE(pairs.ok());
  EXPECT_TRUE(pairs->empty());
  AcaModel b = BuildAca();
  b.g.AddResult("extra", b.g.node(b.conv2).input(0));  // the biased output feeds two ops
  pairs = ActivationChannelAlignment().FindPairs(b.g);
  EXPECT_TRUE(pairs->empty());
}

// ---- FastBiasCorrection ----

// x[1,2,1,2] -> FQ -> Conv(W[1,2,1,1]) (+weight FQ) -> Add(bias) -> Result.
struct BiasModel {
  Graph g;
  QuantizationPlan plan;
  NodeId conv, bias;
};
BiasModel BuildBiasModel(float bias, std::vector<float> w = {0.7f, 0.1f}) {
  BiasModel m;
  Graph& g = m.g;
  NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 2, 1, 2}));
  NodeId wc = g.AddConst("w", F32({1, 2, 1, 1}, w));
  m.bias = g.AddConst("b", F32({1, 1, 1, 1}, {bias}));
  m.conv = g.AddOp("Convolution", "conv", {{x, 0}, {wc, 0}}, ConvAttrs(), 1, "opset1");
  NodeId add = g.AddOp("Add", "conv/add", {{m.conv, 0}, {m.bias, 0}}, {}, 1, "opset1");
  g.AddResult("out", {add, 0});
  InsertFq(&g, &m.plan, {x, 0}, {{m.conv, 0}}, "conv/fq_input_0", TensorRole::kActivations,
           Config(QuantMode::kSymmetric, Granularity::kPerTensor), {}, 1);
  InsertFq(&g, &m.plan, {wc, 0}, {{m.conv, 1}}, "conv/fq_weights_1", TensorRole::kWeights,
           Config(QuantMode::kSymmetric, Granularity::kPerChannel), {1, 1, 1, 1}, 0);
  testing::InferOrDie(&g);
  return m;
}

std::vector<Sample> BiasSamples() {
  return {{{"x", F32({1, 2, 1, 2}, {1, 3, 2, 2})}}, {{"x", F32({1, 2, 1, 2}, {3, 5, 6, 2})}}};
}

// new bias = b + (W - W_q) . mean_in, W_q by the weights FQ [-0.7, 0.7], 255 levels.
float ExpectedFbcBias(float b) {
  const float wq1 = FqRef(0.1f, -0.7f, 0.7f, -0.7f, 0.7f, 255);
  const float mean_in0 = 3, mean_in1 = 3;  // channel means over both samples
  return b + (0.7f - FqRef(0.7f, -0.7f, 0.7f, -0.7f, 0.7f, 255)) * mean_in0 +
         (0.1f - wq1) * mean_in1;
}

TEST(FastBiasCorrectionTest, CorrectsWeightErrorAtTheMeanInput) {
  BiasModel m = BuildBiasModel(0.3f);
  LoopEngine engine(BiasSamples());
  MinMaxOptions o;
  o.saturation_fix = SaturationFix::kNo;
  ASSERT_TRUE(MinMaxQuantization(o).Run(&m.g, m.plan, &engine).ok());
  auto entries = FastBiasCorrection(FastBiasCorrectionOptions{}).Run(&m.g, &engine);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_TRUE((*entries)[0].applied);
  const float want = ExpectedFbcBias(0.3f);
  EXPECT_NE(want, 0.3f);
  EXPECT_NEAR(Values(m.g, m.bias)[0], want, 1e-5);
  EXPECT_NEAR((*entries)[0].magnitude, std::abs((want - 0.3f) / 0.3f), 1e-4);
}

TEST(FastBiasCorrectionTest, ZeroBiasAndThresholdSkip) {
  BiasModel zero = BuildBiasModel(0.0f);
  LoopEngine engine(BiasSamples());
  MinMaxOptions o;
  o.saturation_fix = SaturationFix::kNo;
  ASSERT_TRUE(MinMaxQuantization(o).Run(&zero.g, zero.plan, &engine).ok());
  auto e = FastBiasCorrection(FastBiasCorrectionOptions{}).Run(&zero.g, &engine);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE((*e)[0].applied);
  EXPECT_TRUE(std::isinf((*e)[0].magnitude));
  EXPECT_EQ(Values(zero.g, zero.bias)[0], 0.0f);

  // |shift / b| >= threshold: tiny bias, large correction.
  BiasModel tiny = BuildBiasModel(1e-4f);
  ASSERT_TRUE(MinMaxQuantization(o).Run(&tiny.g, tiny.plan, &engine).ok());
  e = FastBiasCorrection(FastBiasCorrectionOptions{}).Run(&tiny.g, &engine);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE((*e)[0].applied);
  EXPECT_GE((*e)[0].magnitude, 2.0f);
  EXPECT_EQ(Values(tiny.g, tiny.bias)[0], 1e-4f);
  // The same with a higher threshold is applied.
  FastBiasCorrectionOptions lax;
  lax.threshold = 1e6f;
  e = FastBiasCorrection(lax).Run(&tiny.g, &engine);
  EXPECT_TRUE((*e)[0].applied);
  EXPECT_NEAR(Values(tiny.g, tiny.bias)[0], ExpectedFbcBias(1e-4f), 1e-5);
}

// ---- BiasCorrection ----

// x[1,2,1,2] -> Conv1(W1[2,2,1,1]) -> Add(b1) -> Relu -> Conv2(W2[1,2,1,1]) -> Add(b2).
struct TwoConvModel {
  Graph g;
  QuantizationPlan plan;
  NodeId b1, b2;
};
const std::vector<float> kW1 = {0.9f, -0.35f, 0.2f, 0.55f};
const std::vector<float> kW2 = {0.6f, -0.13f};
TwoConvModel BuildTwoConv() {
  TwoConvModel m;
  Graph& g = m.g;
  NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 2, 1, 2}));
  NodeId w1 = g.AddConst("w1", F32({2, 2, 1, 1}, kW1));
  NodeId w2 = g.AddConst("w2", F32({1, 2, 1, 1}, kW2));
  m.b1 = g.AddConst("b1", F32({1, 2, 1, 1}, {0.25f, -0.5f}));
  m.b2 = g.AddConst("b2", F32({1, 1, 1, 1}, {0.125f}));
  NodeId c1 = g.AddOp("Convolution", "conv1", {{x, 0}, {w1, 0}}, ConvAttrs(), 1, "opset1");
  NodeId a1 = g.AddOp("Add", "conv1/add", {{c1, 0}, {m.b1, 0}}, {}, 1, "opset1");
  NodeId r = g.AddOp("Relu", "relu", {{a1, 0}}, {}, 1, "opset1");
  NodeId c2 = g.AddOp("Convolution", "conv2", {{r, 0}, {w2, 0}}, ConvAttrs(), 1, "opset1");
  NodeId a2 = g.AddOp("Add", "conv2/add", {{c2, 0}, {m.b2, 0}}, {}, 1, "opset1");
  g.AddResult("out", {a2, 0});
  const QuantConfig act = Config(QuantMode::kSymmetric, Granularity::kPerTensor);
  const QuantConfig wts = Config(QuantMode::kSymmetric, Granularity::kPerChannel);
  InsertFq(&g, &m.plan, {x, 0}, {{c1, 0}}, "conv1/fq_input_0", TensorRole::kActivations, act, {},
           1);
  InsertFq(&g, &m.plan, {w1, 0}, {{c1, 1}}, "conv1/fq_weights_1", TensorRole::kWeights, wts,
           {2, 1, 1, 1}, 0);
  InsertFq(&g, &m.plan, {r, 0}, {{c2, 0}}, "conv2/fq_input_0", TensorRole::kActivations, act, {},
           1);
  InsertFq(&g, &m.plan, {w2, 0}, {{c2, 1}}, "conv2/fq_weights_1", TensorRole::kWeights, wts,
           {1, 1, 1, 1}, 0);
  testing::InferOrDie(&g);
  return m;
}

// Plain reference of the two-conv model on one sample: per-pixel 1x1 convolutions.
std::vector<float> Conv1x1(const std::vector<float>& x, const std::vector<float>& w, int cin,
                           int cout, int pixels, const std::vector<float>& b, bool relu) {
  std::vector<float> y(static_cast<size_t>(cout * pixels));
  for (int o = 0; o < cout; ++o) {
    for (int p = 0; p < pixels; ++p) {
      float s = 0;
      for (int i = 0; i < cin; ++i) s += w[size_t(o * cin + i)] * x[size_t(i * pixels + p)];
      s += b[size_t(o)];
      y[size_t(o * pixels + p)] = relu ? std::max(s, 0.0f) : s;
    }
  }
  return y;
}

TEST(BiasCorrectionTest, SequentialCorrectionPropagatesUpstreamError) {
  TwoConvModel m = BuildTwoConv();
  std::vector<Sample> samples;
  const std::vector<std::vector<float>> xs = {
      {1, -2, 0.5f, 3}, {2, 1, -1, 0.25f}, {0, 4, 2, 1}, {1, 1, 1, 1}, {3, 0, -2, 1},
      {5, 5, 5, 5},     {1, 2, 3, 4},      {0, 0, 1, 1}, {2, 2, 0, 0}, {9, 9, 9, 9}};
  for (const auto& x : xs) samples.push_back({{"x", F32({1, 2, 1, 2}, x)}});
  LoopEngine engine(samples);
  MinMaxOptions o;
  o.saturation_fix = SaturationFix::kNo;
  ASSERT_TRUE(MinMaxQuantization(o).Run(&m.g, m.plan, &engine).ok());
  const std::vector<float> b1_old = Values(m.g, m.b1);
  auto entries = BiasCorrection(BiasCorrectionOptions{}).Run(&m.g, &engine);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_TRUE((*entries)[0].applied);
  EXPECT_TRUE((*entries)[1].applied);

  // Reference: n = max(int(0.2 * 10), 1) = 2 samples; weights quantized per output channel.
  auto quantize = [](const std::vector<float>& w, int cout) {
    std::vector<float> q(w.size());
    const size_t per = w.size() / size_t(cout);
    for (int o = 0; o < cout; ++o) {
      float m = 0;
      for (size_t i = 0; i < per; ++i) m = std::max(m, std::abs(w[o * per + i]));
      for (size_t i = 0; i < per; ++i) q[o * per + i] = FqRef(w[o * per + i], -m, m, -m, m, 255);
    }
    return q;
  };
  const std::vector<float> w1q = quantize(kW1, 2), w2q = quantize(kW2, 1);
  const std::vector<float> b2_old = {0.125f};
  // Conv1: shift = mean(fp) - mean(q) of the Add, per channel, over the 2 samples.
  std::vector<double> shift1(2, 0.0);
  for (int s = 0; s < 2; ++s) {
    auto fp = Conv1x1(xs[size_t(s)], kW1, 2, 2, 2, b1_old, false);
    auto q = Conv1x1(xs[size_t(s)], w1q, 2, 2, 2, b1_old, false);
    for (int c = 0; c < 2; ++c) {
      shift1[size_t(c)] += ((fp[size_t(2 * c)] + fp[size_t(2 * c + 1)]) / 2 -
                            (q[size_t(2 * c)] + q[size_t(2 * c + 1)]) / 2) /
                           2;
    }
  }
  const std::vector<float> b1_new = {b1_old[0] + float(shift1[0]), b1_old[1] + float(shift1[1])};
  auto b1_got = Values(m.g, m.b1);
  EXPECT_NEAR(b1_got[0], b1_new[0], 1e-5);
  EXPECT_NEAR(b1_got[1], b1_new[1], 1e-5);
  // Conv2 sees the quantized, corrected conv1 output (sequential propagation).
  double shift2 = 0;
  for (int s = 0; s < 2; ++s) {
    auto h_fp = Conv1x1(xs[size_t(s)], kW1, 2, 2, 2, b1_old, true);
    auto h_q = Conv1x1(xs[size_t(s)], w1q, 2, 2, 2, b1_new, true);
    auto fp = Conv1x1(h_fp, kW2, 2, 1, 2, b2_old, false);
    auto q = Conv1x1(h_q, w2q, 2, 1, 2, b2_old, false);
    shift2 += ((fp[0] + fp[1]) / 2 - (q[0] + q[1]) / 2) / 2;
  }
  EXPECT_NEAR(Values(m.g, m.b2)[0], 0.125 + shift2, 1e-5);
}

// ---- compress_model_weights ----

TEST(CompressWeightsTest, SymmetricWeightsBecomeI8TimesScale) {
  ConvModel m = BuildConv(false);
  LoopEngine engine(ConvSamples());
  ASSERT_TRUE(MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine).ok());
  Graph fq_model = m.g;
  const std::string fq_name = m.g.node(m.plan.fqs[1].fq).name;
  auto stats = CompressQuantizedWeights(&m.g);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->compressed, 1);
  EXPECT_EQ(stats->with_zero_point, 0);
  EXPECT_TRUE(m.g.NodesOfType("FakeQuantize").size() == 1);  // the activation FQ stays
  // Conv input 1: Multiply <- Convert <- Const i8.
  const graph::Node& mul = m.g.node(m.g.node(m.conv).input(1).node);
  EXPECT_EQ(mul.type, "Multiply");
  EXPECT_EQ(mul.name, fq_name + "/mulpiply_by_scale");
  const graph::Node& cvt = m.g.node(mul.input(0).node);
  EXPECT_EQ(cvt.type, "Convert");
  EXPECT_EQ(cvt.name, "w/quantized/to_f32");
  EXPECT_EQ(*cvt.attrs.Find("destination_type"), "f32");
  const graph::Node& q = m.g.node(cvt.input(0).node);
  EXPECT_EQ(q.name, "w/quantized");
  ASSERT_EQ(q.constant.type(), graph::ElementType::kI8);
  // W = {0.8, -0.3} per channel: 0.8 -> level 254 -> 127; -0.3 -> level 0 -> -127.
  EXPECT_EQ(q.constant.data<int8_t>()[0], 127);
  EXPECT_EQ(q.constant.data<int8_t>()[1], -127);
  const graph::Node& sc = m.g.node(mul.input(1).node);
  EXPECT_EQ(sc.name, fq_name + "/scale");
  EXPECT_EQ(sc.constant.shape(), (graph::Shape{2, 1, 1, 1}));
  EXPECT_FLOAT_EQ(sc.constant.data<float>()[0], 1.6f / 254.0f);
  EXPECT_FLOAT_EQ(sc.constant.data<float>()[1], 0.6f / 254.0f);
  EXPECT_EQ(m.g.FindByName("w"), graph::kNoNode);  // the float weights are gone
  // Same outputs as the FakeQuantize model.
  const Sample s = {{"x", F32({1, 1, 2, 2}, {0.5f, -1, 2, 3})}};
  auto y_fq = engine.Infer(fq_model, s);
  auto y_c = engine.Infer(m.g, s);
  ASSERT_TRUE(y_fq.ok() && y_c.ok());
  for (int64_t i = 0; i < y_fq->at("out").size(); ++i) {
    EXPECT_NEAR(y_c->at("out").data<float>()[i], y_fq->at("out").data<float>()[i], 1e-6);
  }
}

TEST(CompressWeightsTest, CompressedIrRoundTripKeepsTheOutputs) {
  ConvModel m = BuildConv(true);
  LoopEngine engine(ConvSamples());
  ASSERT_TRUE(MinMaxQuantization(MinMaxOptions{}).Run(&m.g, m.plan, &engine).ok());
  Graph fq_model = m.g;
  ASSERT_TRUE(CompressQuantizedWeights(&m.g).ok());
  const auto xml = ptqflow::testing::TempDir() / "quantized.xml";
  Status st = io::WriteIr(m.g, xml);
  ASSERT_TRUE(st.ok()) << st.message();
  auto back = io::ReadIr(xml);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(graph::ops::InferShapes(*back).ok());
  NodeId q = back->FindByName("w/quantized");
  ASSERT_NE(q, graph::kNoNode);
  EXPECT_EQ(back->node(q).constant.type(), graph::ElementType::kI8);
  EXPECT_EQ(back->NodesOfType("FakeQuantize").size(), 1u);
  const Sample s = {{"x", F32({1, 1, 2, 2}, {0.5f, -1, 2, 3})}};
  auto y_fq = engine.Infer(fq_model, s);
  auto y_ir = engine.Infer(*back, s);
  ASSERT_TRUE(y_fq.ok() && y_ir.ok()) << y_ir.status().message();
  for (int64_t i = 0; i < y_fq->at("out").size(); ++i) {
    EXPECT_NEAR(y_ir->at("out").data<float>()[i], y_fq->at("out").data<float>()[i], 1e-6);
  }
}

TEST(CompressWeightsTest, SaturationFixedWeightsUseHalfTheLevels) {
  ConvModel mm = BuildConv(true);
  LoopEngine engine(ConvSamples());
  ASSERT_TRUE(MinMaxQuantization(MinMaxOptions{}).Run(&mm.g, mm.plan, &engine).ok());
  ASSERT_TRUE(CompressQuantizedWeights(&mm.g).ok());
  const graph::Node& mul = mm.g.node(mm.g.node(mm.conv).input(1).node);
  const graph::Node& q = mm.g.node(mm.g.node(mul.input(0).node).input(0).node);
  // W/2 = {0.4, -0.15} quantized by the limits of the original weights ([-0.8, 0.8] and
  // [-0.3, 0.3]): about half of the levels, |q| <= 64; scale = 2m / 127.
  const float half[2] = {0.4f, -0.15f}, m[2] = {0.8f, 0.3f};
  for (int i = 0; i < 2; ++i) {
    const int level = int(std::nearbyint((half[i] + m[i]) / (2 * m[i]) * 254.0f));
    EXPECT_EQ(q.constant.data<int8_t>()[i], level - 127);
    EXPECT_LE(std::abs(int(q.constant.data<int8_t>()[i])), 64);
  }
  const graph::Node& sc = mm.g.node(mul.input(1).node);
  EXPECT_FLOAT_EQ(sc.constant.data<float>()[0], 3.2f / 254.0f);
}

TEST(CompressWeightsTest, AsymmetricZeroPointKeptOrFolded) {
  // Per-tensor asymmetric weights with limits [-192/191, 3], 256 levels: scale = (3 + 192/191)
  // / 255, zp = -128 + (192/191) / scale = -64.
  for (bool small : {false, true}) {
    Graph g;
    NodeId x = g.AddParameter("x", graph::ElementType::kF32, graph::PartialShape({1, 4}));
    std::vector<float> w = small ? std::vector<float>{0.5f, -1.0f, 0.0f, 0.25f}
                                 : std::vector<float>{3.0f, -1.0f, 0.0f, 0.25f};
    NodeId wc = g.AddConst("w", F32({1, 4}, w));
    graph::Attributes a;
    a.SetBool("transpose_a", false);
    a.SetBool("transpose_b", true);
    NodeId mm = g.AddOp("MatMul", "mm", {{x, 0}, {wc, 0}}, a, 1, "opset1");
    g.AddResult("out", {mm, 0});
    QuantizationPlan plan;
    InsertFq(&g, &plan, {wc, 0}, {{mm, 1}}, "mm/fq_weights_1", TensorRole::kWeights,
             Config(QuantMode::kAsymmetric, Granularity::kPerTensor), {}, 0);
    testing::InferOrDie(&g);
    FqParams p;
    const float lo = static_cast<float>(-192.0 / 191.0);
    p.input_low = p.output_low = {lo};
    p.input_high = p.output_high = {3.0f};
    p.levels = 256;
    ASSERT_TRUE(WriteFqLimits(&g, plan.fqs[0].fq, p).ok());
    Graph fq_model = g;
    auto stats = CompressQuantizedWeights(&g);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    // Levels of w by the FQ formula, then shifted by q_min = -128.
    std::vector<int> levels;
    for (float v : w) {
      levels.push_back(int(std::nearbyint((std::clamp(v, lo, 3.0f) - lo) / (3.0f - lo) * 255)) -
                       128);
    }
    const graph::Node& mul = g.node(g.node(mm).input(1).node);
    const graph::Node& prev = g.node(mul.input(0).node);
    if (small) {
      // Every level + 64 fits in int8: the zero point is folded into the data.
      EXPECT_EQ(stats->with_zero_point, 0);
      EXPECT_EQ(prev.type, "Convert");
      const graph::Node& q = g.node(prev.input(0).node);
      for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(q.constant.data<int8_t>()[i], levels[i] + 64);
    } else {
      // 3.0 is level 127: 127 + 64 overflows int8, so the Subtract stays.
      EXPECT_EQ(stats->with_zero_point, 1);
      ASSERT_EQ(prev.type, "Subtract");
      EXPECT_EQ(prev.name, "mm/fq_weights_1/minus_zp");
      EXPECT_NEAR(g.node(prev.input(1).node).constant.data<float>()[0], -64.0f, 1e-3);
      const graph::Node& q = g.node(g.node(prev.input(0).node).input(0).node);
      for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(q.constant.data<int8_t>()[i], levels[i]);
    }
    LoopEngine engine({});
    const Sample s = {{"x", F32({1, 4}, {1, 2, 3, 4})}};
    auto y_fq = engine.Infer(fq_model, s);
    auto y_c = engine.Infer(g, s);
    ASSERT_TRUE(y_fq.ok() && y_c.ok()) << y_c.status().message();
    EXPECT_NEAR(y_c->at("out").data<float>()[0], y_fq->at("out").data<float>()[0], 1e-5);
  }
}

// ---- Algorithms by name and DefaultQuantization ----

TEST(AlgorithmsTest, UnknownNameIsAnErrorNamingTheKey) {
  ConvModel m = BuildConv(true);
  LoopEngine engine(ConvSamples());
  auto r = RunAlgorithms({"MinMaxQuantization", "Ranger"}, &m.g, m.plan, &engine,
                         DefaultQuantizationOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("algorithms[1].name"), std::string::npos);
  EXPECT_EQ(engine.collect_calls(), 0);
}

TEST(AlgorithmsTest, DefaultQuantizationRunsAcaMinMaxAndFbcInTwoPasses) {
  AcaModel m = BuildAca();
  QuantizationPlan plan;
  Graph& g = m.g;
  const NodeId conv1 = g.FindByName("conv1");
  const QuantConfig act = Config(QuantMode::kSymmetric, Granularity::kPerTensor);
  const QuantConfig wts = Config(QuantMode::kSymmetric, Granularity::kPerChannel);
  InsertFq(&g, &plan, g.node(conv1).input(0), {{conv1, 0}}, "conv1/fq_input_0",
           TensorRole::kActivations, act, {}, 1);
  InsertFq(&g, &plan, {m.w_in, 0}, {{conv1, 1}}, "conv1/fq_weights_1", TensorRole::kWeights, wts,
           {2, 1, 1, 1}, 0);
  plan.fqs.back().saturation_fix_candidate = true;
  InsertFq(&g, &plan, g.node(m.conv2).input(0), {{m.conv2, 0}}, "conv2/fq_input_0",
           TensorRole::kActivations, act, {}, 1);
  InsertFq(&g, &plan, {m.w_out, 0}, {{m.conv2, 1}}, "conv2/fq_weights_1", TensorRole::kWeights, wts,
           {1, 2, 1, 1}, 0);
  testing::InferOrDie(&g);
  LoopEngine engine({{{"x", F32({1, 1, 1, 2}, {0, 1})}}, {{"x", F32({1, 1, 1, 2}, {0.5f, 2})}}});
  auto r = RunAlgorithms({"DefaultQuantization"}, &g, plan, &engine, DefaultQuantizationOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->statistics_passes, 2);
  EXPECT_EQ(engine.collect_calls(), 2);
  EXPECT_EQ(r->need_rescale, (std::set<NodeId>{m.conv2}));
  // Both convolutions' weights got the saturation fix (first layer + need_rescale).
  EXPECT_TRUE(r->fitted[1].saturation_fixed);
  EXPECT_TRUE(r->fitted[3].saturation_fixed);
  EXPECT_EQ(r->biases.size(), 2u);  // FastBiasCorrection evaluated both biased convolutions
}

}  // namespace
}  // namespace ptqflow::quant
