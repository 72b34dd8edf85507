// Shape inference end to end on the real npm models: `ptqflow summary` imports each model with
// fixed input shapes (ONNX import runs graph::ops::InferShapes) and prints its outputs. Expected
// output shapes come from the models' documentation (../shared/reference/models-and-data.md),
// e.g. PP-OCRv4 rec: [N, W/8, 6625].
#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"

namespace ptqflow::graph::ops {
namespace {

// The "outputs:" section of `ptqflow summary` for a model, or "" after failing the test.
std::string SummaryOutputs(const std::string& model, const std::string& input_shape,
                           const std::string& freeze = "") {
  const std::string path = ptqflow::testing::ModelPath(model).string();
  std::string cmd = "'" + ptqflow::testing::PtqflowBinary().string() + "' summary '" + path +
                    "' --input_shape='" + input_shape + "'";
  if (!freeze.empty()) cmd += " --freeze_input='" + freeze + "'";
  std::string out;
  const int rc = ptqflow::testing::RunCommand(cmd, &out);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  const size_t begin = out.find("outputs:");
  EXPECT_NE(begin, std::string::npos) << out;
  if (begin == std::string::npos) return "";
  const size_t end = out.find("layers:", begin);
  return out.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

TEST(ShapeInferenceModelsTest, PpOcrRecognition) {
  // W = 320 -> 320 / 8 = 40 time steps over 6625 classes.
  const std::string outs = SummaryOutputs("ch_PP-OCRv4_rec_infer.onnx", "x[1,3,48,320]");
  EXPECT_NE(outs.find("softmax_11.tmp_0  f32[1,40,6625]"), std::string::npos) << outs;
}

TEST(ShapeInferenceModelsTest, PpOcrDetection) {
  // The probability map has the input's spatial size.
  const std::string outs = SummaryOutputs("ch_PP-OCRv4_det_infer.onnx", "x[1,3,640,640]");
  EXPECT_NE(outs.find("f32[1,1,640,640]"), std::string::npos) << outs;
}

TEST(ShapeInferenceModelsTest, PpOcrDirectionClassifier) {
  const std::string outs = SummaryOutputs("ch_ppocr_mobile_v2.0_cls_infer.onnx", "x[2,3,48,192]");
  EXPECT_NE(outs.find("f32[2,2]"), std::string::npos) << outs;
}

TEST(ShapeInferenceModelsTest, AudioEmbedding) {
  const std::string outs = SummaryOutputs("embedding_model.onnx", "input_1[3,76,32,1]");
  EXPECT_NE(outs.find("f32[3,1,1,96]"), std::string::npos) << outs;
}

TEST(ShapeInferenceModelsTest, SileroVad) {
  // Speech probability [B,1] and the new state [2,B,128].
  const std::string outs =
      SummaryOutputs("silero_vad_op18_ifless.onnx", "input[1,512],state[2,1,128]", "sr=16000");
  EXPECT_NE(outs.find("f32[1,1]"), std::string::npos) << outs;
  EXPECT_NE(outs.find("f32[2,1,128]"), std::string::npos) << outs;
}

}  // namespace
}  // namespace ptqflow::graph::ops
