// Layer fusion (graph/exec/fusion.h): a fused plan computes what the unfused plan computes
// (each unfused kernel is checked against reference loops in kernels_test), fuses what it
// should, and keeps tapped intermediates observable.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "tests/graph/exec/exec_test_util.h"

namespace ptqflow::exec::testing {
namespace {

using graph::Attributes;
using graph::ElementType;
using graph::NodeId;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

// x [1, C, 9, 7] -> 3x3 Convolution (pad 1) with constant weights; then `tail` appends layers.
struct ConvNet {
  graph::Graph g;
  NodeId conv = graph::kNoNode;
  ValueRef out;
  std::map<std::string, Tensor> feeds;
  int64_t oc = 0;
};

ConvNet MakeConvNet(int64_t ic, int64_t oc, int64_t groups,
                    const std::function<ValueRef(ConvNet&, ValueRef)>& tail) {
  ConvNet n;
  n.oc = oc;
  const Shape xs{1, ic, 9, 7};
  NodeId x = n.g.AddParameter("x", ElementType::kF32, graph::PartialShape(xs));
  n.feeds["x"] = F32(xs, RandomFloats(graph::ElementCount(xs), 11, -2.f, 2.f));
  Shape ws = groups == 1 ? Shape{oc, ic, 3, 3} : Shape{groups, oc / groups, ic / groups, 3, 3};
  NodeId w = n.g.AddConst("w", F32(ws, RandomFloats(graph::ElementCount(ws), 12, -0.5f, 0.5f)));
  Attributes a;
  a.SetInts("strides", {1, 1});
  a.SetInts("dilations", {1, 1});
  a.SetInts("pads_begin", {1, 1});
  a.SetInts("pads_end", {1, 1});
  a.Set("auto_pad", "explicit");
  n.conv = n.g.AddOp(groups == 1 ? "Convolution" : "GroupConvolution", "conv", {{x, 0}, {w, 0}}, a);
  n.out = tail(n, {n.conv, 0});
  n.g.node(n.out.node).outputs[n.out.port].names = {"y"};
  n.g.AddResult("result", n.out);
  return n;
}

ValueRef AddConstOp(ConvNet& n, const std::string& type, ValueRef v, Tensor c,
                    const std::string& name, bool const_first = false) {
  NodeId k = n.g.AddConst(name + "_c", std::move(c));
  std::vector<ValueRef> in =
      const_first ? std::vector<ValueRef>{{k, 0}, v} : std::vector<ValueRef>{v, {k, 0}};
  return {n.g.AddOp(type, name, in), 0};
}

ValueRef Unary(ConvNet& n, const std::string& type, ValueRef v, const std::string& name,
               Attributes a = {}) {
  return {n.g.AddOp(type, name, {v}, a), 0};
}

Tensor PerChannel(int64_t c, uint32_t seed) {
  return F32({1, c, 1, 1}, RandomFloats(c, seed, -1.f, 1.f));
}

struct Outcome {
  Tensor y;
  size_t steps = 0, fused = 0;
};

Outcome RunNet(const ConvNet& n, CompileOptions opts) {
  Outcome o;
  auto plan = CompiledModel::Compile(n.g, opts);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  if (!plan.ok()) return o;
  o.steps = (*plan)->num_steps();
  o.fused = (*plan)->num_fused_layers();
  Session s(*plan);
  std::map<std::string, Tensor> out;
  Status st = s.Run(n.feeds, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  o.y = out["y"];
  return o;
}

// Runs fused and unfused; expects `fused_layers` layers fused away and equal outputs.
void ExpectFusedMatchesUnfused(const ConvNet& n, size_t fused_layers, double tol = 1e-5) {
  CompileOptions off;
  off.fuse = false;
  Outcome ref = RunNet(n, off);
  Outcome got = RunNet(n, CompileOptions{});
  EXPECT_EQ(ref.fused, 0u);
  EXPECT_EQ(got.fused, fused_layers);
  EXPECT_EQ(got.steps + fused_layers, ref.steps);
  ASSERT_EQ(got.y.shape(), ref.y.shape());
  const float* a = got.y.data<float>();
  const float* b = ref.y.data<float>();
  double max_ref = 0;
  for (int64_t i = 0; i < ref.y.size(); ++i) max_ref = std::max(max_ref, std::abs(double(b[i])));
  ASSERT_GT(max_ref, 0.0);
  for (int64_t i = 0; i < ref.y.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tol * std::max(1.0, max_ref)) << "element " << i;
  }
}

TEST(FusionTest, ConvBiasRelu) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 1), "bias");
    return Unary(n, "Relu", v, "relu");
  });
  ExpectFusedMatchesUnfused(n, 2);
}

