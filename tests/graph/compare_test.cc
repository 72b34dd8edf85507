#include "graph/compare.h"

#include <gtest/gtest.h>

namespace ptqflow::graph {
namespace {

// p(f32 [1,3]) -> Add(p, c) -> Result, with names, rt_info and attributes.
Graph Base() {
  Graph g;
  g.name = "g";
  NodeId p = g.AddParameter("p", ElementType::kF32, PartialShape({1, 3}));
  NodeId c = g.AddConst("c", Tensor::FromVector<float>(ElementType::kF32, {3}, {1, 2, 3}));
  Attributes a;
  a.Set("auto_broadcast", "numpy");
  NodeId add = g.AddOp("Add", "add", {{p, 0}, {c, 0}}, a, 1, "opset1");
  g.node(add).outputs[0].type = ElementType::kF32;
  g.node(add).outputs[0].shape = PartialShape({1, 3});
  g.node(add).outputs[0].names = {"sum"};
  g.AddResult("out", {add, 0});
  return g;
}

void ExpectDiff(const Graph& a, const Graph& b, const std::vector<std::string>& parts,
                const CompareOptions& o = {}) {
  Status st = CompareGraphs(a, b, o);
  ASSERT_FALSE(st.ok()) << "expected a difference";
  for (const std::string& p : parts) {
    EXPECT_NE(st.message().find(p), std::string::npos) << p << " | " << st.message();
  }
}

TEST(CompareGraphsTest, EqualCopies) {
  Graph a = Base();
  Graph b = a;
  EXPECT_TRUE(CompareGraphs(a, b).ok());
  EXPECT_TRUE(CompareGraphs(Base(), Base()).ok());  // separately built, same content
}

TEST(CompareGraphsTest, AttributeValue) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).attrs.Set("auto_broadcast", "none");
  ExpectDiff(a, b, {"layer 'add'", "attribute 'auto_broadcast'", "'numpy'", "'none'"});
}

TEST(CompareGraphsTest, AttributeOrderAndCount) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).attrs.Set("extra", "1");
  ExpectDiff(a, b, {"attribute count", "'extra'"});
  Graph c = Base();
  Graph d = Base();
  c.node(2).attrs.Set("x", "1");
  c.node(2).attrs.Set("y", "2");
  d.node(2).attrs.Set("y", "2");
  d.node(2).attrs.Set("x", "1");
  ExpectDiff(c, d, {"attribute #1 name", "'x'", "'y'"});
}

TEST(CompareGraphsTest, TypeAndVersion) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).type = "Subtract";
  ExpectDiff(a, b, {"type differs", "'Add'", "'Subtract'"});
  Graph c = Base();
  c.node(2).version = "opset13";
  ExpectDiff(a, c, {"version differs", "'opset1'", "'opset13'"});
}

TEST(CompareGraphsTest, ConstantFirstDifferingByte) {
  Graph a = Base();
  Graph b = Base();
  b.node(1).constant = Tensor::FromVector<float>(ElementType::kF32, {3}, {1, 2, 3.5f});
  // 3.0f = 0x40400000, 3.5f = 0x40600000: little-endian bytes 8..11, first difference at 10.
  ExpectDiff(a, b, {"layer 'c'", "constant byte at offset 10", "64", "96"});
}

TEST(CompareGraphsTest, ConstantTypeAndShape) {
  Graph a = Base();
  Graph b = Base();
  b.node(1).constant = Tensor::FromVector<int32_t>(ElementType::kI32, {3}, {1, 2, 3});
  b.node(1).outputs[0].type = ElementType::kI32;
  ExpectDiff(a, b, {"output 0 element type", "f32", "i32"});
  Graph c = Base();
  c.node(1).constant = c.node(1).constant.Reshaped({1, 3});
  ExpectDiff(a, c, {"constant shape", "[3]", "[1,3]"});
}

