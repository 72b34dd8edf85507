// `ptqflow` quantization runs (POT's command line) on the Fashion-MNIST CNN of ../shared/models
// with Debian's Fashion-MNIST: outputs, determinism across worker counts, exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/ir/ir_reader.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// -q default on fmnist_cnn calibrated on the first 300 train images.
std::string QuickCommand(const fs::path& out_dir, const std::string& extra) {
  const fs::path model = SharedDir() / "models" / "fmnist_cnn.onnx";
  return "'" + PtqflowBinary().string() + "' -q default -m '" + model.string() +
         "' --data-type idx --data-source '" + (kFmnist / "train-images-idx3-ubyte.gz").string() +
         "' --data-option normalize=true,mean=0.2860,std=0.3530 -d --output-dir '" +
         out_dir.string() + "' --progress-bar=false " + extra + " 2>&1";
}

TEST(QuantizeSharedTest, DefaultQuantizationWritesCompressedIrDeterministically) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  std::string out;
  ASSERT_EQ(RunCommand(QuickCommand(dir / "w1", "--workers 1"), &out), 0) << out;
  EXPECT_NE(out.find("300 calibration samples"), std::string::npos) << out;
  const fs::path xml = dir / "w1" / "optimized" / "fmnist_cnn.xml";
  ASSERT_TRUE(fs::exists(xml)) << out;
  auto g = io::ReadIr(xml);
  ASSERT_TRUE(g.ok()) << g.status().message();
  int fq = 0, i8 = 0;
  for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(g->size()); ++id) {
    const graph::Node& n = g->node(id);
    if (!n.alive) continue;
    if (n.type == "FakeQuantize") ++fq;
    if (n.type == "Const" && n.outputs[0].type == graph::ElementType::kI8) ++i8;
  }
  // 5 convolutions + 1 MatMul: each has int8 weights and an activation FQ on its input.
  EXPECT_EQ(i8, 6) << out;
  EXPECT_GE(fq, 6) << out;

  ASSERT_EQ(RunCommand(QuickCommand(dir / "w3", "--workers 3 --in-flight 5"), &out), 0) << out;
  const fs::path xml3 = dir / "w3" / "optimized" / "fmnist_cnn.xml";
  EXPECT_EQ(ReadFile(xml), ReadFile(xml3));
  EXPECT_EQ(ReadFile(fs::path(xml).replace_extension(".bin")),
            ReadFile(fs::path(xml3).replace_extension(".bin")));
  // No temporary files are left beside the output.
  for (const auto& e : fs::directory_iterator(dir / "w1" / "optimized")) {
    EXPECT_TRUE(e.path().extension() == ".xml" || e.path().extension() == ".bin") << e.path();
  }
}

TEST(QuantizeSharedTest, ExitCodesNameTheProblem) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  const std::string bin = "'" + PtqflowBinary().string() + "'";
  std::string out;
  // Usage: neither -c nor -q.
  EXPECT_EQ(RunCommand(bin + " -m x.onnx 2>&1", &out), 2) << out;
  // Config: a wrong value, named by its key.
  const fs::path cfg = dir / "bad.json";
  std::ofstream(cfg) << R"({"model": {"model": "m.onnx"},
      "engine": {"type": "simplified", "data_source": "d"},
      "compression": {"algorithms": [{"name": "DefaultQuantization",
                                      "params": {"preset": "fastest"}}]}})";
  EXPECT_EQ(RunCommand(bin + " -c '" + cfg.string() + "' 2>&1", &out), 3) << out;
  EXPECT_NE(out.find("compression.algorithms[0].params.preset"), std::string::npos) << out;
  // Model: a missing model file.
  EXPECT_EQ(RunCommand(bin + " -q default -m '" + (dir / "none.onnx").string() +
                           "' --data-type idx --data-source x.gz -d --output-dir '" + dir.string() +
                           "' 2>&1",
                       &out),
            1)
      << out;
  EXPECT_NE(out.find("none.onnx"), std::string::npos) << out;
  // Data: a missing dataset file; nothing is written.
  const fs::path model = SharedDir() / "models" / "fmnist_cnn.onnx";
  EXPECT_EQ(RunCommand(bin + " -q default -m '" + model.string() +
                           "' --data-type idx --data-source '" + (dir / "none.gz").string() +
                           "' -d --output-dir '" + (dir / "o").string() + "' 2>&1",
                       &out),
            4)
      << out;
  EXPECT_NE(out.find("none.gz"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "o" / "optimized" / "fmnist_cnn.xml"));
  // --print-config shows the effective config and runs nothing.
  ASSERT_EQ(RunCommand(QuickCommand(dir / "p", "--print-config"), &out), 0) << out;
  EXPECT_NE(out.find("\"name\": \"DefaultQuantization\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"stat_subset_size\": \"300\""), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "p"));
}

}  // namespace
}  // namespace ptqflow::testing
