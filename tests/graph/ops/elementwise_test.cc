// Element-wise ops: numpy broadcasting, output element types, type errors, Select, Convert,
// normalization ops. Expected shapes are hand-computed from the numpy broadcasting rule.
#include <gtest/gtest.h>

#include "tests/graph/ops/op_test_util.h"

namespace ptqflow::graph::ops {
namespace {

using namespace ::ptqflow::graph::ops::testing;  // NOLINT

PartialShape AddShape(PartialShape a, PartialShape b) {
  Graph g;
  ValueRef y = Op(g, "Add", {Param(g, "a", std::move(a)), Param(g, "b", std::move(b))});
  return InferAndGet(g, y);
}

TEST(ElementwiseTest, NumpyBroadcast) {
  EXPECT_EQ(AddShape({2, 3, 1}, {4}), PartialShape({2, 3, 4}));
  EXPECT_EQ(AddShape({1, 3}, {2, 1}), PartialShape({2, 3}));
  EXPECT_EQ(AddShape({5}, Shape{}), PartialShape({5}));
  EXPECT_EQ(AddShape({-1, 3}, {4, 1}), PartialShape({4, 3}));
}

TEST(ElementwiseTest, IncompatibleShapesNameLayer) {
  Graph g;
  Op(g, "Multiply", {Param(g, "a", {2, 3}), Param(g, "b", {4})}, {}, "opset1", 1, "mul_bad");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'mul_bad'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
}

TEST(ElementwiseTest, AutoBroadcastNoneNeedsEqualShapes) {
  Graph g;
  Op(g, "Add", {Param(g, "a", {2, 3}), Param(g, "b", {1, 3})}, Attrs({{"auto_broadcast", "none"}}),
     "opset1", 1, "add_none");
  EXPECT_NE(InferError(g).find("layer 'add_none'"), std::string::npos);
}

TEST(ElementwiseTest, ComparisonAndLogicalTypes) {
  Graph g;
  ValueRef a = Param(g, "a", {2, 3});
  ValueRef b = Param(g, "b", {3});
  ValueRef lt = Op(g, "Less", {a, b});
  ValueRef nt = Op(g, "LogicalNot", {lt});
  ValueRef an = Op(g, "LogicalAnd", {lt, nt});
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(lt).type, ElementType::kBoolean);
  EXPECT_EQ(g.output(lt).shape, PartialShape({2, 3}));
  EXPECT_EQ(g.output(an).type, ElementType::kBoolean);
  // LogicalAnd of f32 inputs is an error.
  Op(g, "LogicalAnd", {a, a}, {}, "opset1", 1, "and_f32");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'and_f32'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32"), std::string::npos) << msg;
}

TEST(ElementwiseTest, SelectBroadcastsThreeInputs) {
  Graph g;
  // [2,1] , [1,3] , [3] -> [2,3]
  ValueRef y =
      Op(g, "Select",
         {Param(g, "c", {2, 1}, ElementType::kBoolean), Param(g, "t", {1, 3}), Param(g, "e", {3})});
  EXPECT_EQ(InferAndGet(g, y), PartialShape({2, 3}));
  EXPECT_EQ(g.output(y).type, ElementType::kF32);
}

TEST(ElementwiseTest, SelectValue) {
  Graph g;
  ValueRef c = {g.AddConst("c", Tensor::FromVector<uint8_t>(ElementType::kBoolean, {3}, {1, 0, 1})),
                0};
  ValueRef y = Op(g, "Select", {c, I64(g, "t", {10, 20, 30}), I64Scalar(g, "e", -1)});
  g.AddResult("out", y);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(y.node).constant.ToInt64s(), (std::vector<int64_t>{10, -1, 30}));
}

TEST(ElementwiseTest, SelectConditionMustBeBoolean) {
  Graph g;
  Op(g, "Select", {Param(g, "c", {3}), Param(g, "t", {3}), Param(g, "e", {3})}, {}, "opset1", 1,
     "sel");
  EXPECT_NE(InferError(g).find("layer 'sel'"), std::string::npos);
}

TEST(ElementwiseTest, ConvertAndShapeOfTypes) {
  Graph g;
  ValueRef x = Param(g, "x", {2, 5});
  ValueRef s1 = Op(g, "ShapeOf", {x}, {}, "opset1");
  ValueRef s3 = Op(g, "ShapeOf", {x}, Attrs({{"output_type", "i32"}}), "opset3");
  ValueRef cv = Op(g, "Convert", {s3}, Attrs({{"destination_type", "f32"}}));
  ValueRef cl = Op(g, "ConvertLike", {s1, x});
  g.AddResult("o1", cv);
  g.AddResult("o2", cl);
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(s1).type, ElementType::kI64);
  EXPECT_EQ(g.output(s3).type, ElementType::kI32);
  EXPECT_EQ(g.output(cv).type, ElementType::kF32);
  EXPECT_EQ(g.output(cv).shape, PartialShape({2}));
  EXPECT_EQ(g.output(cl).type, ElementType::kF32);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(cv.node).constant.ToDoubles(), (std::vector<double>{2.0, 5.0}));
}

TEST(ElementwiseTest, ConvertBadDestinationType) {
  Graph g;
  Op(g, "Convert", {Param(g, "x", {2})}, Attrs({{"destination_type", "f31"}}), "opset1", 1, "cvt");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'cvt'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f31"), std::string::npos) << msg;
}