TEST(FusionTest, BiasAsFirstOperandAndScalarScaleShiftThenClamp) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 2), "bias", /*const_first=*/true);
    v = AddConstOp(n, "Multiply", v, F32({1}, {0.75f}), "scale");
    v = AddConstOp(n, "Add", v, F32({}, {0.25f}), "shift");
    Attributes a;
    a.SetFloat("min", -0.5);
    a.SetFloat("max", 1.5);
    return Unary(n, "Clamp", v, "clamp", a);
  });
  ExpectFusedMatchesUnfused(n, 4);
}

TEST(FusionTest, DepthwiseConvBatchNormSigmoidPerChannelMultiply) {
  ConvNet n = MakeConvNet(6, 6, 6, [](ConvNet& n, ValueRef v) {
    std::vector<NodeId> bn_in;
    for (uint32_t k = 0; k < 4; ++k) {
      std::vector<float> vals = RandomFloats(6, 20 + k, 0.5f, 1.5f);
      bn_in.push_back(n.g.AddConst("bn" + std::to_string(k), F32({6}, vals)));
    }
    Attributes a;
    a.SetFloat("epsilon", 1e-3);
    NodeId bn =
        n.g.AddOp("BatchNormInference", "bn",
                  {v, {bn_in[0], 0}, {bn_in[1], 0}, {bn_in[2], 0}, {bn_in[3], 0}}, a, 1, "opset5");
    v = Unary(n, "Sigmoid", {bn, 0}, "sig");
    return AddConstOp(n, "Multiply", v, PerChannel(6, 3), "mul");
  });
  ExpectFusedMatchesUnfused(n, 3);
}

TEST(FusionTest, ActivationsWithParameters) {
  for (const char* act_name : {"Tanh", "HSwish", "HSigmoid", "Gelu", "Elu", "Swish", "PRelu",
                               "HardSigmoid", "Abs", "Exp"}) {
    const std::string act = act_name;
    SCOPED_TRACE(act);
    ConvNet n = MakeConvNet(3, 5, 1, [&](ConvNet& n, ValueRef v) {
      v = AddConstOp(n, "Subtract", v, PerChannel(5, 4), "sub");
      if (act == "Elu") {
        Attributes a;
        a.SetFloat("alpha", 0.7);
        return Unary(n, act, v, "act", a);
      }
      if (act == "Swish") return AddConstOp(n, "Swish", v, F32({}, {1.3f}), "act");
      if (act == "PRelu") return AddConstOp(n, "PRelu", v, F32({1}, {0.2f}), "act");
      if (act == "HardSigmoid") {
        NodeId al = n.g.AddConst("alpha", F32({}, {0.2f}));
        NodeId be = n.g.AddConst("beta", F32({}, {0.5f}));
        return ValueRef{n.g.AddOp(act, "act", {v, {al, 0}, {be, 0}}), 0};
      }
      return Unary(n, act, v, "act");
    });
    ExpectFusedMatchesUnfused(n, 2);
  }
}

