// Data movement ops, reductions and misc ops (Interpolate, Pad, Tile, ...). Expected shapes are
// hand-computed from the OpenVINO op spec; value expectations are worked out in the comments.
#include <gtest/gtest.h>

#include "tests/graph/ops/op_test_util.h"

namespace ptqflow::graph::ops {
namespace {

using namespace ::ptqflow::graph::ops::testing;  // NOLINT

PartialShape ReshapeShape(PartialShape in, std::vector<int64_t> target, bool special_zero) {
  Graph g;
  ValueRef y = Op(g, "Reshape", {Param(g, "x", std::move(in)), I64(g, "t", target)},
                  Attrs({{"special_zero", special_zero ? "true" : "false"}}));
  return InferAndGet(g, y);
}

TEST(ReshapeTest, ZeroAndMinusOne) {
  EXPECT_EQ(ReshapeShape({2, 3, 4}, {0, -1}, true), PartialShape({2, 12}));
  EXPECT_EQ(ReshapeShape({2, 3, 4}, {-1, 4}, false), PartialShape({6, 4}));
  EXPECT_EQ(ReshapeShape({2, 3, 4}, {4, -1, 2}, false), PartialShape({4, 3, 2}));
  // Literal 0 without special_zero: an empty dimension.
  EXPECT_EQ(ReshapeShape({0, 3}, {0, 5}, false), PartialShape({0, 5}));
  // Dynamic input: 0 copies the dynamic dim, -1 stays unknown.
  EXPECT_EQ(ReshapeShape({-1, 3, 4}, {0, -1}, true), PartialShape({-1, -1}));
}

TEST(ReshapeTest, Errors) {
  for (auto target :
       {std::vector<int64_t>{5, -1}, std::vector<int64_t>{-1, -1}, std::vector<int64_t>{2, 3, 5}}) {
    Graph g;
    Op(g, "Reshape", {Param(g, "x", {2, 3, 4}), I64(g, "t", target)},
       Attrs({{"special_zero", "false"}}), "opset1", 1, "rs");
    const std::string msg = InferError(g);
    EXPECT_NE(msg.find("layer 'rs'"), std::string::npos) << msg;
  }
}

TEST(ReshapeTest, UnknownTargetGivesRank) {
  Graph g;
  ValueRef t = Param(g, "t", {3}, ElementType::kI64);
  ValueRef y = Op(g, "Reshape", {Param(g, "x", {2, 3, 4}), t}, Attrs({{"special_zero", "true"}}));
  EXPECT_EQ(InferAndGet(g, y), PartialShape::DynamicOfRank(3));
}

TEST(TransposeTest, Order) {
  Graph g;
  ValueRef y = Op(g, "Transpose", {Param(g, "x", {2, 3, 4}), I64(g, "o", {2, 0, 1})});
  ValueRef r = Op(g, "Transpose", {Param(g, "z", {2, 3, 4}), I64(g, "e", {})});
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(y).shape, PartialShape({4, 2, 3}));
  EXPECT_EQ(g.output(r).shape, PartialShape({4, 3, 2}));  // empty order reverses
}

TEST(SqueezeUnsqueezeTest, Shapes) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 3, 1, 4});
  ValueRef s1 = Op(g, "Squeeze", {x, I64(g, "a", {0, -2})});
  ValueRef s2 = Op(g, "Squeeze", {x});
  // out rank 2+2 = 4; axes 0 and -1 -> 3: [1,3,4,1]
  ValueRef u = Op(g, "Unsqueeze", {Param(g, "y", {3, 4}), I64(g, "b", {0, -1})});
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(s1).shape, PartialShape({3, 4}));
  EXPECT_EQ(g.output(s2).shape, PartialShape({3, 4}));
  EXPECT_EQ(g.output(u).shape, PartialShape({1, 3, 4, 1}));
  Op(g, "Squeeze", {x, I64(g, "c", {1})}, {}, "opset1", 1, "sq_bad");
  EXPECT_NE(InferError(g).find("layer 'sq_bad'"), std::string::npos);
}

