#include "quant/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace ptqflow::quant {
namespace {

SampleAccumulator Acc(const std::vector<float>& per_sample) {
  SampleAccumulator acc(1, false);
  PerSampleValues v{static_cast<int64_t>(per_sample.size()), 1, per_sample};
  EXPECT_TRUE(acc.Add(v).ok());
  return acc;
}

float Agg(const std::vector<float>& values, Aggregator a) {
  auto r = Aggregate(Acc(values), a);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? (*r)[0] : 0.0f;
}

TEST(StatisticsTest, PerSampleAlongAxis0ThenMeanOnA5x10Tensor) {
  // Row r holds r+1 and -(r+2) among zeros: per-row abs-max is r+2 = [2..6].
  std::vector<float> data(50, 0.0f);
  for (int r = 0; r < 5; ++r) {
    data[r * 10 + 3] = static_cast<float>(r + 1);
    data[r * 10 + 7] = -static_cast<float>(r + 2);
  }
  ReductionSpec spec;
  spec.type = StatType::kAbsMax;
  auto v = ReducePerSample(data, {5, 10}, spec);
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->rows, 5);
  ASSERT_EQ(v->cols, 1);
  EXPECT_EQ(v->data, (std::vector<float>{2, 3, 4, 5, 6}));
  SampleAccumulator acc(1, false);
  ASSERT_TRUE(acc.Add(*v).ok());
  auto mean = Aggregate(acc, Aggregator::kMean);
  ASSERT_TRUE(mean.ok());
  EXPECT_FLOAT_EQ((*mean)[0], 4.0f);  // not the global abs-max 6
  spec.type = StatType::kMin;
  auto mn = ReducePerSample(data, {5, 10}, spec);
  EXPECT_EQ(mn->data, (std::vector<float>{-2, -3, -4, -5, -6}));
}

TEST(StatisticsTest, PerChannelReducesAllButAxis0AndChannel) {
  // Shape [2, 3, 2]: sample s, channel c, position p -> value s*100 + c*10 + p.
  std::vector<float> data;
  for (int s = 0; s < 2; ++s)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 2; ++p) data.push_back(static_cast<float>(s * 100 + c * 10 + p));
  ReductionSpec spec;
  spec.type = StatType::kMax;
  spec.per_channel = true;
  spec.channel_axis = 1;
  auto v = ReducePerSample(data, {2, 3, 2}, spec);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->data, (std::vector<float>{1, 11, 21, 101, 111, 121}));
  spec.type = StatType::kMean;
  auto m = ReducePerSample(data, {2, 3, 2}, spec);
  EXPECT_EQ(m->data, (std::vector<float>{0.5, 10.5, 20.5, 100.5, 110.5, 120.5}));
  // Last axis as channel (MatMul): shape [2, 3, 2] with channel axis -1.
  spec.type = StatType::kMin;
  spec.channel_axis = -1;
  auto l = ReducePerSample(data, {2, 3, 2}, spec);
  EXPECT_EQ(l->data, (std::vector<float>{0, 1, 100, 101}));
}

