// Every flag of issue 7's command line, through the ptqflow process, on the Fashion-MNIST CNN of
// ../shared/models calibrated on Debian's Fashion-MNIST: --help lists them all (read from the
// DEFINE_* lines of cli/*.cc), and each one changes what the run does in the documented way.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "io/ir/ir_reader.h"
#include "io/json.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

std::string Bin() { return "'" + PtqflowBinary().string() + "'"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// -q default on `model` (default: fmnist_cnn.onnx) with the first 300 train images.
std::string Quick(const std::string& extra, const std::string& model = "") {
  const std::string m =
      model.empty() ? (SharedDir() / "models" / "fmnist_cnn.onnx").string() : model;
  return Bin() + " -q default -m '" + m + "' --data-type idx --data-source '" +
         (kFmnist / "train-images-idx3-ubyte.gz").string() +
         "' --data-option normalize=true,mean=0.2860,std=0.3530 " + extra;
}

io::JsonValue Report(const fs::path& file) {
  auto j = io::ReadJsonFile(file);
  EXPECT_TRUE(j.ok()) << j.status().message();
  return j.ok() ? *j : io::JsonValue();
}

struct IrCounts {
  int fq = 0, i8 = 0;
};
IrCounts CountIr(const fs::path& xml) {
  IrCounts c;
  auto g = io::ReadIr(xml);
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return c;
  for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(g->size()); ++id) {
    const graph::Node& n = g->node(id);
    if (!n.alive) continue;
    if (n.type == "FakeQuantize") ++c.fq;
    if (n.type == "Const" && n.outputs[0].type == graph::ElementType::kI8) ++c.i8;
  }
  return c;
}

TEST(QuantizeFlagsSharedTest, HelpDocumentsEveryFlagAndExitCode) {
  std::string out;
  ASSERT_EQ(RunCommand(Bin() + " --help", &out), 0) << out;
  // Every flag cli/ defines (testing hooks aside), in POT's dashed spelling.
  const std::regex define(R"(DEFINE_[a-z0-9]+\(\s*([a-z0-9_]+),)");
  int found = 0;
  for (const auto& e : fs::directory_iterator(fs::path(PTQFLOW_SOURCE_DIR) / "cli")) {
    const std::string src = ReadFile(e.path());
    for (std::sregex_iterator it(src.begin(), src.end(), define), end; it != end; ++it) {
      std::string name = (*it)[1];
      if (name.rfind("testing_", 0) == 0) continue;
      for (char& c : name) c = c == '_' ? '-' : c;
      ++found;
      EXPECT_NE(out.find("--" + name + " "), std::string::npos) << "--" << name << " missing";
    }
  }
  EXPECT_GE(found, 35);
  // Issue 7's list, POT's short options included.
  for (const char* f : {"-c, --config",
                        "-q, --quantize",
                        "-m, --model",
                        "-w, --weights",
                        "-n, --name",
                        "--preset",
                        "--max-drop",
                        "--engine",
                        "--data-source",
                        "-e, --evaluate",
                        "--output-dir",
                        "-d, --direct-dump",
                        "--keep-uncompressed-weights",
                        "--log-level",
                        "--progress-bar",
                        "--stream-output",
                        "--resume",
                        "--checkpoint-every",
                        "--threads",
                        "--input-shape",
                        "--output-format",
                        "--report",
                        "--print-config",
                        "convert",
                        "infer"}) {
    EXPECT_NE(out.find(f), std::string::npos) << f;
  }
  for (const char* code : {"  0  success", "  1  model", "  2  bad command line",
                           "  3  invalid config", "  4  data error", "  5  accuracy target"}) {
    EXPECT_NE(out.find(code), std::string::npos) << code;
  }
}

