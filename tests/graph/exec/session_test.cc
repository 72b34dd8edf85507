// The executor as a whole: compile errors, input validation, taps, memory reuse, constant
// folding, aliases, concurrent sessions.
#include <gtest/gtest.h>

#include <thread>

#include "graph/exec/kernel_table.h"
#include "tests/graph/exec/exec_test_util.h"

namespace ptqflow::exec::testing {
namespace {

using graph::Attributes;
using graph::ElementType;
using graph::NodeId;
using graph::Shape;
using graph::Tensor;

// x[1,4] -> Relu -> Multiply(2) -> Add(1) -> Sigmoid -> Result; each intermediate 4 floats.
struct Chain {
  graph::Graph g;
  NodeId relu, mul, add, sig;
};

Chain MakeChain(int length = 1) {
  Chain c;
  NodeId x = c.g.AddParameter("x", ElementType::kF32, Shape{1, 4});
  NodeId two = c.g.AddConst("two", F32({}, {2.f}));
  NodeId one = c.g.AddConst("one", F32({}, {1.f}));
  graph::ValueRef v{x, 0};
  for (int i = 0; i < length; ++i) {
    std::string s = std::to_string(i);
    c.relu = c.g.AddOp("Relu", "relu" + s, {v});
    c.mul = c.g.AddOp("Multiply", "mul" + s, {{c.relu, 0}, {two, 0}});
    c.add = c.g.AddOp("Add", "add" + s, {{c.mul, 0}, {one, 0}});
    c.sig = c.g.AddOp("Sigmoid", "sig" + s, {{c.add, 0}});
    v = {c.sig, 0};
  }
  c.g.node(c.sig).outputs[0].names = {"prob"};
  c.g.AddResult("out", v);
  return c;
}

double ChainRef(double x) { return 1 / (1 + std::exp(-(std::max(x, 0.0) * 2 + 1))); }

TEST(SessionTest, RunsAChainAndKeysOutputsByTensorOrResultName) {
  Chain c = MakeChain();
  auto plan = CompiledModel::Compile(c.g);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  Session s(*plan);
  std::map<std::string, Tensor> out;
  std::vector<float> x = {-1.f, 0.f, 0.5f, 2.f};
  ASSERT_TRUE(s.Run({{"x", F32({1, 4}, x)}}, &out).ok());
  ASSERT_EQ(out.count("prob"), 1u);
  std::vector<double> ref;
  for (float v : x) ref.push_back(ChainRef(v));
  ExpectClose(out["prob"], ref, 1e-6);
  ASSERT_TRUE(s.RunByResult({{"x", F32({1, 4}, x)}}, &out).ok());
  ASSERT_EQ(out.count("out"), 1u);
  ExpectClose(out["out"], ref, 1e-6);
}

TEST(SessionTest, IntermediateMemoryIsReused) {
  Chain c = MakeChain(8);  // 32 intermediates of 4 floats, at most 2 live at a time
  auto plan = CompiledModel::Compile(c.g);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->num_steps(), 32u);
  EXPECT_LE((*plan)->arena_bytes(), 3 * 64u);
  EXPECT_GE((*plan)->unshared_bytes(), 32 * 64u);
  // And the result is still right after all that reuse.
  Session s(*plan);
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(s.Run({{"x", F32({1, 4}, {0.3f, -2.f, 1.f, 0.f})}}, &out).ok());
  for (int k = 0; k < 4; ++k) {
    double v = std::vector<double>{0.3f, -2.f, 1.f, 0.f}[k];
    for (int i = 0; i < 8; ++i) v = ChainRef(v);
    EXPECT_NEAR(out["prob"].data<float>()[k], v, 1e-6);
  }
}

TEST(SessionTest, TapsObserveAndKeepValuesWhoseMemoryIsLaterReused) {
  Chain c = MakeChain(3);
  auto plan = CompiledModel::Compile(c.g);
  ASSERT_TRUE(plan.ok());
  Session s(*plan);
  NodeId relu0 = c.g.FindByName("relu0");
  NodeId mul1 = c.g.FindByName("mul1");
  TapSet taps;
  std::vector<float> seen;
  int calls = 0;
  taps.Observe({relu0, 0}, [&](const graph::ValueRef& v, const TensorView& view) {
    EXPECT_EQ(v.node, relu0);
    EXPECT_EQ(*view.shape, (Shape{1, 4}));
    seen.assign(view.as<float>(), view.as<float>() + 4);
    ++calls;
  });
  taps.Keep({mul1, 0});
  std::vector<std::string> order;
  taps.ObserveAll(
      [&](const graph::ValueRef& v, const TensorView&) { order.push_back(c.g.node(v.node).name); });
  std::vector<float> x = {-1.f, 0.5f, 2.f, 3.f};
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(s.Run({{"x", F32({1, 4}, x)}}, &out, &taps).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, (std::vector<float>{0.f, 0.5f, 2.f, 3.f}));
  ASSERT_EQ(taps.kept().count({mul1, 0}), 1u);
  const Tensor& kept = taps.kept().at({mul1, 0});
  for (int k = 0; k < 4; ++k) {
    double v = ChainRef(x[k]);
    EXPECT_NEAR(kept.data<float>()[k], std::max(v, 0.0) * 2, 1e-6);
  }
  ASSERT_EQ(order.size(), 12u);
  EXPECT_EQ(order.front(), "relu0");
  EXPECT_EQ(order.back(), "sig2");
}

// A Session resolves a TapSet once and reuses that on later runs; what changes in between (a
// new observer, another set, an empty set) must be seen on the next run.
TEST(SessionTest, TapSetsReusedOrChangedBetweenRunsAreObservedAsTheyAreNow) {
  Chain c = MakeChain(2);
  auto plan = CompiledModel::Compile(c.g);
  ASSERT_TRUE(plan.ok());
  Session s(*plan);
  const NodeId relu0 = c.g.FindByName("relu0"), add0 = c.g.FindByName("add0");
  const NodeId sig1 = c.g.FindByName("sig1");
  std::vector<std::string> calls;
  auto note = [&](const std::string& who) {
    return [&calls, who, &c](const graph::ValueRef& v, const TensorView&) {
      calls.push_back(who + ":" + c.g.node(v.node).name);
    };
  };
  const std::map<std::string, Tensor> in = {{"x", F32({1, 4}, {-1.f, 0.5f, 2.f, 3.f})}};
  TapSet a;
  a.Observe({add0, 0}, note("a1"));
  a.Observe({relu0, 0}, note("a2"));
  a.Observe({add0, 0}, note("a3"));  // two observers of one value: called in the order added
  for (int run = 0; run < 2; ++run) {
    calls.clear();
    ASSERT_TRUE(s.Run(in, nullptr, &a).ok());
    EXPECT_EQ(calls, (std::vector<std::string>{"a2:relu0", "a1:add0", "a3:add0"}));
  }
  a.Observe({sig1, 0}, note("a4"));  // changed after it was resolved
  calls.clear();
  ASSERT_TRUE(s.Run(in, nullptr, &a).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"a2:relu0", "a1:add0", "a3:add0", "a4:sig1"}));
  TapSet b;  // another set: only its own observers, none of a's left marked
  b.Observe({sig1, 0}, note("b1"));
  b.Keep({relu0, 0});
  calls.clear();
  ASSERT_TRUE(s.Run(in, nullptr, &b).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"b1:sig1"}));
  EXPECT_EQ(b.kept().size(), 1u);
  TapSet same_counts;  // as many observers and kept values as b, on other values
  same_counts.Observe({add0, 0}, note("s1"));
  same_counts.Keep({sig1, 0});
  calls.clear();
  ASSERT_TRUE(s.Run(in, nullptr, &same_counts).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"s1:add0"}));
  EXPECT_EQ(same_counts.kept().count({sig1, 0}), 1u);
  calls.clear();
  ASSERT_TRUE(s.Run(in, nullptr, &b).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"b1:sig1"}));
  TapSet moved = std::move(b);  // same stamp, so the counts tell it apart from `b`
  TapSet empty;
  calls.clear();
  ASSERT_TRUE(s.Run(in, nullptr, &b).ok());  // moved-from: no observers
  ASSERT_TRUE(s.Run(in, nullptr, &empty).ok());
  EXPECT_TRUE(calls.empty());
  ASSERT_TRUE(s.Run(in, nullptr, &moved).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"b1:sig1"}));
  EXPECT_EQ(moved.kept().size(), 1u);
  // A set with a value the plan does not compute fails, and the next good run still works.
  TapSet bad;
  bad.Observe({relu0, 0}, note("bad"));
  bad.Observe({relu0, 7}, note("bad"));
  calls.clear();
  EXPECT_FALSE(s.Run(in, nullptr, &bad).ok());
  ASSERT_TRUE(s.Run(in, nullptr, &a).ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"a2:relu0", "a1:add0", "a3:add0", "a4:sig1"}));
}