// Reference: the slice of (sample r, channel c) gathered in C order, reduced with the plain
// sequential std:: algorithms (numpy's argmin/argmax order: the first extreme element wins).
float NaiveReduce(const std::vector<float>& d, const std::vector<int64_t>& s, int axis, int64_t r,
                  int64_t c, StatType type) {
  int64_t outer = 1, inner = 1;
  for (int k = 1; k < axis; ++k) outer *= s[k];
  for (size_t k = axis + 1; k < s.size(); ++k) inner *= s[k];
  const int64_t ch = s[axis];
  std::vector<float> v;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t t = 0; t < inner; ++t) v.push_back(d[((r * outer + o) * ch + c) * inner + t]);
  }
  if (type == StatType::kMin) return *std::min_element(v.begin(), v.end());
  if (type == StatType::kMax) return *std::max_element(v.begin(), v.end());
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// min / max / abs_max are reduced in place with vector lanes: bit-identical to the sequential
// definition, including signed zeros (the first zero wins), NaN (only a leading NaN counts) and
// per-channel slices that are not contiguous (channel axis 2 of 4).
TEST(StatisticsTest, InPlaceExtremesEqualSequentialDefinitionBitForBit) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  for (const auto& [shape, axis] : std::vector<std::pair<std::vector<int64_t>, int>>{
           {{3, 5, 37}, 1}, {{2, 3, 4, 21}, 2}, {{2, 4, 16, 16}, 1}, {{1, 1, 3}, 1}}) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    for (int variant = 0; variant < 4; ++variant) {
      std::vector<float> d(n);
      for (float& x : d) x = u(rng);
      if (variant >= 1) {  // ReLU-like: many zeros of both signs, min is a zero
        for (size_t i = 0; i < d.size(); ++i) {
          if (d[i] < 0) d[i] = (i % 3 == 0) ? -0.0f : 0.0f;
        }
      }
      if (variant == 2) d[d.size() / 2] = NAN;  // NaN inside: ignored
      if (variant == 3) d[0] = NAN;             // NaN first: the result for its slice
      for (StatType type : {StatType::kMin, StatType::kMax, StatType::kAbsMax}) {
        for (bool per_channel : {false, true}) {
          ReductionSpec spec;
          spec.type = type;
          spec.per_channel = per_channel;
          spec.channel_axis = axis;
          auto got = ReducePerSample(d, shape, spec);
          ASSERT_TRUE(got.ok()) << got.status().message();
          const int64_t channels = per_channel ? shape[axis] : 1;
          std::vector<int64_t> flat = {shape[0], 1, n / shape[0]};
          for (int64_t r = 0; r < shape[0]; ++r) {
            for (int64_t c = 0; c < channels; ++c) {
              const float want = per_channel ? NaiveReduce(d, shape, axis, r, c, type)
                                             : NaiveReduce(d, flat, 1, r, 0, type);
              const float g = got->data[r * channels + c];
              uint32_t gb, wb;
              std::memcpy(&gb, &g, 4);
              std::memcpy(&wb, &want, 4);
              EXPECT_EQ(gb, wb) << "variant " << variant << " type " << StatTypeName(type)
                                << " per_channel " << per_channel << " r " << r << " c " << c
                                << ": " << g << " vs " << want;
            }
          }
        }
      }
    }
  }
}

