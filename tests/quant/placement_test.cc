// FakeQuantize placement on tiny hand-built graphs, one rule per test. Expected names, ports,
// levels and shapes come from pot-spec §3.2–§4.4 (POT's naming "<op>/fq_input_<port>",
// "<op>/fq_weights_<port>"; levels 255 for symmetric weights, 256 for activations; scalar
// per-tensor limits, [C,1,1,1] weights, [1,C,1,1] activations).
#include "quant/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "graph/ops/shape_inference.h"
#include "io/hardware_config_reader.h"
#include "quant/patterns.h"

namespace ptqflow::quant {
namespace {

using graph::Attributes;
using graph::ElementType;
using graph::Graph;
using graph::NodeId;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

const HardwareConfig& Cpu() {
  static const HardwareConfig hw = [] {
    auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    auto h = FlattenHardwareConfig(*spec, "CPU");
    EXPECT_TRUE(h.ok()) << h.status().message();
    return *h;
  }();
  return hw;
}

Tensor Ones(Shape s) {
  std::vector<float> v(size_t(graph::ElementCount(s)), 1.f);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.01f * float(i % 17) - 0.05f;
  return Tensor::FromVector<float>(ElementType::kF32, s, v);
}
ValueRef C(Graph& g, const std::string& name, Shape s) { return {g.AddConst(name, Ones(s)), 0}; }
ValueRef I64(Graph& g, const std::string& name, std::vector<int64_t> v) {
  return {g.AddConst(name, Tensor::FromVector<int64_t>(ElementType::kI64, {int64_t(v.size())}, v)),
          0};
}
ValueRef P(Graph& g, const std::string& name, Shape s) {
  return {g.AddParameter(name, ElementType::kF32, graph::PartialShape(s)), 0};
}
Attributes ConvAttrs(int pad = 0) {
  Attributes a;
  a.Set("strides", "1,1");
  a.Set("dilations", "1,1");
  a.Set("pads_begin", std::to_string(pad) + "," + std::to_string(pad));
  a.Set("pads_end", std::to_string(pad) + "," + std::to_string(pad));
  a.Set("auto_pad", "explicit");
  return a;
}
ValueRef Conv(Graph& g, const std::string& name, ValueRef x, int64_t cin, int64_t cout) {
  return {g.AddOp("Convolution", name, {x, C(g, name + "/w", {cout, cin, 1, 1})}, ConvAttrs(), 1,
                  "opset1"),
          0};
}
ValueRef Op(Graph& g, const std::string& type, const std::string& name, std::vector<ValueRef> in,
            Attributes a = {}) {
  return {g.AddOp(type, name, std::move(in), std::move(a), 1, ""), 0};
}
ValueRef MatMul(Graph& g, const std::string& name, ValueRef a, ValueRef b) {
  Attributes at;
  at.SetBool("transpose_a", false);
  at.SetBool("transpose_b", false);
  return Op(g, "MatMul", name, {a, b}, at);
}
ValueRef Reshape(Graph& g, const std::string& name, ValueRef x, std::vector<int64_t> s) {
  Attributes a;
  a.SetBool("special_zero", false);
  return Op(g, "Reshape", name, {x, I64(g, name + "/shape", s)}, a);
}
ValueRef Concat(Graph& g, const std::string& name, std::vector<ValueRef> in, int axis) {
  Attributes a;
  a.SetInt("axis", axis);
  return Op(g, "Concat", name, std::move(in), a);
}

struct Placed {
  QuantizationPlan plan;
  std::set<std::string> names;
};

Placed Place(Graph& g, PlacementOptions o = {}) {
  EXPECT_TRUE(graph::ops::InferShapes(g).ok());
  if (!o.hardware) o.hardware = &Cpu();
  auto r = PlaceFakeQuantize(&g, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  Placed p;
  if (!r.ok()) return p;
  p.plan = *r;
  for (const FqInfo& f : p.plan.fqs) p.names.insert(g.node(f.fq).name);
  EXPECT_TRUE(g.Validate().ok()) << g.Validate().message();
  Status s = graph::ops::InferShapes(g);
  EXPECT_TRUE(s.ok()) << s.message();
  // Every FakeQuantize in the graph is in the plan.
  EXPECT_EQ(g.NodesOfType("FakeQuantize").size(), p.plan.fqs.size());
  return p;
}

const FqInfo* Fq(const Graph& g, const Placed& p, const std::string& name) {
  for (const FqInfo& f : p.plan.fqs) {
    if (g.node(f.fq).name == name) return &f;
  }
  ADD_FAILURE() << "no FakeQuantize named " << name;
  return nullptr;
}
Shape LimitShape(const Graph& g, const FqInfo& f) {
  return g.node(g.node(f.fq).inputs[1].source.node).constant.shape();
}

TEST(PlacementTest, ConvolutionGetsInputAndWeightFqsWithPotNamesLevelsAndShapes) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv", x, 3, 4);
  g.AddResult("out", y);
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"conv/fq_input_0", "conv/fq_weights_1"}));
  const FqInfo* in = Fq(g, p, "conv/fq_input_0");
  const FqInfo* w = Fq(g, p, "conv/fq_weights_1");
  ASSERT_TRUE(in && w);
  EXPECT_EQ(in->role, TensorRole::kActivations);
  EXPECT_EQ(in->levels.levels, 256);
  EXPECT_EQ(*g.node(in->fq).attrs.GetInt("levels"), 256);
  EXPECT_EQ(LimitShape(g, *in), Shape{});
  EXPECT_EQ(in->config.mode, QuantMode::kSymmetric);
  EXPECT_EQ(w->role, TensorRole::kWeights);
  EXPECT_EQ(w->levels.levels, 255);
  EXPECT_EQ(w->config.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w->channel_axis, 0);
  EXPECT_EQ(LimitShape(g, *w), (Shape{4, 1, 1, 1}));
  // The first convolution after the input: its weights are the saturation-fix target.
  EXPECT_TRUE(w->saturation_fix_candidate);
  EXPECT_FALSE(in->saturation_fix_candidate);
  ASSERT_EQ(w->consumers.size(), 1u);
  EXPECT_EQ(g.node(w->consumers[0].first).name, "conv");
  EXPECT_EQ(w->consumers[0].second, 1);
}