TEST(ConcatTest, NegativeAxisAndMismatch) {
  Graph g;
  ValueRef y = Op(g, "Concat", {Param(g, "a", {1, 2, 4}), Param(g, "b", {1, 3, 4})},
                  Attrs({{"axis", "-2"}}));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 5, 4}));
  Op(g, "Concat", {Param(g, "c", {1, 2, 4}), Param(g, "d", {1, 3, 5})}, Attrs({{"axis", "1"}}),
     "opset1", 1, "cat_bad");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'cat_bad'"), std::string::npos) << msg;
}

TEST(SplitTest, SplitAndVariadicSplit) {
  Graph g;
  ValueRef s = Op(g, "Split", {Param(g, "x", {2, 6, 4}), I64Scalar(g, "ax", 1)},
                  Attrs({{"num_splits", "3"}}), "opset1", 3);
  // -1 takes 5 - 1 - 2 = 2
  ValueRef v = Op(g, "VariadicSplit",
                  {Param(g, "y", {2, 6, 5}), I64Scalar(g, "ax2", -1), I64(g, "len", {1, -1, 2})},
                  {}, "opset1", 3);
  ASSERT_TRUE(InferShapes(g).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(g.node(s.node).outputs[i].shape, PartialShape({2, 2, 4}));
  }
  EXPECT_EQ(g.node(v.node).outputs[0].shape, PartialShape({2, 6, 1}));
  EXPECT_EQ(g.node(v.node).outputs[1].shape, PartialShape({2, 6, 2}));
  EXPECT_EQ(g.node(v.node).outputs[2].shape, PartialShape({2, 6, 2}));
}

TEST(SplitTest, Errors) {
  {
    Graph g;
    Op(g, "Split", {Param(g, "x", {2, 6}), I64Scalar(g, "ax", 1)}, Attrs({{"num_splits", "4"}}),
       "opset1", 4, "split_bad");
    EXPECT_NE(InferError(g).find("layer 'split_bad'"), std::string::npos);
  }
  {
    Graph g;
    Op(g, "VariadicSplit", {Param(g, "x", {2, 6}), I64Scalar(g, "ax", 1), I64(g, "l", {2, 3})}, {},
       "opset1", 2, "vsplit_bad");
    const std::string msg = InferError(g);
    EXPECT_NE(msg.find("layer 'vsplit_bad'"), std::string::npos) << msg;
  }
}

TEST(SplitTest, Values) {
  Graph g;
  // [[0,1,2],[3,4,5]] split on axis 1 into [1,2]: [[0],[3]] and [[1,2],[4,5]]
  ValueRef x = I64(g, "x", {0, 1, 2, 3, 4, 5}, {2, 3});
  ValueRef v = Op(g, "VariadicSplit", {x, I64Scalar(g, "ax", 1), I64(g, "l", {1, 2})}, {}, "opset1",
                  2, "vs");
  ValueRef a = Op(g, "Negative", {v});
  ValueRef b = Op(g, "Negative", {{v.node, 1}});
  g.AddResult("ra", a);
  g.AddResult("rb", b);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(a.node).constant.ToInt64s(), (std::vector<int64_t>{0, -3}));
  EXPECT_EQ(g.node(b.node).constant.ToInt64s(), (std::vector<int64_t>{-1, -2, -4, -5}));
}

PartialShape StridedSliceShape(PartialShape in, std::vector<int64_t> begin,
                               std::vector<int64_t> end, std::vector<int64_t> stride,
                               const std::string& bm, const std::string& em,
                               const std::string& nm = "", const std::string& sm = "",
                               const std::string& elm = "") {
  Graph g;
  ValueRef y =
      Op(g, "StridedSlice",
         {Param(g, "x", std::move(in)), I64(g, "b", begin), I64(g, "e", end), I64(g, "s", stride)},
         Attrs({{"begin_mask", bm},
                {"end_mask", em},
                {"new_axis_mask", nm},
                {"shrink_axis_mask", sm},
                {"ellipsis_mask", elm}}));
  return InferAndGet(g, y);
}