// Blocks a C-order [N, C, spatial...] tensor into oneDNN's [N][ceil(C/B)][spatial][B] layout
// (B = C: channels last); padding lanes get `pad`, which must never show in a result.
std::vector<float> Block(const std::vector<float>& d, const std::vector<int64_t>& s, int64_t b,
                         float pad) {
  const int64_t n = s[0], c = s[1], blocks = (c + b - 1) / b;
  int64_t sp = 1;
  for (size_t k = 2; k < s.size(); ++k) sp *= s[k];
  std::vector<float> out(n * blocks * b * sp, pad);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < sp; ++t)
        out[((i * blocks + ch / b) * sp + t) * b + ch % b] = d[(i * c + ch) * sp + t];
  return out;
}

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// ReduceExtremes (one pass for min, max and abs_max, also reading blocked layouts in place)
// gives bit for bit what the sequential definition gives — for every kernel width the CPU has,
// plain and blocked, per tensor and per channel — or declines (false) exactly when the answer
// would depend on the order: a NaN, or a zero extreme with zeros of both signs.
TEST(StatisticsTest, OnePassExtremesEqualSequentialDefinitionInEveryLayout) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  struct Case {
    std::vector<int64_t> shape;
    int64_t block;  // 0 plain; else the channel block (== C: channels last)
  };
  const std::vector<Case> cases = {{{2, 16, 5, 7}, 0}, {{2, 16, 5, 7}, 8},  {{1, 20, 3, 3}, 16},
                                   {{1, 20, 3, 3}, 8}, {{3, 96, 4, 4}, 96}, {{1, 13, 9}, 13},
                                   {{1, 5, 37}, 0},    {{2, 3, 1, 1}, 16},  {{1, 7, 33}, 4}};
  const int previous = internal::UseExtremesKernels(2);
  for (int isa = 0; isa <= 2; ++isa) {
    internal::UseExtremesKernels(isa);
    for (const Case& tc : cases) {
      int64_t n = 1;
      for (int64_t d : tc.shape) n *= d;
      for (int variant = 0; variant < 10; ++variant) {
        std::vector<float> d(n);
        for (float& x : d) x = u(rng);
        if (variant == 1) {  // ReLU with -0 only: min is -0 where a channel had negatives
          for (float& x : d) x = x < 0 ? -0.0f : x;
        }
        if (variant == 2) {  // ReLU with +0 only
          for (float& x : d) x = x < 0 ? 0.0f : x;
        }
        if (variant == 3) {  // both zero signs: ambiguous unless a slice has only one sign
          for (size_t i = 0; i < d.size(); ++i) {
            if (d[i] < 0) d[i] = (i % 3 == 0) ? -0.0f : 0.0f;
          }
        }
        if (variant == 4) d[d.size() / 2] = NAN;
        if (variant == 5) {  // all non-positive with zeros: max is a zero
          for (float& x : d) x = x > 0 ? -0.0f : x;
        }
        if (variant == 6) d[d.size() / 3] = -NAN;  // a NaN with the sign bit set
        if (variant == 7) {                        // all negative, no zero
          for (float& x : d) x = -std::fabs(x) - 0.25f;
        }
        if (variant == 8) {  // infinities of both signs, denormals of both signs
          d.front() = -INFINITY;
          d.back() = INFINITY;
          d[d.size() / 2] = 1e-40f;
          d[d.size() / 4] = -1e-40f;
        }
        if (variant == 9) {  // all positive, one -0 (the minimum)
          for (float& x : d) x = std::fabs(x) + 0.25f;
          d[d.size() / 2] = -0.0f;
        }
        const std::vector<float> data = tc.block ? Block(d, tc.shape, tc.block, 1e30f) : d;
        for (bool per_channel : {false, true}) {
          Extremes tensor, channel;
          const bool ok = ReduceExtremes(data.data(), tc.shape, tc.block, &tensor,
                                         per_channel ? &channel : nullptr);
          const int64_t rows = tc.shape[0], channels = tc.shape[1];
          std::vector<int64_t> flat = {rows, 1, n / rows};
          // Must it decline? A NaN anywhere, or a slice whose min or max is a zero while
          // it holds zeros of both signs.
          bool ambiguous = variant == 4 || variant == 6;
          auto slice_ambiguous = [&](const std::vector<int64_t>& shape, int64_t r, int64_t c) {
            bool pos = false, neg = false;
            int64_t sp = 1;
            for (size_t k = 2; k < shape.size(); ++k) sp *= shape[k];
            for (int64_t t = 0; t < sp; ++t) {
              const float x = d[(r * shape[1] + c) * sp + t];
              pos = pos || Bits(x) == 0u;
              neg = neg || Bits(x) == 0x80000000u;
            }
            const float mn = NaiveReduce(d, shape, 1, r, c, StatType::kMin);
            const float mx = NaiveReduce(d, shape, 1, r, c, StatType::kMax);
            return pos && neg && (mn == 0.0f || mx == 0.0f);
          };
          for (int64_t r = 0; r < rows && !ambiguous; ++r) {
            ambiguous = slice_ambiguous(flat, r, 0);
            for (int64_t c = 0; per_channel && c < channels && !ambiguous; ++c) {
              ambiguous = slice_ambiguous(tc.shape, r, c);
            }
          }
          auto check = [&](const Extremes& e, bool by_channel) {
            const int64_t cols = by_channel ? channels : 1;
            for (int64_t r = 0; r < rows; ++r) {
              for (int64_t c = 0; c < cols; ++c) {
                for (StatType type : {StatType::kMin, StatType::kMax, StatType::kAbsMax}) {
                  const float want = by_channel ? NaiveReduce(d, tc.shape, 1, r, c, type)
                                                : NaiveReduce(d, flat, 1, r, 0, type);
                  const float got = type == StatType::kMin   ? e.min.data[r * cols + c]
                                    : type == StatType::kMax ? e.max.data[r * cols + c]
                                                             : AbsMaxOf(e).data[r * cols + c];
                  EXPECT_EQ(Bits(got), Bits(want))
                      << "isa " << isa << " block " << tc.block << " variant " << variant
                      << " per_channel " << by_channel << " " << StatTypeName(type) << " r " << r
                      << " c " << c << ": " << got << " vs " << want;
                }
              }
            }
          };
          ASSERT_EQ(ok, !ambiguous)
              << "isa " << isa << " block " << tc.block << " variant " << variant;
          if (!ok) continue;
          check(tensor, false);
          if (per_channel) check(channel, true);
        }
      }
    }
  }
  internal::UseExtremesKernels(previous);
}

