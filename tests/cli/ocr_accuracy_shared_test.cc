// Issue 6, item 8: PP-OCRv4 text recognition quantized with the settings a user would pick
// (samples/configs/pp_ocrv4_rec.json: DefaultQuantization, performance preset, CPU, the 300
// lines of ../shared/data/ocr-lines for calibration and evaluation), run through `ptqflow -c
// ... -e --report` as a user runs it. The FP32 numbers are checked against the independent
// ONNX Runtime reference published with the data (ocr-lines/README.md: 292/300 exact, 12 edits
// in 3881 characters); the INT8 exact-match drop must stay within 1 point.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/json.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(OcrAccuracySharedTest, PpOcrV4RecInt8ExactMatchWithinOnePoint) {
  const fs::path data = SharedDir() / "data" / "ocr-lines";
  ASSERT_TRUE(fs::exists(data / "labels.tsv")) << data;
  const fs::path model = ModelPath("ch_PP-OCRv4_rec_infer.onnx");
  const fs::path keys = ModelPath("ppocr_keys_v1.txt");
  ASSERT_TRUE(fs::exists(model)) << model << " (scripts/fetch_models.sh)";
  ASSERT_TRUE(fs::exists(keys)) << keys;

  // The sample config with its paths pointed at this machine's shared dir and model cache.
  std::string cfg = ReadText(fs::path(PTQFLOW_SOURCE_DIR) / "samples/configs/pp_ocrv4_rec.json");
  ASSERT_FALSE(cfg.empty());
  cfg = std::regex_replace(cfg, std::regex("\\.\\./shared/data/ocr-lines"), data.string());
  cfg = std::regex_replace(cfg, std::regex("\\.cache/models/ch_PP-OCRv4_rec_infer\\.onnx"),
                           model.string());
  cfg = std::regex_replace(cfg, std::regex("\\.cache/models/ppocr_keys_v1\\.txt"), keys.string());
  const fs::path dir = TempDir();
  const fs::path cfg_path = dir / "pp_ocrv4_rec.json";
  std::ofstream(cfg_path) << cfg;

  const fs::path report = dir / "report.json";
  std::string out;
  ASSERT_EQ(RunCommand("'" + PtqflowBinary().string() + "' -c '" + cfg_path.string() +
                           "' -e -d --output-dir '" + (dir / "out").string() + "' --report '" +
                           report.string() + "' --progress-bar=false 2>&1",
                       &out),
            0)
      << out;
  std::printf("%s\n", out.c_str());
  auto json = io::ParseJson(ReadText(report), report.string());
  ASSERT_TRUE(json.ok()) << json.status().message();
  const io::JsonValue* metrics = json->Find("metrics");
  ASSERT_TRUE(metrics && metrics->is_array()) << out;
  double fp32_em = -1, int8_em = -1, fp32_cer = -1, int8_cer = -1;
  for (const io::JsonValue& m : metrics->items()) {
    const std::string name = m.Find("name")->str();
    const double f = m.Find("fp32")->number(), q = m.Find("int8")->number();
    if (name == "exact_match") std::tie(fp32_em, int8_em) = std::tie(f, q);
    if (name == "CER") std::tie(fp32_cer, int8_cer) = std::tie(f, q);
  }
  ASSERT_GE(fp32_em, 0) << out;
  ASSERT_GE(fp32_cer, 0) << out;
  // FP32 equals ONNX Runtime's published result on the same 300 lines.
  EXPECT_NEAR(fp32_em, 292.0 / 300.0, 1e-9) << out;
  EXPECT_NEAR(fp32_cer, 12.0 / 3881.0, 1e-9) << out;
  std::printf(
      "PP-OCRv4 rec exact match FP32 %.4f INT8 %.4f (drop %+.4f); CER FP32 %.5f INT8 %.5f\n",
      fp32_em, int8_em, fp32_em - int8_em, fp32_cer, int8_cer);
  EXPECT_LE(fp32_em - int8_em, 0.01) << out;
  EXPECT_TRUE(fs::exists(dir / "out" / "optimized" / "ch_PP-OCRv4_rec.xml")) << out;
}

}  // namespace
}  // namespace ptqflow::testing
