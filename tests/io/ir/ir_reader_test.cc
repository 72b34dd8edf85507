#include "io/ir/ir_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io/ir/ir_format.h"
#include "tests/io/ir/ir_test_files.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::PartialShape;
using testing::ReadFile;
using testing::Replace;
using testing::TempDir;
using testing::TinyIrBin;
using testing::TinyIrXml;
using testing::WriteFile;

// Writes xml (+ bin unless null) into a fresh temp dir and reads it back.
Result<graph::Graph> ReadText(const std::string& xml, const std::string* bin, fs::path* xml_path) {
  fs::path dir = TempDir();
  *xml_path = dir / "model.xml";
  WriteFile(*xml_path, xml);
  if (bin) WriteFile(dir / "model.bin", *bin);
  return ReadIr(*xml_path);
}

// Reads, expects failure, and checks the message names the file and contains each of `parts`.
void ExpectError(const std::string& xml, const std::string* bin,
                 const std::vector<std::string>& parts) {
  fs::path path;
  auto g = ReadText(xml, bin, &path);
  ASSERT_FALSE(g.ok()) << "expected an error";
  const std::string msg = g.status().message();
  EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
  for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << p << " | " << msg;
}

TEST(TensorNamesTest, SplitAndJoinEscapedCommas) {
  EXPECT_EQ(SplitTensorNames(""), std::vector<std::string>{});
  EXPECT_EQ(SplitTensorNames("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(SplitTensorNames(R"(a,b\,c,d)"), (std::vector<std::string>{"a", "b,c", "d"}));
  EXPECT_EQ(JoinTensorNames({"a", "b,c", "d"}), R"(a,b\,c,d)");
  EXPECT_EQ(JoinTensorNames({}), "");
}

TEST(IrReaderTest, ReadsEveryField) {
  const std::string bin = TinyIrBin();
  fs::path path;
  auto r = ReadText(TinyIrXml(), &bin, &path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const graph::Graph& g = *r;
  EXPECT_EQ(g.ir_version, 11);
  EXPECT_EQ(g.name, "tiny");
  EXPECT_EQ(g.rt_info, testing::kNetRtInfo);
  ASSERT_EQ(g.size(), 7u);

  // Layers in file order.
  const char* names[] = {"x", "w", "add", "s", "mystery", "out0", "out1"};
  const int64_t ids[] = {7, 1, 2, 3, 4, 5, 6};
  for (graph::NodeId i = 0; i < 7; ++i) {
    EXPECT_EQ(g.node(i).name, names[i]);
    EXPECT_EQ(g.node(i).ir_id, ids[i]);
  }

  const graph::Node& x = g.node(0);
  EXPECT_EQ(x.type, "Parameter");
  EXPECT_EQ(x.version, "opset1");
  ASSERT_EQ(x.attrs.entries().size(), 2u);
  EXPECT_EQ(x.attrs.entries()[0], (graph::Attributes::Entry{"shape", "?,3"}));
  EXPECT_EQ(x.attrs.entries()[1], (graph::Attributes::Entry{"element_type", "f32"}));
  EXPECT_EQ(x.rt_info, testing::kLayerRtInfo);
  ASSERT_EQ(x.outputs.size(), 1u);
  EXPECT_EQ(x.outputs[0].type, ElementType::kF32);
  EXPECT_EQ(x.outputs[0].shape, PartialShape({-1, 3}));
  EXPECT_EQ(x.outputs[0].names, (std::vector<std::string>{"x", "in,put"}));
  EXPECT_EQ(x.outputs[0].rt_info, testing::kPortRtInfo);
  EXPECT_EQ(x.outputs[0].ir_port_id, 0);

  const graph::Node& w = g.node(1);
  EXPECT_TRUE(w.is_const());
  EXPECT_TRUE(w.attrs.empty());  // element_type/shape/offset/size live in the tensor
  ASSERT_EQ(w.constant.type(), ElementType::kF32);
  ASSERT_EQ(w.constant.shape(), graph::Shape{3});
  float wv[3];
  std::memcpy(wv, w.constant.bytes(), sizeof(wv));
  EXPECT_EQ(wv[0], 1.5f);
  EXPECT_EQ(wv[1], -2.0f);
  EXPECT_EQ(wv[2], 0.25f);

  const graph::Node& add = g.node(2);
  EXPECT_EQ(add.attrs.entries().size(), 1u);
  EXPECT_EQ(*add.attrs.Find("auto_broadcast"), "numpy");
  ASSERT_EQ(add.inputs.size(), 2u);
  EXPECT_EQ(add.inputs[0].source, (graph::ValueRef{0, 0}));
  EXPECT_EQ(add.inputs[1].source, (graph::ValueRef{1, 0}));
  EXPECT_EQ(add.inputs[0].ir_port_id, 0);
  EXPECT_EQ(add.inputs[1].ir_port_id, 1);
  EXPECT_EQ(add.inputs[0].rt_info, testing::kInPortRtInfo);
  EXPECT_EQ(add.inputs[1].rt_info, "");
  ASSERT_EQ(add.outputs.size(), 1u);
  EXPECT_EQ(add.outputs[0].ir_port_id, 2);
  EXPECT_EQ(add.outputs[0].names, std::vector<std::string>{"sum"});

  const graph::Node& s = g.node(3);
  ASSERT_EQ(s.constant.type(), ElementType::kI64);
  EXPECT_EQ(s.constant.shape(), graph::Shape{});  // scalar: shape=""
  int64_t sv = 0;
  std::memcpy(&sv, s.constant.bytes(), sizeof(sv));
  EXPECT_EQ(sv, 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(s.constant.bytes()) % alignof(int64_t), 0u);
  EXPECT_EQ(s.outputs[0].shape, PartialShape(graph::Shape{}));

  const graph::Node& m = g.node(4);
  EXPECT_EQ(m.type, "FancyCustomOp");
  EXPECT_EQ(m.version, "custom_opset");
  ASSERT_EQ(m.attrs.entries().size(), 3u);
  EXPECT_EQ(m.attrs.entries()[0], (graph::Attributes::Entry{"alpha", "0.100000001"}));
  EXPECT_EQ(m.attrs.entries()[1], (graph::Attributes::Entry{"mode", "fast"}));
  EXPECT_EQ(m.attrs.entries()[2], (graph::Attributes::Entry{"list", "1, 2,3"}));
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[0].source, (graph::ValueRef{2, 0}));
  EXPECT_EQ(m.inputs[1].source, (graph::ValueRef{3, 0}));
  ASSERT_EQ(m.outputs.size(), 2u);
  EXPECT_EQ(m.outputs[0].type, ElementType::kF16);
  EXPECT_EQ(m.outputs[0].shape, PartialShape({-1, 3}));
  EXPECT_EQ(m.outputs[1].type, ElementType::kI32);
  EXPECT_TRUE(m.outputs[1].shape.rank_known());
  EXPECT_EQ(m.outputs[1].shape.rank(), 0u);
  EXPECT_EQ(m.outputs[1].ir_port_id, 3);

  EXPECT_EQ(g.node(5).inputs[0].source, (graph::ValueRef{4, 0}));
  EXPECT_EQ(g.node(6).inputs[0].source, (graph::ValueRef{4, 1}));
  EXPECT_TRUE(g.node(5).outputs.empty());
}

TEST(IrReaderTest, ConstantsOutliveTheGraphAndAreMapped) {
  const std::string bin = TinyIrBin();
  fs::path path;
  graph::Tensor w;
  {
    auto r = ReadText(TinyIrXml(), &bin, &path);
    ASSERT_TRUE(r.ok()) << r.status().message();
    w = r->node(1).constant;
  }
  fs::remove(path.parent_path() / "model.bin");  // the mapping stays valid after unlink
  float v[3];
  std::memcpy(v, w.bytes(), sizeof(v));
  EXPECT_EQ(v[1], -2.0f);
}

TEST(IrReaderTest, ExplicitBinPath) {
  fs::path dir = TempDir();
  WriteFile(dir / "a.xml", TinyIrXml());
  WriteFile(dir / "weights.data", TinyIrBin());
  auto r = ReadIr(dir / "a.xml", dir / "weights.data");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto missing = ReadIr(dir / "a.xml");  // a.bin does not exist
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("a.bin"), std::string::npos);
}

TEST(IrReaderTest, AcceptsVersion10) {
  const std::string bin = TinyIrBin();
  fs::path path;
  auto r = ReadText(Replace(TinyIrXml(), R"(version="11")", R"(version="10")"), &bin, &path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->ir_version, 10);
  EXPECT_EQ(r->size(), 7u);
}

TEST(IrReaderTest, RejectsVersion9) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(version="11")", R"(version="9")"), &bin,
              {"unsupported IR version '9'"});
}