TEST(PlacementTest, InsertsZeroBiasAfterBiaslessConvolutionAndNeverQuantizesIt) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv", x, 3, 4);
  g.AddResult("out", y);
  Place(g);
  const NodeId add = g.FindByName("conv/add_");
  ASSERT_NE(add, graph::kNoNode);
  EXPECT_EQ(g.node(add).type, "Add");
  EXPECT_EQ(g.node(g.node(add).inputs[0].source.node).name, "conv");
  const Tensor& b = g.node(g.node(add).inputs[1].source.node).constant;
  EXPECT_EQ(b.shape(), (Shape{1, 4, 1, 1}));
  for (float v : b.span<float>()) EXPECT_EQ(v, 0.f);
  // The Result reads the Add now.
  EXPECT_EQ(g.node(g.FindByName("out")).inputs[0].source.node, add);
}

TEST(PlacementTest, SecondConvolutionIsNotASaturationFixCandidate) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv1", x, 3, 4);
  y = Op(g, "Relu", "relu", {y});
  y = Conv(g, "conv2", y, 4, 4);
  g.AddResult("out", y);
  Placed p = Place(g);
  EXPECT_TRUE(Fq(g, p, "conv1/fq_weights_1")->saturation_fix_candidate);
  EXPECT_FALSE(Fq(g, p, "conv2/fq_weights_1")->saturation_fix_candidate);
}

TEST(PlacementTest, BiasAddAndFusedReluGetNoFakeQuantize) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv1", x, 3, 4);
  y = Op(g, "Add", "bias1", {y, C(g, "b1", {1, 4, 1, 1})});
  y = Op(g, "Relu", "relu", {y});
  y = Conv(g, "conv2", y, 4, 4);
  g.AddResult("out", y);
  Placed p = Place(g);
  // bias1 (operation_with_bias) has no FQs; ReLU is not quantizable on CPU.
  EXPECT_EQ(p.names, (std::set<std::string>{"conv1/fq_input_0", "conv1/fq_weights_1",
                                            "conv2/fq_input_0", "conv2/fq_weights_1"}));
  EXPECT_EQ(g.FindByName("conv1/add_"), graph::kNoNode);  // it has a bias already
}

