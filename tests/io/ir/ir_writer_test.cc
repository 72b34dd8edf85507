#include "io/ir/ir_writer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "graph/compare.h"
#include "io/ir/ir_reader.h"
#include "tests/io/ir/ir_test_files.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Graph;
using graph::NodeId;
using graph::Tensor;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

Tensor BytesTensor(ElementType t, graph::Shape shape, const std::vector<uint8_t>& bytes) {
  Tensor x = Tensor::Allocate(t, std::move(shape));
  EXPECT_EQ(x.nbytes(), bytes.size());
  std::memcpy(x.mutable_bytes(), bytes.data(), std::min(bytes.size(), x.nbytes()));
  return x;
}

std::vector<uint8_t> Bytes(const Tensor& t) { return {t.bytes(), t.bytes() + t.nbytes()}; }

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Writes g, reads it back, checks equality, writes the read graph again and checks both files
// are byte-identical to the first write. Returns the graph read back.
Graph RoundTrip(const Graph& g, const graph::CompareOptions& opts = {}) {
  fs::path dir = TempDir();
  Status st = WriteIr(g, dir / "a.xml");
  EXPECT_TRUE(st.ok()) << st.message();
  auto r = ReadIr(dir / "a.xml");
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return Graph();
  Status eq = graph::CompareGraphs(g, *r, opts);
  EXPECT_TRUE(eq.ok()) << eq.message();
  st = WriteIr(*r, dir / "b.xml");
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ReadFile(dir / "a.xml"), ReadFile(dir / "b.xml"));
  EXPECT_EQ(ReadFile(dir / "a.bin"), ReadFile(dir / "b.bin"));
  EXPECT_EQ(ListDir(dir), (std::vector<std::string>{"a.bin", "a.xml", "b.bin", "b.xml"}));
  return std::move(r).value();
}

TEST(IrWriterTest, HandWrittenIrRoundTripsExactly) {
  fs::path dir = TempDir();
  WriteFile(dir / "m.xml", testing::TinyIrXml());
  WriteFile(dir / "m.bin", testing::TinyIrBin());
  auto g = ReadIr(dir / "m.xml");
  ASSERT_TRUE(g.ok()) << g.status().message();
  graph::CompareOptions ids;
  ids.compare_ir_ids = true;  // layer and port ids of the file are kept
  Graph back = RoundTrip(*g, ids);
  EXPECT_EQ(back.ir_version, 11);
  EXPECT_EQ(back.node(0).ir_id, 7);
  EXPECT_EQ(back.node(4).outputs[1].ir_port_id, 3);
}

TEST(IrWriterTest, WritesExpectedXml) {
  Graph g;
  g.name = "built";
  NodeId p = g.AddParameter("in", ElementType::kF32, graph::PartialShape({1, -1}));
  g.node(p).outputs[0].names = {"in", "with,comma"};
  NodeId c = g.AddConst("c", Tensor::FromVector<float>(ElementType::kF32, {2, 2}, {1, 2, 3, 4}));
  NodeId s = g.AddConst("s", Tensor::FromVector<int32_t>(ElementType::kI32, {}, {5}));
  graph::Attributes attrs;
  attrs.Set("transpose_a", "false");
  attrs.Set("transpose_b", "true");
  NodeId mm = g.AddOp("MatMul", "mm", {{p, 0}, {c, 0}}, attrs, 1, "opset1");
  g.node(mm).outputs[0].type = ElementType::kF32;
  g.node(mm).outputs[0].shape = graph::PartialShape({1, 2});
  NodeId u = g.AddOp("Unknown", "u", {{mm, 0}, {s, 0}}, {}, 2, "");
  g.node(u).outputs[0].type = ElementType::kF32;
  g.node(u).outputs[0].shape = graph::PartialShape({1, 2});
  g.node(u).outputs[1].type = ElementType::kBoolean;
  g.node(u).outputs[1].shape = graph::PartialShape::DynamicRank();
  g.AddResult("r0", {u, 0});
  g.AddResult("r1", {u, 1});
  ASSERT_TRUE(g.Validate().ok());

  fs::path dir = TempDir();
  Status st = WriteIr(g, dir / "m.xml");
  ASSERT_TRUE(st.ok()) << st.message();
  const std::string xml = ReadFile(dir / "m.xml");
  auto has = [&](const std::string& s) {
    EXPECT_NE(xml.find(s), std::string::npos) << "missing: " << s << "\n" << xml;
  };
  has(R"(<net name="built" version="11">)");
  has(R"(<layer id="0" name="in" type="Parameter" version="opset1">)");
  has(R"(names="in,with\,comma")");
  has(R"(<data element_type="f32" shape="2,2" offset="0" size="16")");
  has(R"(<data element_type="i32" shape="" offset="16" size="4")");
  has(R"(<data transpose_a="false" transpose_b="true")");
  has(R"(<layer id="4" name="u" type="Unknown">)");  // no version attribute when unknown
  has(R"(precision="BOOL")");
  has("<dim>-1</dim>");
  has(R"(<edge from-layer="3" from-port="2" to-layer="4" to-port="0")");  // MatMul out = port 2
  has(R"(<edge from-layer="4" from-port="3" to-layer="6" to-port="0")");  // u's second output
  EXPECT_EQ(ReadFile(dir / "m.bin").size(), 20u);
  RoundTrip(g);
}

