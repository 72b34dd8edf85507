// Convolution family, MatMul and pooling shapes. Expected sizes are hand-computed from the
// OpenVINO op spec: out = floor((in + pb + pe - (d*(k-1)+1)) / s) + 1.
#include <gtest/gtest.h>

#include "graph/ops/window.h"
#include "tests/graph/ops/op_test_util.h"

namespace ptqflow::graph::ops {
namespace {

using namespace ::ptqflow::graph::ops::testing;  // NOLINT

Attributes ConvAttrs(const std::string& strides, const std::string& pads,
                     const std::string& dilations = "1,1",
                     const std::string& auto_pad = "explicit") {
  return Attrs({{"strides", strides},
                {"dilations", dilations},
                {"pads_begin", pads},
                {"pads_end", pads},
                {"auto_pad", auto_pad}});
}

ValueRef Weights(Graph& g, Shape shape) {
  return {g.AddConst("w" + std::to_string(g.size()),
                     Tensor::Allocate(ElementType::kF32, std::move(shape))),
          0};
}

TEST(ConvolutionTest, StridesAndPads) {
  Graph g;
  // (224 + 3 + 3 - 7) / 2 + 1 = 112
  ValueRef y = Op(g, "Convolution", {Param(g, "x", {1, 3, 224, 224}), Weights(g, {64, 3, 7, 7})},
                  ConvAttrs("2,2", "3,3"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 64, 112, 112}));
}

TEST(ConvolutionTest, Dilations) {
  Graph g;
  // window 2*(3-1)+1 = 5; 10 - 5 + 1 = 6
  ValueRef y = Op(g, "Convolution", {Param(g, "x", {1, 3, 10, 10}), Weights(g, {8, 3, 3, 3})},
                  ConvAttrs("1,1", "0,0", "2,2"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 8, 6, 6}));
}

TEST(ConvolutionTest, AutoPadSameAndValid) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 3, 7, 8});
  ValueRef w = Weights(g, {8, 3, 3, 3});
  // same: ceil(7/2) = 4, ceil(8/2) = 4; valid: (7-3)/2+1 = 3, (8-3)/2+1 = 3
  ValueRef same = Op(g, "Convolution", {x, w}, ConvAttrs("2,2", "0,0", "1,1", "same_upper"));
  ValueRef valid = Op(g, "Convolution", {x, w}, ConvAttrs("2,2", "5,5", "1,1", "valid"));
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(same).shape, PartialShape({1, 8, 4, 4}));
  EXPECT_EQ(g.output(valid).shape, PartialShape({1, 8, 3, 3}));
}

TEST(ConvolutionTest, WindowAxisSamePadsSplit) {
  // in 8, k 3, s 2: out 4, total pad (4-1)*2 + 3 - 8 = 1.
  WindowAxis up = ResolveWindowAxis(AutoPad::kSameUpper, 8, 3, 2, 1, 0, 0);
  EXPECT_EQ(up.out, 4);
  EXPECT_EQ(up.pad_begin, 0);
  EXPECT_EQ(up.pad_end, 1);
  WindowAxis low = ResolveWindowAxis(AutoPad::kSameLower, 8, 3, 2, 1, 0, 0);
  EXPECT_EQ(low.pad_begin, 1);
  EXPECT_EQ(low.pad_end, 0);
  // in 7: total (4-1)*2 + 3 - 7 = 2 -> 1 and 1.
  WindowAxis odd = ResolveWindowAxis(AutoPad::kSameUpper, 7, 3, 2, 1, 0, 0);
  EXPECT_EQ(odd.pad_begin, 1);
  EXPECT_EQ(odd.pad_end, 1);
}

TEST(ConvolutionTest, DynamicBatchAndSpatialStayDynamic) {
  Graph g;
  ValueRef y = Op(g, "Convolution", {Param(g, "x", {-1, 3, -1, 16}), Weights(g, {4, 3, 3, 3})},
                  ConvAttrs("1,1", "1,1"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({-1, 4, -1, 16}));
}

TEST(ConvolutionTest, ChannelMismatchNamesLayer) {
  Graph g;
  Op(g, "Convolution", {Param(g, "x", {1, 3, 8, 8}), Weights(g, {8, 4, 3, 3})},
     ConvAttrs("1,1", "0,0"), "opset1", 1, "conv_bad");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'conv_bad'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("channels"), std::string::npos) << msg;
}

TEST(ConvolutionTest, MissingStridesIsError) {
  Graph g;
  Attributes a = ConvAttrs("1,1", "0,0");
  a.Erase("strides");
  Op(g, "Convolution", {Param(g, "x", {1, 3, 8, 8}), Weights(g, {8, 3, 3, 3})}, a, "opset1", 1,
     "conv_nostride");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'conv_nostride'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("strides"), std::string::npos) << msg;
}

