// `ptqflow --output-format onnx` through the CLI process on the Fashion-MNIST CNN of
// ../shared/models: the QDQ model is written into the output directory (and nothing else), the
// report lists it, and ONNX Runtime (perf/ort_run.js, npm onnxruntime-node in $PTQFLOW_ORT_DIR,
// default <repo>/.cache/ort) running it on the first 1000 test images gives a top-1 within 0.3
// points of the top-1 ptqflow reports for its own simulated INT8 model (`-e`) on the same images.
// The labels come from Debian's Fashion-MNIST, never from ptqflow.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "io/data/idx_dataset.h"
#include "io/data/npy.h"
#include "io/json.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";
constexpr int kEvalImages = 1000;

// DefaultQuantization on the first 300 train images; evaluation on the test set.
void WriteConfig(const fs::path& file) {
  const fs::path model = SharedDir() / "models" / "fmnist_cnn.onnx";
  std::ofstream(file) << R"({
    "model": {"model": ")"
                      << model.string() << R"(", "input_shape": ["input[1,1,28,28]"]},
    "engine": {
      "dataset": {"idx": {"images_file": ")"
                      << (kFmnist / "train-images-idx3-ubyte.gz").string() << R"(",
                          "normalize": true, "mean": 0.2860, "std": 0.3530}},
      "eval_dataset": {"idx": {"images_file": ")"
                      << (kFmnist / "t10k-images-idx3-ubyte.gz").string() << R"(",
                               "labels_file": ")"
                      << (kFmnist / "t10k-labels-idx1-ubyte.gz").string() << R"(",
                               "normalize": true, "mean": 0.2860, "std": 0.3530}},
      "metrics": [{"name": "top1", "type": "accuracy"}]
    },
    "compression": {"algorithms": [{"name": "DefaultQuantization",
                                    "params": {"preset": "performance", "stat_subset_size": 300}}]}
  })";
}

// Top-1 (percent) of an ONNX model run by ONNX Runtime on the first n test images as one batch.
double OrtTop1(const fs::path& model, int n, const fs::path& dir) {
  io::IdxDatasetOptions o;
  o.images_file = (kFmnist / "t10k-images-idx3-ubyte.gz").string();
  o.labels_file = (kFmnist / "t10k-labels-idx1-ubyte.gz").string();
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  auto test = io::IdxDataset::Create(o);
  EXPECT_TRUE(test.ok()) << test.status().message();
  if (!test.ok()) return -1;
  graph::Tensor all = graph::Tensor::Allocate(graph::ElementType::kF32, {n, 1, 28, 28});
  for (int i = 0; i < n; ++i) {
    auto s = (*test)->Get(size_t(i));
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return -1;
    const graph::Tensor& x = s->inputs.begin()->second;
    EXPECT_EQ(x.size(), 28 * 28);
    std::memcpy(all.mutable_data<float>() + int64_t(i) * 28 * 28, x.data<float>(), 28 * 28 * 4);
  }
  const fs::path in = dir / "input.npy", out = dir / "ort";
  EXPECT_TRUE(io::WriteNpy(in, all).ok());
  const std::string cmd =
      "node '" + (fs::path(PTQFLOW_SOURCE_DIR) / "perf" / "ort_run.js").string() + "' --model '" +
      model.string() + "' --input input='" + in.string() + "' --output-dir '" + out.string() + "'";
  std::string log;
  const int rc = RunCommand(cmd, &log);
  EXPECT_EQ(rc, 0) << "ONNX Runtime failed (needs node and onnxruntime-node in $PTQFLOW_ORT_DIR, "
                      "default <repo>/.cache/ort; run scripts/fetch_models.sh): "
                   << cmd << "\n"
                   << log;
  if (rc != 0) return -1;
  auto logits = io::ReadNpy(out / "logits.npy");
  EXPECT_TRUE(logits.ok()) << logits.status().message();
  if (!logits.ok()) return -1;
  EXPECT_EQ(logits->shape(), (graph::Shape{n, 10}));
  if (logits->shape() != graph::Shape{n, 10}) return -1;
  int correct = 0;
  for (int i = 0; i < n; ++i) {
    const float* p = logits->data<float>() + i * 10;
    int best = 0;
    for (int k = 1; k < 10; ++k) {
      if (p[k] > p[best]) best = k;
    }
    correct += best == (*test)->label(size_t(i));
  }
  return 100.0 * correct / n;
}

