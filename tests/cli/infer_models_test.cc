// `ptqflow infer` end to end: seeded .npy inputs, the ptqflow executable and ONNX Runtime
// (perf/ort_run.js with npm onnxruntime-node) on the same files; outputs must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "io/data/npy.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

graph::Tensor RandomTensor(graph::Shape shape, uint32_t seed) {
  graph::Tensor t = graph::Tensor::Allocate(graph::ElementType::kF32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = u(rng);
  return t;
}

void ExpectMatchesOrt(const fs::path& model, const std::string& input_name, graph::Shape shape,
                      const std::string& output_file) {
  const fs::path dir = TempDir();
  const fs::path in = dir / "in.npy";
  ASSERT_TRUE(io::WriteNpy(in, RandomTensor(shape, 7)).ok());
  std::string out;
  const std::string ours = (dir / "ours").string();
  ASSERT_EQ(RunCommand(Quote(PtqflowBinary()) + " infer --model " + Quote(model) + " --input " +
                           input_name + "=" + in.string() + " --output-dir " + ours,
                       &out),
            0)
      << out;
  const std::string ort = (dir / "ort").string();
  out.clear();
  ASSERT_EQ(RunCommand("node " + Quote(fs::path(PTQFLOW_SOURCE_DIR) / "perf" / "ort_run.js") +
                           " --model " + Quote(model) + " --input " + input_name + "=" +
                           in.string() + " --output-dir " + ort,
                       &out),
            0)
      << "ONNX Runtime (onnxruntime-node, see scripts/fetch_models.sh) failed:\n"
      << out;
  auto a = io::ReadNpy(fs::path(ours) / output_file);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = io::ReadNpy(fs::path(ort) / output_file);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->shape(), b->shape());
  const auto x = a->ToDoubles();
  const auto y = b->ToDoubles();
  double max_ref = 0, max_err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(y[i]));
    max_err = std::max(max_err, std::fabs(x[i] - y[i]));
  }
  EXPECT_GT(max_ref, 0.0) << "reference output is all zeros: nothing was compared";
  EXPECT_LE(max_err, 1e-4 * max_ref) << "max |ref| " << max_ref;
}

TEST(InferCliTest, DirectionClassifierMatchesOnnxRuntime) {
  // Dynamic H and W are fixed from the .npy's shape.
  ExpectMatchesOrt(ModelPath("ch_ppocr_mobile_v2.0_cls_infer.onnx"), "x", {1, 3, 48, 192},
                   "softmax_0.tmp_0.npy");
}

TEST(InferCliTest, AudioEmbeddingMatchesOnnxRuntime) {
  ExpectMatchesOrt(ModelPath("embedding_model.onnx"), "input_1", {1, 76, 32, 1}, "conv2d_19.npy");
}

TEST(InferCliTest, MissingInputIsNamed) {
  const fs::path dir = TempDir();
  std::string out;
  int rc = RunCommand(
      Quote(PtqflowBinary()) + " infer --model " + Quote(ModelPath("embedding_model.onnx")) +
          " --input input_1=" + (dir / "absent.npy").string() + " --output-dir " + dir.string(),
      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("absent.npy"), std::string::npos) << out;
}

}  // namespace
}  // namespace ptqflow::testing