TEST(IrWriterTest, KeepsUniqueIdsAndRenumbersClashes) {
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({2}));
  NodeId r = g.AddOp("Relu", "relu", {{p, 0}}, {}, 1, "opset1");
  g.node(r).outputs[0].type = ElementType::kF32;
  g.node(r).outputs[0].shape = graph::PartialShape({2});
  NodeId o = g.AddResult("o", {r, 0});
  g.node(p).ir_id = 10;
  g.node(r).ir_id = 10;  // clash: gets a fresh id
  g.node(o).ir_id = 3;
  g.node(r).inputs[0].ir_port_id = 0;
  g.node(r).outputs[0].ir_port_id = 0;  // inconsistent with the input: renumbered 0, 1
  fs::path dir = TempDir();
  ASSERT_TRUE(WriteIr(g, dir / "m.xml").ok());
  auto back = ReadIr(dir / "m.xml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->node(0).ir_id, 10);
  EXPECT_EQ(back->node(1).ir_id, 11);
  EXPECT_EQ(back->node(2).ir_id, 3);
  EXPECT_EQ(back->node(1).inputs[0].ir_port_id, 0);
  EXPECT_EQ(back->node(1).outputs[0].ir_port_id, 1);
  EXPECT_TRUE(graph::CompareGraphs(g, *back).ok());
}

TEST(IrWriterTest, SkipsRemovedNodes) {
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({2}));
  NodeId dead = g.AddConst("dead", Tensor::Scalar(3.0f));
  g.RemoveNode(dead);
  g.AddResult("o", {p, 0});
  fs::path dir = TempDir();
  ASSERT_TRUE(WriteIr(g, dir / "m.xml").ok());
  auto back = ReadIr(dir / "m.xml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->size(), 2u);
  EXPECT_EQ(ReadFile(dir / "m.bin").size(), 0u);
  EXPECT_TRUE(graph::CompareGraphs(g, *back).ok());
}

