// Bad input to the ONNX importer: every case is a clear error naming the file and (for a node)
// "ONNX node 'name' (OpType)", never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/onnx/onnx_importer.h"
#include "tests/io/onnx/onnx_builder.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

using testing::OnnxBuilder;

void ExpectError(const Result<graph::Graph>& g, const std::vector<std::string>& parts) {
  ASSERT_FALSE(g.ok()) << "import unexpectedly succeeded";
  for (const auto& p : parts) {
    EXPECT_NE(g.status().message().find(p), std::string::npos)
        << "message lacks '" << p << "': " << g.status().message();
  }
}

OnnxBuilder ReluModel(int opset = 13) {
  OnnxBuilder b(opset);
  b.Input("x", {1, 4});
  b.InitF("w", {4}, {1, 2, 3, 4});
  b.Node("Mul", {"x", "w"}, {"m"}, "mul");
  b.Node("Relu", {"m"}, {"y"}, "relu");
  b.Output("y");
  return b;
}

TEST(OnnxImportErrorsTest, MissingFile) {
  auto p = testing::TempDir() / "nope.onnx";
  ExpectError(ImportOnnx(p), {"nope.onnx", "cannot open"});
}

TEST(OnnxImportErrorsTest, MalformedBytes) {
  auto p = testing::TempDir() / "garbage.onnx";
  std::ofstream(p, std::ios::binary) << std::string("\xff\xff\xff\xff garbage \x01\x02", 16);
  ExpectError(ImportOnnx(p), {"garbage.onnx", "not a valid ONNX model"});
}

TEST(OnnxImportErrorsTest, EmptyFile) {
  auto p = testing::TempDir() / "empty.onnx";
  std::ofstream(p, std::ios::binary).flush();
  ExpectError(ImportOnnx(p), {"empty.onnx", "empty"});
}

TEST(OnnxImportErrorsTest, TruncatedFile) {
  OnnxBuilder b = ReluModel();
  const std::string bytes = b.Bytes();
  ASSERT_TRUE(ImportOnnxFromBytes(bytes, "full.onnx").ok());
  auto p = testing::TempDir() / "truncated.onnx";
  std::ofstream(p, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  ExpectError(ImportOnnx(p), {"truncated.onnx", "malformed or truncated"});
}

TEST(OnnxImportErrorsTest, UnsupportedOpNamesNodeAndType) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Node("Relu", {"x"}, {"r"}, "relu");
  b.Node("NonMaxSuppression", {"r"}, {"y"}, "nms_1");
  b.Output("y");
  auto p = b.Save(testing::TempDir(), "nms.onnx");
  ExpectError(ImportOnnx(p),
              {"nms.onnx", "ONNX node 'nms_1' (NonMaxSuppression)", "not supported"});
}

TEST(OnnxImportErrorsTest, UnsupportedOpsets) {
  ExpectError(ImportOnnxFromBytes(ReluModel(6).Bytes(), "old.onnx"), {"old.onnx", "opset 6"});
  ExpectError(ImportOnnxFromBytes(ReluModel(19).Bytes(), "new.onnx"), {"new.onnx", "opset 19"});
  OnnxBuilder b = ReluModel();
  b.model().mutable_opset_import(0)->set_domain("com.example");
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "dom.onnx"), {"dom.onnx", "com.example"});
}

TEST(OnnxImportErrorsTest, NodeOfOtherDomain) {
  OnnxBuilder b = ReluModel();
  b.g()->mutable_node(1)->set_domain("com.microsoft");
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "ms.onnx"),
              {"ms.onnx", "ONNX node 'relu' (Relu)", "com.microsoft"});
}

TEST(OnnxImportErrorsTest, ExternalData) {
  OnnxBuilder b = ReluModel();
  onnx::TensorProto* w = b.g()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "ext.onnx"),
              {"ext.onnx", "'w'", "external", "weights.bin"});
}

TEST(OnnxImportErrorsTest, WrongRawDataSize) {
  OnnxBuilder b = ReluModel();
  onnx::TensorProto* w = b.g()->mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(10, '\0'));  // 4 floats need 16 bytes
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "raw.onnx"), {"raw.onnx", "'w'", "10 bytes", "16"});
}

TEST(OnnxImportErrorsTest, UnknownInputTensor) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Node("Add", {"x", "ghost"}, {"y"}, "add");
  b.Output("y");
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "ghost.onnx"),
              {"ghost.onnx", "ONNX node 'add' (Add)", "'ghost'"});
}

TEST(OnnxImportErrorsTest, MissingOutputAndBadAttributeType) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  b.Output("z");
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "out.onnx"), {"out.onnx", "model output 'z'"});

  OnnxBuilder c(13);
  c.Input("x", {1, 4});
  auto* n = c.Node("LeakyRelu", {"x"}, {"y"}, "lr");
  OnnxBuilder::AttrString(n, "alpha", "big");
  c.Output("y");
  ExpectError(ImportOnnxFromBytes(c.Bytes(), "attr.onnx"),
              {"attr.onnx", "ONNX node 'lr' (LeakyRelu)", "'alpha'", "FLOAT"});
}

TEST(OnnxImportErrorsTest, FrozenInputOfWrongType) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  b.Input("sr", {}, onnx::TensorProto::INT64);
  b.Node("Relu", {"x"}, {"y"}, "relu");
  b.Output("y");
  OnnxImportOptions opt;
  opt.frozen_inputs["sr"] = graph::Tensor::Scalar(16000.f);
  ExpectError(ImportOnnxFromBytes(b.Bytes(), "m.onnx", opt), {"m.onnx", "'sr'", "f32", "i64"});
}

TEST(OnnxImportErrorsTest, UnknownFrozenInput) {
  OnnxImportOptions opt;
  opt.frozen_inputs["sr"] = graph::Tensor::Scalar(1.f);
  ExpectError(ImportOnnxFromBytes(ReluModel().Bytes(), "m.onnx", opt), {"m.onnx", "'sr'"});
}

}  // namespace
}  // namespace ptqflow::io
