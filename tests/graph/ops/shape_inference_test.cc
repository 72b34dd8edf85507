// The InferShapes driver, value propagation, FoldKnownValues, SetInputShapes, ParseInputShapes
// and the op table. Expected shapes and values are computed by hand in the comments.
#include "graph/ops/shape_inference.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/graph/ops/op_test_util.h"

namespace ptqflow::graph::ops {
namespace {

using namespace ::ptqflow::graph::ops::testing;  // NOLINT

// x -> ShapeOf -> Gather([0,1]) -> Concat(.., [-1]) -> Reshape(x, ..)
struct ShapeSubgraph {
  Graph g;
  ValueRef x, shape_of, gather, concat, reshape;
};

ShapeSubgraph BuildShapeSubgraph(PartialShape input) {
  ShapeSubgraph s;
  Graph& g = s.g;
  s.x = Param(g, "x", std::move(input));
  s.shape_of = Op(g, "ShapeOf", {s.x}, Attrs({{"output_type", "i64"}}), "opset3", 1, "shape");
  s.gather = Op(g, "Gather", {s.shape_of, I64(g, "idx", {0, 1}), I64Scalar(g, "axis", 0)},
                Attrs({{"batch_dims", "0"}}), "opset8", 1, "gather");
  s.concat = Op(g, "Concat", {s.gather, I64(g, "minus_one", {-1})}, Attrs({{"axis", "0"}}),
                "opset1", 1, "target");
  g.output(s.concat).names = {"target_shape"};
  s.reshape =
      Op(g, "Reshape", {s.x, s.concat}, Attrs({{"special_zero", "false"}}), "opset1", 1, "reshape");
  g.AddResult("out", s.reshape);
  return s;
}

TEST(ShapeInferenceTest, ShapeSubgraphGivesStaticReshape) {
  ShapeSubgraph s = BuildShapeSubgraph({2, 3, 8, 8});
  // target = [2, 3, -1]; 2*3*8*8 = 384 = 2*3*64.
  EXPECT_EQ(InferAndGet(s.g, s.reshape), PartialShape({2, 3, 64}));
  EXPECT_EQ(s.g.output(s.shape_of).type, ElementType::kI64);
  EXPECT_EQ(s.g.output(s.shape_of).shape, PartialShape({4}));
  EXPECT_EQ(s.g.output(s.concat).shape, PartialShape({3}));
}

TEST(ShapeInferenceTest, DynamicInputGivesRankOnlyThenStaticAfterSetInputShapes) {
  ShapeSubgraph s = BuildShapeSubgraph({-1, 3, 8, 8});
  EXPECT_EQ(InferAndGet(s.g, s.reshape), PartialShape::DynamicOfRank(3));
  ASSERT_TRUE(SetInputShapes(s.g, {{"x", PartialShape({5, 3, 8, 8})}}).ok());
  EXPECT_EQ(*s.g.node(s.x.node).attrs.Find("shape"), "5,3,8,8");
  // 5*3*64 elements -> [5, 3, 64].
  EXPECT_EQ(InferAndGet(s.g, s.reshape), PartialShape({5, 3, 64}));
}

TEST(ShapeInferenceTest, FoldKnownValuesReplacesShapeSubgraphWithConst) {
  ShapeSubgraph s = BuildShapeSubgraph({2, 3, 8, 8});
  Result<int> folded = FoldKnownValues(s.g);
  ASSERT_TRUE(folded.ok()) << folded.status().message();
  // ShapeOf, Gather and Concat were value-known.
  EXPECT_EQ(*folded, 3);
  const Node& target = s.g.node(s.concat.node);
  ASSERT_TRUE(target.alive);
  EXPECT_EQ(target.type, "Const");
  EXPECT_EQ(target.name, "target");
  EXPECT_EQ(target.outputs[0].names, std::vector<std::string>{"target_shape"});
  EXPECT_EQ(target.constant.ToInt64s(), (std::vector<int64_t>{2, 3, -1}));
  EXPECT_TRUE(target.inputs.empty());
  // ShapeOf, Gather and their constants are gone; x, target, reshape, out remain.
  EXPECT_FALSE(s.g.node(s.shape_of.node).alive);
  EXPECT_FALSE(s.g.node(s.gather.node).alive);
  EXPECT_EQ(s.g.FindByName("idx"), kNoNode);
  EXPECT_EQ(s.g.FindByName("minus_one"), kNoNode);
  std::vector<std::string> live;
  for (NodeId id : s.g.LiveNodes()) live.push_back(s.g.node(id).name);
  std::sort(live.begin(), live.end());
  EXPECT_EQ(live, (std::vector<std::string>{"out", "reshape", "target", "x"}));
  EXPECT_TRUE(s.g.Validate().ok());
  EXPECT_EQ(InferAndGet(s.g, s.reshape), PartialShape({2, 3, 64}));
}

TEST(ShapeInferenceTest, FoldKnownValuesLeavesDynamicSubgraph) {
  ShapeSubgraph s = BuildShapeSubgraph({-1, 3, 8, 8});
  Result<int> folded = FoldKnownValues(s.g);
  ASSERT_TRUE(folded.ok());
  EXPECT_EQ(*folded, 0);
  EXPECT_EQ(s.g.node(s.shape_of.node).type, "ShapeOf");
}

TEST(ShapeInferenceTest, IntegerArithmeticValues) {
  Graph g;
  // Divide on integers floors like Python: -7 / 2 = -4; FloorMod(-7, 2) = 1.
  ValueRef a = I64(g, "a", {-7, 7});
  ValueRef b = I64(g, "b", {2, 2});
  ValueRef div = Op(g, "Divide", {a, b});
  ValueRef mod = Op(g, "FloorMod", {a, b});
  ValueRef mul = Op(g, "Multiply", {div, I64Scalar(g, "three", 3)});
  g.AddResult("r1", mul);
  g.AddResult("r2", mod);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(mod.node).constant.ToInt64s(), (std::vector<int64_t>{1, 1}));
  // mul = [-4, 3] * 3; the Divide it consumed is now dead and removed.
  EXPECT_EQ(g.node(mul.node).constant.ToInt64s(), (std::vector<int64_t>{-12, 9}));
  EXPECT_FALSE(g.node(div.node).alive);
}

TEST(ShapeInferenceTest, RangeValueAndShape) {
  Graph g;
  // Range(1, 10, 3) = [1, 4, 7].
  ValueRef r = Op(g, "Range", {I64Scalar(g, "s", 1), I64Scalar(g, "e", 10), I64Scalar(g, "d", 3)},
                  Attrs({{"output_type", "i64"}}), "opset4");
  g.AddResult("out", r);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.output(r).shape, PartialShape({3}));
  EXPECT_EQ(g.node(r.node).constant.ToInt64s(), (std::vector<int64_t>{1, 4, 7}));
}