TEST(QuantizeOnnxSharedTest, QdqOutputRunsInOrtWithinPointThreeOfSimulatedInt8) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = TempDir();
  WriteConfig(dir / "config.json");
  const fs::path report = dir / "report.json";
  std::string out;
  const std::string cmd =
      "'" + PtqflowBinary().string() + "' -c '" + (dir / "config.json").string() +
      "' --output-format onnx -e --eval-subset-size " + std::to_string(kEvalImages) +
      " -d --output-dir '" + (dir / "out").string() + "' --report '" + report.string() +
      "' --progress-bar=false";
  ASSERT_EQ(RunCommand(cmd, &out), 0) << out;

  // Only the QDQ model is written (atomically: no temporary file is left beside it).
  const fs::path onnx = dir / "out" / "optimized" / "fmnist_cnn.onnx";
  ASSERT_TRUE(fs::exists(onnx)) << out;
  for (const auto& e : fs::directory_iterator(dir / "out" / "optimized")) {
    EXPECT_EQ(e.path(), onnx) << "unexpected file";
  }
  // The report says which files were written, and the summary names them.
  auto json = io::ReadJsonFile(report);
  ASSERT_TRUE(json.ok()) << json.status().message();
  const io::JsonValue* files = json->Find("written_files");
  ASSERT_TRUE(files && files->is_array()) << out;
  ASSERT_EQ(files->items().size(), 1u);
  EXPECT_EQ(fs::path(files->items()[0].str()), onnx);
  EXPECT_EQ(json->Find("output_format")->str(), "onnx");
  EXPECT_NE(out.find(onnx.string()), std::string::npos) << out;

  // ptqflow's simulated INT8 top-1 on the same 1000 images (a fraction in [0, 1]).
  const io::JsonValue* metrics = json->Find("metrics");
  ASSERT_TRUE(metrics && metrics->is_array() && metrics->items().size() == 1) << out;
  const double simulated = 100.0 * metrics->items()[0].Find("int8")->number();
  const double fp32 = 100.0 * metrics->items()[0].Find("fp32")->number();
  EXPECT_EQ(json->Find("eval_samples")->integer(), kEvalImages);
  // The FP32 / INT8 table also has model size and latency.
  EXPECT_GT(json->Find("latency_ms")->Find("fp32")->number(), 0.0);
  EXPECT_GT(json->Find("latency_ms")->Find("int8")->number(), 0.0);
  EXPECT_GT(json->Find("fp32_weight_bytes")->integer(),
            3 * json->Find("int8_weight_bytes")->integer());
  EXPECT_NE(out.find("latency (ms/sample)"), std::string::npos) << out;

  const double ort = OrtTop1(onnx, kEvalImages, dir);
  std::printf(
      "fmnist_cnn, first %d test images: FP32 %.2f %%, ptqflow simulated INT8 %.2f %%, "
      "ONNX Runtime QDQ %.2f %%\n",
      kEvalImages, fp32, simulated, ort);
  EXPECT_LE(std::abs(ort - simulated), 0.3);
  // The quantized model is still a classifier (guards against both numbers being wrong alike).
  EXPECT_GT(ort, 80.0);
}

// ONNX Runtime's int8 kernels take one activation scale per tensor: the CPU config's per-channel
// activations (depthwise inputs of MobileNetV2) become per tensor for ONNX output only.
TEST(QuantizeOnnxSharedTest, OnnxOutputQuantizesActivationsPerTensor) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path model = SharedDir() / "models" / "fmnist_mobilenetv2_w0.5.onnx";
  ASSERT_TRUE(fs::exists(model)) << model;
  const fs::path dir = TempDir();
  auto granularities = [&](const std::string& format) {
    const fs::path report = dir / (format + ".json");
    const std::string cmd =
        "'" + PtqflowBinary().string() + "' -q default -m '" + model.string() +
        "' --data-type idx --data-source '" + (kFmnist / "train-images-idx3-ubyte.gz").string() +
        "' --data-option normalize=true,mean=0.2860,std=0.3530,border=2 -d --output-dir '" +
        (dir / format).string() + "' --output-format " + format + " --report '" + report.string() +
        "' --progress-bar=false 2>&1";
    std::string out;
    EXPECT_EQ(RunCommand(cmd, &out), 0) << out;
    std::multiset<std::string> g;
    auto json = io::ReadJsonFile(report);
    EXPECT_TRUE(json.ok()) << out;
    if (!json.ok()) return g;
    for (const io::JsonValue& f : json->Find("fake_quantize")->items()) {
      if (f.Find("role")->str() == "activations") g.insert(f.Find("granularity")->str());
    }
    return g;
  };
  const std::multiset<std::string> ir = granularities("ir");
  const std::multiset<std::string> onnx = granularities("onnx");
  EXPECT_GT(ir.count("perchannel"), 0u) << "premise: the CPU config has per-channel activations";
  EXPECT_EQ(onnx.count("perchannel"), 0u);
  EXPECT_EQ(onnx.size(), ir.size());
}