TEST(IrReaderTest, DynamicRankPorts) {
  // A Parameter of dynamic rank, as OpenVINO writes it (shape="...", no <dim>), and a port
  // written by ptqflow with a single <dim>...</dim>.
  const std::string xml = R"(<?xml version="1.0"?>
<net name="d" version="11"><layers>
<layer id="0" name="p" type="Parameter" version="opset1"><data shape="..." element_type="f32"/>
<output><port id="0" precision="FP32" names="p"/></output></layer>
<layer id="1" name="r" type="Relu" version="opset1"><input><port id="0" precision="FP32"/></input>
<output><port id="1" precision="FP32"><dim>...</dim></port></output></layer>
<layer id="2" name="o" type="Result" version="opset1"><input><port id="0" precision="FP32"/></input></layer>
</layers><edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/>
<edge from-layer="1" from-port="1" to-layer="2" to-port="0"/></edges></net>)";
  fs::path path;
  auto r = ReadText(xml, nullptr, &path);  // no Const: no .bin needed
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->node(0).outputs[0].shape.rank_known());
  EXPECT_FALSE(r->node(1).outputs[0].shape.rank_known());
}

// ---- Bad input: each names the file and what is wrong. ----

TEST(IrReaderBadInputTest, TruncatedXml) {
  const std::string xml = TinyIrXml();
  const std::string bin = TinyIrBin();
  ExpectError(xml.substr(0, xml.size() / 2), &bin, {"malformed XML", "line"});
}

