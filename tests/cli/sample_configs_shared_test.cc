// The text and image configs of samples/configs run once each through the ptqflow process:
// PP-OCRv4 text-line recognition (fetched model) on ../shared/data/ocr-lines, and the
// Fashion-MNIST MobileNetV2 of ../shared/models (the audio config: sample_configs_models_test.cc).
// Each must succeed, write its model and keep the quality the config's comment promises. The
// configs' repository-relative paths (.cache/models/, ../shared/) are redirected to
// $PTQFLOW_MODELS_DIR and $PTQFLOW_SHARED_DIR; the subset sizes are cut where noted to keep the
// suite short.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/json.h"
#include "tests/cli/sample_configs_util.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;
using namespace samples;

TEST(SampleConfigsSharedTest, TextPpOcrV4RecognitionOnOcrLines) {
  ModelPath("ch_PP-OCRv4_rec_infer.onnx");
  const fs::path dir = TempDir();
  // 32 calibration lines and 50 evaluated ones instead of 300 and 300.
  const io::JsonValue r = RunSample("pp_ocrv4_rec.json", dir, "--eval-subset-size 50", 32);
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(fs::exists(dir / "out" / "optimized" / "ch_PP-OCRv4_rec.xml"));
  EXPECT_EQ(r.Find("calibration_samples")->integer(), 32);
  const Metric em = Get(r, "exact_match"), cer = Get(r, "CER");
  EXPECT_GE(em.fp32, 0.9);
  EXPECT_GE(em.int8, 0.8);
  EXPECT_LT(cer.int8, 0.02);
}

TEST(SampleConfigsSharedTest, ImageFmnistMobileNetV2) {
  ASSERT_TRUE(fs::exists("/usr/share/datasets/fashion-mnist")) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  const io::JsonValue r = RunSample("fmnist_mobilenetv2.json", dir, "--eval-subset-size 1000");
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(fs::exists(dir / "out" / "optimized" / "fmnist_mobilenetv2.xml"));
  const Metric top1 = Get(r, "top1");
  EXPECT_GT(top1.fp32, 0.8);
  EXPECT_LT(std::abs(top1.int8 - top1.fp32), 0.01);
}

}  // namespace
}  // namespace ptqflow::testing