TEST(PlacementTest, EltwiseAddGetsOneFqPerInput) {
  Graph g;
  ValueRef a = P(g, "a", {1, 4, 8, 8});
  ValueRef b = P(g, "b", {1, 4, 8, 8});
  ValueRef ra = Op(g, "Relu", "ra", {a});
  ValueRef rb = Op(g, "Relu", "rb", {b});
  g.AddResult("out", Op(g, "Add", "add", {ra, rb}));
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"add/fq_input_0", "add/fq_input_1"}));
  EXPECT_TRUE(p.plan.unified_groups.empty());  // Add is not unified on CPU
}

TEST(PlacementTest, PropagatesUpThroughMaxPoolAndMergesFqsOnOneTensor) {
  // pot-spec §4.3 step 4: MaxPool_2/fq_input_0 serves both convolutions.
  Graph g;
  ValueRef x = P(g, "x", {1, 4, 8, 8});
  ValueRef r = Op(g, "Relu", "relu", {x});
  Attributes mp;
  mp.Set("strides", "2,2");
  mp.Set("kernel", "2,2");
  mp.Set("pads_begin", "0,0");
  mp.Set("pads_end", "0,0");
  ValueRef m = Op(g, "MaxPool", "MaxPool_2", {r}, mp);
  g.node(m.node).version = "opset1";
  g.AddResult("o1", Conv(g, "Conv_3", m, 4, 4));
  g.AddResult("o2", Conv(g, "Conv_8", m, 4, 4));
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"MaxPool_2/fq_input_0", "Conv_3/fq_weights_1",
                                            "Conv_8/fq_weights_1"}));
  const FqInfo* f = Fq(g, p, "MaxPool_2/fq_input_0");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->input, r);
  std::set<std::string> cons;
  for (auto [n, port] : f->consumers) cons.insert(g.node(n).name + ":" + std::to_string(port));
  EXPECT_EQ(cons, (std::set<std::string>{"Conv_3:0", "Conv_8:0"}));
  // The MaxPool reads the FQ.
  EXPECT_EQ(g.node(m.node).inputs[0].source.node, f->fq);
}

TEST(PlacementTest, AscentIsBlockedWhenAnotherBranchWouldBecomeQuantized) {
  Graph g;
  ValueRef x = P(g, "x", {4, 6});
  ValueRef r = Op(g, "Relu", "relu", {x});
  ValueRef t = Reshape(g, "reshape", r, {6, 4});
  g.AddResult("o1", MatMul(g, "mm", t, C(g, "w", {4, 3})));
  g.AddResult("o2", Op(g, "Sigmoid", "sig", {t}));  // Sigmoid is not quantizable on CPU
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"mm/fq_input_0", "mm/fq_weights_1"}));
}

TEST(PlacementTest, MatMulConstWeightsArePreTransposed) {
  Graph g;
  ValueRef x = P(g, "x", {3, 5});
  g.AddResult("o", MatMul(g, "mm", x, C(g, "w", {5, 2})));
  const std::vector<float> w0(g.node(g.FindByName("w")).constant.span<float>().begin(),
                              g.node(g.FindByName("w")).constant.span<float>().end());
  Placed p = Place(g);
  const NodeId mm = g.FindByName("mm");
  EXPECT_TRUE(*g.node(mm).attrs.GetBool("transpose_b"));
  const FqInfo* f = Fq(g, p, "mm/fq_weights_1");
  ASSERT_TRUE(f);
  const Tensor& w = g.node(f->input.node).constant;
  ASSERT_EQ(w.shape(), (Shape{2, 5}));
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 5; ++k) EXPECT_EQ(w.data<float>()[n * 5 + k], w0[size_t(k * 2 + n)]);
  }
  EXPECT_EQ(LimitShape(g, *f), (Shape{2, 1}));
}