TEST(ShapeInferenceTest, UnknownOpKeepsPortsUnlessRequired) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 4});
  ValueRef u = Op(g, "FancyCustomOp", {x}, {}, "extension", 1, "custom");
  g.output(u).type = ElementType::kF16;
  g.output(u).shape = PartialShape({7, 7});
  ValueRef relu = Op(g, "Relu", {u});
  g.AddResult("out", relu);
  EXPECT_EQ(InferAndGet(g, relu), PartialShape({7, 7}));
  EXPECT_EQ(g.output(relu).type, ElementType::kF16);
  InferOptions strict;
  strict.require_known_ops = true;
  Status st = InferShapes(g, strict);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("layer 'custom'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("FancyCustomOp"), std::string::npos) << st.message();
}

TEST(ShapeInferenceTest, ElementTypeMismatchNamesLayerAndTypes) {
  Graph g;
  ValueRef a = Param(g, "a", {2}, ElementType::kF32);
  ValueRef b = Param(g, "b", {2}, ElementType::kI64);
  Op(g, "Add", {a, b}, {}, "opset1", 1, "bad_add");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'bad_add'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("i64"), std::string::npos) << msg;
}

TEST(ShapeInferenceTest, ParameterShapeAttributeForms) {
  Graph g;
  ValueRef x = Param(g, "x", {1});
  g.node(x.node).attrs.Set("shape", "1,?,1..10,-1");
  ValueRef y = Param(g, "y", {1});
  g.node(y.node).attrs.Set("shape", "...");
  ValueRef z = Param(g, "z", {1});
  g.node(z.node).attrs.Set("shape", "");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(x).shape, PartialShape({1, -1, -1, -1}));
  EXPECT_FALSE(g.output(y).shape.rank_known());
  EXPECT_EQ(g.output(z).shape, PartialShape(Shape{}));
  g.node(z.node).attrs.Set("shape", "1,x");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'z'"), std::string::npos) << msg;
}