// PP-OCRv4's learnable affine blocks: scalar scale/shift before and after an activation, and
// one activation twice with different parameters. oneDNN 2.6's brgemm convolutions (chosen for
// 16 channels in the blocked layout) apply one parameter set to repeated eltwise post-ops, so the
// second PRelu / Clamp must stay a separate layer; consecutive scalar affine layers fuse as one.
TEST(FusionTest, RepeatedActivationWithOtherParametersEndsTheChain) {
  for (int64_t groups : {int64_t{1}, int64_t{16}}) {
    SCOPED_TRACE(groups == 1 ? "convolution" : "depthwise");
    ConvNet n = MakeConvNet(16, 16, groups, [](ConvNet& n, ValueRef v) {
      v = AddConstOp(n, "Add", v, PerChannel(16, 6), "bias");
      v = AddConstOp(n, "Multiply", v, F32({}, {1.4f}), "scale0");
      v = AddConstOp(n, "Add", v, F32({}, {0.6f}), "shift0");
      v = Unary(n, "HSwish", v, "hswish");
      v = AddConstOp(n, "Multiply", v, F32({}, {0.17f}), "scale1");
      v = AddConstOp(n, "Add", v, F32({}, {0.3f}), "shift1");
      v = AddConstOp(n, "PRelu", v, F32({1}, {0.1f}), "leaky");
      v = AddConstOp(n, "PRelu", v, F32({1}, {0.5f}), "leaky2");  // not fused: stays a layer
      Attributes c1, c2;
      c1.SetFloat("min", -0.5);
      c1.SetFloat("max", 6);
      c2.SetFloat("min", -1);
      c2.SetFloat("max", 1);
      v = Unary(n, "Clamp", v, "clamp1", c1);  // the second layer's chain
      return Unary(n, "Clamp", v, "clamp2", c2);
    });
    // Fused into the convolution: bias, scale0, shift0, hswish, scale1, shift1, leaky (7);
    // into leaky2's kernel nothing (PRelu takes no post-ops), clamp1 and clamp2 stay.
    ExpectFusedMatchesUnfused(n, 7);
  }
}

// x * clamp(x + 3, 0, 6) / 6 in four layers (both orders of the last two).
TEST(FusionTest, DecomposedHSwishIsOnePostOp) {
  for (bool divide_last : {true, false}) {
    SCOPED_TRACE(divide_last ? "mul then div" : "div then mul");
    ConvNet n = MakeConvNet(4, 8, 1, [&](ConvNet& n, ValueRef x) {
      x = AddConstOp(n, "Add", x, PerChannel(8, 5), "bias");
      ValueRef a = AddConstOp(n, "Add", x, F32({}, {3.f}), "plus3");
      Attributes ca;
      ca.SetFloat("min", 0);
      ca.SetFloat("max", 6);
      ValueRef c = Unary(n, "Clamp", a, "relu6", ca);
      if (divide_last) {
        ValueRef m = ValueRef{n.g.AddOp("Multiply", "mul", {x, c}), 0};
        return AddConstOp(n, "Divide", m, F32({}, {6.f}), "div");
      }
      ValueRef d = AddConstOp(n, "Divide", c, F32({}, {6.f}), "div");
      return ValueRef{n.g.AddOp("Multiply", "mul", {d, x}), 0};
    });
    ExpectFusedMatchesUnfused(n, 5);
  }
}

TEST(FusionTest, MatMulBiasGelu) {
  graph::Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, graph::PartialShape(Shape{3, 5, 16}));
  NodeId w = g.AddConst("w", F32({16, 12}, RandomFloats(16 * 12, 31)));
  NodeId b = g.AddConst("b", F32({12}, RandomFloats(12, 32)));
  NodeId mm = g.AddOp("MatMul", "mm", {{x, 0}, {w, 0}});
  NodeId add = g.AddOp("Add", "add", {{mm, 0}, {b, 0}});
  NodeId gelu = g.AddOp("Gelu", "gelu", {{add, 0}});
  g.node(gelu).outputs[0].names = {"y"};
  g.AddResult("r", {gelu, 0});
  std::map<std::string, Tensor> feeds = {{"x", F32({3, 5, 16}, RandomFloats(240, 33))}};
  std::map<std::string, Tensor> on, off;
  CompileOptions no;
  no.fuse = false;
  auto p_on = CompiledModel::Compile(g);
  auto p_off = CompiledModel::Compile(g, no);
  ASSERT_TRUE(p_on.ok() && p_off.ok());
  EXPECT_EQ((*p_on)->num_steps(), 1u);
  EXPECT_EQ((*p_off)->num_steps(), 3u);
  ASSERT_TRUE(Session(*p_on).Run(feeds, &on).ok());
  ASSERT_TRUE(Session(*p_off).Run(feeds, &off).ok());
  for (int64_t i = 0; i < on["y"].size(); ++i) {
    ASSERT_NEAR(on["y"].data<float>()[i], off["y"].data<float>()[i], 1e-5);
  }
}

