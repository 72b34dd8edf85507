// Translator unit tests: tiny ONNX models built in C++ are imported and the resulting OpenVINO-op
// graph is checked against the op spec by hand (structure, IR attribute strings, constant values,
// and shapes from shape inference).
#include "io/onnx/onnx_importer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tests/io/onnx/onnx_builder.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

using graph::ElementType;
using graph::Graph;
using graph::Node;
using graph::PartialShape;
using testing::OnnxBuilder;

Result<Graph> Import(const OnnxBuilder& b, const OnnxImportOptions& opt = {}) {
  return ImportOnnx(b.Save(testing::TempDir()), opt);
}

const Node& In(const Graph& g, const Node& n, size_t i) { return g.node(n.input(i).node); }
std::string Attr(const Node& n, const std::string& name) {
  const std::string* s = n.attrs.Find(name);
  return s ? *s : "<absent>";
}
// The node feeding the Result named `out`.
const Node& OutputProducer(const Graph& g, const std::string& out) {
  for (graph::NodeId r : g.results()) {
    if (g.node(r).name == out) return In(g, g.node(r), 0);
  }
  LOG(FATAL) << "no Result named " << out;
}

TEST(OnnxImporterTest, ConvWithBiasBecomesConvolutionPlusAdd) {
  OnnxBuilder b(11);
  b.Input("x", {1, 2, 5, 5});
  b.InitF("w", {3, 2, 3, 3}, std::vector<float>(54, 0.5f));
  b.InitF("bias", {3}, {1, 2, 3});
  auto* n = b.Node("Conv", {"x", "w", "bias"}, {"y"}, "conv1");
  OnnxBuilder::AttrInts(n, "strides", {2, 2});
  OnnxBuilder::AttrInts(n, "pads", {1, 0, 1, 0});
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& add = OutputProducer(*g, "y");
  EXPECT_EQ(add.type, "Add");
  EXPECT_EQ(add.name, "conv1");
  EXPECT_EQ(add.onnx_node, "conv1");
  EXPECT_EQ(add.outputs[0].onnx_tensor, "y");
  EXPECT_EQ(add.outputs[0].names, std::vector<std::string>{"y"});
  const Node& conv = In(*g, add, 0);
  EXPECT_EQ(conv.type, "Convolution");
  EXPECT_EQ(conv.version, "opset1");
  EXPECT_EQ(conv.name, "conv1/WithoutBiases");
  EXPECT_EQ(Attr(conv, "strides"), "2,2");
  EXPECT_EQ(Attr(conv, "dilations"), "1,1");
  EXPECT_EQ(Attr(conv, "pads_begin"), "1,0");
  EXPECT_EQ(Attr(conv, "pads_end"), "1,0");
  EXPECT_EQ(Attr(conv, "auto_pad"), "explicit");
  EXPECT_EQ(In(*g, conv, 1).outputs[0].onnx_tensor, "w");
  const Node& bias = In(*g, add, 1);
  ASSERT_TRUE(bias.is_const());
  EXPECT_EQ(bias.constant.shape(), (graph::Shape{1, 3, 1, 1}));
  EXPECT_EQ(bias.constant.ToDoubles(), (std::vector<double>{1, 2, 3}));
  // (5 + 1 + 1 - 3) / 2 + 1 = 3 rows; (5 - 3) / 2 + 1 = 2 columns.
  EXPECT_EQ(add.outputs[0].shape, PartialShape({1, 3, 3, 2}));
  EXPECT_EQ(add.outputs[0].type, ElementType::kF32);
}

TEST(OnnxImporterTest, GroupedConvReshapesWeights) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4, 6, 6});
  std::vector<float> w(8 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(i);
  b.InitF("w", {8, 2, 3, 3}, w);
  auto* n = b.Node("Conv", {"x", "w"}, {"y"}, "gconv");
  OnnxBuilder::AttrInt(n, "group", 2);
  OnnxBuilder::AttrString(n, "auto_pad", "SAME_UPPER");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& conv = OutputProducer(*g, "y");
  EXPECT_EQ(conv.type, "GroupConvolution");
  EXPECT_EQ(conv.name, "gconv");
  EXPECT_EQ(Attr(conv, "auto_pad"), "same_upper");
  const Node& wc = In(*g, conv, 1);
  ASSERT_TRUE(wc.is_const());
  // [O, I/G, kh, kw] = [8,2,3,3] -> [G, O/G, I/G, kh, kw] = [2,4,2,3,3], same element order.
  EXPECT_EQ(wc.constant.shape(), (graph::Shape{2, 4, 2, 3, 3}));
  std::vector<double> expect(w.begin(), w.end());
  EXPECT_EQ(wc.constant.ToDoubles(), expect);
  EXPECT_EQ(conv.outputs[0].shape, PartialShape({1, 8, 6, 6}));
}