TEST(IrWriterTest, IdenticalConstantsStoredOnce) {
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({3}));
  std::vector<float> v = {0.5f, -1.0f, 8.0f};
  NodeId a = g.AddConst("a", Tensor::FromVector<float>(ElementType::kF32, {3}, v));
  NodeId b = g.AddConst("b", Tensor::FromVector<float>(ElementType::kF32, {3}, v));
  NodeId c = g.AddConst("c", Tensor::FromVector<float>(ElementType::kF32, {3}, {1, 2, 3}));
  NodeId x = g.AddOp("Add", "x", {{p, 0}, {a, 0}}, {}, 1, "opset1");
  NodeId y = g.AddOp("Add", "y", {{x, 0}, {b, 0}}, {}, 1, "opset1");
  NodeId z = g.AddOp("Add", "z", {{y, 0}, {c, 0}}, {}, 1, "opset1");
  for (NodeId n : {x, y, z}) {
    g.node(n).outputs[0].type = ElementType::kF32;
    g.node(n).outputs[0].shape = graph::PartialShape({3});
  }
  g.AddResult("o", {z, 0});
  fs::path dir = TempDir();
  ASSERT_TRUE(WriteIr(g, dir / "m.xml").ok());
  EXPECT_EQ(fs::file_size(dir / "m.bin"), 2 * 3 * sizeof(float));
  auto back = ReadIr(dir / "m.xml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  float got[3];
  for (NodeId n : {a, b}) {
    std::memcpy(got, back->node(n).constant.bytes(), sizeof(got));
    EXPECT_EQ(got[0], 0.5f);
    EXPECT_EQ(got[1], -1.0f);
    EXPECT_EQ(got[2], 8.0f);
  }
  std::memcpy(got, back->node(c).constant.bytes(), sizeof(got));
  EXPECT_EQ(got[2], 3.0f);
  EXPECT_TRUE(graph::CompareGraphs(g, *back).ok());
}

// x -> Convolution(x, Multiply(Subtract(Convert(w), zp), scale)) -> Result
Graph CompressedWeights(ElementType wt, graph::Shape wshape, const std::vector<uint8_t>& wbytes,
                        ElementType zt, const std::vector<uint8_t>& zbytes) {
  Graph g;
  NodeId x = g.AddParameter("x", ElementType::kF32, graph::PartialShape({1, 1, 4, 4}));
  const int64_t oc = wshape[0];
  NodeId w = g.AddConst("w", BytesTensor(wt, wshape, wbytes));
  graph::Attributes cv;
  cv.Set("destination_type", "f32");
  NodeId conv = g.AddOp("Convert", "w/convert", {{w, 0}}, cv, 1, "opset1");
  g.node(conv).outputs[0].type = ElementType::kF32;
  g.node(conv).outputs[0].shape = graph::PartialShape(wshape);
  NodeId zp = g.AddConst("zp", BytesTensor(zt, {oc, 1, 1, 1}, zbytes));
  NodeId zpc = g.AddOp("Convert", "zp/convert", {{zp, 0}}, cv, 1, "opset1");
  g.node(zpc).outputs[0].type = ElementType::kF32;
  g.node(zpc).outputs[0].shape = graph::PartialShape({oc, 1, 1, 1});
  graph::Attributes nb;
  nb.Set("auto_broadcast", "numpy");
  NodeId sub = g.AddOp("Subtract", "w/sub", {{conv, 0}, {zpc, 0}}, nb, 1, "opset1");
  g.node(sub).outputs[0] = g.node(conv).outputs[0];
  std::vector<float> sc(static_cast<size_t>(oc), 0.0f);
  for (size_t i = 0; i < sc.size(); ++i) sc[i] = 0.01f * float(i + 1);
  NodeId scale =
      g.AddConst("scale", Tensor::FromVector<float>(ElementType::kF32, {oc, 1, 1, 1}, sc));
  NodeId mul = g.AddOp("Multiply", "w/scale", {{sub, 0}, {scale, 0}}, nb, 1, "opset1");
  g.node(mul).outputs[0] = g.node(conv).outputs[0];
  graph::Attributes ca;
  ca.Set("strides", "1,1");
  ca.Set("dilations", "1,1");
  ca.Set("pads_begin", "0,0");
  ca.Set("pads_end", "0,0");
  ca.Set("auto_pad", "explicit");
  NodeId cnv = g.AddOp("Convolution", "conv", {{x, 0}, {mul, 0}}, ca, 1, "opset1");
  g.node(cnv).outputs[0].type = ElementType::kF32;
  g.node(cnv).outputs[0].shape = graph::PartialShape({1, oc, 4 - wshape[2] + 1, 4 - wshape[3] + 1});
  g.node(cnv).outputs[0].names = {"y"};
  g.AddResult("y/sink", {cnv, 0});
  EXPECT_TRUE(g.Validate().ok());
  return g;
}

