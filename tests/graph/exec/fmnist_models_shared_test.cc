// The Fashion-MNIST models in ../shared/models: ptqflow's executor vs ONNX Runtime,
// max abs error <= 1e-4 * max |reference|. (The MobileNetV2 export expects 32x32 inputs.)
#include "tests/graph/exec/ort_compare.h"

namespace ptqflow::exec::testing {
namespace {

TEST(SharedModelsVsOrt, FmnistCnn) {
  CompareWithOrt(ptqflow::testing::SharedDir() / "models" / "fmnist_cnn.onnx",
                 {{"input", {1, 1, 28, 28}}}, {}, 1e-4);
}
TEST(SharedModelsVsOrt, FmnistMobileNetV2) {
  CompareWithOrt(ptqflow::testing::SharedDir() / "models" / "fmnist_mobilenetv2_w0.5.onnx",
                 {{"input", {1, 1, 32, 32}}}, {}, 1e-4);
}

}  // namespace
}  // namespace ptqflow::exec::testing