TEST(OnnxImporterTest, GemmWithTransBAlphaBeta) {
  OnnxBuilder b(13);
  b.Input("a", {2, 3});
  b.InitF("bw", {4, 3}, std::vector<float>(12, 1.f));
  b.InitF("c", {4}, {1, 2, 3, 4});
  auto* n = b.Node("Gemm", {"a", "bw", "c"}, {"y"}, "fc");
  OnnxBuilder::AttrInt(n, "transB", 1);
  OnnxBuilder::AttrFloat(n, "alpha", 2.f);
  OnnxBuilder::AttrFloat(n, "beta", 0.5f);
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& add = OutputProducer(*g, "y");
  EXPECT_EQ(add.type, "Add");
  EXPECT_EQ(add.name, "fc");
  const Node& alpha_mul = In(*g, add, 0);
  EXPECT_EQ(alpha_mul.type, "Multiply");
  const Node& mm = In(*g, alpha_mul, 0);
  EXPECT_EQ(mm.type, "MatMul");
  EXPECT_EQ(Attr(mm, "transpose_a"), "false");
  EXPECT_EQ(Attr(mm, "transpose_b"), "true");
  EXPECT_EQ(In(*g, alpha_mul, 1).constant.ToDoubles(), std::vector<double>{2.0});
  const Node& beta_mul = In(*g, add, 1);
  EXPECT_EQ(beta_mul.type, "Multiply");
  EXPECT_EQ(In(*g, beta_mul, 0).constant.ToDoubles(), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(In(*g, beta_mul, 1).constant.ToDoubles(), std::vector<double>{0.5});
  EXPECT_EQ(add.outputs[0].shape, PartialShape({2, 4}));
}

TEST(OnnxImporterTest, ClipWithConstantInputsBecomesClamp) {
  OnnxBuilder b(11);
  b.Input("x", {1, 4});
  b.InitF("lo", {}, {0.f});
  b.InitF("hi", {}, {6.f});
  b.Node("Clip", {"x", "lo", "hi"}, {"y"}, "relu6");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& c = OutputProducer(*g, "y");
  EXPECT_EQ(c.type, "Clamp");
  EXPECT_EQ(Attr(c, "min"), "0");
  EXPECT_EQ(Attr(c, "max"), "6");
  EXPECT_EQ(c.inputs.size(), 1u);
}

TEST(OnnxImporterTest, ClipOpset9AttributesAndMissingMax) {
  OnnxBuilder b(9);
  b.Input("x", {1, 4});
  auto* n = b.Node("Clip", {"x"}, {"y"}, "clip");
  OnnxBuilder::AttrFloat(n, "min", -1.5f);
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& c = OutputProducer(*g, "y");
  EXPECT_EQ(c.type, "Clamp");
  EXPECT_EQ(Attr(c, "min"), "-1.5");
  EXPECT_DOUBLE_EQ(std::stod(Attr(c, "max")), 3.4028234663852886e38);
}

TEST(OnnxImporterTest, ClipWithNonConstantMinUsesMaximum) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Input("lo", {});
  b.Node("Clip", {"x", "lo"}, {"y"}, "clip");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& m = OutputProducer(*g, "y");
  EXPECT_EQ(m.type, "Maximum");
  EXPECT_EQ(In(*g, m, 1).type, "Parameter");
}

TEST(OnnxImporterTest, LeakyReluBecomesPReluWithSlope) {
  OnnxBuilder b(13);
  b.Input("x", {1, 3});
  auto* n = b.Node("LeakyRelu", {"x"}, {"y"}, "lrelu");
  OnnxBuilder::AttrFloat(n, "alpha", 0.2f);
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& p = OutputProducer(*g, "y");
  EXPECT_EQ(p.type, "PRelu");
  const Node& slope = In(*g, p, 1);
  ASSERT_TRUE(slope.is_const());
  ASSERT_EQ(slope.constant.type(), ElementType::kF32);
  EXPECT_EQ(slope.constant.shape(), graph::Shape{1});
  EXPECT_EQ(slope.constant.data<float>()[0], 0.2f);
}

