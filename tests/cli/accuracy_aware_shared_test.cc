// `ptqflow -c` with AccuracyAwareQuantization on the Fashion-MNIST CNN (../shared/models) and
// Debian's Fashion-MNIST, run as a process: an unreachable bound ends with the documented exit
// code 5 and a message naming the metric, after writing the model and the JSON report; a run
// without metrics is a config error (3). Evaluation uses the first 300 test images.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

fs::path WriteConfig(const fs::path& dir, const std::string& metrics, const std::string& params) {
  const std::string norm = R"("normalize": true, "mean": 0.2860, "std": 0.3530)";
  const fs::path cfg = dir / "aaq.json";
  std::ofstream(cfg) << R"({"model": {"model": ")"
                     << (SharedDir() / "models" / "fmnist_cnn.onnx").string() << R"("},
    "engine": {
      "dataset": {"idx": {"images_file": ")"
                     << (kFmnist / "train-images-idx3-ubyte.gz").string() << R"(", )" << norm
                     << R"(}},
      "eval_dataset": {"idx": {"images_file": ")"
                     << (kFmnist / "t10k-images-idx3-ubyte.gz").string() << R"(", "labels_file": ")"
                     << (kFmnist / "t10k-labels-idx1-ubyte.gz").string() << R"(", )" << norm
                     << R"(}}, "metrics": )" << metrics << R"(},
    "compression": {"algorithms": [{"name": "AccuracyAwareQuantization",
      "params": {"preset": "performance", "stat_subset_size": 300, )"
                     << params << R"(}}]}})";
  return cfg;
}

TEST(AccuracyAwareCliTest, UnreachableBoundExitsWithFive) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  // A baseline above what even the FP32 model reaches (89 % on these images): no set of
  // reverted layers can stay within 1 point of 99 %.
  const fs::path cfg = WriteConfig(
      dir, R"([{"name": "accuracy", "type": "accuracy"}])",
      R"("maximal_drop": 0.01, "metrics": [{"name": "accuracy", "baseline_value": 0.99}])");
  const fs::path report = dir / "report.json";
  std::string out;
  const int code =
      RunCommand("'" + PtqflowBinary().string() + "' -c '" + cfg.string() + "' -d --output-dir '" +
                     (dir / "out").string() + "' --eval-subset-size 300 --report '" +
                     report.string() + "' --progress-bar=false 2>&1",
                 &out);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("could not meet maximal_drop 0.01"), std::string::npos) << out;
  EXPECT_NE(out.find("accuracy drop"), std::string::npos) << out;
  EXPECT_NE(out.find("the FP32 model itself scores"), std::string::npos) << out;
  // The model (every layer back in FP32) and the report are still written.
  EXPECT_TRUE(fs::exists(dir / "out" / "optimized" / "fmnist_cnn.xml")) << out;
  const std::string json = ReadFile(report);
  EXPECT_NE(json.find("\"target_met\": false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"stop_reason\": \"all FakeQuantize removed\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"baseline_given\": true"), std::string::npos) << json;
  // Every metric has a baseline_value: the per-sample ranking uses metric_subset_ratio (0.5) of
  // the 300 evaluation samples.
  EXPECT_NE(json.find("\"diff_samples\": 150"), std::string::npos) << json;
}

TEST(AccuracyAwareCliTest, NoMetricIsAConfigError) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  const fs::path cfg = WriteConfig(dir, "[]", R"("maximal_drop": 0.01)");
  std::string out;
  EXPECT_EQ(RunCommand("'" + PtqflowBinary().string() + "' -c '" + cfg.string() +
                           "' -d --output-dir '" + (dir / "out").string() + "' 2>&1",
                       &out),
            3)
      << out;
  EXPECT_NE(out.find("engine.metrics"), std::string::npos) << out;
  EXPECT_NE(out.find("AccuracyAwareQuantization needs at least one metric"), std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

}  // namespace
}  // namespace ptqflow::testing