TEST(PlacementTest, ConcatFeedingMatMulFormsOneUnifiedGroup) {
  Graph g;
  ValueRef a = P(g, "a", {5, 10});
  ValueRef b = P(g, "b", {5, 2});
  ValueRef c = Concat(g, "cat", {a, b}, 1);
  g.AddResult("o", MatMul(g, "mm", c, C(g, "w", {12, 3})));
  Placed p = Place(g);
  EXPECT_EQ(p.names,
            (std::set<std::string>{"cat/fq_input_0", "cat/fq_input_1", "mm/fq_weights_1"}));
  ASSERT_EQ(p.plan.unified_groups.size(), 1u);
  std::set<std::string> grp;
  for (int i : p.plan.unified_groups[0]) grp.insert(g.node(p.plan.fqs[size_t(i)].fq).name);
  EXPECT_EQ(grp, (std::set<std::string>{"cat/fq_input_0", "cat/fq_input_1"}));
}

TEST(PlacementTest, ConcatNotFeedingConvOrMatMulIsNotUnified) {
  Graph g;
  ValueRef a = P(g, "a", {1, 4, 4, 4});
  ValueRef b = P(g, "b", {1, 4, 4, 4});
  ValueRef c = Concat(g, "cat", {Op(g, "Relu", "ra", {a}), Op(g, "Relu", "rb", {b})}, 1);
  ValueRef d = P(g, "d", {1, 8, 4, 4});
  g.AddResult("o", Op(g, "Add", "add", {c, Op(g, "Relu", "rd", {d})}));
  Placed p = Place(g);
  // The Add's FQ on the Concat output still moves above the Concat.
  EXPECT_EQ(p.names, (std::set<std::string>{"cat/fq_input_0", "cat/fq_input_1", "add/fq_input_1"}));
  EXPECT_TRUE(p.plan.unified_groups.empty());
}

TEST(PlacementTest, DepthwiseConvolutionHasPerChannelActivationsAndFourDimWeights) {
  Graph g;
  ValueRef x = P(g, "x", {1, 4, 8, 8});
  ValueRef r = Op(g, "Relu", "relu", {x});
  ValueRef w = C(g, "dw_w", {4, 1, 1, 3, 3});
  ValueRef y{g.AddOp("GroupConvolution", "dw", {r, w}, ConvAttrs(1), 1, "opset1"), 0};
  g.AddResult("o", y);
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"dw/fq_input_0", "dw/fq_weights_1"}));
  const FqInfo* in = Fq(g, p, "dw/fq_input_0");
  const FqInfo* fw = Fq(g, p, "dw/fq_weights_1");
  ASSERT_TRUE(in && fw);
  EXPECT_EQ(in->config.granularity, Granularity::kPerChannel);
  EXPECT_EQ(in->channel_axis, 1);
  EXPECT_EQ(LimitShape(g, *in), (Shape{1, 4, 1, 1}));
  // Weights: 4-D Const [O, I/G, kh, kw] -> FQ -> Reshape(5-D) -> GroupConvolution (§4.2).
  EXPECT_EQ(g.node(fw->input.node).constant.shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(LimitShape(g, *fw), (Shape{4, 1, 1, 1}));
  const NodeId rs = g.node(y.node).inputs[1].source.node;
  EXPECT_EQ(g.node(rs).type, "Reshape");
  EXPECT_EQ(g.node(rs).inputs[0].source.node, fw->fq);
  EXPECT_TRUE(fw->saturation_fix_candidate);  // grouped convolutions count as convolutions
}

TEST(PlacementTest, IgnoredScopeByName) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv1", x, 3, 4);
  y = Conv(g, "conv2", Op(g, "Relu", "relu", {y}), 4, 4);
  g.AddResult("o", y);
  PlacementOptions o;
  o.ignored.scope = {"conv1"};
  Placed p = Place(g, o);
  EXPECT_EQ(p.names, (std::set<std::string>{"conv2/fq_input_0", "conv2/fq_weights_1"}));
}

