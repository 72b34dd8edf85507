// SerialEngine (the reference loop) against statistics computed by hand from the closed-form
// dataset in stages_test_util.h.
#include "stages/serial_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/stages/stages_test_util.h"

namespace ptqflow::stages::testing {
namespace {

using quant::StatKind;
using quant::StatRequest;
using quant::StatType;

const float kScale[2] = {1.f, -3.f};

std::vector<StatRequest> TinyRequests(const TinyModel& m) {
  std::vector<StatRequest> r(6);
  r[0].value = {m.relu, 0};
  r[0].reduction.type = StatType::kMin;
  r[1].value = {m.mul, 0};
  r[1].reduction.type = StatType::kAbsMax;
  r[1].reduction.per_channel = true;
  r[2].value = {m.add, 0};
  r[2].kind = StatKind::kBatchMean;
  r[3].value = {m.x, 0};
  r[3].kind = StatKind::kShape;
  r[4].value = {m.mul, 0};
  r[4].kind = StatKind::kHistogram;
  r[4].hist_lo = -3.f;
  r[4].hist_hi = 3.f;
  r[4].hist_bins = 6;
  r[5].value = {m.x, 0};
  r[5].reduction.type = StatType::kMax;
  return r;
}

// The expected results of TinyRequests over `samples` (dataset indices in visiting order),
// computed element by element.
struct Expected {
  std::vector<float> relu_min;            // one per row
  std::vector<float> mul_absmax;          // rows x 2
  std::vector<std::vector<float>> means;  // per sample, 6 values
  std::vector<graph::Shape> shapes;
  std::vector<int64_t> hist = std::vector<int64_t>(6, 0);
  int64_t under = 0, over = 0;
  std::vector<float> x_max;
  std::vector<int64_t> batches;
};

Expected ExpectedFor(const std::vector<size_t>& samples) {
  Expected ex;
  for (size_t s : samples) {
    const int64_t b = TinyDataset::Batch(s);
    ex.batches.push_back(b);
    ex.shapes.push_back({b, 2, 3});
    std::vector<float> sum(6, 0.f);
    for (int64_t r = 0; r < b; ++r) {
      float mn = INFINITY, mx = -INFINITY, am[2] = {0.f, 0.f};
      for (int64_t e = 0; e < 6; ++e) {
        const float v = TinyValue(s, r, e);
        const float relu = v > 0 ? v : 0.f;
        const float mul = relu * kScale[e / 3];
        mn = std::min(mn, relu);
        mx = std::max(mx, v);
        am[e / 3] = std::max(am[e / 3], std::fabs(mul));
        sum[e] += mul + 0.25f;
        if (mul < -3.f) {
          ++ex.under;
        } else if (mul > 3.f) {
          ++ex.over;
        } else {
          ex.hist[std::min<int64_t>(5, static_cast<int64_t>(std::floor(mul + 3.0)))]++;
        }
      }
      ex.relu_min.push_back(mn);
      ex.x_max.push_back(mx);
      ex.mul_absmax.push_back(am[0]);
      ex.mul_absmax.push_back(am[1]);
    }
    for (float& x : sum) x /= static_cast<float>(b);
    ex.means.push_back(sum);
  }
  return ex;
}

void ExpectMatches(const quant::CollectedStats& got, const Expected& ex) {
  ASSERT_EQ(got.results.size(), 6u);
  EXPECT_EQ(got.num_samples, ex.shapes.size());
  ASSERT_TRUE(got.results[0].samples.has_value());
  EXPECT_EQ(got.results[0].samples->values(), ex.relu_min);
  EXPECT_EQ(got.results[0].samples->batch_sizes(), ex.batches);
  ASSERT_TRUE(got.results[1].samples.has_value());
  EXPECT_EQ(got.results[1].samples->channels(), 2);
  EXPECT_EQ(got.results[1].samples->values(), ex.mul_absmax);
  ASSERT_EQ(got.results[2].batch_means.size(), ex.means.size());
  for (size_t i = 0; i < ex.means.size(); ++i) {
    const graph::Tensor& t = got.results[2].batch_means[i];
    EXPECT_EQ(t.shape(), (graph::Shape{1, 2, 3}));
    EXPECT_EQ(std::vector<float>(t.span<float>().begin(), t.span<float>().end()), ex.means[i])
        << "sample position " << i;
  }
  EXPECT_EQ(got.results[3].shapes, ex.shapes);
  ASSERT_TRUE(got.results[4].histogram.has_value());
  EXPECT_EQ(got.results[4].histogram->counts(), ex.hist);
  EXPECT_EQ(got.results[4].histogram->underflow(), ex.under);
  EXPECT_EQ(got.results[4].histogram->overflow(), ex.over);
  ASSERT_TRUE(got.results[5].samples.has_value());
  EXPECT_EQ(got.results[5].samples->values(), ex.x_max);
}

TEST(SerialEngineTest, StatisticsMatchAPlainLoop) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(12);
  SerialEngine engine(data, {});
  EXPECT_EQ(engine.num_samples(), 12u);
  auto req = TinyRequests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  std::vector<size_t> all(12);
  for (size_t i = 0; i < 12; ++i) all[i] = i;
  ExpectMatches(*got, ExpectedFor(all));
  // Some histogram values fall outside [-3, 3] and the scale -3 makes them, so the check above
  // saw every kind of bin.
  EXPECT_GT(got->results[4].histogram->underflow(), 0);
}

// A model input's statistics come from the sample's tensor (the run does not compute it); with
// only min / max / abs_max on it they take the one-pass path, per tensor and per channel, and
// must still equal a plain loop per batch row.
TEST(SerialEngineTest, ModelInputExtremesMatchAPlainLoop) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(11);
  std::vector<StatRequest> req(3);
  for (StatRequest& r : req) r.value = {m.x, 0};
  req[0].reduction.type = StatType::kMin;
  req[1].reduction.type = StatType::kAbsMax;
  req[2].reduction.type = StatType::kMax;
  req[2].reduction.per_channel = true;
  SerialEngine engine(data, {});
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  std::vector<float> mins, absmaxes, channel_maxes;
  for (size_t s = 0; s < 11; ++s) {
    for (int64_t r = 0; r < TinyDataset::Batch(s); ++r) {
      float mn = INFINITY, am = 0, cmax[2] = {-INFINITY, -INFINITY};
      for (int64_t e = 0; e < 6; ++e) {
        const float v = TinyValue(s, r, e);
        mn = std::min(mn, v);
        am = std::max(am, std::fabs(v));
        cmax[e / 3] = std::max(cmax[e / 3], v);
      }
      mins.push_back(mn);
      absmaxes.push_back(am);
      channel_maxes.insert(channel_maxes.end(), {cmax[0], cmax[1]});
    }
  }
  ASSERT_TRUE(got->results[0].samples && got->results[1].samples && got->results[2].samples);
  EXPECT_EQ(got->results[0].samples->values(), mins);
  EXPECT_EQ(got->results[1].samples->values(), absmaxes);
  EXPECT_EQ(got->results[2].samples->values(), channel_maxes);
}