TEST(QuantizeFlagsSharedTest, LogLevelFiltersGlogAndOpenMpWaitsPassively) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  const std::string base = Quick("-d --output-dir '" + dir.string() + "' --progress-bar=false");
  std::string info, error, debug, active, bad;
  ASSERT_EQ(RunCommand("env -u OMP_WAIT_POLICY " + base, &info), 0) << info;
  EXPECT_NE(info.find("] read "), std::string::npos) << info;
  EXPECT_EQ(info.find("fq_input_0: activations"), std::string::npos) << info;
  ASSERT_EQ(RunCommand(base + " --log-level ERROR", &error), 0) << error;
  EXPECT_EQ(error.find("] read "), std::string::npos) << error;
  EXPECT_NE(error.find("quantized fmnist_cnn"), std::string::npos) << error;  // the summary
  // DEBUG (any case) turns VLOG(1) on: per-FQ lines and the OpenMP wait policy the process runs
  // with, which ptqflow sets to passive by re-executing itself when the variable is unset.
  ASSERT_EQ(RunCommand("env -u OMP_WAIT_POLICY " + base + " --log-level debug", &debug), 0)
      << debug;
  EXPECT_NE(debug.find("fq_input_0: activations"), std::string::npos) << debug;
  EXPECT_NE(debug.find("OMP_WAIT_POLICY=passive"), std::string::npos) << debug;
  // A value the user set wins.
  ASSERT_EQ(RunCommand("OMP_WAIT_POLICY=active " + base + " --log-level Debug", &active), 0)
      << active;
  EXPECT_NE(active.find("OMP_WAIT_POLICY=active"), std::string::npos) << active;
  EXPECT_EQ(RunCommand(base + " --log-level verbose", &bad), 2) << bad;
  EXPECT_NE(bad.find("--log-level"), std::string::npos) << bad;
}

TEST(QuantizeFlagsSharedTest, ThreadsSplitIntoSessionsWithIdenticalOutput) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  struct Case {
    std::string flags;
    int sessions, per_session;
  };
  const Case cases[] = {
      {"--threads 1", 1, 1}, {"--threads 2", 2, 1}, {"--threads 2 --workers 1", 1, 2}};
  std::string first_bin;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const fs::path out_dir = dir / std::to_string(i);
    std::string out;
    ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + out_dir.string() + "' --report '" +
                               (out_dir / "r.json").string() + "' " + cases[i].flags),
                         &out),
              0)
        << out;
    const io::JsonValue r = Report(out_dir / "r.json");
    const io::JsonValue* t = r.Find("threads");
    ASSERT_TRUE(t != nullptr) << out;
    EXPECT_EQ(t->Find("sessions")->integer(), cases[i].sessions) << cases[i].flags;
    EXPECT_EQ(t->Find("per_session")->integer(), cases[i].per_session) << cases[i].flags;
    const std::string bin = ReadFile(out_dir / "optimized" / "fmnist_cnn.bin");
    EXPECT_FALSE(bin.empty());
    if (i == 0) first_bin = bin;
    EXPECT_EQ(bin, first_bin) << cases[i].flags;
  }
}

TEST(QuantizeFlagsSharedTest, ReportHasFqRangesLayerSqnrAndStageTimes) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string out;
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() + "' --sqnr-samples 4 --report '" +
                             (dir / "r.json").string() + "'"),
                       &out),
            0)
      << out;
  const io::JsonValue r = Report(dir / "r.json");
  // Per FQ: range, levels, mode. fmnist_cnn: 6 weight FQs (5 Conv + MatMul), 7 activation FQs.
  const io::JsonValue* fqs = r.Find("fake_quantize");
  ASSERT_TRUE(fqs && fqs->is_array()) << out;
  EXPECT_EQ(fqs->items().size(), 13u);
  for (const io::JsonValue& fq : fqs->items()) {
    EXPECT_LT(fq.Find("input_low")->number(), fq.Find("input_high")->number());
    EXPECT_TRUE(fq.Find("levels")->integer() == 255 || fq.Find("levels")->integer() == 256);
    EXPECT_EQ(fq.Find("mode")->str(), "symmetric");
  }
  // Per quantized layer (5 Conv, the MatMul, the pooling reading the last activation FQ): SQNR
  // of an 8-bit model, finite and far from both 0 dB and lossless.
  const io::JsonValue* sqnr = r.Find("layer_sqnr");
  ASSERT_TRUE(sqnr != nullptr) << out;
  EXPECT_EQ(sqnr->Find("samples")->integer(), 4);
  ASSERT_EQ(sqnr->Find("layers")->items().size(), 7u);
  for (const io::JsonValue& l : sqnr->Find("layers")->items()) {
    ASSERT_TRUE(l.Find("sqnr_db")->is_number()) << l.Find("name")->str();
    EXPECT_GT(l.Find("sqnr_db")->number(), 10.0) << l.Find("name")->str();
    EXPECT_LT(l.Find("sqnr_db")->number(), 60.0) << l.Find("name")->str();
  }
  EXPECT_NE(out.find("layer SQNR INT8 vs FP32 (7 layers, 4 samples)"), std::string::npos) << out;
  // Wall time per stage.
  const io::JsonValue* secs = r.Find("seconds");
  ASSERT_TRUE(secs && secs->is_object()) << out;
  for (const char* stage :
       {"load model", "load dataset", "statistics", "algorithms", "layer sqnr", "write"}) {
    ASSERT_TRUE(secs->Find(stage) != nullptr) << stage;
    EXPECT_GE(secs->Find(stage)->number(), 0.0) << stage;
  }
  EXPECT_GT(secs->Find("statistics")->number(), 0.0);
  // --sqnr-samples 0 skips the measurement.
  out.clear();
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() + "' --sqnr-samples 0 --report '" +
                             (dir / "r0.json").string() + "'"),
                       &out),
            0)
      << out;
  EXPECT_TRUE(Report(dir / "r0.json").Find("layer_sqnr")->Find("layers")->items().empty());
}

