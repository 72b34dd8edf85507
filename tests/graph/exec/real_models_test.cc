// Every real npm model: ptqflow's executor vs ONNX Runtime on fixed seeded inputs,
// max abs error <= 1e-4 * max |reference|.
#include "tests/graph/exec/ort_compare.h"

namespace ptqflow::exec::testing {
namespace {

using ptqflow::testing::ModelPath;
constexpr double kTol = 1e-4;

graph::Tensor I64Scalar(int64_t v) {
  return graph::Tensor::FromVector<int64_t>(graph::ElementType::kI64, {}, {v});
}

TEST(RealModelsVsOrt, PpOcrRec) {
  CompareWithOrt(ModelPath("ch_PP-OCRv4_rec_infer.onnx"), {{"x", {1, 3, 48, 320}}}, {}, kTol);
}
TEST(RealModelsVsOrt, PpOcrDet) {
  // On a noise input the probability map is saturated near 0 (max|ref| ~1.3e-3). Near 0,
  // d(sigmoid)/sigmoid = d(logit), so the output's error relative to max|ref| equals the logits'
  // absolute error: 1e-4 would demand the logits (~ -6.6) agree to 1.5e-5 relative after ~100
  // float32 layers. 3e-4 of max|ref| is still < 1e-6 absolute on a [0,1] probability.
  CompareWithOrt(ModelPath("ch_PP-OCRv4_det_infer.onnx"), {{"x", {1, 3, 320, 320}}}, {}, 3e-4);
}
TEST(RealModelsVsOrt, PpOcrCls) {
  CompareWithOrt(ModelPath("ch_ppocr_mobile_v2.0_cls_infer.onnx"), {{"x", {1, 3, 48, 192}}}, {},
                 kTol);
}
TEST(RealModelsVsOrt, Melspectrogram) {
  CompareWithOrt(ModelPath("melspectrogram.onnx"), {{"input", {1, 16000}}}, {}, kTol);
}
TEST(RealModelsVsOrt, AudioEmbedding) {
  CompareWithOrt(ModelPath("embedding_model.onnx"), {{"input_1", {1, 76, 32, 1}, 0.f, 4.f}}, {},
                 kTol);
}
TEST(RealModelsVsOrt, SileroVadIfless) {
  CompareWithOrt(ModelPath("silero_vad_op18_ifless.onnx"),
                 {{"input", {1, 512}}, {"state", {2, 1, 128}, -0.5f, 0.5f}},
                 {{"sr", I64Scalar(16000)}}, kTol);
}
TEST(RealModelsVsOrt, SileroVad16k) {
  CompareWithOrt(ModelPath("silero_vad_16k_op15.onnx"),
                 {{"input", {1, 512}}, {"state", {2, 1, 128}, -0.5f, 0.5f}},
                 {{"sr", I64Scalar(16000)}}, kTol);
}

}  // namespace
}  // namespace ptqflow::exec::testing