TEST(OnnxImporterTest, HardSigmoidSixthIsHSigmoidOtherwiseHardSigmoid) {
  OnnxBuilder b(13);
  b.Input("x", {1, 3});
  auto* n1 = b.Node("HardSigmoid", {"x"}, {"h1"}, "hs1");
  OnnxBuilder::AttrFloat(n1, "alpha", 1.f / 6.f);
  b.Node("HardSigmoid", {"x"}, {"h2"}, "hs2");  // defaults alpha 0.2, beta 0.5
  b.Node("HardSwish", {"x"}, {"h3"}, "hsw");
  b.Output("h1");
  b.Output("h2");
  b.Output("h3");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(OutputProducer(*g, "h1").type, "HSigmoid");
  EXPECT_EQ(OutputProducer(*g, "h1").version, "opset5");
  const Node& h2 = OutputProducer(*g, "h2");
  EXPECT_EQ(h2.type, "HardSigmoid");
  EXPECT_EQ(In(*g, h2, 1).constant.data<float>()[0], 0.2f);
  EXPECT_EQ(In(*g, h2, 2).constant.data<float>()[0], 0.5f);
  EXPECT_EQ(OutputProducer(*g, "h3").type, "HSwish");
}

TEST(OnnxImporterTest, SoftmaxOpset11FlattensUnlessLastAxis) {
  OnnxBuilder b(11);
  b.Input("x", {2, 3, 4});
  auto* n = b.Node("Softmax", {"x"}, {"y"}, "sm");  // default axis 1 on rank 3: flatten to [2,12]
  (void)n;
  auto* n2 = b.Node("Softmax", {"x"}, {"z"}, "sm_last");
  OnnxBuilder::AttrInt(n2, "axis", 2);
  b.Output("y");
  b.Output("z");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& back = OutputProducer(*g, "y");
  EXPECT_EQ(back.type, "Reshape");
  const Node& sm = In(*g, back, 0);
  EXPECT_EQ(sm.type, "Softmax");
  EXPECT_EQ(sm.version, "opset8");
  EXPECT_EQ(Attr(sm, "axis"), "1");
  EXPECT_EQ(sm.outputs[0].shape, PartialShape({2, 12}));
  EXPECT_EQ(back.outputs[0].shape, PartialShape({2, 3, 4}));
  const Node& last = OutputProducer(*g, "z");
  EXPECT_EQ(last.type, "Softmax");
  EXPECT_EQ(Attr(last, "axis"), "2");
}

TEST(OnnxImporterTest, SoftmaxOpset13KeepsAxis) {
  OnnxBuilder b(13);
  b.Input("x", {2, 3, 4});
  auto* n = b.Node("Softmax", {"x"}, {"y"}, "sm");
  OnnxBuilder::AttrInt(n, "axis", 1);
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& sm = OutputProducer(*g, "y");
  EXPECT_EQ(sm.type, "Softmax");
  EXPECT_EQ(Attr(sm, "axis"), "1");
  EXPECT_EQ(sm.outputs[0].shape, PartialShape({2, 3, 4}));
}

TEST(OnnxImporterTest, FlattenAxis1IsReshapeWithSpecialZero) {
  OnnxBuilder b(13);
  b.Input("x", {2, 3, 4, 5});
  b.Node("Flatten", {"x"}, {"y"}, "flat");
  auto* n2 = b.Node("Flatten", {"x"}, {"z"}, "flat2");
  OnnxBuilder::AttrInt(n2, "axis", 2);
  b.Output("y");
  b.Output("z");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& r = OutputProducer(*g, "y");
  EXPECT_EQ(r.type, "Reshape");
  EXPECT_EQ(Attr(r, "special_zero"), "true");
  EXPECT_EQ(In(*g, r, 1).constant.ToInt64s(), (std::vector<int64_t>{0, -1}));
  EXPECT_EQ(r.outputs[0].shape, PartialShape({2, 60}));
  EXPECT_EQ(OutputProducer(*g, "z").outputs[0].shape, PartialShape({6, 20}));
}