TEST(QuantizeFlagsSharedTest, InputShapeFixesTheInputAndErrorsNameIt) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string out;
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() +
                             "' --input-shape 'input[1,1,28,28]' --print-config"),
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("\"input[1,1,28,28]\""), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(
      RunCommand(Quick("-d --output-dir '" + dir.string() + "' --input-shape 'input[1,1,28,28]'"),
                 &out),
      0)
      << out;
  auto g = io::ReadIr(dir / "optimized" / "fmnist_cnn.xml");
  ASSERT_TRUE(g.ok()) << g.status().message();
  const graph::PartialShape& in = g->node(g->parameters()[0]).outputs[0].shape;
  ASSERT_TRUE(in.is_static()) << in.ToString();
  EXPECT_EQ(in.to_shape(), (graph::Shape{1, 1, 28, 28}));
  out.clear();
  EXPECT_EQ(RunCommand(Quick("-d --output-dir '" + (dir / "x").string() +
                             "' --input-shape 'input[1,1,28'"),
                       &out),
            2)
      << out;
  EXPECT_NE(out.find("--input-shape"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCommand(Quick("-d --output-dir '" + (dir / "x").string() +
                             "' --input-shape 'nosuch[1,1,28,28]'"),
                       &out),
            1)
      << out;
  EXPECT_NE(out.find("nosuch"), std::string::npos) << out;
}

TEST(QuantizeFlagsSharedTest, OutputLayoutNameWeightsAndUncompressedWeights) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string out;
  // An IR model whose weights file has another name: -w finds it.
  ASSERT_EQ(
      RunCommand(Bin() + " convert '" + (SharedDir() / "models" / "fmnist_cnn.onnx").string() +
                     "' --output '" + (dir / "ir" / "cnn.xml").string() + "'",
                 &out),
      0)
      << out;
  fs::rename(dir / "ir" / "cnn.bin", dir / "ir" / "other.bin");
  out.clear();
  EXPECT_EQ(RunCommand(Quick("-d --output-dir '" + (dir / "nw").string() + "'",
                             (dir / "ir" / "cnn.xml").string()),
                       &out),
            1)
      << out;
  // POT's layout without -d: <output-dir>/<name>_<algorithm>/<time>/optimized/<name>.xml.
  out.clear();
  ASSERT_EQ(RunCommand(Quick("-w '" + (dir / "ir" / "other.bin").string() +
                                 "' -n mycnn --output-dir '" + (dir / "pot").string() + "'",
                             (dir / "ir" / "cnn.xml").string()),
                       &out),
            0)
      << out;
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(dir / "pot" / "mycnn_DefaultQuantization")) {
    runs.push_back(e.path());
  }
  ASSERT_EQ(runs.size(), 1u) << out;
  EXPECT_TRUE(std::regex_match(runs[0].filename().string(),
                               std::regex(R"(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)")))
      << runs[0];
  const fs::path xml = runs[0] / "optimized" / "mycnn.xml";
  ASSERT_TRUE(fs::exists(xml)) << out;
  const IrCounts compressed = CountIr(xml);
  EXPECT_EQ(compressed.i8, 6);  // 5 convolutions + 1 MatMul
  // --keep-uncompressed-weights: FP32 weights with their FakeQuantize, no int8 constant.
  out.clear();
  ASSERT_EQ(RunCommand(Quick("-d --keep-uncompressed-weights --output-dir '" +
                             (dir / "keep").string() + "'"),
                       &out),
            0)
      << out;
  const IrCounts kept = CountIr(dir / "keep" / "optimized" / "fmnist_cnn.xml");
  EXPECT_EQ(kept.i8, 0);
  EXPECT_EQ(kept.fq, compressed.fq + 6);
}