TEST(PlacementTest, IgnoredScopeByTypeWithAttributes) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv4", x, 3, 4);
  y = Conv(g, "conv8", Op(g, "Relu", "relu", {y}), 4, 8);
  g.AddResult("o", y);
  PlacementOptions o;
  o.ignored.operations = {{"Convolution", {{"output", "8"}}}};
  Placed p = Place(g, o);
  EXPECT_EQ(p.names, (std::set<std::string>{"conv4/fq_input_0", "conv4/fq_weights_1"}));

  Graph g2;
  ValueRef x2 = P(g2, "x", {1, 3, 8, 8});
  g2.AddResult("o", Conv(g2, "conv", x2, 3, 4));
  PlacementOptions o2;
  o2.ignored.operations = {{"Convolution", {}}};  // type alone ignores every convolution
  EXPECT_TRUE(Place(g2, o2).names.empty());
}

TEST(PlacementTest, SkipModelPlacesNothing) {
  Graph g;
  g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
  PlacementOptions o;
  o.ignored.skip_model = true;
  EXPECT_TRUE(Place(g, o).names.empty());
}

TEST(PlacementTest, IgnoredAgnosticOpPassesTheIgnoreToItsChildren) {
  Graph g;
  ValueRef x = P(g, "x", {4, 6});
  ValueRef t = Reshape(g, "reshape", Op(g, "Relu", "relu", {x}), {6, 4});
  t = Op(g, "Transpose", "tr", {t, I64(g, "perm", {1, 0})});
  g.AddResult("o", MatMul(g, "mm", t, C(g, "w", {6, 3})));
  PlacementOptions o;
  o.ignored.scope = {"reshape"};
  EXPECT_TRUE(Place(g, o).names.empty());  // mm inherited the ignore through Transpose
}

TEST(PlacementTest, MixedPresetGivesAsymmetricActivationsAndSymmetricWeights) {
  Graph g;
  g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
  PlacementOptions o;
  o.preset = Preset::kMixed;
  Placed p = Place(g, o);
  EXPECT_EQ(Fq(g, p, "conv/fq_input_0")->config.mode, QuantMode::kAsymmetric);
  EXPECT_EQ(Fq(g, p, "conv/fq_weights_1")->config.mode, QuantMode::kSymmetric);
  EXPECT_EQ(Fq(g, p, "conv/fq_weights_1")->levels.levels, 255);
}

TEST(PlacementTest, WeightsOverrideFiltersTheHardwareConfig) {
  Graph g;
  g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
  PlacementOptions o;
  o.weights.mode = QuantMode::kAsymmetric;
  Placed p = Place(g, o);
  const FqInfo* w = Fq(g, p, "conv/fq_weights_1");
  EXPECT_EQ(w->config.mode, QuantMode::kAsymmetric);
  EXPECT_EQ(w->levels.levels, 256);
}

// A bit width the hardware config does not list: the user's keys win (POT warns), the levels
// follow the bits (pot-spec §3.1: symmetric weights -2^(b-1)+1 .. 2^(b-1)-1, others 2^b), and
// the preset still picks the activation mode.
TEST(PlacementTest, BitsOverrideOutsideTheHardwareConfigSetsLevelsFromTheBits) {
  for (Preset preset : {Preset::kPerformance, Preset::kMixed}) {
    SCOPED_TRACE(preset == Preset::kMixed ? "mixed" : "performance");
    Graph g;
    g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
    PlacementOptions o;
    o.preset = preset;
    o.weights.bits = 4;
    o.activations.bits = 3;
    Placed p = Place(g, o);
    const FqInfo* w = Fq(g, p, "conv/fq_weights_1");
    EXPECT_EQ(w->config.bits, 4);
    EXPECT_EQ(w->config.mode, QuantMode::kSymmetric);
    EXPECT_EQ(w->levels.levels, 15);  // -7 .. 7
    const FqInfo* a = Fq(g, p, "conv/fq_input_0");
    EXPECT_EQ(a->config.bits, 3);
    EXPECT_EQ(a->levels.levels, 8);
    EXPECT_EQ(a->config.mode,
              preset == Preset::kMixed ? QuantMode::kAsymmetric : QuantMode::kSymmetric);
  }
}