void CheckCompressedRoundTrip(const Graph& g, ElementType wt, const std::vector<uint8_t>& wbytes,
                              ElementType zt, const std::vector<uint8_t>& zbytes) {
  Graph back = RoundTrip(g);
  ASSERT_EQ(back.size(), g.size());
  const std::vector<std::string> types = {"Parameter",   "Const",    "Convert", "Const",
                                          "Convert",     "Subtract", "Const",   "Multiply",
                                          "Convolution", "Result"};
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(back.node(static_cast<NodeId>(i)).type, types[i]) << i;
  }
  EXPECT_EQ(back.node(1).constant.type(), wt);
  EXPECT_EQ(Bytes(back.node(1).constant), wbytes);
  EXPECT_EQ(back.node(3).constant.type(), zt);
  EXPECT_EQ(Bytes(back.node(3).constant), zbytes);
  EXPECT_EQ(*back.node(2).attrs.Find("destination_type"), "f32");
  EXPECT_EQ(back.node(5).inputs[0].source, (graph::ValueRef{2, 0}));
  EXPECT_EQ(back.node(5).inputs[1].source, (graph::ValueRef{4, 0}));
  EXPECT_EQ(back.node(7).inputs[1].source, (graph::ValueRef{6, 0}));
  EXPECT_EQ(back.node(8).inputs[1].source, (graph::ValueRef{7, 0}));
}

TEST(IrWriterTest, CompressedWeightsI8) {
  // 2 output channels, 1x2x2 kernels: int8 values -128..127 as raw bytes.
  std::vector<uint8_t> w = {0x80, 0xFF, 0x00, 0x7F, 0x01, 0xFE, 0x10, 0xF0};
  std::vector<uint8_t> zp = {0xFD, 0x04};  // -3, 4
  Graph g = CompressedWeights(ElementType::kI8, {2, 1, 2, 2}, w, ElementType::kI8, zp);
  CheckCompressedRoundTrip(g, ElementType::kI8, w, ElementType::kI8, zp);
}

TEST(IrWriterTest, CompressedWeightsU8) {
  std::vector<uint8_t> w = {0, 255, 128, 127, 1, 2, 3, 4, 250, 251, 252, 253};
  std::vector<uint8_t> zp = {128, 127, 0};
  Graph g = CompressedWeights(ElementType::kU8, {3, 1, 2, 2}, w, ElementType::kU8, zp);
  CheckCompressedRoundTrip(g, ElementType::kU8, w, ElementType::kU8, zp);
}

TEST(IrWriterTest, CompressedWeightsI4OddCount) {
  // 3 output channels of 1x1x1 kernels: 3 i4 values packed in 2 bytes, the last nibble
  // padding. Zero points: 3 u4 values in 2 bytes.
  std::vector<uint8_t> w = {0x8F, 0x07};   // -1, -8, 7
  std::vector<uint8_t> zp = {0x21, 0x03};  // 1, 2, 3
  Graph g = CompressedWeights(ElementType::kI4, {3, 1, 1, 1}, w, ElementType::kU4, zp);
  CheckCompressedRoundTrip(g, ElementType::kI4, w, ElementType::kU4, zp);
}