TEST(FusionTest, ValueWithTwoReadersEndsTheChain) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 6), "bias");
    ValueRef r = Unary(n, "Relu", v, "relu");
    return ValueRef{n.g.AddOp("Add", "residual", {r, v}), 0};  // v read twice
  });
  ExpectFusedMatchesUnfused(n, 1);  // only the bias
}

TEST(FusionTest, ModelOutputsAreNotFusedAway) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 7), "bias");
    return Unary(n, "Relu", v, "relu");
  });
  NodeId bias = n.g.FindByName("bias");
  n.g.node(bias).outputs[0].names = {"pre_relu"};
  n.g.AddResult("pre", {bias, 0});
  auto plan = CompiledModel::Compile(n.g);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->num_fused_layers(), 1u);  // bias only: its output is a model output
  Session s(*plan);
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(s.Run(n.feeds, &out).ok());
  ASSERT_EQ(out.count("pre_relu"), 1u);
  for (int64_t i = 0; i < out["y"].size(); ++i) {
    EXPECT_EQ(out["y"].data<float>()[i], std::max(0.f, out["pre_relu"].data<float>()[i]));
  }
}

TEST(FusionTest, ObservableIntermediateStaysComputedAndTappable) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 8), "bias");
    v = Unary(n, "Relu", v, "relu");
    return AddConstOp(n, "Multiply", v, F32({}, {2.f}), "double");
  });
  const ValueRef conv_out{n.conv, 0};
  const ValueRef relu_out{n.g.FindByName("relu"), 0};

  // Unfused reference values of the two intermediates.
  CompileOptions off;
  off.fuse = false;
  auto ref_plan = CompiledModel::Compile(n.g, off);
  ASSERT_TRUE(ref_plan.ok());
  TapSet ref_taps;
  ref_taps.Keep(conv_out);
  ref_taps.Keep(relu_out);
  std::map<std::string, Tensor> ref_out;
  ASSERT_TRUE(Session(*ref_plan).Run(n.feeds, &ref_out, &ref_taps).ok());

  // Default fusion: tapping a fused-away value is an error naming the fused layer.
  {
    auto plan = CompiledModel::Compile(n.g);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ((*plan)->num_steps(), 1u);
    TapSet taps;
    taps.Keep(relu_out);
    std::map<std::string, Tensor> out;
    Status st = Session(*plan).Run(n.feeds, &out, &taps);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("fused into"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("conv"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("observable"), std::string::npos) << st.message();
  }
  // Listed as observable: the chain breaks around them, the taps see the unfused values.
  CompileOptions opts;
  opts.observable = {conv_out, relu_out};
  auto plan = CompiledModel::Compile(n.g, opts);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->num_fused_layers(), 0u);  // the conv output itself is observable
  opts.observable = {relu_out};
  plan = CompiledModel::Compile(n.g, opts);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->num_fused_layers(), 2u);  // conv+bias+relu, then double
  TapSet taps;
  int calls = 0;
  taps.Observe(relu_out, [&](const ValueRef& v, const TensorView& view) {
    EXPECT_EQ(v, relu_out);
    const Tensor& want = ref_taps.kept().at(relu_out);
    ASSERT_EQ(*view.shape, want.shape());
    for (int64_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(view.as<float>()[i], want.data<float>()[i], 1e-5);
    }
    ++calls;
  });
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(Session(*plan).Run(n.feeds, &out, &taps).ok());
  EXPECT_EQ(calls, 1);
  for (int64_t i = 0; i < out["y"].size(); ++i) {
    EXPECT_NEAR(out["y"].data<float>()[i], ref_out["y"].data<float>()[i], 1e-5);
  }
}

