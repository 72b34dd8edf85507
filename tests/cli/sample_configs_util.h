// Runs a config of samples/configs through the ptqflow process for the sample-config tests
// (sample_configs_models_test.cc, sample_configs_shared_test.cc): the configs'
// repository-relative paths (.cache/models/, ../shared/) are redirected to $PTQFLOW_MODELS_DIR
// and $PTQFLOW_SHARED_DIR.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/json.h"
#include "tests/test_util.h"

namespace ptqflow::testing::samples {
namespace fs = std::filesystem;

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
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
inline io::JsonValue RunSample(const std::string& name, const fs::path& dir,
                               const std::string& extra, int stat_subset = 0) {
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

inline Metric Get(const io::JsonValue& report, const std::string& name) {
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

}  // namespace ptqflow::testing::samples