TEST(ElementwiseTest, ActivationsKeepShapeAndCheckAttributes) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 8, -1});
  ValueRef clamp = Op(g, "Clamp", {x}, Attrs({{"min", "0"}, {"max", "6"}}));
  ValueRef prelu = Op(g, "PRelu", {x, F32(g, "slope", {0.1f})});
  ValueRef sm = Op(g, "Softmax", {x}, Attrs({{"axis", "-1"}}), "opset8");
  ValueRef gelu = Op(g, "Gelu", {x}, Attrs({{"approximation_mode", "TANH"}}), "opset7");
  ASSERT_TRUE(InferShapes(g).ok());
  for (ValueRef v : {clamp, prelu, sm, gelu}) {
    EXPECT_EQ(g.output(v).shape, PartialShape({1, 8, -1}));
    EXPECT_EQ(g.output(v).type, ElementType::kF32);
  }
  Op(g, "Clamp", {x}, Attrs({{"min", "0"}}), "opset1", 1, "clamp_nomax");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'clamp_nomax'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("max"), std::string::npos) << msg;
}

TEST(ElementwiseTest, SoftmaxAxisOutOfRange) {
  Graph g;
  Op(g, "Softmax", {Param(g, "x", {2, 3})}, Attrs({{"axis", "2"}}), "opset8", 1, "sm");
  EXPECT_NE(InferError(g).find("layer 'sm'"), std::string::npos);
  Graph g1;
  Op(g1, "Softmax", {Param(g1, "x", {2, 3})}, Attrs({{"axis", "-1"}}), "opset1", 1, "sm1");
  EXPECT_NE(InferError(g1).find("layer 'sm1'"), std::string::npos);
}

TEST(ElementwiseTest, FakeQuantizeAndBatchNorm) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 4, 5, 5});
  ValueRef lo = F32(g, "lo", {0, 0, 0, 0}, {1, 4, 1, 1});
  ValueRef hi = F32(g, "hi", {1, 1, 1, 1}, {1, 4, 1, 1});
  ValueRef fq = Op(g, "FakeQuantize", {x, lo, hi, lo, hi}, Attrs({{"levels", "256"}}));
  ValueRef c4 = F32(g, "c4", {1, 1, 1, 1});
  ValueRef bn5 =
      Op(g, "BatchNormInference", {x, c4, c4, c4, c4}, Attrs({{"epsilon", "1e-5"}}), "opset5");
  ValueRef bn1 =
      Op(g, "BatchNormInference", {c4, c4, x, c4, c4}, Attrs({{"epsilon", "1e-5"}}), "opset1");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(fq).shape, PartialShape({1, 4, 5, 5}));
  EXPECT_EQ(g.output(bn5).shape, PartialShape({1, 4, 5, 5}));
  EXPECT_EQ(g.output(bn1).shape, PartialShape({1, 4, 5, 5}));
  ValueRef c3 = F32(g, "c3", {1, 1, 1});
  Op(g, "BatchNormInference", {x, c3, c3, c3, c3}, Attrs({{"epsilon", "1e-5"}}), "opset5", 1,
     "bn_bad");
  EXPECT_NE(InferError(g).find("layer 'bn_bad'"), std::string::npos);
}

TEST(ElementwiseTest, MvnAndNormalizeL2) {
  Graph g;
  ValueRef x = Param(g, "x", {2, 3, 4});
  ValueRef mvn =
      Op(g, "MVN", {x, I64(g, "axes", {-1})},
         Attrs({{"eps", "1e-9"}, {"normalize_variance", "true"}, {"eps_mode", "inside_sqrt"}}),
         "opset6");
  ValueRef l2 = Op(g, "NormalizeL2", {x, I64(g, "axes2", {1})},
                   Attrs({{"eps", "1e-10"}, {"eps_mode", "add"}}), "opset1");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(mvn).shape, PartialShape({2, 3, 4}));
  EXPECT_EQ(g.output(l2).shape, PartialShape({2, 3, 4}));
  Op(g, "MVN", {x, I64(g, "axes3", {3})},
     Attrs({{"eps", "1e-9"}, {"normalize_variance", "true"}, {"eps_mode", "inside_sqrt"}}),
     "opset6", 1, "mvn_bad");
  EXPECT_NE(InferError(g).find("layer 'mvn_bad'"), std::string::npos);
}

TEST(ElementwiseTest, IndexOps) {
  Graph g;
  ValueRef x = Param(g, "x", {3, 4});
  // NonZero: [rank, number of non-zeros (unknown)]
  ValueRef nz = Op(g, "NonZero", {x}, Attrs({{"output_type", "i32"}}), "opset3");
  // GatherElements: output has the indices' shape
  ValueRef ge = Op(g, "GatherElements", {x, Param(g, "i", {3, 2}, ElementType::kI64)},
                   Attrs({{"axis", "1"}}), "opset6");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(nz).shape, PartialShape({2, -1}));
  EXPECT_EQ(g.output(nz).type, ElementType::kI32);
  EXPECT_EQ(g.output(ge).shape, PartialShape({3, 2}));
  Op(g, "GatherElements", {x, Param(g, "j", {3}, ElementType::kI64)}, Attrs({{"axis", "0"}}),
     "opset6", 1, "ge_bad");
  EXPECT_NE(InferError(g).find("layer 'ge_bad'"), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::graph::ops