TEST(ConvolutionTest, NonNumericAndWrongLengthAttributes) {
  {
    Graph g;
    Op(g, "Convolution", {Param(g, "x", {1, 3, 8, 8}), Weights(g, {8, 3, 3, 3})},
       ConvAttrs("a,b", "0,0"), "opset1", 1, "conv_nan");
    const std::string msg = InferError(g);
    EXPECT_NE(msg.find("layer 'conv_nan'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("strides"), std::string::npos) << msg;
  }
  {
    Graph g;
    Op(g, "Convolution", {Param(g, "x", {1, 3, 8, 8}), Weights(g, {8, 3, 3, 3})},
       ConvAttrs("1,1,1", "0,0"), "opset1", 1, "conv_len");
    const std::string msg = InferError(g);
    EXPECT_NE(msg.find("layer 'conv_len'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("strides"), std::string::npos) << msg;
  }
}

TEST(ConvolutionTest, KernelLargerThanInputIsError) {
  Graph g;
  Op(g, "Convolution", {Param(g, "x", {1, 3, 2, 2}), Weights(g, {8, 3, 3, 3})},
     ConvAttrs("1,1", "0,0"), "opset1", 1, "conv_big");
  EXPECT_NE(InferError(g).find("layer 'conv_big'"), std::string::npos);
}

TEST(GroupConvolutionTest, Depthwise) {
  Graph g;
  // groups 32, 1 output and 1 input channel per group; pads 1 keep 56.
  ValueRef y =
      Op(g, "GroupConvolution", {Param(g, "x", {1, 32, 56, 56}), Weights(g, {32, 1, 1, 3, 3})},
         ConvAttrs("1,1", "1,1"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 32, 56, 56}));
}

TEST(GroupConvolutionTest, GroupedOutputChannels) {
  Graph g;
  // G=4, O/G=6 -> 24 outputs; C/G=2 -> 8 inputs; (9-3)/2+1 = 4
  ValueRef y = Op(g, "GroupConvolution", {Param(g, "x", {2, 8, 9, 9}), Weights(g, {4, 6, 2, 3, 3})},
                  ConvAttrs("2,2", "0,0"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({2, 24, 4, 4}));
}

TEST(GroupConvolutionTest, ChannelMismatch) {
  Graph g;
  Op(g, "GroupConvolution", {Param(g, "x", {1, 32, 8, 8}), Weights(g, {4, 8, 4, 3, 3})},
     ConvAttrs("1,1", "1,1"), "opset1", 1, "gconv");
  EXPECT_NE(InferError(g).find("layer 'gconv'"), std::string::npos);
}

TEST(ConvolutionBackpropDataTest, OutputPadding) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 16, 8, 8});
  ValueRef w = Weights(g, {16, 4, 3, 3});
  Attributes a = ConvAttrs("2,2", "1,1");
  a.Set("output_padding", "1,1");
  // 2*(8-1) + (3-1) + 1 - 1 - 1 + 1 = 16
  ValueRef y = Op(g, "ConvolutionBackpropData", {x, w}, a);
  // without output_padding: 15
  ValueRef y2 = Op(g, "ConvolutionBackpropData", {x, w}, ConvAttrs("2,2", "1,1"));
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(y).shape, PartialShape({1, 4, 16, 16}));
  EXPECT_EQ(g.output(y2).shape, PartialShape({1, 4, 15, 15}));
}

TEST(ConvolutionBackpropDataTest, OutputShapeInput) {
  Graph g;
  ValueRef y = Op(g, "ConvolutionBackpropData",
                  {Param(g, "x", {1, 16, 8, 8}), Weights(g, {16, 4, 3, 3}), I64(g, "os", {20, 21})},
                  ConvAttrs("2,2", "0,0", "1,1", "same_upper"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 4, 20, 21}));
}

TEST(GroupConvolutionBackpropDataTest, Shape) {
  Graph g;
  // G=2, C_in/G=4, C_out/G=3 -> 6 output channels; 1*(5-1) + 3 = 7
  ValueRef y =
      Op(g, "GroupConvolutionBackpropData",
         {Param(g, "x", {1, 8, 5, 5}), Weights(g, {2, 4, 3, 3, 3})}, ConvAttrs("1,1", "0,0"));
  EXPECT_EQ(InferAndGet(g, y), PartialShape({1, 6, 7, 7}));
}

PartialShape MatMulShape(PartialShape a, PartialShape b, bool ta = false, bool tb = false) {
  Graph g;
  ValueRef y =
      Op(g, "MatMul", {Param(g, "a", std::move(a)), Param(g, "b", std::move(b))},
         Attrs({{"transpose_a", ta ? "true" : "false"}, {"transpose_b", tb ? "true" : "false"}}));
  return InferAndGet(g, y);
}