TEST(StridedSliceTest, Masks) {
  const PartialShape x{4, 5, 6};
  // axis0 1..3 -> 2; axis1 masked -> 5; axis2 untouched
  EXPECT_EQ(StridedSliceShape(x, {1, 0}, {3, 0}, {1, 1}, "0,1", "0,1"), PartialShape({2, 5, 6}));
  // shrink axis 0
  EXPECT_EQ(StridedSliceShape(x, {1}, {2}, {1}, "0", "0", "0", "1"), PartialShape({5, 6}));
  // new axis in front, then axis0 full
  EXPECT_EQ(StridedSliceShape(x, {0, 0}, {0, 0}, {1, 1}, "1,1", "1,1", "1,0"),
            PartialShape({1, 4, 5, 6}));
  // ellipsis covers axes 0,1; last entry slices axis 2 to 1..3 -> 2
  EXPECT_EQ(StridedSliceShape(x, {0, 1}, {0, 3}, {1, 1}, "0,0", "0,0", "", "", "1,0"),
            PartialShape({4, 5, 2}));
  // negative stride from -1 down to (excluding) 0: 3,2,1 -> 3; with end_mask: 3,2,1,0 -> 4
  EXPECT_EQ(StridedSliceShape(x, {-1}, {0}, {-1}, "0", "0"), PartialShape({3, 5, 6}));
  EXPECT_EQ(StridedSliceShape(x, {-1}, {0}, {-1}, "0", "1"), PartialShape({4, 5, 6}));
  // stride 2 with end clamped to 4: 0,2 -> 2
  EXPECT_EQ(StridedSliceShape(x, {0}, {100}, {2}, "0", "0"), PartialShape({2, 5, 6}));
}

TEST(StridedSliceTest, ValueOfShapeOf) {
  Graph g;
  ValueRef s = Op(g, "ShapeOf", {Param(g, "x", {7, 8, 9})}, {}, "opset3");
  // shape[1:] = [8, 9]
  ValueRef y = Op(g, "StridedSlice", {s, I64(g, "b", {1}), I64(g, "e", {0}), I64(g, "st", {1})},
                  Attrs({{"begin_mask", "0"}, {"end_mask", "1"}}));
  g.AddResult("out", y);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(y.node).constant.ToInt64s(), (std::vector<int64_t>{8, 9}));
}

TEST(SliceTest, Shapes) {
  Graph g;
  ValueRef x = Param(g, "x", {10, 20});
  // axis 1: 2,5,8,11,14,17 -> 6
  ValueRef a =
      Op(g, "Slice",
         {x, I64(g, "s1", {2}), I64(g, "e1", {-1}), I64(g, "st1", {3}), I64(g, "ax1", {1})}, {},
         "opset8");
  // axis 0 backwards from 9 with step -2 to the start: 9,7,5,3,1 -> 5
  ValueRef b =
      Op(g, "Slice",
         {x, I64(g, "s2", {-1}), I64(g, "e2", {-100}), I64(g, "st2", {-2}), I64(g, "ax2", {0})}, {},
         "opset8");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(a).shape, PartialShape({10, 6}));
  EXPECT_EQ(g.output(b).shape, PartialShape({5, 20}));
}

TEST(GatherTest, AxisAndBatchDims) {
  Graph g;
  ValueRef a = Op(
      g, "Gather",
      {Param(g, "x", {5, 6, 7}), Param(g, "i", {2, 3}, ElementType::kI64), I64Scalar(g, "ax", 1)},
      {}, "opset8");
  ValueRef b = Op(
      g, "Gather",
      {Param(g, "y", {2, 5, 7}), Param(g, "j", {2, 3}, ElementType::kI32), I64Scalar(g, "ax2", 1)},
      Attrs({{"batch_dims", "1"}}), "opset8");
  ValueRef c =
      Op(g, "Gather", {Param(g, "z", {5, 6}), I64(g, "k", {0, 1, 2, 3}), I64Scalar(g, "ax3", -1)},
         {}, "opset8");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(a).shape, PartialShape({5, 2, 3, 7}));
  EXPECT_EQ(g.output(b).shape, PartialShape({2, 3, 7}));
  EXPECT_EQ(g.output(c).shape, PartialShape({5, 4}));
}

TEST(GatherTest, ValuesWithNegativeIndices) {
  Graph g;
  ValueRef d = I64(g, "d", {10, 11, 12, 13, 14, 15}, {2, 3});
  // axis 1, indices [-1, 0]: [[12,10],[15,13]]
  ValueRef y = Op(g, "Gather", {d, I64(g, "i", {-1, 0}), I64Scalar(g, "ax", 1)}, {}, "opset8");
  g.AddResult("out", y);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.output(y).shape, PartialShape({2, 2}));
  EXPECT_EQ(g.node(y.node).constant.ToInt64s(), (std::vector<int64_t>{12, 10, 15, 13}));
}