TEST(StatisticsTest, OnePassExtremesDeclineExactlyWhenBothZeroSignsMeetAtTheExtreme) {
  // Per tensor [1, 4]: min 0 with +0 first then -0: the sequential answer is +0, which only
  // order can tell; with one sign only, that sign.
  std::vector<float> mixed = {1.0f, 0.0f, 2.0f, -0.0f};
  Extremes e;
  EXPECT_FALSE(ReduceExtremes(mixed.data(), {1, 4}, 0, &e, nullptr));
  std::vector<float> neg = {1.0f, -0.0f, 2.0f, -0.0f};
  ASSERT_TRUE(ReduceExtremes(neg.data(), {1, 4}, 0, &e, nullptr));
  EXPECT_EQ(Bits(e.min.data[0]), Bits(-0.0f));
  EXPECT_EQ(e.max.data[0], 2.0f);
  EXPECT_EQ(Bits(AbsMaxOf(e).data[0]), Bits(2.0f));
  // Zeros of both signs away from the extremes do not matter.
  std::vector<float> away = {-1.0f, 0.0f, 2.0f, -0.0f};
  ASSERT_TRUE(ReduceExtremes(away.data(), {1, 4}, 0, &e, nullptr));
  EXPECT_EQ(e.min.data[0], -1.0f);
  EXPECT_EQ(e.max.data[0], 2.0f);
  // Empty tensors are declined (ReducePerSample reports them).
  EXPECT_FALSE(ReduceExtremes(away.data(), {1, 0}, 0, &e, nullptr));
}

TEST(StatisticsTest, RejectsBadInput) {
  std::vector<float> data(6, 1.0f);
  ReductionSpec spec;
  EXPECT_FALSE(ReducePerSample(data, {2, 4}, spec).ok());  // size mismatch
  spec.per_channel = true;
  spec.channel_axis = 0;
  EXPECT_FALSE(ReducePerSample(data, {2, 3}, spec).ok());
  spec.channel_axis = 5;
  EXPECT_FALSE(ReducePerSample(data, {2, 3}, spec).ok());
  ReductionSpec q;
  q.type = StatType::kQuantile;
  q.quantile = 1.5;
  EXPECT_FALSE(ReducePerSample(data, {2, 3}, q).ok());
}