TEST(PlacementTest, TransformerModeIgnoresAddAndMakesActivationMatMulInputsSymmetric) {
  auto build = [](Graph& g) {
    ValueRef a = P(g, "a", {4, 6});
    ValueRef b = P(g, "b", {6, 4});
    ValueRef m = MatMul(g, "attn", Op(g, "Relu", "ra", {a}), Op(g, "Relu", "rb", {b}));
    ValueRef s = Op(g, "Add", "add", {m, P(g, "c", {4, 4})});
    g.AddResult("o", s);
  };
  PlacementOptions o;
  o.preset = Preset::kMixed;
  {
    Graph g;
    build(g);
    Placed p = Place(g, o);
    EXPECT_EQ(p.names, (std::set<std::string>{"attn/fq_input_0", "attn/fq_input_1",
                                              "add/fq_input_0", "add/fq_input_1"}));
    EXPECT_EQ(Fq(g, p, "attn/fq_input_0")->config.mode, QuantMode::kAsymmetric);
  }
  {
    Graph g;
    build(g);
    o.model_type = "transformer";
    Placed p = Place(g, o);
    EXPECT_EQ(p.names, (std::set<std::string>{"attn/fq_input_0", "attn/fq_input_1"}));
    EXPECT_EQ(Fq(g, p, "attn/fq_input_0")->config.mode, QuantMode::kSymmetric);
    EXPECT_EQ(Fq(g, p, "attn/fq_input_1")->config.mode, QuantMode::kSymmetric);
  }
}

TEST(PlacementTest, UnknownModelTypeIsAnErrorNamingTheKey) {
  Graph g;
  g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
  ASSERT_TRUE(graph::ops::InferShapes(g).ok());
  PlacementOptions o;
  o.hardware = &Cpu();
  o.model_type = "bert";
  auto r = PlaceFakeQuantize(&g, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model_type"), std::string::npos);
}

TEST(PlacementTest, InputScaleShiftChainIsSkipped) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef m = Op(g, "Multiply", "scale", {x, C(g, "s", {1, 3, 1, 1})});
  ValueRef a = Op(g, "Add", "shift", {m, C(g, "t", {1, 3, 1, 1})});
  g.AddResult("o", Conv(g, "conv", a, 3, 4));
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"conv/fq_input_0", "conv/fq_weights_1"}));
}

TEST(PlacementTest, InputSubtractIsSkippedButAMidGraphSubtractIsQuantized) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef s = Op(g, "Subtract", "sub_in", {x, P(g, "mean", {1, 3, 8, 8})});
  ValueRef r = Op(g, "Relu", "relu", {s});
  g.AddResult("o", Op(g, "Subtract", "sub_mid", {r, Op(g, "Relu", "relu2", {x})}));
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"sub_mid/fq_input_0", "sub_mid/fq_input_1"}));
}

TEST(PlacementTest, SoftmaxDivPatternIsSkipped) {
  Graph g;
  ValueRef x = P(g, "x", {2, 5});
  ValueRef e = Op(g, "Exp", "exp", {x});
  Attributes rd;
  rd.SetBool("keep_dims", true);
  ValueRef s = Op(g, "ReduceSum", "sum", {e, I64(g, "axes", {1})}, rd);
  g.AddResult("o", Op(g, "Divide", "div", {e, s}));
  EXPECT_TRUE(Place(g).names.empty());
}

TEST(PlacementTest, SwishAfterBiasedConvolutionIsSkipped) {
  Graph g;
  ValueRef x = P(g, "x", {1, 3, 8, 8});
  ValueRef y = Conv(g, "conv", x, 3, 4);
  y = Op(g, "Add", "bias", {y, C(g, "b", {1, 4, 1, 1})});
  y = Op(g, "Swish", "swish", {y});
  // Swish is not one of the fused activations, so a following Multiply(const) is an ordinary
  // eltwise: one FQ per input, the Const one a weights FQ.
  g.AddResult("o", Op(g, "Multiply", "mul", {y, C(g, "k", {1, 4, 1, 1})}));
  Placed p = Place(g);
  EXPECT_EQ(p.names, (std::set<std::string>{"conv/fq_input_0", "conv/fq_weights_1",
                                            "mul/fq_input_0", "mul/fq_weights_1"}));
  EXPECT_EQ(Fq(g, p, "mul/fq_weights_1")->role, TensorRole::kWeights);
}