TEST(FusionTest, NoFusionModeReportsEveryLayerToObserveAll) {
  ConvNet n = MakeConvNet(4, 8, 1, [](ConvNet& n, ValueRef v) {
    v = AddConstOp(n, "Add", v, PerChannel(8, 9), "bias");
    return Unary(n, "Relu", v, "relu");
  });
  for (bool fuse : {false, true}) {
    CompileOptions opts;
    opts.fuse = fuse;
    auto plan = CompiledModel::Compile(n.g, opts);
    ASSERT_TRUE(plan.ok());
    TapSet taps;
    std::vector<std::string> seen;
    taps.ObserveAll(
        [&](const ValueRef& v, const TensorView&) { seen.push_back(n.g.node(v.node).name); });
    std::map<std::string, Tensor> out;
    ASSERT_TRUE(Session(*plan).Run(n.feeds, &out, &taps).ok());
    if (fuse) {
      EXPECT_EQ(seen, (std::vector<std::string>{"relu"}));
    } else {
      EXPECT_EQ(seen, (std::vector<std::string>{"conv", "bias", "relu"}));
    }
  }
}

// Convolution attributes: stride 1, no dilation, 1-pixel padding (a 3x3 kernel keeps the size).
Attributes SamePadded3x3() {
  Attributes a;
  a.SetInts("strides", {1, 1});
  a.SetInts("dilations", {1, 1});
  a.SetInts("pads_begin", {1, 1});
  a.SetInts("pads_end", {1, 1});
  a.Set("auto_pad", "explicit");
  return a;
}

// conv -> relu -> conv -> conv: with the default layout the values between oneDNN layers stay in
// oneDNN's blocked layout; outputs and taps (which get plain copies) match the plain-layout plan.
TEST(BlockedLayoutTest, InvisibleToOutputsAndTaps) {
  graph::Graph g;
  const Shape xs{1, 16, 12, 10};
  NodeId x = g.AddParameter("x", ElementType::kF32, graph::PartialShape(xs));
  const Attributes a = SamePadded3x3();
  ValueRef v{x, 0};
  std::vector<ValueRef> convs;
  for (int i = 0; i < 3; ++i) {
    const Shape ws{32, i == 0 ? 16 : 32, 3, 3};
    NodeId w = g.AddConst("w" + std::to_string(i),
                          F32(ws, RandomFloats(graph::ElementCount(ws), 40 + i, -0.2f, 0.2f)));
    v = {g.AddOp("Convolution", "conv" + std::to_string(i), {v, {w, 0}}, a), 0};
    if (i == 0) v = {g.AddOp("Relu", "relu", {v}), 0};
    convs.push_back(v);
  }
  g.node(v.node).outputs[0].names = {"y"};
  g.AddResult("r", v);
  std::map<std::string, Tensor> feeds = {
      {"x", F32(xs, RandomFloats(graph::ElementCount(xs), 50, -1.f, 1.f))}};

  auto run = [&](const std::string& layout, std::map<ValueRef, Tensor>* seen, size_t* blocked) {
    CompileOptions opts;
    opts.conv_layout = layout;
    auto plan = CompiledModel::Compile(g, opts);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    *blocked = 0;
    for (const auto& val : (*plan)->values()) *blocked += val.blocked ? 1 : 0;
    TapSet taps;
    taps.ObserveAll([&](const ValueRef& r, const TensorView& view) { (*seen)[r] = view.Copy(); });
    std::map<std::string, Tensor> out;
    ASSERT_TRUE(Session(*plan).Run(feeds, &out, &taps).ok());
    (*seen)[{graph::kNoNode, 0}] = out["y"];
  };
  std::map<ValueRef, Tensor> plain, dflt;
  size_t plain_blocked = 0, dflt_blocked = 0;
  run("plain", &plain, &plain_blocked);
  run("auto", &dflt, &dflt_blocked);
  EXPECT_EQ(plain_blocked, 0u);
  EXPECT_GE(dflt_blocked, 1u);  // relu output (conv0 + fused relu) and conv1 output
  ASSERT_EQ(plain.size(), dflt.size());
  for (const auto& [ref, want] : plain) {
    ASSERT_EQ(dflt.count(ref), 1u);
    const Tensor& got = dflt.at(ref);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4)
          << "value of node " << ref.node << " element " << i;
    }
  }
}