TEST(SerialEngineTest, ShuffledSubsetIsVisitedInSelectionOrder) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(20);
  SerialEngineOptions o;
  o.selection.subset_size = 7;
  o.selection.shuffle = true;
  o.selection.seed = 3;
  SerialEngine engine(data, o);
  ASSERT_EQ(engine.num_samples(), 7u);
  const std::vector<size_t> order = io::SelectSamples(20, o.selection);
  ASSERT_EQ(engine.selection(), order);
  auto req = TinyRequests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ExpectMatches(*got, ExpectedFor(order));
}

TEST(SerialEngineTest, MaxSamplesUsesTheFirstSelectedSamples) {
  TinyModel m = MakeTinyModel();
  SerialEngine engine(std::make_shared<TinyDataset>(12), {});
  auto req = TinyRequests(m);
  quant::CollectOptions co;
  co.max_samples = 4;
  auto got = engine.Collect(m.g, req, co);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ExpectMatches(*got, ExpectedFor({0, 1, 2, 3}));
}

TEST(SerialEngineTest, BadSampleFailsThePassNamingIt) {
  TinyModel m = MakeTinyModel();
  SerialEngine engine(std::make_shared<TinyDataset>(12, std::set<size_t>{7}), {});
  auto req = TinyRequests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("sample 7"), std::string::npos) << got.status().message();
}

TEST(SerialEngineTest, SkippedBadSamplesAreCountedAndLeftOut) {
  TinyModel m = MakeTinyModel();
  SerialEngineOptions o;
  o.skip_bad_samples = true;
  SerialEngine engine(std::make_shared<TinyDataset>(12, std::set<size_t>{3, 10}), o);
  auto req = TinyRequests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(engine.bad_samples().count(), 2u);
  ExpectMatches(*got, ExpectedFor({0, 1, 2, 4, 5, 6, 7, 8, 9, 11}));
}

TEST(SerialEngineTest, ValueNoOutputNeedsIsStillComputed) {
  TinyModel m = MakeTinyModel();
  graph::NodeId neg = m.g.AddOp("Negative", "dangling_neg", {{m.x, 0}});
  SerialEngine engine(std::make_shared<TinyDataset>(3), {});
  std::vector<StatRequest> req(1);
  req[0].value = {neg, 0};
  req[0].reduction.type = StatType::kMax;
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  std::vector<float> want;
  for (size_t s = 0; s < 3; ++s) {
    for (int64_t r = 0; r < TinyDataset::Batch(s); ++r) {
      float mx = -INFINITY;
      for (int64_t e = 0; e < 6; ++e) mx = std::max(mx, -TinyValue(s, r, e));
      want.push_back(mx);
    }
  }
  EXPECT_EQ(got->results[0].samples->values(), want);
}

TEST(SerialEngineTest, RequestOnAMissingNodeIsAnError) {
  TinyModel m = MakeTinyModel();
  SerialEngine engine(std::make_shared<TinyDataset>(3), {});
  std::vector<StatRequest> req(1);
  req[0].value = {999, 0};
  auto got = engine.Collect(m.g, req, {});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("node 999"), std::string::npos) << got.status().message();
}

TEST(SerialEngineTest, InferRunsTheGraphOnce) {
  TinyModel m = MakeTinyModel();
  SerialEngine engine(std::make_shared<TinyDataset>(1), {});
  std::vector<float> x = {-1.f, 0.5f, 2.f, 1.f, -2.f, 0.25f};
  auto out =
      engine.Infer(m.g, {{"x", graph::Tensor::FromVector(graph::ElementType::kF32, {1, 2, 3}, x)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->count("out"), 1u);
  const std::vector<float> want = {0.25f, 0.75f, 2.25f, -2.75f, 0.25f, -0.5f};
  const auto got = out->at("out").span<float>();
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), want);
}

}  // namespace
}  // namespace ptqflow::stages::testing
