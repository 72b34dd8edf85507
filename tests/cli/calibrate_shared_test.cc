// `ptqflow calibrate` end to end on ../shared/models/fmnist_cnn.onnx with Debian's
// Fashion-MNIST (package dataset-fashion-mnist): a run SIGKILLed at a random sample and resumed,
// and a run stopped by SIGTERM and resumed, write the same bytes as an uninterrupted run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "io/data/file_util.h"
#include "io/data/idx_dataset.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

const char kImages[] = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// The calibrate command line for `output` (extra flags appended).
std::string Calibrate(const fs::path& output, const std::string& extra) {
  const fs::path model = SharedDir() / "models" / "fmnist_cnn.onnx";
  return "'" + PtqflowBinary().string() + "' calibrate --model '" + model.string() +
         "' --data-type idx --data-source " + kImages +
         " --data-option normalize=true,mean=0.2860,std=0.3530 --subset-size 300 --progress log"
         " --output '" +
         output.string() + "' " + extra;
}

std::string ReadBytes(const fs::path& p) {
  auto r = io::ReadFileBytes(p);
  return r.ok() ? *r : "<cannot read " + p.string() + ": " + r.status().message() + ">";
}

class CalibrateSharedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kImages))
        << kImages << " is missing: apt-get install dataset-fashion-mnist";
    dir_ = TempDir();
    reference_ = dir_ / "reference.json";
    std::string out;
    ASSERT_EQ(RunCommand(Calibrate(reference_, "--workers 2"), &out), 0) << out;
    reference_bytes_ = ReadBytes(reference_);
    ASSERT_NE(reference_bytes_.find("\"samples\": 300"), std::string::npos) << reference_bytes_;
  }
  fs::path dir_, reference_;
  std::string reference_bytes_;
};

TEST_F(CalibrateSharedTest, InputRangeMatchesAPlainLoopOverTheImages) {
  // The first convolution reads the normalised image itself: its per-sample min is what a
  // 0 pixel becomes, and abs_max is aggregated by the mean over samples (pot-spec §3.3).
  auto idx = io::ReadIdx(kImages);
  ASSERT_TRUE(idx.ok()) << idx.status().message();
  const size_t pixels = 28 * 28;
  double sum_absmax = 0;
  float global_min = INFINITY;
  for (size_t s = 0; s < 300; ++s) {
    float mn = INFINITY, am = 0;
    for (size_t k = 0; k < pixels; ++k) {
      const float p = static_cast<unsigned char>(idx->data[s * pixels + k]);
      const float x = (p / 255.0f - 0.2860f) / 0.3530f;
      mn = std::min(mn, x);
      am = std::max(am, std::fabs(x));
    }
    global_min = std::min(global_min, mn);
    sum_absmax += am;
  }
  const double mean_absmax = sum_absmax / 300;
  const std::string& j = reference_bytes_;
  const size_t at = j.find("\"value\": \"input:0\"");
  ASSERT_NE(at, std::string::npos) << j;
  auto number_after = [&](const std::string& key) {
    const size_t k = j.find("\"" + key + "\": ", at);
    return k == std::string::npos ? NAN : std::strtod(j.c_str() + k + key.size() + 4, nullptr);
  };
  EXPECT_NEAR(number_after("min"), global_min, 1e-6);
  EXPECT_NEAR(number_after("abs_max_mean"), mean_absmax, 1e-5);
  // Signed range (the input has negative values): il = -m * 256 / 254, ih = m.
  EXPECT_NEAR(number_after("input_high"), mean_absmax, 1e-5);
  EXPECT_NEAR(number_after("input_low"), -mean_absmax * 256 / 254, 1e-5);
}

TEST_F(CalibrateSharedTest, WorkerCountDoesNotChangeTheOutput) {
  const fs::path out1 = dir_ / "w1.json";
  std::string out;
  ASSERT_EQ(RunCommand(Calibrate(out1, "--workers 1 --in-flight 1"), &out), 0) << out;
  EXPECT_EQ(ReadBytes(out1), reference_bytes_);
  // Messages of 7 samples (so the last is partial): scheduling only, the same bytes.
  const fs::path out7 = dir_ / "m7.json";
  ASSERT_EQ(RunCommand(Calibrate(out7, "--workers 2 --samples-per-message 7"), &out), 0) << out;
  EXPECT_EQ(ReadBytes(out7), reference_bytes_);
  ASSERT_NE(RunCommand(Calibrate(dir_ / "bad.json", "--samples-per-message -1"), &out), 0);
  EXPECT_FALSE(fs::exists(dir_ / "bad.json"));
}

TEST_F(CalibrateSharedTest, SigkillAtARandomSampleThenResumeWritesTheSameBytes) {
  uint64_t seed = std::random_device()();
  if (const char* env = std::getenv("PTQFLOW_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::mt19937_64 rng(seed);
  const int kill_at = 1 + static_cast<int>(rng() % 298);
  std::printf("SIGKILL test: seed %llu (set PTQFLOW_TEST_SEED to repeat), kill after sample %d\n",
              static_cast<unsigned long long>(seed), kill_at);
  RecordProperty("seed", std::to_string(seed));
  const fs::path output = dir_ / "killed.json";
  const std::string flags = "--workers 2 --in-flight 6 --checkpoint-every 25";
  std::string out;
  const int code = RunCommand(
      Calibrate(output, flags + " --testing-kill-after " + std::to_string(kill_at)), &out);
  EXPECT_EQ(code, 128 + 9) << out;
  EXPECT_FALSE(fs::exists(output)) << "a killed run must not leave an output";
  if (kill_at < 25) {
    EXPECT_FALSE(fs::exists(fs::path(output.string() + ".ckpt"))) << out;
  }
  out.clear();
  ASSERT_EQ(RunCommand(Calibrate(output, flags + " --resume"), &out), 0) << out;
  EXPECT_EQ(ReadBytes(output), reference_bytes_) << "seed " << seed;
}

TEST_F(CalibrateSharedTest, SigtermWritesACheckpointAndResumeWritesTheSameBytes) {
  const fs::path output = dir_ / "terminated.json";
  const fs::path ckpt = dir_ / "terminated.ckpt";
  const std::string flags = "--workers 2 --checkpoint '" + ckpt.string() + "'";
  std::string out;
  EXPECT_EQ(RunCommand(Calibrate(output, flags + " --testing-sigterm-after 120"), &out), 128 + 15)
      << out;
  EXPECT_NE(out.find("interrupted after"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(output));
  ASSERT_TRUE(fs::exists(ckpt)) << out;
  // Resuming with another sample selection is refused, naming the dataset.
  out.clear();
  EXPECT_EQ(RunCommand(Calibrate(output, flags + " --resume --subset-size 299"), &out), 1) << out;
  EXPECT_NE(out.find("different dataset"), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(RunCommand(Calibrate(output, flags + " --resume"), &out), 0) << out;
  EXPECT_NE(out.find("resuming after"), std::string::npos) << out;
  EXPECT_EQ(ReadBytes(output), reference_bytes_);
  EXPECT_FALSE(fs::exists(ckpt)) << "a finished run removes its checkpoint";
}

}  // namespace
}  // namespace ptqflow::testing