TEST(IrWriterTest, AllElementTypesBitExact) {
  struct Case {
    ElementType type;
    std::vector<uint8_t> bytes;  // 5 elements
  };
  // f32: 1.0, -0.0, NaN with payload, smallest denormal, +inf.
  std::vector<uint8_t> f32 = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00,
                              0xC0, 0x7F, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x7F};
  std::vector<uint8_t> f64(40);
  for (size_t i = 0; i < f64.size(); ++i) f64[i] = static_cast<uint8_t>(i * 37 + 11);
  std::vector<uint8_t> two(10);  // 5 x 16-bit
  for (size_t i = 0; i < two.size(); ++i) two[i] = static_cast<uint8_t>(0xF1 - i * 13);
  std::vector<uint8_t> four(20);
  for (size_t i = 0; i < four.size(); ++i) four[i] = static_cast<uint8_t>(i * 59 + 3);
  std::vector<uint8_t> eight(40);
  for (size_t i = 0; i < eight.size(); ++i) eight[i] = static_cast<uint8_t>(255 - i * 7);
  const std::vector<Case> cases = {
      {ElementType::kF32, f32},
      {ElementType::kF16, {0x00, 0x3C, 0x00, 0x80, 0x01, 0x7E, 0x01, 0x00, 0x00, 0x7C}},
      {ElementType::kBF16, {0x80, 0x3F, 0x00, 0x80, 0xC1, 0x7F, 0x01, 0x00, 0x80, 0xFF}},
      {ElementType::kF64, f64},
      {ElementType::kI4, {0x9F, 0x07, 0x08}},  // 5 nibbles in 3 bytes
      {ElementType::kU4, {0xF0, 0x5A, 0x03}},
      {ElementType::kI8, {0x80, 0xFF, 0x00, 0x7F, 0x01}},
      {ElementType::kU8, {0, 255, 128, 7, 9}},
      {ElementType::kI16, two},
      {ElementType::kU16, two},
      {ElementType::kI32, four},
      {ElementType::kU32, four},
      {ElementType::kI64, eight},
      {ElementType::kU64, eight},
      {ElementType::kBoolean, {1, 0, 1, 1, 0}},
      {ElementType::kU1, {0xA8}},  // 5 bits, MSB first: 1,0,1,0,1
  };
  Graph g;
  g.name = "all_types";
  for (const Case& c : cases) {
    NodeId k = g.AddConst("c_" + std::string(graph::ElementTypeName(c.type)),
                          BytesTensor(c.type, {5}, c.bytes));
    g.node(k).outputs[0].names = {std::string(graph::ElementTypeName(c.type))};
    g.AddResult("r_" + std::string(graph::ElementTypeName(c.type)), {k, 0});
  }
  Graph back = RoundTrip(g);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Tensor& t = back.node(static_cast<NodeId>(2 * i)).constant;
    EXPECT_EQ(t.type(), cases[i].type) << i;
    EXPECT_EQ(t.shape(), graph::Shape{5});
    EXPECT_EQ(Bytes(t), cases[i].bytes) << graph::ElementTypeName(cases[i].type);
    EXPECT_EQ(back.node(static_cast<NodeId>(2 * i)).outputs[0].type, cases[i].type);
  }
}

TEST(IrWriterTest, ScalarsZeroSizeAndRtInfo) {
  Graph g;
  g.rt_info = R"(<rt_info><framework value="x &amp; y"/></rt_info>)";
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape(graph::Shape{}));
  g.node(p).rt_info = R"(<rt_info><attribute name="a" value="&lt;b&amp;c"/></rt_info>)";
  g.node(p).outputs[0].rt_info = R"(<rt_info><attribute name="layout" value="[]"/></rt_info>)";
  NodeId e = g.AddConst("empty", Tensor::Allocate(ElementType::kI64, {0}));
  NodeId cat = g.AddOp("Concat", "cat", {{e, 0}, {e, 0}}, {}, 1, "opset1");
  g.node(cat).attrs.Set("axis", "0");
  g.node(cat).inputs[1].rt_info = R"(<rt_info><x/></rt_info>)";
  g.node(cat).outputs[0].type = ElementType::kI64;
  g.node(cat).outputs[0].shape = graph::PartialShape({0});
  g.AddResult("r0", {p, 0});
  g.AddResult("r1", {cat, 0});
  Graph back = RoundTrip(g);
  EXPECT_EQ(back.rt_info, g.rt_info);
  EXPECT_EQ(back.node(0).rt_info, g.node(0).rt_info);
  EXPECT_EQ(back.node(2).inputs[1].rt_info, "<rt_info><x/></rt_info>");
  EXPECT_EQ(back.node(1).constant.nbytes(), 0u);
}