TEST(BroadcastTest, Modes) {
  Graph g;
  ValueRef x = Param(g, "x", {3, 1});
  ValueRef n = Op(g, "Broadcast", {x, I64(g, "t1", {2, 3, 4})}, Attrs({{"mode", "numpy"}}));
  ValueRef b = Op(g, "Broadcast", {x, I64(g, "t2", {4})}, Attrs({{"mode", "bidirectional"}}));
  ValueRef e = Op(g, "Broadcast", {Param(g, "y", {3}), I64(g, "t3", {2, 3}), I64(g, "m", {1})},
                  Attrs({{"mode", "explicit"}}));
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(n).shape, PartialShape({2, 3, 4}));
  EXPECT_EQ(g.output(b).shape, PartialShape({3, 4}));
  EXPECT_EQ(g.output(e).shape, PartialShape({2, 3}));
  Op(g, "Broadcast", {x, I64(g, "t4", {2, 4, 4})}, Attrs({{"mode", "numpy"}}), "opset3", 1,
     "bc_bad");
  EXPECT_NE(InferError(g).find("layer 'bc_bad'"), std::string::npos);
}

TEST(TileTest, RepeatsLongerThanRank) {
  Graph g;
  // data [2,3] seen as [1,2,3]; repeats [2,1,2] -> [2,2,6]
  ValueRef y = Op(g, "Tile", {Param(g, "x", {2, 3}), I64(g, "r", {2, 1, 2})});
  EXPECT_EQ(InferAndGet(g, y), PartialShape({2, 2, 6}));
}

TEST(PadTest, ModesAndErrors) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 3, 4, 4});
  // 4+1+3 = 8, 4+2+0 = 6
  ValueRef c = Op(g, "Pad", {x, I64(g, "pb", {0, 0, 1, 2}), I64(g, "pe", {0, 0, 3, 0})},
                  Attrs({{"pad_mode", "constant"}}), "opset1");
  // opset12 negative: 4-1+3 = 6
  ValueRef n = Op(g, "Pad", {x, I64(g, "pb2", {0, 0, -1, 0}), I64(g, "pe2", {0, 0, 3, 0})},
                  Attrs({{"pad_mode", "constant"}}), "opset12");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(c).shape, PartialShape({1, 3, 8, 6}));
  EXPECT_EQ(g.output(n).shape, PartialShape({1, 3, 6, 4}));
  // reflect needs pads < 4
  Op(g, "Pad", {x, I64(g, "pb3", {0, 0, 4, 0}), I64(g, "pe3", {0, 0, 0, 0})},
     Attrs({{"pad_mode", "reflect"}}), "opset1", 1, "pad_bad");
  EXPECT_NE(InferError(g).find("layer 'pad_bad'"), std::string::npos);
}

TEST(InterpolateTest, Opset4SizesAndScales) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 3, 10, 20});
  Attributes sizes_attrs = Attrs({{"mode", "nearest"}, {"shape_calculation_mode", "sizes"}});
  Attributes scales_attrs = Attrs({{"mode", "linear"}, {"shape_calculation_mode", "scales"}});
  ValueRef a = Op(g, "Interpolate",
                  {x, I64(g, "sz", {20, 40}), F32(g, "sc", {2.f, 2.f}), I64(g, "ax", {2, 3})},
                  sizes_attrs, "opset4");
  // floor(10*0.5) = 5, floor(20*1.5) = 30
  ValueRef b = Op(g, "Interpolate",
                  {x, I64(g, "sz2", {1, 1}), F32(g, "sc2", {0.5f, 1.5f}), I64(g, "ax2", {2, 3})},
                  scales_attrs, "opset4");
  // opset11: one sizes input, default axes = all
  ValueRef c = Op(g, "Interpolate", {x, I64(g, "sz3", {1, 3, 5, 7})}, sizes_attrs, "opset11");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(a).shape, PartialShape({1, 3, 20, 40}));
  EXPECT_EQ(g.output(b).shape, PartialShape({1, 3, 5, 30}));
  EXPECT_EQ(g.output(c).shape, PartialShape({1, 3, 5, 7}));
}