TEST(SessionTest, InputErrorsNameTheInputAndExpectedShape) {
  Chain c = MakeChain();
  auto plan = CompiledModel::Compile(c.g);
  ASSERT_TRUE(plan.ok());
  Session s(*plan);
  std::map<std::string, Tensor> out;
  Status st = s.Run({}, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing input 'x'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("f32[1,4]"), std::string::npos) << st.message();
  st = s.Run({{"x", F32({1, 5}, {1, 2, 3, 4, 5})}}, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("f32[1,5]"), std::string::npos) << st.message();
  st = s.Run({{"x", F32({1, 4}, {1, 2, 3, 4})}, {"y", F32({1}, {1})}}, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown input 'y'"), std::string::npos) << st.message();
}

TEST(CompileTest, DynamicInputShapeIsAnErrorSuggestingInputShape) {
  graph::Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, graph::PartialShape({1, graph::kDynamicDim}));
  NodeId r = g.AddOp("Relu", "relu", {{x, 0}});
  g.AddResult("out", {r, 0});
  auto plan = CompiledModel::Compile(g);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("--input-shape"), std::string::npos)
      << plan.status().message();
}

TEST(CompileTest, AllUnsupportedLayersAreListed) {
  graph::Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, Shape{2});
  NodeId a = g.AddOp("FancyOp", "fancy_a", {{x, 0}});
  g.node(a).ir_id = 7;
  NodeId b = g.AddOp("OtherOp", "other_b", {{x, 0}});
  NodeId add = g.AddOp("Add", "add", {{a, 0}, {b, 0}});
  g.AddResult("out", {add, 0});
  auto plan = CompiledModel::Compile(g);
  ASSERT_FALSE(plan.ok());
  const std::string m = plan.status().message();
  EXPECT_NE(m.find("2 layer(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("layer 'fancy_a' (id 7, FancyOp)"), std::string::npos) << m;
  EXPECT_NE(m.find("other_b"), std::string::npos) << m;
}

TEST(CompileTest, ShapeSubgraphsAndCompressedWeightsAreFolded) {
  // x[2,3,4] -> Reshape(x, Concat(Gather(ShapeOf(x), 0), [-1])) -> [2,12]
  graph::Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, Shape{2, 3, 4});
  NodeId shp = g.AddOp("ShapeOf", "shape", {{x, 0}});
  NodeId idx = g.AddConst("idx", I64({1}, {0}));
  NodeId ax = g.AddConst("axis", I64({}, {0}));
  NodeId ga = g.AddOp("Gather", "gather", {{shp, 0}, {idx, 0}, {ax, 0}}, {}, 1, "opset8");
  NodeId m1 = g.AddConst("m1", I64({1}, {-1}));
  Attributes ca;
  ca.SetInt("axis", 0);
  NodeId cat = g.AddOp("Concat", "cat", {{ga, 0}, {m1, 0}}, ca);
  Attributes ra;
  ra.SetBool("special_zero", false);
  NodeId rs = g.AddOp("Reshape", "reshape", {{x, 0}, {cat, 0}}, ra);
  // Compressed weights: i8 Const -> Convert -> Subtract(zp) -> Multiply(scale), [12,3].
  std::vector<int8_t> q(36);
  for (int i = 0; i < 36; ++i) q[i] = static_cast<int8_t>(i - 18);
  NodeId wq = g.AddConst("wq", Tensor::FromVector<int8_t>(ElementType::kI8, {12, 3}, q));
  Attributes cv;
  cv.Set("destination_type", "f32");
  NodeId wc = g.AddOp("Convert", "wconv", {{wq, 0}}, cv);
  NodeId zp = g.AddConst("zp", F32({}, {2.f}));
  NodeId ws = g.AddOp("Subtract", "wsub", {{wc, 0}, {zp, 0}});
  NodeId sc = g.AddConst("sc", F32({1, 3}, {0.5f, 0.25f, 0.125f}));
  NodeId wm = g.AddOp("Multiply", "wmul", {{ws, 0}, {sc, 0}});
  NodeId mm = g.AddOp("MatMul", "mm", {{rs, 0}, {wm, 0}});
  g.AddResult("out", {mm, 0});
  auto plan = CompiledModel::Compile(g);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // Only the MatMul runs: the shape sub-graph and the decompression are folded, Reshape aliases.
  EXPECT_EQ((*plan)->num_steps(), 1u);
  auto xv = RandomFloats(24, 30);
  Session s(*plan);
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(s.RunByResult({{"x", F32({2, 3, 4}, xv)}}, &out).ok());
  ASSERT_EQ(out["out"].shape(), (Shape{2, 3}));
  std::vector<double> ref;
  const double scale[3] = {0.5, 0.25, 0.125};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double acc = 0;
      for (int k = 0; k < 12; ++k) acc += xv[i * 12 + k] * ((q[k * 3 + j] - 2.0) * scale[j]);
      ref.push_back(acc);
    }
  ExpectClose(out["out"], ref, 3e-5);
}