TEST(StatisticsTest, QuantileMatchesNumpyLinear) {
  // np.quantile([1,2,3,4], q): virtual index q*3.
  EXPECT_DOUBLE_EQ(QuantileLinear({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_NEAR(QuantileLinear({4, 1, 3, 2}, 0.1), 1.3, 1e-12);
  EXPECT_NEAR(QuantileLinear({4, 1, 3, 2}, 0.9), 3.7, 1e-12);
  EXPECT_DOUBLE_EQ(QuantileLinear({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(QuantileLinear({4, 1, 3, 2}, 1.0), 4.0);
  // abs_quantile per sample over |x|.
  std::vector<float> data = {-4, 1, -3, 2};
  ReductionSpec spec;
  spec.type = StatType::kAbsQuantile;
  spec.quantile = 0.5;
  auto v = ReducePerSample(data, {1, 4}, spec);
  EXPECT_FLOAT_EQ(v->data[0], 2.5f);
}

TEST(StatisticsTest, Aggregators) {
  EXPECT_FLOAT_EQ(Agg({4, 1, 3, 2}, Aggregator::kMedian), 2.5f);
  EXPECT_FLOAT_EQ(Agg({5, 1, 3}, Aggregator::kMedian), 3.0f);
  EXPECT_FLOAT_EQ(Agg({5, 1, 3}, Aggregator::kMax), 5.0f);
  EXPECT_FLOAT_EQ(Agg({5, 1, 3}, Aggregator::kMin), 1.0f);
  EXPECT_FLOAT_EQ(Agg({5, 1, 3}, Aggregator::kMean), 3.0f);
  // Hodges-Lehmann: Walsh sums over i > j of {1,2,3,10}: 3,4,5,11,12,13; median 8; half = 4.
  EXPECT_FLOAT_EQ(Agg({1, 2, 3, 10}, Aggregator::kHlEstimator), 4.0f);
}

TEST(StatisticsTest, NoOutlierAggregatorsDropOuterPercentiles) {
  // 0..99 plus 1000: the 1% / 99% quantiles are 1 and 99 (virtual indices 1 and 99).
  std::vector<float> v;
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<float>(i));
  v.push_back(1000.0f);
  EXPECT_FLOAT_EQ(Agg(v, Aggregator::kMeanNoOutliers), 50.0f);    // mean of 1..99
  EXPECT_FLOAT_EQ(Agg(v, Aggregator::kMedianNoOutliers), 50.0f);  // median of 1..99
  EXPECT_NEAR(Agg(v, Aggregator::kMean), (4950.0f + 1000.0f) / 101.0f, 1e-4);
}

TEST(StatisticsTest, MeanIsMeanOfPerBatchMeans) {
  SampleAccumulator acc(1, false);
  ASSERT_TRUE(acc.Add({1, 1, {10}}).ok());
  ASSERT_TRUE(acc.Add({3, 1, {0, 0, 0}}).ok());
  auto m = Aggregate(acc, Aggregator::kMean);
  EXPECT_FLOAT_EQ((*m)[0], 5.0f);  // (10 + 0) / 2, not 10 / 4
}

TEST(StatisticsTest, MergeInSampleOrderEqualsOnePass) {
  SampleAccumulator whole(2, true), first(2, true), second(2, true);
  std::vector<PerSampleValues> batches = {{1, 2, {1, 5}}, {1, 2, {2, 7}}, {1, 2, {9, 3}}};
  for (const auto& b : batches) ASSERT_TRUE(whole.Add(b).ok());
  ASSERT_TRUE(first.Add(batches[0]).ok());
  ASSERT_TRUE(second.Add(batches[1]).ok());
  ASSERT_TRUE(second.Add(batches[2]).ok());
  ASSERT_TRUE(first.Merge(second).ok());
  EXPECT_EQ(first.values(), whole.values());
  EXPECT_EQ(first.batch_sizes(), whole.batch_sizes());
  auto med = Aggregate(first, Aggregator::kMedian);
  EXPECT_EQ(*med, (std::vector<float>{2, 5}));
  auto restored = SampleAccumulator::FromState(2, true, whole.values(), whole.batch_sizes());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->values(), whole.values());
  EXPECT_FALSE(SampleAccumulator::FromState(2, true, {1, 2, 3}, {2}).ok());
  SampleAccumulator other(3, true);
  EXPECT_FALSE(first.Merge(other).ok());
}

TEST(StatisticsTest, BatchSizesKeepTheirOrderThroughMergeAndSavedState) {
  // Runs of equal sizes are stored compactly; what comes back is every batch in order.
  SampleAccumulator a(1, false), b(1, false);
  ASSERT_TRUE(a.Add({2, 1, {1, 2}}).ok());
  ASSERT_TRUE(a.Add({2, 1, {3, 4}}).ok());
  ASSERT_TRUE(a.Add({1, 1, {5}}).ok());
  ASSERT_TRUE(b.Add({1, 1, {6}}).ok());
  ASSERT_TRUE(b.Add({3, 1, {7, 8, 9}}).ok());
  ASSERT_TRUE(a.Merge(b).ok());
  const std::vector<int64_t> sizes = {2, 2, 1, 1, 3};
  EXPECT_EQ(a.batch_sizes(), sizes);
  EXPECT_EQ(a.num_batches(), 5);
  EXPECT_EQ(a.num_samples(), 9);
  auto restored = SampleAccumulator::FromState(1, false, a.values(), sizes);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->batch_sizes(), sizes);
  // The mean is a mean of per-batch means: (1.5 + 3.5 + 5 + 6 + 8) / 5.
  EXPECT_FLOAT_EQ((*Aggregate(*restored, Aggregator::kMean))[0], 24.0f / 5.0f);
}

TEST(StatisticsTest, AddStridedEqualsOneAddPerBatch) {
  // Three samples of 5 values each, back to back (as StatsAccumulator buffers them).
  const std::vector<float> buf = {0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24};
  struct Layout {
    size_t offset;
    int64_t rows, cols;
  };
  for (const Layout& l : {Layout{1, 1, 3}, Layout{4, 1, 1}, Layout{0, 2, 2}}) {
    SCOPED_TRACE(l.offset);
    SampleAccumulator one_by_one(l.cols, true), strided(l.cols, true);
    const size_t n = static_cast<size_t>(l.rows * l.cols);
    for (size_t k = 0; k < 3; ++k) {
      ASSERT_TRUE(one_by_one.Add(l.rows, l.cols, {buf.data() + k * 5 + l.offset, n}).ok());
    }
    ASSERT_TRUE(strided.AddStrided(l.rows, l.cols, buf.data() + l.offset, 5, 2).ok());
    ASSERT_TRUE(strided.AddStrided(l.rows, l.cols, buf.data() + 10 + l.offset, 5, 1).ok());
    ASSERT_TRUE(strided.AddStrided(l.rows, l.cols, buf.data(), 5, 0).ok());  // adds nothing
    EXPECT_EQ(strided.values(), one_by_one.values());
    EXPECT_EQ(strided.batch_sizes(), one_by_one.batch_sizes());
  }
  // Checked as Add checks: the channel count and a non-empty layout.
  SampleAccumulator acc(3, true);
  EXPECT_FALSE(acc.AddStrided(1, 2, buf.data(), 5, 3).ok());
  EXPECT_FALSE(acc.AddStrided(0, 3, buf.data(), 5, 3).ok());
  EXPECT_EQ(acc.num_samples(), 0);
}

TEST(StatisticsTest, EmptyAccumulatorIsAnError) {
  SampleAccumulator acc(1, false);
  EXPECT_FALSE(Aggregate(acc, Aggregator::kMean).ok());
}

TEST(StatisticsTest, WeightStatsPerOutputChannel) {
  // [2, 3] weights: rows are output channels.
  std::vector<float> w = {1, -4, 2, 0.5, 0.25, -0.75};
  auto am = WeightStatsPerOutputChannel(w, {2, 3}, StatType::kAbsMax);
  ASSERT_TRUE(am.ok());
  EXPECT_EQ(*am, (std::vector<float>{4, 0.75}));
  // Transposed ([in=2, out=3]): channels are columns.
  auto t = WeightStatsPerOutputChannel(w, {2, 3}, StatType::kMax, true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<float>{1, 0.25, 2}));
  auto pt = WeightStatPerTensor(w, StatType::kMin);
  EXPECT_FLOAT_EQ(*pt, -4.0f);
}

TEST(StatisticsTest, BatchMeanKeepsInnerShape) {
  std::vector<float> x = {1, 2, 3, 5, 6, 7};
  auto m = BatchMean(x, {2, 3});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<float>{3, 4, 5}));
}