TEST(InterpolateTest, SizesFromShapeSubgraph) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 3, 10, 20});
  // sizes = ShapeOf(x)[2:4] * 2 = [20, 40]
  ValueRef s = Op(g, "ShapeOf", {x}, {}, "opset3");
  ValueRef hw =
      Op(g, "Slice", {s, I64(g, "b", {2}), I64(g, "e", {4}), I64(g, "st", {1})}, {}, "opset8");
  ValueRef sz = Op(g, "Multiply", {hw, I64Scalar(g, "two", 2)});
  ValueRef y = Op(g, "Interpolate", {x, sz, I64(g, "ax", {2, 3})},
                  Attrs({{"mode", "nearest"}, {"shape_calculation_mode", "sizes"}}), "opset11");
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 3, 20, 40}));
}

TEST(ReduceTest, KeepDimsAndAxes) {
  Graph g;
  ValueRef x = Param(g, "x", {2, 3, 4});
  ValueRef k = Op(g, "ReduceMean", {x, I64(g, "a", {1, -1})}, Attrs({{"keep_dims", "true"}}));
  ValueRef n = Op(g, "ReduceSum", {x, I64(g, "b", {1, -1})}, Attrs({{"keep_dims", "false"}}));
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(k).shape, PartialShape({2, 1, 1}));
  EXPECT_EQ(g.output(n).shape, PartialShape({2}));
  Op(g, "ReduceMax", {x, I64(g, "c", {3})}, {}, "opset1", 1, "rmax");
  EXPECT_NE(InferError(g).find("layer 'rmax'"), std::string::npos);
}

TEST(ReduceTest, ProdOfShapeValue) {
  Graph g;
  ValueRef s = Op(g, "ShapeOf", {Param(g, "x", {2, 3, 4})}, {}, "opset3");
  // 3*4 = 12
  ValueRef p = Op(g, "ReduceProd",
                  {Op(g, "Gather", {s, I64(g, "i", {1, 2}), I64Scalar(g, "a", 0)}, {}, "opset8"),
                   I64(g, "ax", {0})},
                  Attrs({{"keep_dims", "true"}}));
  g.AddResult("out", p);
  ASSERT_TRUE(FoldKnownValues(g).ok());
  EXPECT_EQ(g.node(p.node).constant.ToInt64s(), (std::vector<int64_t>{12}));
}

TEST(MiscTest, TopKDepthToSpaceLstm) {
  Graph g;
  ValueRef t = Op(g, "TopK", {Param(g, "x", {2, 10}), I64Scalar(g, "k", 3)},
                  Attrs({{"axis", "-1"}, {"mode", "max"}, {"sort", "value"}}), "opset11", 2);
  ValueRef d = Op(g, "DepthToSpace", {Param(g, "y", {1, 8, 3, 3})},
                  Attrs({{"block_size", "2"}, {"mode", "blocks_first"}}));
  // X [batch 2, seq 5, input 3], hidden 4, bidirectional
  ValueRef X = Param(g, "X", {2, 5, 3});
  ValueRef H = Param(g, "H", {2, 2, 4});
  ValueRef W = Param(g, "W", {2, 16, 3});
  ValueRef R = Param(g, "R", {2, 16, 4});
  ValueRef B = Param(g, "B", {2, 16});
  ValueRef L = Param(g, "L", {2}, ElementType::kI32);
  ValueRef lstm = Op(g, "LSTMSequence", {X, H, H, L, W, R, B},
                     Attrs({{"hidden_size", "4"}, {"direction", "bidirectional"}}), "opset5", 3);
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(t).shape, PartialShape({2, 3}));
  EXPECT_EQ(g.node(t.node).outputs[1].type, ElementType::kI32);
  EXPECT_EQ(g.output(d).shape, PartialShape({1, 2, 6, 6}));
  EXPECT_EQ(g.node(lstm.node).outputs[0].shape, PartialShape({2, 2, 5, 4}));
  EXPECT_EQ(g.node(lstm.node).outputs[1].shape, PartialShape({2, 2, 4}));
  EXPECT_EQ(g.node(lstm.node).outputs[2].shape, PartialShape({2, 2, 4}));
}

}  // namespace
}  // namespace ptqflow::graph::ops