TEST(IrReaderBadInputTest, MalformedXml) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), "</output>\n\t\t</layer>", "</outptu>\n\t\t</layer>"), &bin,
              {"malformed XML", "line 13"});
}

TEST(IrReaderBadInputTest, EmptyFile) { ExpectError("", nullptr, {"malformed XML", "empty"}); }

TEST(IrReaderBadInputTest, NotAnIrFile) { ExpectError("<model/>", nullptr, {"no <net> element"}); }

TEST(IrReaderBadInputTest, MissingBin) {
  ExpectError(TinyIrXml(), nullptr, {"model.bin", "No such file"});
}

TEST(IrReaderBadInputTest, BinShorterThanOffsetPlusSize) {
  const std::string bin = TinyIrBin().substr(0, 16);  // i64 at offset 12 needs 20 bytes
  ExpectError(TinyIrXml(), &bin,
              {"layer 's' (id 3, Const)", "offset 12", "size 8", "model.bin", "(16 bytes)"});
}

TEST(IrReaderBadInputTest, ConstSizeMismatch) {
  const std::string bin = TinyIrBin();
  ExpectError(
      Replace(TinyIrXml(), R"(shape="3" offset="0" size="12")", R"(shape="3" offset="0" size="8")"),
      &bin, {"layer 'w' (id 1, Const)", "size 8", "3 elements of f32", "12 bytes"});
}

TEST(IrReaderBadInputTest, UnknownElementType) {
  const std::string bin = TinyIrBin();
  ExpectError(
      Replace(TinyIrXml(), R"(element_type="f32" shape="3")", R"(element_type="f33" shape="3")"),
      &bin, {"layer 'w' (id 1, Const)", "unknown element_type 'f33'"});
}

TEST(IrReaderBadInputTest, UnknownParameterElementType) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(element_type="f32"/>)", R"(element_type="float"/>)"), &bin,
              {"layer 'x' (id 7, Parameter)", "unknown element_type 'float'"});
}

TEST(IrReaderBadInputTest, UnknownPortPrecision) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(precision="I64"/>)", R"(precision="Q7"/>)"), &bin,
              {"layer 's' (id 3, Const)", "'Q7'"});
}