TEST(IrWriterTest, SpecialCharactersInNamesAndAttributes) {
  Graph g;
  g.name = "a<b>&\"c'";
  NodeId p = g.AddParameter("in \"q\" <x> & y", ElementType::kF32, graph::PartialShape({1}));
  g.node(p).outputs[0].names = {"t,1", "t\\2", " spaced ", "\xC3\xA9t\xC3\xA9"};
  graph::Attributes a;
  a.Set("text", "a<b>&\"c'\td\ne\r");
  a.Set("empty", "");
  NodeId u = g.AddOp("Custom", "u&v", {{p, 0}}, a, 1, "x");
  g.node(u).outputs[0].type = ElementType::kF32;
  g.node(u).outputs[0].shape = graph::PartialShape({1});
  g.AddResult("o", {u, 0});
  Graph back = RoundTrip(g);
  EXPECT_EQ(*back.node(1).attrs.Find("text"), "a<b>&\"c'\td\ne\r");
  EXPECT_EQ(back.node(0).outputs[0].names, g.node(0).outputs[0].names);
}

TEST(IrWriterTest, OverwritesTheFilesItWasReadFrom) {
  fs::path dir = TempDir();
  WriteFile(dir / "m.xml", testing::TinyIrXml());
  WriteFile(dir / "m.bin", testing::TinyIrBin());
  auto g = ReadIr(dir / "m.xml");
  ASSERT_TRUE(g.ok()) << g.status().message();
  // Constants are views into the mapping of m.bin, which this write replaces.
  ASSERT_TRUE(WriteIr(*g, dir / "m.xml").ok());
  auto back = ReadIr(dir / "m.xml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(graph::CompareGraphs(*g, *back).ok());
  EXPECT_EQ(ReadFile(dir / "m.bin"), testing::TinyIrBin());
  EXPECT_EQ(ListDir(dir), (std::vector<std::string>{"m.bin", "m.xml"}));
}

TEST(IrWriterTest, RtInfoWrittenVerbatim) {
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({1}));
  // Not pugixml's own spelling (it would not escape '>'), with insignificant whitespace.
  const std::string rt = "<rt_info>  <attribute name=\"a\" value=\"x&gt;y\" />\n</rt_info>";
  g.node(p).rt_info = rt;
  g.AddResult("o", {p, 0});
  fs::path dir = TempDir();
  ASSERT_TRUE(WriteIr(g, dir / "m.xml").ok());
  EXPECT_NE(ReadFile(dir / "m.xml").find(rt), std::string::npos) << ReadFile(dir / "m.xml");
  auto back = ReadIr(dir / "m.xml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  // Read back, it is the element as pugixml prints it: same content.
  EXPECT_EQ(back->node(0).rt_info, R"(<rt_info><attribute name="a" value="x>y"/></rt_info>)");
}

TEST(IrWriterTest, NonExistentDirectoryFailsCleanly) {
  fs::path dir = TempDir();
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({1}));
  g.AddResult("o", {p, 0});
  Status st = WriteIr(g, dir / "missing" / "m.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find((dir / "missing").string()), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(dir / "missing"));
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(IrWriterTest, FailureLeavesNoFiles) {
  fs::path dir = TempDir();
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({1}));
  g.node(p).rt_info = "<rt_info><unclosed></rt_info>";  // not well-formed: fails mid-write
  NodeId c = g.AddConst("c", Tensor::Scalar(1.0f));
  NodeId a = g.AddOp("Add", "a", {{p, 0}, {c, 0}}, {}, 1, "opset1");
  g.AddResult("o", {a, 0});
  Status st = WriteIr(g, dir / "m.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("layer 'p'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rt_info"), std::string::npos) << st.message();
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(IrWriterTest, OverwritesExistingFilesAtomically) {
  fs::path dir = TempDir();
  WriteFile(dir / "m.xml", "old");
  WriteFile(dir / "m.bin", "old");
  Graph g;
  NodeId p = g.AddParameter("p", ElementType::kF32, graph::PartialShape({1}));
  g.AddResult("o", {p, 0});
  ASSERT_TRUE(WriteIr(g, dir / "m.xml").ok());
  EXPECT_EQ(ListDir(dir), (std::vector<std::string>{"m.bin", "m.xml"}));
  EXPECT_TRUE(ReadIr(dir / "m.xml").ok());
}

}  // namespace
}  // namespace ptqflow::io