TEST(StatisticsTest, HistogramBinsLikeNumpy) {
  Histogram h(0.0f, 4.0f, 4);
  std::vector<float> v = {0.0f, 0.5f, 1.0f, 3.99f, 4.0f, -1.0f, 5.0f};
  h.Add(v);
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{2, 1, 0, 2}));  // 4.0 falls in the last bin
  EXPECT_EQ(h.underflow(), 1);
  EXPECT_EQ(h.overflow(), 1);
  Histogram g(0.0f, 4.0f, 4);
  std::vector<float> w = {2.5f};
  g.Add(w);
  ASSERT_TRUE(h.Merge(g).ok());
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{2, 1, 1, 2}));
  Histogram other(0.0f, 2.0f, 4);
  EXPECT_FALSE(h.Merge(other).ok());
}

TEST(StatisticsTest, ParsesNames) {
  EXPECT_EQ(*ParseAggregator("mean_no_outliers"), Aggregator::kMeanNoOutliers);
  EXPECT_EQ(*ParseAggregator("hl_estimator"), Aggregator::kHlEstimator);
  EXPECT_FALSE(ParseAggregator("average").ok());
  EXPECT_EQ(*ParseStatType("abs_quantile"), StatType::kAbsQuantile);
  EXPECT_FALSE(ParseStatType("absmax").ok());
}

}  // namespace
}  // namespace ptqflow::quant
