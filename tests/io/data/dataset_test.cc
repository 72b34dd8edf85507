#include "io/data/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <thread>

namespace ptqflow::io {
namespace {

// A dataset whose odd samples fail, for the skip tests.
class OddFails : public Dataset {
 public:
  explicit OddFails(size_t n) : n_(n) {}
  size_t size() const override { return n_; }
  Result<Sample> Get(size_t i) const override {
    if (i % 2 == 1) return Status::Error(SampleContext(i, "f" + std::to_string(i)) + ": bad");
    Sample s;
    s.inputs.emplace("", graph::Tensor::Scalar(static_cast<float>(i)));
    return s;
  }

 private:
  size_t n_;
};

TEST(SelectSamplesTest, FirstNWithoutShuffle) {
  SelectionOptions o;
  o.subset_size = 3;
  EXPECT_EQ(SelectSamples(10, o), (std::vector<size_t>{0, 1, 2}));
  o.subset_size = 0;
  EXPECT_EQ(SelectSamples(4, o), (std::vector<size_t>{0, 1, 2, 3}));
  o.subset_size = 100;
  EXPECT_EQ(SelectSamples(2, o), (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(SelectSamples(0, o).empty());
}

// Reference: the algorithm as the header documents it, written out as a plain loop.
std::vector<size_t> ReferenceShuffle(size_t n, uint64_t seed) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n - 1; i >= 1 && n > 1; --i) {
    const unsigned __int128 two64 = static_cast<unsigned __int128>(1) << 64;
    const uint64_t m = i + 1;
    const unsigned __int128 accept = two64 - two64 % m;  // draws below this are unbiased
    uint64_t x;
    do {
      x = rng();
    } while (static_cast<unsigned __int128>(x) >= accept);
    std::swap(v[i], v[x % m]);
  }
  return v;
}

TEST(SelectSamplesTest, ShuffleMatchesDocumentedAlgorithm) {
  SelectionOptions o;
  o.shuffle = true;
  o.seed = 42;
  EXPECT_EQ(SelectSamples(1000, o), ReferenceShuffle(1000, 42));
  o.seed = 7;
  EXPECT_EQ(SelectSamples(13, o), ReferenceShuffle(13, 7));
}

TEST(SelectSamplesTest, ShuffleIsSeededPermutation) {
  SelectionOptions o;
  o.shuffle = true;
  o.seed = 1;
  std::vector<size_t> a = SelectSamples(100, o);
  EXPECT_EQ(a, SelectSamples(100, o));  // deterministic
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> iota(100);
  std::iota(iota.begin(), iota.end(), size_t{0});
  EXPECT_EQ(sorted, iota);  // a permutation
  EXPECT_NE(a, iota);       // actually shuffled
  o.seed = 2;
  EXPECT_NE(a, SelectSamples(100, o));
  // A shuffled subset is the prefix of the full shuffle.
  o.seed = 1;
  o.subset_size = 10;
  EXPECT_EQ(SelectSamples(100, o), std::vector<size_t>(a.begin(), a.begin() + 10));
}

TEST(SubsetDatasetTest, MapsIndices) {
  auto base = std::make_shared<OddFails>(10);
  SubsetDataset s(base, {4, 0, 8});
  ASSERT_EQ(s.size(), 3u);
  auto r = s.Get(0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->inputs.at("").data<float>()[0], 4.0f);
  EXPECT_EQ(s.Get(2)->inputs.at("").data<float>()[0], 8.0f);
  EXPECT_FALSE(s.Get(3).ok());
}

TEST(BadSampleLogTest, SkipsAndReportsFromManyThreads) {
  OddFails d(200);
  BadSampleLog log;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < d.size(); i += 4) {
        auto r = GetOrSkip(d, i, &log);
        ASSERT_TRUE(r.ok());
        if (r->has_value()) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 100);
  EXPECT_EQ(log.count(), 100u);
  auto e = log.entries();
  ASSERT_EQ(e.size(), 100u);
  EXPECT_EQ(e[0].index, 1u);
  EXPECT_EQ(e[99].index, 199u);
  const std::string report = log.Report(200, 2);
  EXPECT_NE(report.find("skipped 100 of 200 samples"), std::string::npos) << report;
  EXPECT_NE(report.find("sample 1 (f1): bad"), std::string::npos) << report;
  EXPECT_NE(report.find("... and 98 more"), std::string::npos) << report;
}

TEST(BadSampleLogTest, WithoutLogTheErrorPropagates) {
  OddFails d(4);
  auto r = GetOrSkip(d, 3, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sample 3 (f3)"), std::string::npos);
  EXPECT_EQ(BadSampleLog().Report(4), "");
}

}  // namespace
}  // namespace ptqflow::io