TEST(OnnxImporterTest, ConstantNodeWeights) {
  OnnxBuilder b(13);
  b.Input("x", {3});
  auto* c1 = b.Node("Constant", {}, {"k1"}, "const1");
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(3);
  const float raw[3] = {1.5f, -2.f, 4.f};
  t.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof(raw)));
  OnnxBuilder::AttrTensor(c1, "value", t);
  auto* c2 = b.Node("Constant", {}, {"k2"}, "const2");
  OnnxBuilder::AttrFloats(c2, "value_floats", {10.f, 20.f, 30.f});
  auto* c3 = b.Node("Constant", {}, {"k3"}, "const3");
  OnnxBuilder::AttrInt(c3, "value_int", 7);
  b.Node("Add", {"x", "k1"}, {"s1"}, "add1");
  b.Node("Mul", {"s1", "k2"}, {"y"}, "mul1");
  b.Output("y");
  b.Output("k3");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& mul = OutputProducer(*g, "y");
  EXPECT_EQ(mul.type, "Multiply");
  EXPECT_EQ(Attr(mul, "auto_broadcast"), "numpy");
  const Node& add = In(*g, mul, 0);
  EXPECT_EQ(add.type, "Add");
  EXPECT_EQ(In(*g, add, 1).constant.ToDoubles(), (std::vector<double>{1.5, -2, 4}));
  EXPECT_EQ(In(*g, add, 1).outputs[0].onnx_tensor, "k1");
  EXPECT_EQ(In(*g, mul, 1).constant.ToDoubles(), (std::vector<double>{10, 20, 30}));
  const Node& k3 = OutputProducer(*g, "k3");
  ASSERT_TRUE(k3.is_const());
  EXPECT_EQ(k3.constant.type(), ElementType::kI64);
  EXPECT_EQ(k3.constant.shape(), graph::Shape{});
  EXPECT_EQ(k3.constant.ToInt64s(), std::vector<int64_t>{7});
}

TEST(OnnxImporterTest, TypedTensorFieldsDecode) {
  OnnxBuilder b(13);
  b.Input("x", {2});
  // f16 in int32_data: 0x3C00 = 1.0, 0xC000 = -2.0.
  onnx::TensorProto h;
  h.set_name("h");
  h.set_data_type(onnx::TensorProto::FLOAT16);
  h.add_dims(2);
  h.add_int32_data(0x3C00);
  h.add_int32_data(0xC000);
  b.Init(h);
  // bf16 raw: 0x3F80 = 1.0, 0x4040 = 3.0 (little-endian bytes).
  onnx::TensorProto bf;
  bf.set_name("bf");
  bf.set_data_type(onnx::TensorProto::BFLOAT16);
  bf.add_dims(2);
  bf.set_raw_data(std::string("\x80\x3F\x40\x40", 4));
  b.Init(bf);
  onnx::TensorProto bo;
  bo.set_name("bo");
  bo.set_data_type(onnx::TensorProto::BOOL);
  bo.add_dims(3);
  bo.add_int32_data(1);
  bo.add_int32_data(0);
  bo.add_int32_data(5);
  b.Init(bo);
  b.InitI64("i", {2}, {-3, 1LL << 40});
  b.Output("h");
  b.Output("bf");
  b.Output("bo");
  b.Output("i");
  OnnxImportOptions opt;
  opt.infer_shapes = false;
  auto g = Import(b, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& hn = OutputProducer(*g, "h");
  EXPECT_EQ(hn.constant.type(), ElementType::kF16);
  EXPECT_EQ(hn.constant.ToF32().ToDoubles(), (std::vector<double>{1.0, -2.0}));
  const Node& bn = OutputProducer(*g, "bf");
  EXPECT_EQ(bn.constant.type(), ElementType::kBF16);
  EXPECT_EQ(bn.constant.ToF32().ToDoubles(), (std::vector<double>{1.0, 3.0}));
  const Node& bo_n = OutputProducer(*g, "bo");
  EXPECT_EQ(bo_n.constant.type(), ElementType::kBoolean);
  EXPECT_EQ(bo_n.constant.bytes()[0], 1);
  EXPECT_EQ(bo_n.constant.bytes()[1], 0);
  EXPECT_EQ(bo_n.constant.bytes()[2], 1);
  EXPECT_EQ(OutputProducer(*g, "i").constant.ToInt64s(), (std::vector<int64_t>{-3, 1LL << 40}));
}

TEST(OnnxImporterTest, IdentityAndDropoutAreRemoved) {
  OnnxBuilder b(13);
  b.Input("x", {1, 3});
  b.Node("Identity", {"x"}, {"xi"}, "id");
  b.Node("Relu", {"xi"}, {"r"}, "relu");
  b.Node("Dropout", {"r"}, {"y"}, "drop");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->NodesOfType("Identity").empty());
  const Node& relu = OutputProducer(*g, "y");
  EXPECT_EQ(relu.type, "Relu");
  EXPECT_EQ(relu.outputs[0].onnx_tensor, "r");
  EXPECT_EQ(relu.outputs[0].names, (std::vector<std::string>{"r", "y"}));
  EXPECT_EQ(In(*g, relu, 0).type, "Parameter");
  EXPECT_EQ(g->LiveNodes().size(), 3u);  // Parameter, Relu, Result
}

