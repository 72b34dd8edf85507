// Dropout: the identity at inference; training mode (random masking) is rejected with an error
// naming the node, except with ratio 0 (then it is the identity too).
#include <gtest/gtest.h>

#include <string>

#include "io/onnx/onnx_importer.h"
#include "tests/io/onnx/onnx_builder.h"

namespace ptqflow::io {
namespace {

using testing::OnnxBuilder;

onnx::TensorProto BoolScalar(const std::string& name, bool v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::BOOL);
  t.add_int32_data(v ? 1 : 0);
  return t;
}

// x -> Relu -> Dropout(ratio, training_mode) -> y
OnnxBuilder DropoutModel(float ratio, bool training, bool mode_is_input = false) {
  OnnxBuilder b(13);
  b.Input("x", {1, 4});
  if (mode_is_input) {
    b.Input("mode", {}, onnx::TensorProto::BOOL);
  } else {
    b.Init(BoolScalar("mode", training));
  }
  b.InitF("ratio", {}, {ratio});
  b.Node("Relu", {"x"}, {"r"}, "relu");
  b.Node("Dropout", {"r", "ratio", "mode"}, {"y"}, "drop");
  b.Output("y");
  return b;
}

TEST(OnnxDropoutTest, InferenceModeIsRemoved) {
  auto g = ImportOnnxFromBytes(DropoutModel(0.5f, false).Bytes(), "m.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->NodesOfType("Dropout").empty());
  EXPECT_EQ(g->NodesOfType("Relu").size(), 1u);
}

TEST(OnnxDropoutTest, TrainingModeIsRejectedNamingTheNode) {
  auto g = ImportOnnxFromBytes(DropoutModel(0.5f, true).Bytes(), "m.onnx");
  ASSERT_FALSE(g.ok());
  const std::string& m = g.status().message();
  EXPECT_NE(m.find("'drop'"), std::string::npos) << m;
  EXPECT_NE(m.find("Dropout"), std::string::npos) << m;
  EXPECT_NE(m.find("training_mode"), std::string::npos) << m;
}

TEST(OnnxDropoutTest, TrainingModeWithZeroRatioIsTheIdentity) {
  auto g = ImportOnnxFromBytes(DropoutModel(0.f, true).Bytes(), "m.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->NodesOfType("Dropout").empty());
}

TEST(OnnxDropoutTest, TrainingModeUnknownAtImportIsRejected) {
  auto g = ImportOnnxFromBytes(DropoutModel(0.5f, false, true).Bytes(), "m.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("training_mode"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace ptqflow::io