TEST(MatMulTest, Shapes) {
  EXPECT_EQ(MatMulShape({2, 3, 4}, {4, 5}), PartialShape({2, 3, 5}));
  EXPECT_EQ(MatMulShape({2, 4, 3}, {4, 5}, true, false), PartialShape({2, 3, 5}));
  EXPECT_EQ(MatMulShape({2, 3, 4}, {5, 4}, false, true), PartialShape({2, 3, 5}));
  // batch [2,1] x [7] -> [2,7]
  EXPECT_EQ(MatMulShape({2, 1, 3, 4}, {7, 4, 5}), PartialShape({2, 7, 3, 5}));
  // 1-D operands: [K] x [K,N] -> [N]; [M,K] x [K] -> [M]; [K] x [K] -> scalar
  EXPECT_EQ(MatMulShape({4}, {4, 5}), PartialShape({5}));
  EXPECT_EQ(MatMulShape({3, 4}, {4}), PartialShape({3}));
  EXPECT_EQ(MatMulShape({4}, {4}), PartialShape(Shape{}));
  EXPECT_EQ(MatMulShape({-1, 3, 4}, {4, 5}), PartialShape({-1, 3, 5}));
}

TEST(MatMulTest, InnerDimensionMismatch) {
  Graph g;
  Op(g, "MatMul", {Param(g, "a", {3, 4}), Param(g, "b", {5, 6})}, {}, "opset1", 1, "mm");
  const std::string msg = InferError(g);
  EXPECT_NE(msg.find("layer 'mm'"), std::string::npos) << msg;
}

Attributes PoolAttrs(const std::string& kernel, const std::string& strides, const std::string& pads,
                     const std::string& rounding) {
  return Attrs({{"kernel", kernel},
                {"strides", strides},
                {"pads_begin", pads},
                {"pads_end", pads},
                {"rounding_type", rounding},
                {"auto_pad", "explicit"}});
}

TEST(PoolingTest, FloorAndCeil) {
  Graph g;
  ValueRef x = Param(g, "x", {1, 16, 7, 7});
  // floor((7-2)/2)+1 = 3; ceil((7-2)/2)+1 = 4
  ValueRef fl = Op(g, "MaxPool", {x}, PoolAttrs("2,2", "2,2", "0,0", "floor"), "opset1");
  ValueRef ce = Op(g, "MaxPool", {x}, PoolAttrs("2,2", "2,2", "0,0", "ceil"), "opset1");
  // AvgPool 3x3 stride 3 pad 1: floor((7+2-3)/3)+1 = 3
  Attributes avg = PoolAttrs("3,3", "3,3", "1,1", "floor");
  avg.Set("exclude-pad", "true");
  ValueRef av = Op(g, "AvgPool", {x}, avg, "opset1");
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(fl).shape, PartialShape({1, 16, 3, 3}));
  EXPECT_EQ(g.output(ce).shape, PartialShape({1, 16, 4, 4}));
  EXPECT_EQ(g.output(av).shape, PartialShape({1, 16, 3, 3}));
}

TEST(PoolingTest, CeilTorchDropsWindowStartingInPadding) {
  // in 4, k 1, s 2, pads 0/2: ceil((4+2-1)/2)+1 = 4, but the 4th window starts at 6 >= 4.
  WindowAxis c = ResolveWindowAxis(AutoPad::kExplicit, 4, 1, 2, 1, 0, 2, Rounding::kCeil);
  WindowAxis t = ResolveWindowAxis(AutoPad::kExplicit, 4, 1, 2, 1, 0, 2, Rounding::kCeilTorch);
  EXPECT_EQ(c.out, 4);
  EXPECT_EQ(t.out, 3);
}

TEST(PoolingTest, MaxPool8HasIndicesOutput) {
  Graph g;
  Attributes a = PoolAttrs("3,3", "1,1", "1,1", "floor");
  a.Set("dilations", "2,2");
  a.Set("index_element_type", "i32");
  // window 2*(3-1)+1 = 5: (10+2-5)/1+1 = 8
  ValueRef y = Op(g, "MaxPool", {Param(g, "x", {1, 4, 10, 10})}, a, "opset8", 2);
  ASSERT_TRUE(InferShapes(g).ok());
  EXPECT_EQ(g.output(y).shape, PartialShape({1, 4, 8, 8}));
  ASSERT_EQ(g.node(y.node).outputs.size(), 2u);
  EXPECT_EQ(g.node(y.node).outputs[1].type, ElementType::kI32);
  EXPECT_EQ(g.node(y.node).outputs[1].shape, PartialShape({1, 4, 8, 8}));
}

TEST(PoolingTest, BadAttributes) {
  {
    Graph g;
    Op(g, "MaxPool", {Param(g, "x", {1, 4, 8, 8})}, PoolAttrs("2,2", "2,2", "0,0", "round"),
       "opset1", 1, "pool_r");
    const std::string msg = InferError(g);
    EXPECT_NE(msg.find("layer 'pool_r'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rounding_type"), std::string::npos) << msg;
  }
  {
    Graph g;
    Op(g, "AvgPool", {Param(g, "x", {1, 4, 8})}, PoolAttrs("2,2", "2,2", "0,0", "floor"), "opset1",
       1, "pool_rank");
    EXPECT_NE(InferError(g).find("layer 'pool_rank'"), std::string::npos);
  }
}

}  // namespace
}  // namespace ptqflow::graph::ops