TEST(PlacementTest, FusedScaleShiftAfterConvolutionIsSkippedUnlessTheChainBranches) {
  auto build = [](Graph& g, bool branch) {
    ValueRef x = P(g, "x", {1, 3, 8, 8});
    ValueRef y = Conv(g, "conv", x, 3, 4);
    y = Op(g, "Add", "bias", {y, C(g, "b", {1, 4, 1, 1})});
    ValueRef r = Op(g, "Relu", "relu", {y});
    ValueRef m = Op(g, "Multiply", "mul", {r, C(g, "k", {1, 4, 1, 1})});
    g.AddResult("o", Op(g, "Add", "shift", {m, C(g, "t", {1, 4, 1, 1})}));
    if (branch) g.AddResult("o2", Op(g, "Sigmoid", "side", {r}));
  };
  Graph g1;
  build(g1, false);
  EXPECT_EQ(Place(g1).names, (std::set<std::string>{"conv/fq_input_0", "conv/fq_weights_1"}));
  Graph g2;
  build(g2, true);
  // ReLU feeds two ops: the scale-shift is not fused, the Multiply(const) is quantized as an
  // input-only scale-shift and its Add(const) stays skipped (scale_shift_add).
  EXPECT_EQ(Place(g2).names,
            (std::set<std::string>{"conv/fq_input_0", "conv/fq_weights_1", "mul/fq_input_0"}));
}

TEST(PlacementTest, AncestorsOfTopKAreSkipped) {
  Graph g;
  ValueRef a = P(g, "a", {1, 10});
  ValueRef b = P(g, "b", {1, 10});
  ValueRef s = Op(g, "Add", "add", {Op(g, "Relu", "ra", {a}), Op(g, "Relu", "rb", {b})});
  Attributes tk;
  tk.SetInt("axis", 1);
  tk.Set("mode", "max");
  tk.Set("sort", "value");
  tk.Set("index_element_type", "i32");
  NodeId topk =
      g.AddOp("TopK", "topk",
              {s, {g.AddConst("k", Tensor::FromVector<int64_t>(ElementType::kI64, {}, {3})), 0}},
              tk, 2, "opset11");
  g.AddResult("o", {topk, 0});
  g.AddResult("i", {topk, 1});
  EXPECT_TRUE(Place(g).names.empty());
}

TEST(PlacementTest, ShapeSubgraphInputsGetNoFakeQuantize) {
  Graph g;
  ValueRef x = P(g, "x", {3, 2});
  ValueRef r = Op(g, "Relu", "relu", {x});
  ValueRef sh = Op(g, "ShapeOf", "shape", {r});
  ValueRef f = Op(g, "Convert", "tofloat", {sh});
  g.node(f.node).attrs.Set("destination_type", "f32");
  g.AddResult("o", Op(g, "Multiply", "mul", {Op(g, "Relu", "r2", {x}), f}));
  // mul's input 1 is value-known (shape sub-graph): only input 0 is quantized.
  EXPECT_EQ(Place(g).names, (std::set<std::string>{"mul/fq_input_0"}));
}

TEST(PlacementTest, FirstConvolutionsPassThroughMatMulAndStopAtConvolutions) {
  // first_convs/README.md's rule on a hand-built 1_input_model look-alike.
  Graph g;
  ValueRef x = P(g, "input1", {1, 36});
  ValueRef y = MatMul(g, "fc", x, C(g, "w", {36, 36}));
  y = Reshape(g, "reshape", y, {1, 1, 6, 6});
  y = Conv(g, "c3", y, 1, 3);
  y = Conv(g, "c4", y, 3, 4);
  ValueRef z = Conv(g, "c5", P(g, "input2", {1, 1, 6, 6}), 1, 4);
  g.AddResult("o", Op(g, "Add", "add", {y, z}));
  ASSERT_TRUE(graph::ops::InferShapes(g).ok());
  EXPECT_EQ(FindFirstConvolutions(g), (std::vector<std::string>{"c3", "c5"}));
}

TEST(PlacementTest, MissingHardwareConfigIsAnError) {
  Graph g;
  g.AddResult("o", Conv(g, "conv", P(g, "x", {1, 3, 8, 8}), 3, 4));
  auto r = PlaceFakeQuantize(&g, PlacementOptions{});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace ptqflow::quant