TEST(ShapeInferenceTest, SetInputShapesErrors) {
  Graph g;
  Param(g, "image", {-1, 3, -1, -1});
  Param(g, "mask", {1, 16});
  Status st = SetInputShapes(g, {{"imgae", PartialShape({1, 3, 4, 4})}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'imgae'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'image'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'mask'"), std::string::npos) << st.message();
  st = SetInputShapes(g, {{"image", PartialShape({1, 3, 4})}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'image'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rank"), std::string::npos) << st.message();
  st = SetInputShapes(g, {{"image", PartialShape({1, 4, 8, 8})}});  // 4 != declared 3
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("dimension 1"), std::string::npos) << st.message();
  EXPECT_TRUE(SetInputShapes(g, {{"mask", PartialShape({1, -1})}}).ok());
  EXPECT_EQ(g.output({g.FindByName("mask"), 0}).shape, PartialShape({1, 16}));
}

TEST(ShapeInferenceTest, ParseInputShapes) {
  auto one = ParseInputShapes("x[1,3,48,320]");
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->at("x"), PartialShape({1, 3, 48, 320}));
  auto two = ParseInputShapes("a[1,16],b[1,?]");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->at("a"), PartialShape({1, 16}));
  EXPECT_EQ(two->at("b"), PartialShape({1, -1}));
  auto neg = ParseInputShapes("in:0[-1, 2]");
  ASSERT_TRUE(neg.ok()) << neg.status().message();
  EXPECT_EQ(neg->at("in:0"), PartialShape({-1, 2}));
  auto scalar = ParseInputShapes("s[]");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->at("s"), PartialShape(Shape{}));
  for (const char* bad : {"x[1,a]", "x1,2", "x[1,2", "[1,2]", "x[1],", "x[1]y[2]", ""}) {
    auto r = ParseInputShapes(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok() && std::string(bad).size() > 0) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
  }
}

TEST(ShapeInferenceTest, OpTableListsRequiredOps) {
  for (const char* op : {"Parameter",
                         "Const",
                         "Result",
                         "Convolution",
                         "GroupConvolution",
                         "ConvolutionBackpropData",
                         "GroupConvolutionBackpropData",
                         "MatMul",
                         "Add",
                         "Select",
                         "Softmax",
                         "MaxPool",
                         "AvgPool",
                         "ReduceMean",
                         "MVN",
                         "NormalizeL2",
                         "BatchNormInference",
                         "Concat",
                         "Split",
                         "VariadicSplit",
                         "StridedSlice",
                         "Slice",
                         "Reshape",
                         "Transpose",
                         "Squeeze",
                         "Unsqueeze",
                         "Gather",
                         "ShapeOf",
                         "Convert",
                         "ConvertLike",
                         "Interpolate",
                         "Pad",
                         "Broadcast",
                         "Tile",
                         "Range",
                         "FakeQuantize",
                         "LSTMSequence",
                         "TopK",
                         "HSwish",
                         "Gelu"}) {
    EXPECT_TRUE(IsKnownOp(op)) << op;
  }
  EXPECT_FALSE(IsKnownOp("NoSuchOp"));
  const std::vector<std::string> all = KnownOps();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "duplicate table entry";
  EXPECT_EQ(DefaultOpsetVersion("MaxPool"), "opset8");
  EXPECT_EQ(DefaultOpsetVersion("NoSuchOp"), "");
}

}  // namespace
}  // namespace ptqflow::graph::ops
