// Evaluator on a real model and real data: fmnist_cnn (../shared/models) on Debian's
// Fashion-MNIST test set, checked against the FP32 top-1 that ONNX Runtime gives
// (MODELS.md: 8831/10000 on the full set, 892/1000 on the first 1000).
#include "stages/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "io/data/idx_dataset.h"
#include "io/model/model_io.h"
#include "tests/test_util.h"

namespace ptqflow::stages {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const io::Dataset> FmnistTest() {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  io::IdxDatasetOptions o;
  o.images_file = (dir / "t10k-images-idx3-ubyte.gz").string();
  o.labels_file = (dir / "t10k-labels-idx1-ubyte.gz").string();
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  auto ds = io::IdxDataset::Create(o);
  EXPECT_TRUE(ds.ok()) << ds.status().message() << " (install dataset-fashion-mnist)";
  if (!ds.ok()) return nullptr;
  return std::shared_ptr<const io::Dataset>(std::move(*ds));
}

std::unique_ptr<quant::Metric> MakeMetric(const std::string& type) {
  quant::MetricSpec spec;
  spec.type = type;
  auto m = quant::Metric::Create(spec);
  EXPECT_TRUE(m.ok());
  return std::move(*m);
}

TEST(EvaluatorTest, FmnistCnnTop1MatchesOnnxRuntime) {
  auto g = io::ReadModel(testing::SharedDir() / "models" / "fmnist_cnn.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto ds = FmnistTest();
  ASSERT_TRUE(ds);
  auto acc = MakeMetric("accuracy");
  const quant::Metric* metrics[] = {acc.get()};
  EvaluationOptions opts;
  opts.workers = 2;
  auto r = Evaluate(*g, nullptr, *ds, metrics, opts);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->scores[0].size(), 10000u);
  const double correct = r->values[0] * 10000;
  std::printf("fmnist_cnn FP32 top-1: %.2f%% (ONNX Runtime: 88.31%%)\n", r->values[0] * 100);
  // ORT's logits and ours differ by float rounding only; allow two borderline samples to flip.
  EXPECT_NEAR(correct, 8831, 2);
}

TEST(EvaluatorTest, SameScoresForAnyWorkerCountAndAgreementWithItself) {
  auto g = io::ReadModel(testing::SharedDir() / "models" / "fmnist_cnn.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto ds = FmnistTest();
  ASSERT_TRUE(ds);
  auto acc = MakeMetric("accuracy");
  auto agree = MakeMetric("top1_agreement");
  auto sqnr = MakeMetric("sqnr");
  const quant::Metric* metrics[] = {acc.get(), agree.get(), sqnr.get()};
  EvaluationOptions opts;
  opts.selection.subset_size = 300;
  opts.selection.shuffle = true;
  opts.selection.seed = 5;
  std::vector<EvaluationResult> runs;
  for (int workers : {1, 3}) {
    opts.workers = workers;
    auto r = Evaluate(*g, &*g, *ds, metrics, opts);
    ASSERT_TRUE(r.ok()) << r.status().message();
    runs.push_back(std::move(*r));
  }
  for (size_t m = 0; m < 3; ++m) {
    ASSERT_EQ(runs[0].scores[m].size(), 300u);
    for (size_t k = 0; k < 300; ++k) {
      EXPECT_EQ(runs[0].scores[m][k].num, runs[1].scores[m][k].num) << m << " " << k;
      EXPECT_EQ(runs[0].scores[m][k].den, runs[1].scores[m][k].den) << m << " " << k;
    }
  }
  EXPECT_EQ(runs[0].values[1], 1.0);           // a model always agrees with itself
  EXPECT_TRUE(std::isinf(runs[0].values[2]));  // and has no quantization noise
  // Without the reference the annotation-free metrics cannot run.
  EXPECT_FALSE(Evaluate(*g, nullptr, *ds, metrics, opts).ok());
}

// Fails on chosen indices, delegates the rest.
class FailingDataset : public io::Dataset {
 public:
  FailingDataset(std::shared_ptr<const io::Dataset> base, std::set<size_t> bad)
      : base_(std::move(base)), bad_(std::move(bad)) {}
  size_t size() const override { return base_->size(); }
  Result<io::Sample> Get(size_t i) const override {
    if (bad_.count(i)) return Status::Error(io::SampleContext(i, "bad.png") + "cannot decode");
    return base_->Get(i);
  }

 private:
  std::shared_ptr<const io::Dataset> base_;
  std::set<size_t> bad_;
};

TEST(EvaluatorTest, FirstBadSampleIsReportedOrSkipped) {
  auto g = io::ReadModel(testing::SharedDir() / "models" / "fmnist_cnn.onnx");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto base = FmnistTest();
  ASSERT_TRUE(base);
  FailingDataset ds(base, {7, 20, 33});
  auto acc = MakeMetric("accuracy");
  const quant::Metric* metrics[] = {acc.get()};
  EvaluationOptions opts;
  opts.workers = 3;
  opts.selection.subset_size = 50;
  for (int rep = 0; rep < 3; ++rep) {
    auto r = Evaluate(*g, nullptr, ds, metrics, opts);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("sample 7 "), std::string::npos) << r.status().message();
  }
  opts.skip_bad_samples = true;
  auto r = Evaluate(*g, nullptr, ds, metrics, opts);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->skipped, 3u);
  EXPECT_EQ(r->scores[0].size(), 47u);
  EXPECT_EQ(r->positions[7], 8u);  // position 7 was skipped
}

}  // namespace
}  // namespace ptqflow::stages
