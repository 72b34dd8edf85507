#include "graph/graph.h"

#include <gtest/gtest.h>

namespace ptqflow::graph {
namespace {

Graph SmallGraph() {
  Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, PartialShape({1, 4}));
  NodeId c = g.AddConst("c", Tensor::FromVector<float>(ElementType::kF32, {1, 4}, {1, 2, 3, 4}));
  NodeId add = g.AddOp("Add", "add", {{x, 0}, {c, 0}});
  NodeId relu = g.AddOp("Relu", "relu", {{add, 0}});
  g.AddResult("out", {relu, 0});
  return g;
}

TEST(GraphTest, TopologicalOrderPutsProducersFirst) {
  Graph g = SmallGraph();
  auto order = g.TopologicalOrder();
  ASSERT_TRUE(order.ok()) << order.status().message();
  std::vector<int> pos(g.size());
  for (size_t i = 0; i < order->size(); ++i) pos[(*order)[i]] = static_cast<int>(i);
  for (NodeId id : g.LiveNodes()) {
    for (const InputPort& p : g.node(id).inputs) EXPECT_LT(pos[p.source.node], pos[id]);
  }
  EXPECT_EQ(order->size(), 5u);
}

TEST(GraphTest, CycleIsReportedWithALayerName) {
  Graph g = SmallGraph();
  NodeId add = g.FindByName("add");
  NodeId relu = g.FindByName("relu");
  g.node(add).inputs[0].source = {relu, 0};
  Status st = g.Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cycle"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("layer '"), std::string::npos) << st.message();
}

TEST(GraphTest, DanglingPortIsReported) {
  Graph g = SmallGraph();
  g.node(g.FindByName("relu")).inputs[0].source = {g.FindByName("add"), 3};
  Status st = g.Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("output port 3"), std::string::npos) << st.message();
}

TEST(GraphTest, ReplaceAllUsesAndRemove) {
  Graph g = SmallGraph();
  NodeId add = g.FindByName("add");
  NodeId relu = g.FindByName("relu");
  g.ReplaceAllUses({add, 0}, g.node(add).inputs[0].source);
  g.RemoveNode(add);
  EXPECT_TRUE(g.Validate().ok());
  EXPECT_EQ(g.node(relu).inputs[0].source.node, g.FindByName("x"));
}

TEST(GraphTest, CopySharesConstantBytes) {
  Graph g = SmallGraph();
  Graph h = g;
  const Tensor& a = g.node(g.FindByName("c")).constant;
  const Tensor& b = h.node(h.FindByName("c")).constant;
  EXPECT_EQ(a.bytes(), b.bytes());
}

TEST(ShapeTest, Broadcast) {
  auto r = BroadcastShapes(PartialShape({2, 1, 3}), PartialShape({4, 1}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dims(), (Shape{2, 4, 3}));
  EXPECT_FALSE(BroadcastShapes(PartialShape({2, 3}), PartialShape({4})).ok());
  auto d = BroadcastShapes(PartialShape({kDynamicDim, 3}), PartialShape({5, 1}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->dims(), (Shape{5, 3}));
}

TEST(ElementTypeTest, NamesRoundTripAndSizes) {
  for (const char* n : {"f32", "f16", "bf16", "f64", "i4", "u4", "i8", "u8", "i16", "u16", "i32",
                        "u32", "i64", "u64", "boolean", "u1"}) {
    auto t = ParseElementType(n);
    ASSERT_TRUE(t.ok()) << n;
    EXPECT_EQ(ElementTypeName(*t), n);
  }
  EXPECT_FALSE(ParseElementType("f33").ok());
  EXPECT_EQ(ByteSize(ElementType::kI4, 3), 2u);
  EXPECT_EQ(ByteSize(ElementType::kU1, 9), 2u);
  EXPECT_EQ(ByteSize(ElementType::kF16, 3), 6u);
}

TEST(TensorTest, HalfConversionMatchesKnownBitPatterns) {
  // Independent values from the IEEE 754 binary16 definition.
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(5.9604645e-8f), 0x0001);  // smallest subnormal
  EXPECT_FLOAT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_FLOAT_EQ(HalfToFloat(0x0001), 5.9604645e-8f);
  // 1 + 2^-11 is a tie between 1.0 and 1+2^-10: round to even -> 1.0.
  EXPECT_EQ(FloatToHalf(1.00048828125f), 0x3C00);
}

TEST(TensorTest, SubByteValues) {
  Tensor t = Tensor::Allocate(ElementType::kI4, {3});
  t.mutable_bytes()[0] = 0xF7;  // elements 0: 7, 1: -1
  t.mutable_bytes()[1] = 0x08;  // element 2: -8
  EXPECT_EQ(t.ToDoubles(), (std::vector<double>{7, -1, -8}));
}

TEST(AttributesTest, TypedAccessAndErrors) {
  Attributes a;
  a.SetInts("strides", {1, 2});
  a.Set("pads_begin", "0, 1");
  a.SetFloat("eps", 1e-5);
  EXPECT_EQ(*a.GetInts("strides"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*a.GetInts("pads_begin"), (std::vector<int64_t>{0, 1}));
  EXPECT_DOUBLE_EQ(*a.GetFloat("eps"), 1e-5);
  EXPECT_EQ(*a.Find("strides"), "1,2");
  a.Set("group", "x");
  auto bad = a.GetInt("group");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("group"), std::string::npos);
  EXPECT_EQ(*a.GetInt("missing", 7), 7);
}

}  // namespace
}  // namespace ptqflow::graph