TEST(SessionTest, ConcurrentSessionsOnOnePlanGiveIdenticalResults) {
  graph::Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, Shape{1, 8, 16, 16});
  auto w = RandomFloats(16 * 8 * 9, 40);
  NodeId wc = g.AddConst("w", F32({16, 8, 3, 3}, w));
  Attributes a;
  a.SetInts("strides", {1, 1});
  a.SetInts("dilations", {1, 1});
  a.SetInts("pads_begin", {1, 1});
  a.SetInts("pads_end", {1, 1});
  NodeId conv = g.AddOp("Convolution", "conv", {{x, 0}, {wc, 0}}, a);
  NodeId relu = g.AddOp("Relu", "relu", {{conv, 0}});
  g.AddResult("out", {relu, 0});
  CompileOptions opts;
  opts.threads = 1;
  auto plan = CompiledModel::Compile(g, opts);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<Tensor> inputs;
  for (int i = 0; i < 4; ++i) inputs.push_back(F32({1, 8, 16, 16}, RandomFloats(2048, 50 + i)));
  // Reference: one session, sequential.
  std::vector<Tensor> want;
  {
    Session s(*plan);
    for (const Tensor& t : inputs) {
      std::map<std::string, Tensor> out;
      ASSERT_TRUE(s.RunByResult({{"x", t}}, &out).ok());
      want.push_back(out["out"]);
    }
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(3, 0);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      Session s(*plan);
      for (int rep = 0; rep < 5; ++rep) {
        for (size_t i = 0; i < inputs.size(); ++i) {
          std::map<std::string, Tensor> out;
          if (!s.RunByResult({{"x", inputs[(i + t) % 4]}}, &out).ok() ||
              !out["out"].BytesEqual(want[(i + t) % 4])) {
            ++mismatches[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0}));
}

TEST(KernelTableTest, ListsTheCoreOps) {
  std::vector<std::string> ops = SupportedOps();
  for (const char* op : {"Convolution", "GroupConvolution", "MatMul", "FakeQuantize", "Softmax",
                         "Interpolate", "ConvolutionBackpropData"}) {
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
  }
}

}  // namespace
}  // namespace ptqflow::exec::testing