// If(Equal(sr, 16000)) { Relu(x) } else { Sigmoid(x) }
OnnxBuilder IfModel() {
  OnnxBuilder b(15);
  b.Input("x", {1, 4});
  b.Input("sr", {}, onnx::TensorProto::INT64);
  b.InitI64("k16000", {}, {16000});
  b.Node("Equal", {"sr", "k16000"}, {"is16k"}, "eq");
  auto* n = b.Node("If", {"is16k"}, {"y"}, "if_sr");
  auto* then_g = OnnxBuilder::AttrGraph(n, "then_branch");
  then_g->set_name("then");
  OnnxBuilder::AddNode(then_g, "Relu", {"x"}, {"then_out"}, "then_relu");
  then_g->add_output()->set_name("then_out");
  auto* else_g = OnnxBuilder::AttrGraph(n, "else_branch");
  else_g->set_name("else");
  OnnxBuilder::AddNode(else_g, "Sigmoid", {"x"}, {"else_out"}, "else_sigmoid");
  else_g->add_output()->set_name("else_out");
  b.Output("y");
  return b;
}

TEST(OnnxImporterTest, IfWithFrozenConditionInlinesTakenBranch) {
  for (int64_t sr : {16000, 8000}) {
    OnnxImportOptions opt;
    opt.frozen_inputs["sr"] = graph::Tensor::FromVector<int64_t>(ElementType::kI64, {}, {sr});
    auto g = Import(IfModel(), opt);
    ASSERT_TRUE(g.ok()) << g.status().message();
    const Node& y = OutputProducer(*g, "y");
    EXPECT_EQ(y.type, sr == 16000 ? "Relu" : "Sigmoid");
    EXPECT_EQ(y.name, sr == 16000 ? "then_relu" : "else_sigmoid");
    EXPECT_EQ(In(*g, y, 0).type, "Parameter");
    // The condition sub-graph and the frozen input are gone: Parameter x, op, Result.
    EXPECT_EQ(g->LiveNodes().size(), 3u);
    EXPECT_TRUE(g->NodesOfType("Equal").empty());
  }
}

