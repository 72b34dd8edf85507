// The QDQ export of the two Fashion-MNIST models (../shared/models) run by ONNX Runtime: top-1 on
// the full 10k test set must be within 0.3 points of ptqflow's own simulated INT8 (the
// FakeQuantize graph run by the executor). Calibration: POT's DefaultQuantization (preset
// performance, target ANY, cpu.json) with the serial engine on the first 300 train images.
// Preprocessing as models/MODELS.md: x = (p/255 - 0.2860)/0.3530; the MobileNetV2 input is the
// image padded by 2 raw-zero pixels. ONNX Runtime: perf/ort_run.js with npm onnxruntime-node
// in $PTQFLOW_ORT_DIR (default <repo>/.cache/ort; scripts/fetch_models.sh installs it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "io/data/idx_dataset.h"
#include "io/hardware_config_reader.h"
#include "io/model/model_io.h"
#include "io/onnx/qdq_writer.h"
#include "quant/algorithms.h"
#include "quant/placement.h"
#include "stages/serial_engine.h"
#include "tests/graph/exec/npy_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

const char* kFmnistDir = "/usr/share/datasets/fashion-mnist";

std::shared_ptr<IdxDataset> Fmnist(const std::string& split, int border) {
  IdxDatasetOptions o;
  o.images_file = std::string(kFmnistDir) + "/" + split + "-images-idx3-ubyte.gz";
  o.labels_file = std::string(kFmnistDir) + "/" + split + "-labels-idx1-ubyte.gz";
  o.input_name = "input";
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  o.border = border;
  o.border_value = 0.0f;
  auto d = IdxDataset::Create(o);
  EXPECT_TRUE(d.ok()) << d.status().message()
                      << " (install Debian's dataset-fashion-mnist package)";
  return d.ok() ? std::shared_ptr<IdxDataset>(std::move(*d)) : nullptr;
}

double Accuracy(const std::vector<int64_t>& predicted, const IdxDataset& test) {
  size_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == test.label(i);
  return 100.0 * double(correct) / double(test.size());
}

int64_t ArgMax(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k) {
    if (p[k] > p[best]) best = k;
  }
  return best;
}

// Top-1 of the FakeQuantize graph run by ptqflow's executor.
double SimulatedTop1(const graph::Graph& g, const IdxDataset& test) {
  exec::CompileOptions co;
  co.threads = 1;
  auto plan = exec::CompiledModel::Compile(g, co);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  if (!plan.ok()) return 0;
  exec::Session session(*plan);
  std::vector<int64_t> pred;
  for (size_t i = 0; i < test.size(); ++i) {
    auto s = test.Get(i);
    EXPECT_TRUE(s.ok());
    std::map<std::string, graph::Tensor> out;
    Status st = session.Run(s->inputs, &out);
    EXPECT_TRUE(st.ok()) << st.message();
    if (!st.ok()) return 0;
    const graph::Tensor& logits = out.begin()->second;
    pred.push_back(ArgMax(logits.data<float>(), logits.size()));
  }
  return Accuracy(pred, test);
}

// Top-1 of an ONNX model run by ONNX Runtime on the whole test set as one batch.
double OrtTop1(const std::filesystem::path& model, const IdxDataset& test, int size,
               const std::filesystem::path& dir) {
  const int64_t n = int64_t(test.size());
  graph::Tensor all =
      graph::Tensor::Allocate(graph::ElementType::kF32, {n, 1, int64_t(size), int64_t(size)});
  const int64_t per = int64_t(size) * size;
  for (int64_t i = 0; i < n; ++i) {
    auto s = test.Get(size_t(i));
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return 0;
    const graph::Tensor& x = s->inputs.at("input");
    EXPECT_EQ(x.size(), per);
    std::memcpy(all.mutable_data<float>() + i * per, x.data<float>(), size_t(per) * 4);
  }
  std::filesystem::create_directories(dir);
  const std::filesystem::path in = dir / "input.npy", out = dir / "ort";
  EXPECT_TRUE(exec::testing::WriteNpy(in, all).ok());
  const std::string cmd =
      "node " + (std::filesystem::path(PTQFLOW_SOURCE_DIR) / "perf" / "ort_run.js").string() +
      " --model " + model.string() + " --input input=" + in.string() + " --output-dir " +
      out.string();
  std::string log;
  const int rc = ptqflow::testing::RunCommand(cmd, &log);
  EXPECT_EQ(rc, 0) << "ONNX Runtime failed (needs node and onnxruntime-node in $PTQFLOW_ORT_DIR, "
                      "default <repo>/.cache/ort; run scripts/fetch_models.sh): "
                   << cmd << "\n"
                   << log;
  if (rc != 0) return 0;
  auto logits = exec::testing::ReadNpy(out / "logits.npy");
  EXPECT_TRUE(logits.ok()) << logits.status().message();
  if (!logits.ok()) return 0;
  EXPECT_EQ(logits->shape(), (graph::Shape{n, 10}));
  std::vector<int64_t> pred;
  for (int64_t i = 0; i < n; ++i) pred.push_back(ArgMax(logits->data<float>() + i * 10, 10));
  return Accuracy(pred, test);
}