TEST(CompareGraphsTest, PortShapeNamesAndRtInfo) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).outputs[0].shape = PartialShape({-1, 3});
  ExpectDiff(a, b, {"output 0 shape"});
  Graph c = Base();
  c.node(2).outputs[0].names = {"sum", "other"};
  ExpectDiff(a, c, {"output 0 tensor names", "'other'"});
  Graph d = Base();
  d.node(2).outputs[0].rt_info = "<rt_info/>";
  ExpectDiff(a, d, {"output 0 rt_info"});
  Graph e = Base();
  e.node(2).inputs[1].rt_info = "<rt_info/>";
  ExpectDiff(a, e, {"input 1 rt_info"});
  Graph f = Base();
  f.node(0).rt_info = "<rt_info/>";
  ExpectDiff(a, f, {"layer 'p'", "rt_info differs"});
  Graph h = Base();
  h.rt_info = "<rt_info/>";
  ExpectDiff(a, h, {"graph rt_info"});
}

TEST(CompareGraphsTest, EdgeSource) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).inputs[1].source = {0, 0};  // Add(p, p)
  ExpectDiff(a, b, {"input 1 source", "layer 'c'", "layer 'p'"});
}

TEST(CompareGraphsTest, PortCounts) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).outputs.resize(2);
  ExpectDiff(a, b, {"output port count", "1 vs 2"});
}

TEST(CompareGraphsTest, NodeCount) {
  Graph a = Base();
  Graph b = Base();
  b.AddResult("out2", {2, 0});
  ExpectDiff(a, b, {"live node counts differ", "4 vs 5", "layer 'out2'"});
}

TEST(CompareGraphsTest, TombstonesAreSkipped) {
  Graph a = Base();
  Graph b;
  b.name = "g";
  NodeId dead = b.AddConst("dead", Tensor::Scalar(0.0f));
  NodeId p = b.AddParameter("p", ElementType::kF32, PartialShape({1, 3}));
  NodeId c = b.AddConst("c", Tensor::FromVector<float>(ElementType::kF32, {3}, {1, 2, 3}));
  Attributes at;
  at.Set("auto_broadcast", "numpy");
  NodeId add = b.AddOp("Add", "add", {{p, 0}, {c, 0}}, at, 1, "opset1");
  b.node(add).outputs[0] = a.node(2).outputs[0];
  b.AddResult("out", {add, 0});
  b.RemoveNode(dead);
  EXPECT_TRUE(CompareGraphs(a, b).ok()) << CompareGraphs(a, b).message();
}

TEST(CompareGraphsTest, IrIdsOnlyWhenAsked) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).ir_id = 42;
  EXPECT_TRUE(CompareGraphs(a, b).ok());
  CompareOptions o;
  o.compare_ir_ids = true;
  ExpectDiff(a, b, {"IR layer id", "-1 vs 42"}, o);
  Graph c = Base();
  c.node(2).outputs[0].ir_port_id = 2;
  EXPECT_TRUE(CompareGraphs(a, c).ok());
  ExpectDiff(a, c, {"output 0 IR port id"}, o);
}

TEST(CompareGraphsTest, OnnxOriginOnlyWhenAsked) {
  Graph a = Base();
  Graph b = Base();
  b.node(2).onnx_node = "Add_0";
  b.node(2).outputs[0].onnx_tensor = "sum";
  EXPECT_TRUE(CompareGraphs(a, b).ok());
  CompareOptions o;
  o.compare_onnx_origin = true;
  ExpectDiff(a, b, {"ONNX node", "'Add_0'"}, o);
  Graph c = Base();
  c.node(2).outputs[0].onnx_tensor = "sum";
  ExpectDiff(a, c, {"ONNX tensor", "'sum'"}, o);
}

TEST(CompareGraphsTest, GraphName) {
  Graph a = Base();
  Graph b = Base();
  b.name = "h";
  ExpectDiff(a, b, {"graph names differ", "'g'", "'h'"});
}

}  // namespace
}  // namespace ptqflow::graph