TEST(IrReaderBadInputTest, DuplicateLayerId) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(<layer id="3" name="s")", R"(<layer id="2" name="s")"), &bin,
              {"layer 's' (id 2, Const)", "duplicate layer id 2", "layer 'add'"});
}

TEST(IrReaderBadInputTest, EdgeToMissingPort) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(to-layer="2" to-port="1")", R"(to-layer="2" to-port="5")"),
              &bin, {"layer 'w' (id 1, Const)", "layer 'add' (id 2, Add)", "no input port 5"});
}

TEST(IrReaderBadInputTest, EdgeFromMissingOutputPort) {
  const std::string bin = TinyIrBin();
  ExpectError(
      Replace(TinyIrXml(), R"(from-layer="1" from-port="0")", R"(from-layer="1" from-port="9")"),
      &bin, {"layer 'w' (id 1, Const) has no output port 9"});
}

TEST(IrReaderBadInputTest, EdgeToMissingLayer) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(to-layer="2" to-port="1")", R"(to-layer="42" to-port="1")"),
              &bin, {"layer 'w' (id 1, Const)", "no layer with id 42"});
}

TEST(IrReaderBadInputTest, InputWithoutEdge) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(),
                      "\t\t<edge from-layer=\"1\" from-port=\"0\" to-layer=\"2\" "
                      "to-port=\"1\"/>\n",
                      ""),
              &bin, {"layer 'add' (id 2, Add)", "input port 1 has no incoming edge"});
}

TEST(IrReaderBadInputTest, Cycle) {
  const std::string xml = R"(<?xml version="1.0"?>
<net name="c" version="11"><layers>
<layer id="0" name="a" type="Add" version="opset1"><input><port id="0"/><port id="1"/></input>
<output><port id="2" precision="FP32"/></output></layer>
<layer id="1" name="b" type="Relu" version="opset1"><input><port id="0"/></input>
<output><port id="1" precision="FP32"/></output></layer>
<layer id="2" name="p" type="Parameter" version="opset1"><output><port id="0" precision="FP32"/></output></layer>
<layer id="3" name="o" type="Result" version="opset1"><input><port id="0"/></input></layer>
</layers><edges>
<edge from-layer="2" from-port="0" to-layer="0" to-port="0"/>
<edge from-layer="1" from-port="1" to-layer="0" to-port="1"/>
<edge from-layer="0" from-port="2" to-layer="1" to-port="0"/>
<edge from-layer="1" from-port="1" to-layer="3" to-port="0"/>
</edges></net>)";
  ExpectError(xml, nullptr, {"cycle", "layer '"});
}

TEST(IrReaderBadInputTest, LayerWithoutType) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), R"(name="add" type="Add")", R"(name="add")"), &bin,
              {"name 'add'", "no 'type' attribute"});
}

TEST(IrReaderBadInputTest, SubgraphNotSupported) {
  const std::string xml = R"(<?xml version="1.0"?>
<net name="c" version="11"><layers>
<layer id="0" name="loop" type="TensorIterator" version="opset1"><output><port id="0" precision="FP32"/></output>
<port_map/><body><layers/><edges/></body></layer>
<layer id="1" name="o" type="Result" version="opset1"><input><port id="0"/></input></layer>
</layers><edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/></edges></net>)";
  ExpectError(xml, nullptr, {"layer 'loop' (id 0, TensorIterator)", "not supported"});
}

TEST(IrReaderBadInputTest, BadDimension) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), "<dim>3</dim>", "<dim>three</dim>"), &bin,
              {"layer 'x' (id 7, Parameter)", "bad dimension 'three'"});
}

TEST(IrReaderBadInputTest, ConstShapeDisagreesWithPort) {
  const std::string bin = TinyIrBin();
  ExpectError(Replace(TinyIrXml(), "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>3</dim>",
                      "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>4</dim>"),
              &bin, {"layer 'w' (id 1, Const)", "does not match"});
}

TEST(IrReaderBadInputTest, MissingXml) {
  fs::path p = TempDir() / "nope.xml";
  auto r = ReadIr(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(p.string()), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::io
