// AccuracyAwareQuantization end to end through RunQuantization on the Fashion-MNIST CNN of
// ../shared/models: calibrated on the first 300 train images, evaluated on the first 500 test
// images (a small subset to keep the suite fast on a 2-core CI machine under ASan). With 4-bit
// weights (levels -7..7: `bits` alone keeps the hardware config's explicit -127..127) and 4-bit
// activations DefaultQuantization loses several points of top-1; the search must bring the
// drop within maximal_drop by returning layers to FP32. The result is checked
// independently: the written IR is read back and evaluated by stages::Evaluate (not the AAQ
// scorer), and the layers left with integer weights are counted in it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "io/config/run_config.h"
#include "io/data/idx_dataset.h"
#include "io/model/model_io.h"
#include "stages/evaluator.h"
#include "stages/quantize_pipeline.h"
#include "tests/test_util.h"

namespace ptqflow::stages {
namespace {

namespace fs = std::filesystem;
const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";
constexpr size_t kEvalSamples = 500;

std::string Config(const std::string& params, const std::string& activations) {
  const std::string norm = R"("normalize": true, "mean": 0.2860, "std": 0.3530)";
  return R"({"model": {"model": ")" +
         (testing::SharedDir() / "models" / "fmnist_cnn.onnx").string() + R"("},
    "engine": {
      "dataset": {"idx": {"images_file": ")" +
         (kFmnist / "train-images-idx3-ubyte.gz").string() + R"(", )" + norm + R"(}},
      "eval_dataset": {"idx": {"images_file": ")" +
         (kFmnist / "t10k-images-idx3-ubyte.gz").string() + R"(", "labels_file": ")" +
         (kFmnist / "t10k-labels-idx1-ubyte.gz").string() + R"(", )" + norm + R"(}},
      "metrics": [{"name": "accuracy", "type": "accuracy"}]},
    "compression": {"target_device": "ANY", "algorithms": [{
      "name": "AccuracyAwareQuantization",
      "params": {"preset": "performance", "stat_subset_size": 300,
                 "weights": {"bits": 4, "level_low": -7, "level_high": 7},
                 "activations": )" +
         activations + ", " + params + R"(}}]}})";
}

Result<RunReport> RunAaq(const std::string& params, const fs::path& xml, int workers,
                         const std::string& activations = R"({"bits": 4})") {
  PTQ_ASSIGN_OR_RETURN(proto::RunConfig config,
                       io::ParseRunConfig(Config(params, activations), "test"));
  QuantizeOptions o;
  o.output_model = xml;
  o.keep_uncompressed_weights = true;  // FP32 weights + FQ: reverted layers are visible
  o.eval_subset_size = kEvalSamples;
  o.engine.workers = workers;
  return RunQuantization(config, o);
}

// Top-1 of `g` on the first kEvalSamples test images, by the plain evaluator.
double Top1(const graph::Graph& g) {
  io::IdxDatasetOptions d;
  d.images_file = (kFmnist / "t10k-images-idx3-ubyte.gz").string();
  d.labels_file = (kFmnist / "t10k-labels-idx1-ubyte.gz").string();
  d.normalize = true;
  d.mean = 0.2860f;
  d.std = 0.3530f;
  auto ds = io::IdxDataset::Create(d);
  EXPECT_TRUE(ds.ok()) << ds.status().message();
  if (!ds.ok()) return -1;
  quant::MetricSpec spec;
  spec.type = "accuracy";
  auto acc = quant::Metric::Create(spec);
  const quant::Metric* metrics[] = {acc->get()};
  EvaluationOptions eo;
  eo.selection.subset_size = kEvalSamples;
  auto r = Evaluate(g, nullptr, **ds, metrics, eo);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->values[0] : -1;
}

// Names of the Convolutions / MatMuls of `g`, and of those whose weights go through a
// FakeQuantize.
std::pair<std::set<std::string>, std::set<std::string>> WeightOps(const graph::Graph& g) {
  std::set<std::string> all, quantized;
  for (graph::NodeId id : g.LiveNodes()) {
    const graph::Node& node = g.node(id);
    if (node.type != "Convolution" && node.type != "MatMul") continue;
    all.insert(node.name);
    if (g.node(node.input(1).node).type == "FakeQuantize") quantized.insert(node.name);
  }
  return {all, quantized};
}

TEST(AccuracyAwareSharedTest, FourBitCnnMeetsTheBoundByRevertingLayers) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = testing::TempDir();
  auto r = RunAaq(R"("maximal_drop": 0.005)", dir / "w2" / "aaq.xml", 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->accuracy_aware.has_value());
  const AccuracyAwareSummary& s = *r->accuracy_aware;
  std::printf("%s", RunReportSummary(*r).c_str());
  ASSERT_EQ(s.metrics.size(), 1u);
  ASSERT_GE(s.stages.size(), 2u);
  // The premise: DefaultQuantization alone misses the bound.
  EXPECT_GT(s.stages[0].drops[0], 0.005) << "4-bit DefaultQuantization already meets the bound";
  EXPECT_TRUE(s.target_met) << s.message;
  EXPECT_LE(s.drops[0], 0.005);
  EXPECT_GT(s.reverted_ops.size(), 0u);
  EXPECT_LT(s.reverted_ops.size(), s.quantized_ops);
  // 5 convolutions, the global average pool (quantized in cpu.json) and the Gemm.
  EXPECT_EQ(s.quantized_ops, 7u);
  EXPECT_EQ(s.eval_samples, kEvalSamples);
  EXPECT_EQ(s.ranking_samples, 300u);
  EXPECT_GT(s.model_evaluations, 3u);
  EXPECT_GT(s.sample_inferences, 3 * kEvalSamples);

  // Independent check on the written model.
  auto fp32 = io::ReadModel(testing::SharedDir() / "models" / "fmnist_cnn.onnx");
  ASSERT_TRUE(fp32.ok()) << fp32.status().message();
  auto out = io::ReadModel(r->output_model);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double base = Top1(*fp32), got = Top1(*out);
  std::printf("independent check: FP32 %.4f, AAQ model %.4f (drop %.4f)\n", base, got, base - got);
  EXPECT_NEAR(s.metrics[0].baseline, base, 1e-12);
  EXPECT_NEAR(s.values[0], got, 1e-12);
  EXPECT_LE(base - got, 0.005);
  // Exactly the reverted convolutions / MatMul lost their weight FakeQuantize.
  auto [weight_ops, quantized] = WeightOps(*out);
  ASSERT_EQ(weight_ops.size(), 6u);
  for (const std::string& op : weight_ops) {
    const bool reverted =
        std::find(s.reverted_ops.begin(), s.reverted_ops.end(), op) != s.reverted_ops.end();
    EXPECT_EQ(quantized.count(op), reverted ? 0u : 1u) << op;
  }

  // The same search with one worker: the same layers, numbers and bytes.
  auto r1 = RunAaq(R"("maximal_drop": 0.005)", dir / "w1" / "aaq.xml", 1);
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  const AccuracyAwareSummary& s1 = *r1->accuracy_aware;
  EXPECT_EQ(s1.reverted_ops, s.reverted_ops);
  ASSERT_EQ(s1.iterations.size(), s.iterations.size());
  for (size_t i = 0; i < s.iterations.size(); ++i) {
    EXPECT_EQ(s1.iterations[i].block, s.iterations[i].block);
    EXPECT_EQ(s1.iterations[i].values, s.iterations[i].values);
  }
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(r->output_model), bytes(r1->output_model));
  EXPECT_EQ(bytes(fs::path(r->output_model).replace_extension(".bin")),
            bytes(fs::path(r1->output_model).replace_extension(".bin")));

  // The JSON report carries the search.
  const std::string json = RunReportToJson(*r);
  EXPECT_NE(json.find("\"accuracy_aware\""), std::string::npos);
  EXPECT_NE(json.find("\"reverted_ops\""), std::string::npos);
  EXPECT_NE(json.find("\"model_evaluations\""), std::string::npos);
}

TEST(AccuracyAwareSharedTest, MixedPresetAndHyperparameterGridRunAsPot) {
  ASSERT_TRUE(fs::exists(kFmnist)) << "install dataset-fashion-mnist";
  const fs::path dir = testing::TempDir();
  // Symmetric activations set explicitly: POT's mixed preset turns the mode to asymmetric.
  auto r = RunAaq(R"("maximal_drop": 0.005, "convert_to_mixed_preset": true,
                   "tune_hyperparams": true)",
                  dir / "aaq.xml", 2, R"({"bits": 4, "mode": "symmetric"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const AccuracyAwareSummary& s = *r->accuracy_aware;
  std::printf("%s", AccuracyAwareText(s).c_str());
  ASSERT_GE(s.stages.size(), 2u);
  EXPECT_EQ(s.stages[0].name, "DefaultQuantization");
  EXPECT_EQ(s.stages[1].name, "DefaultQuantization, mixed preset");
  if (s.stages[1].drops[0] > 0.005) {
    // Grid: 1 weights guess + 3 x 3 activation estimators + 2 bias correctors, each a full
    // DefaultQuantization, after the default and the mixed-preset ones.
    EXPECT_EQ(s.quantizations, 14u);
  } else {
    EXPECT_EQ(s.quantizations, 2u);
  }
  EXPECT_TRUE(s.target_met) << s.message;
  EXPECT_LE(s.drops[0], 0.005);
  // POT goes on from the mixed-preset model whatever its accuracy: every activation FQ left is
  // asymmetric, the weights stay symmetric.
  ASSERT_FALSE(r->fqs.empty()) << "every layer was reverted: nothing left to check";
  for (const FqSummary& f : r->fqs) {
    EXPECT_EQ(f.mode, f.role == "activations" ? "asymmetric" : "symmetric") << f.name;
  }
}

}  // namespace
}  // namespace ptqflow::stages