TEST(OnnxImporterTest, IfWithConditionOnStaticShapeIsFolded) {
  OnnxBuilder b(13);
  b.Input("x", {-1, 4});
  b.InitI64("zero", {1}, {0});
  b.InitI64("one", {}, {1});
  b.Node("Shape", {"x"}, {"s"}, "shape");
  b.Node("Gather", {"s", "zero"}, {"d0"}, "gather");
  b.Node("Squeeze", {"d0", "zero"}, {"d0s"}, "sq");
  b.Node("Equal", {"d0s", "one"}, {"c"}, "eq");
  auto* n = b.Node("If", {"c"}, {"y"}, "if_batch1");
  auto* then_g = OnnxBuilder::AttrGraph(n, "then_branch");
  OnnxBuilder::AddNode(then_g, "Relu", {"x"}, {"t"}, "then_relu");
  then_g->add_output()->set_name("t");
  auto* else_g = OnnxBuilder::AttrGraph(n, "else_branch");
  OnnxBuilder::AddNode(else_g, "Neg", {"x"}, {"e"}, "else_neg");
  else_g->add_output()->set_name("e");
  b.Output("y");
  OnnxImportOptions opt;
  opt.input_shapes["x"] = PartialShape({1, 4});
  auto g = Import(b, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(OutputProducer(*g, "y").type, "Relu");
  opt.input_shapes["x"] = PartialShape({3, 4});
  g = Import(b, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(OutputProducer(*g, "y").type, "Negative");
  // Dynamic batch: the condition is unknown.
  g = Import(b);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("ONNX node 'if_batch1' (If)"), std::string::npos)
      << g.status().message();
  EXPECT_NE(g.status().message().find("dynamic"), std::string::npos) << g.status().message();
}

TEST(OnnxImporterTest, IfWithNonConstantConditionIsAnError) {
  auto g = Import(IfModel());
  ASSERT_FALSE(g.ok());
  const std::string& m = g.status().message();
  EXPECT_NE(m.find("model.onnx"), std::string::npos) << m;
  EXPECT_NE(m.find("ONNX node 'if_sr' (If)"), std::string::npos) << m;
  EXPECT_NE(m.find("model input 'sr'"), std::string::npos) << m;
  EXPECT_NE(m.find("freeze"), std::string::npos) << m;
}

TEST(OnnxImporterTest, SqueezeSliceOpset9Attributes) {
  OnnxBuilder b(9);
  b.Input("x", {1, 6, 4});
  auto* s = b.Node("Slice", {"x"}, {"sl"}, "slice");
  OnnxBuilder::AttrInts(s, "starts", {1});
  OnnxBuilder::AttrInts(s, "ends", {5});
  OnnxBuilder::AttrInts(s, "axes", {1});
  auto* q = b.Node("Squeeze", {"sl"}, {"y"}, "squeeze");
  OnnxBuilder::AttrInts(q, "axes", {0});
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& sq = OutputProducer(*g, "y");
  EXPECT_EQ(sq.type, "Squeeze");
  EXPECT_EQ(In(*g, sq, 1).constant.ToInt64s(), std::vector<int64_t>{0});
  const Node& sl = In(*g, sq, 0);
  EXPECT_EQ(sl.type, "Slice");
  EXPECT_EQ(sl.version, "opset8");
  EXPECT_EQ(In(*g, sl, 1).constant.ToInt64s(), std::vector<int64_t>{1});
  EXPECT_EQ(In(*g, sl, 2).constant.ToInt64s(), std::vector<int64_t>{5});
  EXPECT_EQ(In(*g, sl, 3).constant.ToInt64s(), std::vector<int64_t>{1});
  EXPECT_EQ(In(*g, sl, 4).constant.ToInt64s(), std::vector<int64_t>{1});
  EXPECT_EQ(sq.outputs[0].shape, PartialShape({4, 4}));
}

TEST(OnnxImporterTest, ResizeBecomesInterpolate11) {
  OnnxBuilder b(11);
  b.Input("x", {1, 2, 3, 4});
  b.InitF("roi", {0}, {});
  b.InitF("scales", {4}, {1, 1, 2, 2});
  auto* n = b.Node("Resize", {"x", "roi", "scales"}, {"y"}, "up");
  OnnxBuilder::AttrString(n, "mode", "nearest");
  OnnxBuilder::AttrString(n, "coordinate_transformation_mode", "asymmetric");
  OnnxBuilder::AttrString(n, "nearest_mode", "floor");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& r = OutputProducer(*g, "y");
  EXPECT_EQ(r.type, "Interpolate");
  EXPECT_EQ(r.version, "opset11");
  EXPECT_EQ(Attr(r, "mode"), "nearest");
  EXPECT_EQ(Attr(r, "shape_calculation_mode"), "scales");
  EXPECT_EQ(Attr(r, "coordinate_transformation_mode"), "asymmetric");
  EXPECT_EQ(Attr(r, "nearest_mode"), "floor");
  EXPECT_EQ(In(*g, r, 1).constant.ToDoubles(), (std::vector<double>{1, 1, 2, 2}));
  EXPECT_EQ(r.outputs[0].shape, PartialShape({1, 2, 6, 8}));
}

TEST(OnnxImporterTest, BatchNormAndPools) {
  OnnxBuilder b(13);
  b.Input("x", {1, 2, 4, 4});
  for (const char* p : {"g", "bb", "m", "v"}) b.InitF(p, {2}, {1, 1});
  auto* bn = b.Node("BatchNormalization", {"x", "g", "bb", "m", "v"}, {"bn"}, "bn");
  OnnxBuilder::AttrFloat(bn, "epsilon", 1e-3f);
  auto* mp = b.Node("MaxPool", {"bn"}, {"mp"}, "mp");
  OnnxBuilder::AttrInts(mp, "kernel_shape", {2, 2});
  OnnxBuilder::AttrInts(mp, "strides", {2, 2});
  auto* ap = b.Node("AveragePool", {"mp"}, {"ap"}, "ap");
  OnnxBuilder::AttrInts(ap, "kernel_shape", {2, 2});
  OnnxBuilder::AttrInts(ap, "pads", {1, 1, 1, 1});
  b.Node("GlobalAveragePool", {"ap"}, {"y"}, "gap");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& gap = OutputProducer(*g, "y");
  EXPECT_EQ(gap.type, "ReduceMean");
  EXPECT_EQ(Attr(gap, "keep_dims"), "true");
  EXPECT_EQ(In(*g, gap, 1).constant.ToInt64s(), (std::vector<int64_t>{2, 3}));
  const Node& avg = In(*g, gap, 0);
  EXPECT_EQ(avg.type, "AvgPool");
  EXPECT_EQ(Attr(avg, "kernel"), "2,2");
  EXPECT_EQ(Attr(avg, "pads_begin"), "1,1");
  EXPECT_EQ(Attr(avg, "exclude-pad"), "true");
  EXPECT_EQ(Attr(avg, "rounding_type"), "floor");
  const Node& max = In(*g, avg, 0);
  EXPECT_EQ(max.type, "MaxPool");
  EXPECT_EQ(max.version, "opset8");
  EXPECT_EQ(Attr(max, "strides"), "2,2");
  const Node& bnn = In(*g, max, 0);
  EXPECT_EQ(bnn.type, "BatchNormInference");
  EXPECT_EQ(bnn.version, "opset5");
  EXPECT_FLOAT_EQ(std::stof(Attr(bnn, "epsilon")), 1e-3f);
  // 4x4 -maxpool 2/2-> 2x2 -avgpool k2 pad1-> 3x3 -gap-> 1x1.
  EXPECT_EQ(max.outputs[0].shape, PartialShape({1, 2, 2, 2}));
  EXPECT_EQ(avg.outputs[0].shape, PartialShape({1, 2, 3, 3}));
  EXPECT_EQ(gap.outputs[0].shape, PartialShape({1, 2, 1, 1}));
}

TEST(OnnxImporterTest, LstmBecomesLstmSequenceWithReorderedGates) {
  OnnxBuilder b(14);
  const int64_t H = 2, I = 3;
  b.Input("x", {5, 1, I});  // [seq, batch, input]
  b.InitF("W", {1, 4 * H, I}, std::vector<float>(4 * H * I, 0.1f));
  b.InitF("R", {1, 4 * H, H}, std::vector<float>(4 * H * H, 0.1f));
  b.InitF("B", {1, 8 * H}, std::vector<float>(8 * H, 0.f));
  auto* n = b.Node("LSTM", {"x", "W", "R", "B"}, {"Y", "Yh", "Yc"}, "lstm");
  OnnxBuilder::AttrInt(n, "hidden_size", H);
  b.Output("Y");
  b.Output("Yh");
  b.Output("Yc");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& ty = OutputProducer(*g, "Y");
  EXPECT_EQ(ty.type, "Transpose");
  EXPECT_EQ(In(*g, ty, 1).constant.ToInt64s(), (std::vector<int64_t>{2, 1, 0, 3}));
  const Node& lstm = In(*g, ty, 0);
  EXPECT_EQ(lstm.type, "LSTMSequence");
  EXPECT_EQ(lstm.version, "opset5");
  EXPECT_EQ(Attr(lstm, "hidden_size"), "2");
  EXPECT_EQ(Attr(lstm, "direction"), "forward");
  EXPECT_EQ(Attr(lstm, "activations"), "sigmoid,tanh,tanh");
  // W reordered: Concat of Split outputs (i,o,f,c) taken as f,i,c,o = 2,0,3,1.
  const Node& wcat = In(*g, lstm, 4);
  EXPECT_EQ(wcat.type, "Concat");
  std::vector<int> ports;
  for (const auto& p : wcat.inputs) ports.push_back(p.source.port);
  EXPECT_EQ(ports, (std::vector<int>{2, 0, 3, 1}));
  EXPECT_EQ(g->node(wcat.input(0).node).type, "Split");
  EXPECT_EQ(ty.outputs[0].shape, PartialShape({5, 1, 1, H}));
  EXPECT_EQ(OutputProducer(*g, "Yh").outputs[0].shape, PartialShape({1, 1, H}));
  EXPECT_EQ(OutputProducer(*g, "Yc").outputs[0].shape, PartialShape({1, 1, H}));
}

TEST(OnnxImporterTest, ConvTransposeBecomesBackpropData) {
  OnnxBuilder b(11);
  b.Input("x", {1, 4, 3, 3});
  b.InitF("w", {4, 2, 2, 2}, std::vector<float>(32, 1.f));  // [C_in, C_out, kh, kw]
  b.InitF("bias", {2}, {0.5f, -0.5f});
  auto* n = b.Node("ConvTranspose", {"x", "w", "bias"}, {"y"}, "up");
  OnnxBuilder::AttrInts(n, "strides", {2, 2});
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& add = OutputProducer(*g, "y");
  EXPECT_EQ(add.type, "Add");
  EXPECT_EQ(In(*g, add, 1).constant.shape(), (graph::Shape{1, 2, 1, 1}));
  const Node& d = In(*g, add, 0);
  EXPECT_EQ(d.type, "ConvolutionBackpropData");
  EXPECT_EQ(Attr(d, "strides"), "2,2");
  EXPECT_EQ(Attr(d, "output_padding"), "0,0");
  // (3 - 1) * 2 + 2 = 6.
  EXPECT_EQ(add.outputs[0].shape, PartialShape({1, 2, 6, 6}));
}

TEST(OnnxImporterTest, PadSplitCastWhereExpand) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Input("p", {4}, onnx::TensorProto::INT64);  // non-constant pads
  b.Node("Pad", {"x", "p"}, {"padded"}, "pad");
  auto* sp = b.Node("Split", {"x"}, {"s0", "s1"}, "split");
  OnnxBuilder::AttrInt(sp, "axis", 1);
  auto* c = b.Node("Cast", {"s0"}, {"mask"}, "cast");
  OnnxBuilder::AttrInt(c, "to", onnx::TensorProto::BOOL);
  b.Node("Where", {"mask", "s0", "s1"}, {"w"}, "where");
  b.InitI64("shape", {2}, {3, 2});
  b.Node("Expand", {"w", "shape"}, {"y"}, "expand");
  b.Output("padded");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& pad = OutputProducer(*g, "padded");
  EXPECT_EQ(pad.type, "Pad");
  EXPECT_EQ(Attr(pad, "pad_mode"), "constant");
  const Node& psplit = In(*g, pad, 1);
  EXPECT_EQ(psplit.type, "Split");
  EXPECT_EQ(Attr(psplit, "num_splits"), "2");
  EXPECT_EQ(pad.input(1).port, 0);
  EXPECT_EQ(pad.input(2).port, 1);
  const Node& ex = OutputProducer(*g, "y");
  EXPECT_EQ(ex.type, "Broadcast");
  EXPECT_EQ(Attr(ex, "mode"), "bidirectional");
  EXPECT_EQ(ex.outputs[0].shape, PartialShape({3, 2}));
  const Node& sel = In(*g, ex, 0);
  EXPECT_EQ(sel.type, "Select");
  const Node& cv = In(*g, sel, 0);
  EXPECT_EQ(cv.type, "Convert");
  EXPECT_EQ(Attr(cv, "destination_type"), "boolean");
  const Node& split = In(*g, cv, 0);
  EXPECT_EQ(split.type, "Split");
  EXPECT_EQ(In(*g, split, 1).constant.ToInt64s(), std::vector<int64_t>{1});
  EXPECT_EQ(split.outputs[1].onnx_tensor, "s1");
  EXPECT_EQ(split.outputs[0].shape, PartialShape({1, 2}));
}

TEST(OnnxImporterTest, InputShapesFixDynamicDims) {
  OnnxBuilder b(13);
  b.Input("x", {-1, 3});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  b.Output("y");
  auto g = Import(b);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(OutputProducer(*g, "y").outputs[0].shape, PartialShape({graph::kDynamicDim, 3}));
  OnnxImportOptions opt;
  opt.input_shapes["x"] = PartialShape({4, 3});
  g = Import(b, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(OutputProducer(*g, "y").outputs[0].shape, PartialShape({4, 3}));
  opt.input_shapes["x"] = PartialShape({4, 5});
  g = Import(b, opt);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("model input 'x'"), std::string::npos);
  opt.input_shapes.clear();
  opt.input_shapes["nope"] = PartialShape({1});
  g = Import(b, opt);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'nope'"), std::string::npos);
}

TEST(OnnxImporterTest, SupportedOpsListIsSortedAndCoversCore) {
  std::vector<std::string> ops = SupportedOnnxOps();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  for (const char* op : {"Conv", "Gemm", "If", "LSTM", "Resize", "Clip"}) {
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
  }
}

}  // namespace
}  // namespace ptqflow::io