// PP-OCRv4 rec is opset 9: reaching opset 13 (per-axis Q/DQ) needs ONNX's version converter,
// whose Softmax adapter needs the input's rank, which ONNX's shape inference cannot give on this
// model (all weights are Constant nodes); the writer declares the ranks ptqflow inferred. The
// export must succeed and ONNX Runtime must run the result.
TEST(QuantizeOnnxSharedTest, Opset9PpOcrRecExportsAndRunsInOrt) {
  const fs::path data = SharedDir() / "data" / "ocr-lines";
  const fs::path model = ModelPath("ch_PP-OCRv4_rec_infer.onnx");
  ASSERT_TRUE(fs::exists(data / "labels.tsv")) << data;
  ASSERT_TRUE(fs::exists(model)) << model << " (scripts/fetch_models.sh)";
  std::ifstream in(fs::path(PTQFLOW_SOURCE_DIR) / "samples/configs/pp_ocrv4_rec.json");
  std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(cfg.empty());
  cfg = std::regex_replace(cfg, std::regex("\\.\\./shared/data/ocr-lines"), data.string());
  cfg = std::regex_replace(cfg, std::regex("\\.cache/models/"), ModelsDir().string() + "/");
  cfg =
      std::regex_replace(cfg, std::regex(R"("stat_subset_size": \d+)"), "\"stat_subset_size\": 8");
  const fs::path dir = TempDir();
  std::ofstream(dir / "rec.json") << cfg;
  std::string out;
  ASSERT_EQ(RunCommand("'" + PtqflowBinary().string() + "' -c '" + (dir / "rec.json").string() +
                           "' -d --output-dir '" + (dir / "out").string() +
                           "' --output-format onnx --sqnr-samples 1 --progress-bar=false 2>&1",
                       &out),
            0)
      << out;
  const fs::path qdq = dir / "out" / "optimized" / "ch_PP-OCRv4_rec.onnx";
  ASSERT_TRUE(fs::exists(qdq)) << out;
  std::vector<float> x(3 * 48 * 320);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 37 % 255)) / 127.5f - 1.f;
  ASSERT_TRUE(io::WriteNpy(dir / "x.npy", graph::Tensor::FromVector<float>(graph::ElementType::kF32,
                                                                           {1, 3, 48, 320}, x))
                  .ok());
  std::string log;
  ASSERT_EQ(
      RunCommand("node '" + (fs::path(PTQFLOW_SOURCE_DIR) / "perf" / "ort_run.js").string() +
                     "' --model '" + qdq.string() + "' --input x='" + (dir / "x.npy").string() +
                     "' --output-dir '" + (dir / "ort").string() + "' 2>&1",
                 &log),
      0)
      << log;
  auto probs = io::ReadNpy(dir / "ort" / "softmax_11.tmp_0.npy");
  ASSERT_TRUE(probs.ok()) << probs.status().message() << "\n" << log;
  EXPECT_EQ(probs->shape(), (graph::Shape{1, 40, 6625}));
}

TEST(QuantizeOnnxSharedTest, OnnxOutputNeedsAnOnnxModel) {
  const fs::path dir = TempDir();
  std::string out;
  const std::string cmd = "'" + PtqflowBinary().string() + "' -q default -m '" +
                          (dir / "model.xml").string() +
                          "' --data-type idx --data-source x.gz --output-format onnx -d "
                          "--output-dir '" +
                          (dir / "o").string() + "'";
  EXPECT_EQ(RunCommand(cmd, &out), 2) << out;
  EXPECT_NE(out.find("--output-format onnx needs an ONNX input model"), std::string::npos) << out;
  EXPECT_NE(out.find("model.xml"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "o"));
  out.clear();
  EXPECT_EQ(RunCommand("'" + PtqflowBinary().string() +
                           "' -q default -m m.onnx --data-type idx "
                           "--data-source x.gz --output-format tflite",
                       &out),
            2)
      << out;
  EXPECT_NE(out.find("expected ir or onnx"), std::string::npos) << out;
}

}  // namespace
}  // namespace ptqflow::testing