TEST(QuantizeFlagsSharedTest, PresetMixedMakesActivationsAsymmetric) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  for (const std::string preset : {"performance", "mixed"}) {
    std::string out;
    const fs::path report = dir / (preset + ".json");
    ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + (dir / preset).string() + "' --preset " +
                               preset + " --report '" + report.string() + "'"),
                         &out),
              0)
        << out;
    const io::JsonValue r = Report(report);
    std::set<std::string> act_modes, weight_modes;
    for (const io::JsonValue& fq : r.Find("fake_quantize")->items()) {
      (fq.Find("role")->str() == "weights" ? weight_modes : act_modes)
          .insert(fq.Find("mode")->str());
    }
    EXPECT_EQ(weight_modes, std::set<std::string>{"symmetric"}) << preset;
    EXPECT_EQ(act_modes, std::set<std::string>{preset == "mixed" ? "asymmetric" : "symmetric"})
        << preset;
  }
  std::string out;
  EXPECT_EQ(RunCommand(Quick("--preset fastest"), &out), 2) << out;
  out.clear();
  EXPECT_EQ(RunCommand(Quick("--max-drop 0.01"), &out), 2) << out;
  EXPECT_NE(out.find("--max-drop"), std::string::npos) << out;
  for (const char* flag :
       {"--workers", "--in-flight", "--samples-per-message", "--intra-op-threads"}) {
    out.clear();
    EXPECT_EQ(RunCommand(Quick(std::string(flag) + " -3"), &out), 2) << out;
    EXPECT_NE(out.find(std::string(flag) + " -3: must be >= 0"), std::string::npos) << out;
  }
}

// A binary PGM image of 28 x 28 pixels.
void WritePgm(const fs::path& file, int seed) {
  std::ofstream f(file, std::ios::binary);
  f << "P5\n28 28\n255\n";
  for (int i = 0; i < 28 * 28; ++i) f.put(static_cast<char>((i * 7 + seed * 31) % 256));
}

TEST(QuantizeFlagsSharedTest, SimplifiedEngineReadsAnImageFolder) {
  const fs::path dir = TempDir();
  fs::create_directories(dir / "images");
  for (int i = 0; i < 5; ++i) WritePgm(dir / "images" / ("img" + std::to_string(i) + ".pgm"), i);
  std::string out;
  ASSERT_EQ(RunCommand(Bin() + " -q default -m '" +
                           (SharedDir() / "models" / "fmnist_cnn.onnx").string() +
                           "' --engine simplified --data-source '" + (dir / "images").string() +
                           "' -d --output-dir '" + (dir / "o").string() + "'",
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("5 calibration samples"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "o" / "optimized" / "fmnist_cnn.xml"));
  out.clear();
  EXPECT_EQ(RunCommand(Bin() + " -q default -m x.onnx --engine simplified", &out), 2) << out;
  EXPECT_NE(out.find("--data-source"), std::string::npos) << out;
}

TEST(QuantizeFlagsSharedTest, ProgressBarOrStreamedLines) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string bar, lines;
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() + "' --progress-bar"), &bar), 0)
      << bar;
  EXPECT_NE(bar.find("\r"), std::string::npos) << "no bar redraw";
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() + "' --stream-output"), &lines), 0)
      << lines;
  EXPECT_EQ(lines.find("\r"), std::string::npos);
  EXPECT_NE(lines.find("DefaultQuantization: 300/300 samples"), std::string::npos) << lines;
}

TEST(QuantizeFlagsSharedTest, CheckpointThenResumeGivesTheSameModel) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string out;
  ASSERT_EQ(
      RunCommand(Quick("-d --output-dir '" + dir.string() + "' --checkpoint-every 100"), &out), 0)
      << out;
  ASSERT_TRUE(fs::exists(dir / "ptqflow.ckpt")) << out;
  const std::string first = ReadFile(dir / "optimized" / "fmnist_cnn.bin");
  fs::remove(dir / "optimized" / "fmnist_cnn.bin");
  out.clear();
  ASSERT_EQ(RunCommand(Quick("-d --output-dir '" + dir.string() + "' --resume"), &out), 0) << out;
  EXPECT_NE(out.find("restored from checkpoint (300 samples)"), std::string::npos) << out;
  EXPECT_EQ(ReadFile(dir / "optimized" / "fmnist_cnn.bin"), first);
}

}  // namespace
}  // namespace ptqflow::testing