void CheckModel(const std::string& file, int size, int border) {
  auto train = Fmnist("train", border);
  auto test = Fmnist("t10k", border);
  ASSERT_TRUE(train && test);
  const std::filesystem::path path = ptqflow::testing::SharedDir() / "models" / file;
  ModelReadOptions ro;
  ro.input_shapes["input"] = graph::PartialShape({1, 1, size, size});
  auto model = ReadModel(path, ro);
  ASSERT_TRUE(model.ok()) << model.status().message();

  auto spec = ReadHardwareConfigFile(quant::HardwareConfigDir() / "cpu.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto hw = quant::FlattenHardwareConfig(*spec, "ANY");
  ASSERT_TRUE(hw.ok()) << hw.status().message();
  graph::Graph g = *model;
  quant::PlacementOptions po;
  po.hardware = &*hw;
  po.preset = quant::Preset::kPerformance;
  auto plan = quant::PlaceFakeQuantize(&g, po);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  stages::SerialEngineOptions eo;
  eo.selection.subset_size = 300;
  eo.threads = 1;
  stages::SerialEngine engine(train, eo);
  auto report = quant::RunAlgorithms({"DefaultQuantization"}, &g, *plan, &engine,
                                     quant::DefaultQuantizationOptions{});
  ASSERT_TRUE(report.ok()) << report.status().message();

  const std::filesystem::path dir = ptqflow::testing::TempDir();
  QdqWriterOptions wo;
  wo.import_options.input_shapes = ro.input_shapes;
  const std::filesystem::path qdq = dir / "model_qdq.onnx";
  auto summary = WriteQdqOnnx(path, g, *plan, qdq, wo);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  for (const auto& n : summary->notes) std::printf("note: %s\n", n.c_str());
  // perf/qdq_bench.sh keeps the exported models.
  if (const char* keep = std::getenv("PTQFLOW_QDQ_KEEP_DIR")) {
    std::filesystem::create_directories(keep);
    std::filesystem::copy_file(qdq,
                               std::filesystem::path(keep) / (path.stem().string() + "_qdq.onnx"),
                               std::filesystem::copy_options::overwrite_existing);
  }

  const double simulated = SimulatedTop1(g, *test);
  const double ort_int8 = OrtTop1(qdq, *test, size, dir / "int8");
  const double ort_fp32 = OrtTop1(path, *test, size, dir / "fp32");
  std::printf(
      "%s: ONNX Runtime FP32 top-1 %.2f %%, ptqflow simulated INT8 %.2f %%, ONNX Runtime QDQ "
      "INT8 %.2f %% (|diff| %.2f points); %d Q/DQ pairs (%d per-channel FQs), %d weight DQs, "
      "%d constants written back, %d biases added\n",
      file.c_str(), ort_fp32, simulated, ort_int8, std::abs(ort_int8 - simulated),
      summary->activation_pairs, summary->per_channel, summary->weight_dequantizers,
      summary->constants_written, summary->biases_added);
  EXPECT_LE(std::abs(ort_int8 - simulated), 0.3) << file;
  EXPECT_GT(summary->constants_written + summary->biases_added, 0)
      << "bias correction edited no bias: the write-back was not exercised";
}

TEST(QdqFmnist, CnnOrtAccuracyWithinPointThreeOfSimulatedInt8) {
  CheckModel("fmnist_cnn.onnx", 28, 0);
}

TEST(QdqFmnist, MobileNetV2OrtAccuracyWithinPointThreeOfSimulatedInt8) {
  CheckModel("fmnist_mobilenetv2_w0.5.onnx", 32, 2);
}

}  // namespace
}  // namespace ptqflow::io