// Tapped values keep the layout the inference plan gives them (observing does not change how
// the layers run). An observer that accepts blocked views gets the bytes as they are, described
// by channel_block; one that does not gets plain C order; both hold the same values.
TEST(BlockedLayoutTest, TappedValuesStayBlockedAndObserversChooseTheirView) {
  graph::Graph g;
  const Shape xs{1, 20, 9, 7};  // 20 channels: a partial last block in nChw8c / nChw16c
  NodeId x = g.AddParameter("x", ElementType::kF32, graph::PartialShape(xs));
  const Attributes a = SamePadded3x3();
  ValueRef v{x, 0};
  std::vector<ValueRef> tapped;
  for (int i = 0; i < 3; ++i) {
    const Shape ws{20, 20, 3, 3};
    NodeId w = g.AddConst("w" + std::to_string(i),
                          F32(ws, RandomFloats(graph::ElementCount(ws), 60 + i, -0.2f, 0.2f)));
    v = {g.AddOp("Convolution", "conv" + std::to_string(i), {v, {w, 0}}, a), 0};
    if (i < 2) {
      v = {g.AddOp("Relu", "relu" + std::to_string(i), {v}), 0};
      tapped.push_back(v);
    }
  }
  g.AddResult("r", v);
  std::map<std::string, Tensor> feeds = {
      {"x", F32(xs, RandomFloats(graph::ElementCount(xs), 70, -1.f, 1.f))}};

  CompileOptions plain_opts;
  plain_opts.conv_layout = "plain";
  plain_opts.observable = tapped;
  CompileOptions auto_opts;
  auto_opts.observable = tapped;
  auto plain_plan = CompiledModel::Compile(g, plain_opts);
  auto auto_plan = CompiledModel::Compile(g, auto_opts);
  ASSERT_TRUE(plain_plan.ok() && auto_plan.ok());
  int blocked = 0;
  for (const ValueRef& t : tapped) {
    const auto& val = (*auto_plan)->values()[(*auto_plan)->ValueIndex(t)];
    blocked += val.blocked ? 1 : 0;
    // oneDNN's f32 convolution layouts (nChw8c, nChw16c, nhwc) are all channel blockings.
    if (val.blocked) {
      EXPECT_GT(val.channel_block, 0);
    }
  }
  EXPECT_EQ(blocked, 2) << "tapped values between convolutions should stay blocked";

  std::map<ValueRef, Tensor> as_is, plain, reference;
  std::map<ValueRef, int> block_seen;
  TapSet taps;
  for (const ValueRef& t : tapped) {
    taps.Observe(
        t,
        [&](const ValueRef& r, const TensorView& view) {
          block_seen[r] = view.channel_block;
          as_is[r] = view.Copy();  // Copy unblocks
        },
        /*accepts_blocked=*/true);
    taps.Observe(t, [&](const ValueRef& r, const TensorView& view) {
      EXPECT_EQ(view.channel_block, 0);
      plain[r] = view.Copy();
    });
  }
  ASSERT_TRUE(Session(*auto_plan).Run(feeds, nullptr, &taps).ok());
  TapSet ref_taps;
  for (const ValueRef& t : tapped) {
    ref_taps.Observe(
        t, [&](const ValueRef& r, const TensorView& view) { reference[r] = view.Copy(); });
  }
  ASSERT_TRUE(Session(*plain_plan).Run(feeds, nullptr, &ref_taps).ok());
  for (const ValueRef& t : tapped) {
    EXPECT_GT(block_seen.at(t), 0);
    const Tensor& got = as_is.at(t);
    const Tensor& want = plain.at(t);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(std::memcmp(got.bytes(), want.bytes(), want.nbytes()), 0)
        << "the unblocked copy differs from oneDNN's reorder to plain";
    const Tensor& ref = reference.at(t);
    for (int64_t i = 0; i < ref.size(); ++i) {
      ASSERT_NEAR(got.data<float>()[i], ref.data<float>()[i], 1e-4) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace ptqflow::exec::testing
