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
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

struct Metric {
  double fp32 = 0, int8 = 0;
};

// Runs samples/configs/<name> with -e and returns the report; `stat_subset` > 0 replaces the
// config's stat_subset_size.
io::JsonValue RunSample(const std::string& name, const fs::path& dir, const std::string& extra,
                        int stat_subset = 0) {
  std::string text = ReadFile(fs::path(PTQFLOW_SOURCE_DIR) / "samples" / "configs" / name);
  EXPECT_FALSE(text.empty()) << name;
  text = ReplaceAll(text, "\".cache/models/", "\"" + ModelsDir().string() + "/");
  if (text.find("\"../shared/") != std::string::npos) {
    text = ReplaceAll(text, "\"../shared/", "\"" + SharedDir().string() + "/");
  }
  if (stat_subset > 0) {
    text = std::regex_replace(text, std::regex(R"("stat_subset_size": \d+)"),
                              "\"stat_subset_size\": " + std::to_string(stat_subset));
  }
  const fs::path config = dir / name;
  std::ofstream(config) << text;
  std::string out;
  const int rc = RunCommand("'" + PtqflowBinary().string() + "' -c '" + config.string() +
                                "' -e -d --output-dir '" + (dir / "out").string() + "' --report '" +
                                (dir / "report.json").string() + "' --progress-bar=false " + extra,
                            &out);
  EXPECT_EQ(rc, 0) << out;
  std::printf(
      "%s\n",
      out.substr(out.find("quantized ") == std::string::npos ? 0 : out.find("quantized ")).c_str());
  auto report = io::ReadJsonFile(dir / "report.json");
  EXPECT_TRUE(report.ok()) << report.status().message() << "\n" << out;
  if (!report.ok()) return io::JsonValue();
  const io::JsonValue* files = report->Find("written_files");
  EXPECT_TRUE(files && files->items().size() == 2) << out;
  if (files) {
    for (const io::JsonValue& f : files->items()) EXPECT_TRUE(fs::exists(f.str())) << f.str();
  }
  return *report;
}

Metric Get(const io::JsonValue& report, const std::string& name) {
  const io::JsonValue* metrics = report.Find("metrics");
  if (metrics == nullptr) {
    ADD_FAILURE() << "no metrics in the report";
    return {};
  }
  for (const io::JsonValue& m : metrics->items()) {
    if (m.Find("name")->str() != name) continue;
    // Non-finite values are written as the strings "inf", "-inf", "nan".
    auto value = [](const io::JsonValue* v) {
      if (v->is_number()) return v->number();
      return v->is_string() ? std::stod(v->str()) : std::nan("");
    };
    return Metric{value(m.Find("fp32")), value(m.Find("int8"))};
  }
  ADD_FAILURE() << "metric " << name << " missing";
  return {};
}

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
