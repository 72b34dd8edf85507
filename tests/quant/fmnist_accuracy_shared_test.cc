// Accuracy of POT's DefaultQuantization on the two Fashion-MNIST models in ../shared/models:
// FP32 vs INT8 (FakeQuantize on activations, int8-compressed weights, both run by the
// executor) top-1 on the full 10k test set. Calibration: the first 300 *train* images, preset
// performance, target ANY (cpu.json), DefaultQuantization (ActivationChannelAlignment,
// MinMax with the first-layer saturation fix, FastBiasCorrection). Preprocessing as
// models/MODELS.md: x = (p/255 - 0.2860)/0.3530; the MobileNetV2 input is the image padded by
// 2 raw-zero pixels (32x32). Requirement (issue 6): drop <= 0.5 points.
// Measured (ASan build, 2026-11-23): fmnist_cnn FP32 88.31 %, INT8 87.66 % (drop 0.65: the
// requirement is NOT met). The loss comes from FastBiasCorrection: MinMaxQuantization alone
// gives 88.34 %, DefaultQuantization with use_fast_bias false (BiasCorrection) 88.35 %. FBC
// feeds a constant mean image through the zero-padded 3x3 convolutions, so its "bias shift"
// also absorbs the padding mismatch (the normalised background is -0.81, not 0) and it
// corrects 4 of 6 biases by 0.8-1.9x their magnitude; POT's algorithm does the same.
// fmnist_mobilenetv2_w0.5: FP32 86.53 %, INT8 86.55 % (117 FQs, 2 ACA pairs, 30/53 biases).
// Decision (lead): ptqflow keeps POT's default (FastBiasCorrection) faithfully; for the CNN the
// issue's bound is checked with the performance preset and BiasCorrection (use_fast_bias
// false), the setting a user picks when FBC hurts, and the FBC result is held to a looser
// regression bound of 1 point.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "io/data/idx_dataset.h"
#include "io/hardware_config_reader.h"
#include "io/model/model_io.h"
#include "quant/compress_weights.h"
#include "quant/default_quantization.h"
#include "quant/placement.h"
#include "tests/quant/loop_engine.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

const char* kFmnistDir = "/usr/share/datasets/fashion-mnist";

std::unique_ptr<io::IdxDataset> Fmnist(const std::string& split, int border) {
  io::IdxDatasetOptions o;
  o.images_file = std::string(kFmnistDir) + "/" + split + "-images-idx3-ubyte.gz";
  o.labels_file = std::string(kFmnistDir) + "/" + split + "-labels-idx1-ubyte.gz";
  o.input_name = "input";
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  o.border = border;
  o.border_value = 0.0f;
  auto d = io::IdxDataset::Create(o);
  EXPECT_TRUE(d.ok()) << d.status().message()
                      << " (install Debian's dataset-fashion-mnist package)";
  return d.ok() ? std::move(*d) : nullptr;
}

double Top1(const graph::Graph& g, const io::IdxDataset& test) {
  exec::CompileOptions co;
  co.threads = 1;
  auto plan = exec::CompiledModel::Compile(g, co);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  if (!plan.ok()) return 0;
  exec::Session session(*plan);
  size_t correct = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    auto s = test.Get(i);
    EXPECT_TRUE(s.ok());
    std::map<std::string, graph::Tensor> out;
    Status st = session.Run(s->inputs, &out);
    EXPECT_TRUE(st.ok()) << st.message();
    if (!st.ok()) return 0;
    const graph::Tensor& logits = out.begin()->second;
    const float* p = logits.data<float>();
    int64_t best = 0;
    for (int64_t k = 1; k < logits.size(); ++k) {
      if (p[k] > p[best]) best = k;
    }
    if (best == test.label(i)) ++correct;
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(test.size());
}

void CheckModel(const std::string& file, int size, int border, bool use_fast_bias = true,
                double max_drop = 0.5) {
  auto train = Fmnist("train", border);
  auto test = Fmnist("t10k", border);
  ASSERT_TRUE(train && test);
  io::ModelReadOptions ro;
  ro.input_shapes["input"] = graph::PartialShape({1, 1, size, size});
  auto model = io::ReadModel(ptqflow::testing::SharedDir() / "models" / file, ro);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const double fp32 = Top1(*model, *test);

  std::vector<std::map<std::string, graph::Tensor>> calib;
  for (size_t i = 0; i < 300; ++i) {
    auto s = train->Get(i);
    ASSERT_TRUE(s.ok());
    calib.push_back(s->inputs);
  }
  auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto hw = FlattenHardwareConfig(*spec, "ANY");
  ASSERT_TRUE(hw.ok()) << hw.status().message();
  graph::Graph g = *model;
  PlacementOptions po;
  po.hardware = &*hw;
  po.preset = Preset::kPerformance;
  auto plan = PlaceFakeQuantize(&g, po);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  testing::LoopEngine engine(calib);
  DefaultQuantizationOptions options;
  options.use_fast_bias = use_fast_bias;
  auto report = RunDefaultQuantization(&g, *plan, &engine, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  int applied = 0;
  for (const auto& b : report->biases) applied += b.applied;
  auto compressed = CompressQuantizedWeights(&g);
  ASSERT_TRUE(compressed.ok()) << compressed.status().message();
  const double int8 = Top1(g, *test);
  std::printf(
      "%s (%s): FP32 top-1 %.2f %%, INT8 top-1 %.2f %% (drop %.2f points); %zu FQs, %d weights "
      "compressed, %zu ACA-aligned convs, %d of %zu biases corrected\n",
      file.c_str(), use_fast_bias ? "FastBiasCorrection" : "BiasCorrection", fp32, int8,
      fp32 - int8, plan->fqs.size(), compressed->compressed, report->need_rescale.size(), applied,
      report->biases.size());
  EXPECT_LE(fp32 - int8, max_drop) << file;
}

TEST(FmnistAccuracy, CnnWithBiasCorrectionDropAtMostHalfAPoint) {
  CheckModel("fmnist_cnn.onnx", 28, 0, /*use_fast_bias=*/false);
}

TEST(FmnistAccuracy, CnnWithFastBiasCorrectionDropAtMostOnePoint) {
  CheckModel("fmnist_cnn.onnx", 28, 0, /*use_fast_bias=*/true, /*max_drop=*/1.0);
}

TEST(FmnistAccuracy, MobileNetV2DropAtMostHalfAPoint) {
  CheckModel("fmnist_mobilenetv2_w0.5.onnx", 32, 2);
}

}  // namespace
}  // namespace ptqflow::quant
