#include "quant/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <glog/logging.h>

namespace ptqflow::quant {

namespace {

float ReduceValues(std::vector<float>* vals, const ReductionSpec& spec) {
  std::vector<float>& v = *vals;
  switch (spec.type) {
    case StatType::kMin:
      return *std::min_element(v.begin(), v.end());
    case StatType::kMax:
      return *std::max_element(v.begin(), v.end());
    case StatType::kAbsMax: {
      float m = 0;
      for (float x : v) m = std::max(m, std::fabs(x));
      return m;
    }
    case StatType::kMean:
      return NumpyPairwiseSumF32(v) / static_cast<float>(v.size());
    case StatType::kQuantile:
    case StatType::kAbsQuantile: {
      std::vector<double> d(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        d[i] = spec.type == StatType::kAbsQuantile ? std::fabs(v[i]) : v[i];
      }
      return static_cast<float>(QuantileLinear(std::move(d), spec.quantile));
    }
  }
  return 0;
}

// The fast paths below return exactly what ReduceValues returns on the gathered values (runs
// in order): std::min_element / max_element keep the first element that no later one beats
// strictly, so NaN counts only in first place, and of -0 and +0 the first one seen wins. Lanes
// of independent accumulators let the compiler vectorize; ties at zero are then resolved by
// finding the first zero in order.
constexpr int kLanes = 16;

// lane = pick(x, lane) for 16 lanes: min: x < lane ? x : lane (MINPS), max: x > lane ? x : lane
// (MAXPS), abs_max: |x| > lane ? |x| : lane — NaN x never replaces a lane, as in the sequential
// definitions.
enum class Pick { kMin, kMax, kAbsMax };

template <Pick kPick>
inline float PickOne(float x, float lane) {
  if (kPick == Pick::kAbsMax) x = std::fabs(x);
  if (kPick == Pick::kMin) return x < lane ? x : lane;
  return x > lane ? x : lane;
}

template <Pick kPick>
void PickRun(const float* p, int64_t n, float* lane) {
  int64_t t = 0;
#if defined(__SSE2__)
  __m128 acc[kLanes / 4];
  for (int j = 0; j < kLanes / 4; ++j) acc[j] = _mm_loadu_ps(lane + 4 * j);
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  for (; t + kLanes <= n; t += kLanes) {
    for (int j = 0; j < kLanes / 4; ++j) {
      __m128 x = _mm_loadu_ps(p + t + 4 * j);
      if (kPick == Pick::kAbsMax) x = _mm_and_ps(x, abs_mask);
      acc[j] = kPick == Pick::kMin ? _mm_min_ps(x, acc[j]) : _mm_max_ps(x, acc[j]);
    }
  }
  for (int j = 0; j < kLanes / 4; ++j) _mm_storeu_ps(lane + 4 * j, acc[j]);
#endif
  for (; t < n; ++t) lane[0] = PickOne<kPick>(p[t], lane[0]);
}

// min / max: the value std::min_element / max_element returns on the runs concatenated.
template <Pick kPick>
float ExtremeOfRuns(const float* base, int64_t outer, int64_t stride, int64_t inner) {
  const float first = base[0];
  if (std::isnan(first)) return first;
  float lane[kLanes];
  for (float& l : lane) l = first;
  for (int64_t o = 0; o < outer; ++o) PickRun<kPick>(base + o * stride, inner, lane);
  float m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = PickOne<kPick>(lane[j], m);
  if (m == 0.0f) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* p = base + o * stride;
      for (int64_t t = 0; t < inner; ++t) {
        if (p[t] == 0.0f) return p[t];
      }
    }
  }
  return m;
}

float AbsMaxOfRuns(const float* base, int64_t outer, int64_t stride, int64_t inner) {
  float lane[kLanes] = {};
  for (int64_t o = 0; o < outer; ++o) PickRun<Pick::kAbsMax>(base + o * stride, inner, lane);
  float m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = PickOne<Pick::kMax>(lane[j], m);
  return m;
}

// Median of float32 values as numpy computes it (mean of the two middle values in float32).
float MedianF32(std::vector<float> v) {
  CHECK(!v.empty());
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return (v[n / 2 - 1] + v[n / 2]) / 2.0f;
}

}  // namespace

const char* StatTypeName(StatType t) {
  switch (t) {
    case StatType::kMin:
      return "min";
    case StatType::kMax:
      return "max";
    case StatType::kAbsMax:
      return "abs_max";
    case StatType::kMean:
      return "mean";
    case StatType::kQuantile:
      return "quantile";
    case StatType::kAbsQuantile:
      return "abs_quantile";
  }
  return "?";
}

Result<StatType> ParseStatType(const std::string& s) {
  for (StatType t : {StatType::kMin, StatType::kMax, StatType::kAbsMax, StatType::kMean,
                     StatType::kQuantile, StatType::kAbsQuantile}) {
    if (s == StatTypeName(t)) return t;
  }
  return Status::Error("unknown statistic type \"" + s +
                       "\" (expected min, max, abs_max, mean, quantile or abs_quantile)");
}

float NumpyPairwiseSumF32(std::span<const float> a) {
  const size_t n = a.size();
  if (n < 8) {
    float res = 0.0f;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return NumpyPairwiseSumF32(a.subspan(0, n2)) + NumpyPairwiseSumF32(a.subspan(n2));
}

double QuantileLinear(std::vector<double> v, double q) {
  CHECK(!v.empty());
  std::sort(v.begin(), v.end());
  const double virtual_index = q * static_cast<double>(v.size() - 1);
  double prev = std::floor(virtual_index);
  prev = std::clamp(prev, 0.0, static_cast<double>(v.size() - 1));
  const size_t lo = static_cast<size_t>(prev);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = virtual_index - prev;
  const double a = v[lo], b = v[hi];
  const double diff = b - a;
  if (t >= 0.5) return b - diff * (1.0 - t);
  return a + diff * t;
}

Result<PerSampleValues> ReducePerSample(std::span<const float> data, const graph::Shape& shape,
                                        const ReductionSpec& spec) {
  graph::Shape s = shape.empty() ? graph::Shape{1} : shape;
  const int64_t count = graph::ElementCount(s);
  if (count != static_cast<int64_t>(data.size())) {
    return Status::Error("statistics: tensor of shape " + graph::ShapeToString(shape) + " has " +
                         std::to_string(data.size()) + " values, expected " +
                         std::to_string(count));
  }
  if ((spec.type == StatType::kQuantile || spec.type == StatType::kAbsQuantile) &&
      !(spec.quantile >= 0.0 && spec.quantile <= 1.0)) {
    return Status::Error("statistics: quantile " + std::to_string(spec.quantile) +
                         " is outside [0, 1]");
  }
  const int rank = static_cast<int>(s.size());
  int axis = spec.channel_axis < 0 ? spec.channel_axis + rank : spec.channel_axis;
  if (spec.per_channel && (axis <= 0 || axis >= rank)) {
    return Status::Error("statistics: channel axis " + std::to_string(spec.channel_axis) +
                         " is invalid for a tensor of shape " + graph::ShapeToString(shape) +
                         " (must be an axis other than 0)");
  }
  const int64_t rows = s[0];
  int64_t channels = 1, outer = 1, inner = 1;
  if (spec.per_channel) {
    channels = s[axis];
    for (int d = 1; d < axis; ++d) outer *= s[d];
    for (int d = axis + 1; d < rank; ++d) inner *= s[d];
  } else {
    for (int d = 1; d < rank; ++d) inner *= s[d];
  }
  if (rows == 0 || channels == 0 || outer * inner == 0) {
    return Status::Error("statistics: cannot reduce an empty tensor of shape " +
                         graph::ShapeToString(shape));
  }
  PerSampleValues out;
  out.rows = rows;
  out.cols = channels;
  out.data.resize(rows * channels);
  const bool extreme =
      spec.type == StatType::kMin || spec.type == StatType::kMax || spec.type == StatType::kAbsMax;
  if (extreme || (spec.type == StatType::kMean && outer == 1)) {
    // In place, without gathering the slice: `outer` runs of `inner` contiguous values.
    for (int64_t r = 0; r < rows; ++r) {
      const float* sample = data.data() + r * channels * outer * inner;
      for (int64_t c = 0; c < channels; ++c) {
        const float* base = sample + c * inner;
        const int64_t stride = channels * inner;
        float v = 0;
        switch (spec.type) {
          case StatType::kMin:
            v = ExtremeOfRuns<Pick::kMin>(base, outer, stride, inner);
            break;
          case StatType::kMax:
            v = ExtremeOfRuns<Pick::kMax>(base, outer, stride, inner);
            break;
          case StatType::kAbsMax:
            v = AbsMaxOfRuns(base, outer, stride, inner);
            break;
          default:
            v = NumpyPairwiseSumF32({base, static_cast<size_t>(inner)}) / static_cast<float>(inner);
            break;
        }
        out.data[r * channels + c] = v;
      }
    }
    return out;
  }
  std::vector<float> buf(outer * inner);
  for (int64_t r = 0; r < rows; ++r) {
    const float* sample = data.data() + r * channels * outer * inner;
    for (int64_t c = 0; c < channels; ++c) {
      // Gather this (sample, channel) slice in C order.
      size_t k = 0;
      for (int64_t o = 0; o < outer; ++o) {
        const float* p = sample + (o * channels + c) * inner;
        for (int64_t t = 0; t < inner; ++t) buf[k++] = p[t];
      }
      out.data[r * channels + c] = ReduceValues(&buf, spec);
    }
  }
  return out;
}

Result<std::vector<float>> WeightStatsPerOutputChannel(std::span<const float> data,
                                                       const graph::Shape& shape, StatType type,
                                                       bool transposed, double quantile) {
  if (shape.empty()) {
    return Status::Error("weight statistics: a scalar weight has no output channel axis");
  }
  std::vector<float> swapped;
  graph::Shape s = shape;
  std::span<const float> src = data;
  if (transposed) {
    if (shape.size() < 2) {
      return Status::Error("weight statistics: transposed weights need rank >= 2, got " +
                           graph::ShapeToString(shape));
    }
    if (graph::ElementCount(shape) != static_cast<int64_t>(data.size())) {
      return Status::Error("weight statistics: size mismatch for shape " +
                           graph::ShapeToString(shape));
    }
    const int64_t a0 = shape[0], a1 = shape[1];
    const int64_t rest = graph::ElementCount(shape) / std::max<int64_t>(1, a0 * a1);
    swapped.resize(data.size());
    for (int64_t i = 0; i < a0; ++i)
      for (int64_t j = 0; j < a1; ++j)
        for (int64_t t = 0; t < rest; ++t)
          swapped[(j * a0 + i) * rest + t] = data[(i * a1 + j) * rest + t];
    std::swap(s[0], s[1]);
    src = swapped;
  }
  ReductionSpec spec;
  spec.type = type;
  spec.quantile = quantile;
  PTQ_ASSIGN_OR_RETURN(PerSampleValues v, ReducePerSample(src, s, spec));
  return std::move(v.data);
}

Result<float> WeightStatPerTensor(std::span<const float> data, StatType type, double quantile) {
  ReductionSpec spec;
  spec.type = type;
  spec.quantile = quantile;
  PTQ_ASSIGN_OR_RETURN(
      PerSampleValues v,
      ReducePerSample(data, graph::Shape{1, static_cast<int64_t>(data.size())}, spec));
  return v.data[0];
}

const char* AggregatorName(Aggregator a) {
  switch (a) {
    case Aggregator::kMean:
      return "mean";
    case Aggregator::kMax:
      return "max";
    case Aggregator::kMin:
      return "min";
    case Aggregator::kMedian:
      return "median";
    case Aggregator::kMeanNoOutliers:
      return "mean_no_outliers";
    case Aggregator::kMedianNoOutliers:
      return "median_no_outliers";
    case Aggregator::kHlEstimator:
      return "hl_estimator";
  }
  return "?";
}

Result<Aggregator> ParseAggregator(const std::string& s) {
  for (Aggregator a :
       {Aggregator::kMean, Aggregator::kMax, Aggregator::kMin, Aggregator::kMedian,
        Aggregator::kMeanNoOutliers, Aggregator::kMedianNoOutliers, Aggregator::kHlEstimator}) {
    if (s == AggregatorName(a)) return a;
  }
  return Status::Error("unknown aggregator \"" + s +
                       "\" (expected mean, max, min, median, mean_no_outliers, "
                       "median_no_outliers or hl_estimator)");
}

SampleAccumulator::SampleAccumulator(int64_t channels, bool per_channel)
    : channels_(channels), per_channel_(per_channel) {
  CHECK_GE(channels, 1);
}

int64_t SampleAccumulator::num_samples() const {
  return static_cast<int64_t>(values_.size()) / channels_;
}

Status SampleAccumulator::Add(const PerSampleValues& batch) {
  if (batch.cols != channels_) {
    return Status::Error("statistics: a batch has " + std::to_string(batch.cols) +
                         " channels, the accumulator " + std::to_string(channels_));
  }
  if (batch.rows <= 0 || static_cast<int64_t>(batch.data.size()) != batch.rows * batch.cols) {
    return Status::Error("statistics: malformed or empty batch of per-sample values");
  }
  values_.insert(values_.end(), batch.data.begin(), batch.data.end());
  batch_sizes_.push_back(batch.rows);
  return Status::Ok();
}

Status SampleAccumulator::Merge(const SampleAccumulator& later) {
  if (later.channels_ != channels_ || later.per_channel_ != per_channel_) {
    return Status::Error("statistics: cannot merge accumulators of different layouts (" +
                         std::to_string(channels_) + " vs " + std::to_string(later.channels_) +
                         " channels)");
  }
  values_.insert(values_.end(), later.values_.begin(), later.values_.end());
  batch_sizes_.insert(batch_sizes_.end(), later.batch_sizes_.begin(), later.batch_sizes_.end());
  return Status::Ok();
}

Result<SampleAccumulator> SampleAccumulator::FromState(int64_t channels, bool per_channel,
                                                       std::vector<float> values,
                                                       std::vector<int64_t> batch_sizes) {
  if (channels < 1) return Status::Error("statistics state: channel count must be >= 1");
  int64_t total = 0;
  for (int64_t b : batch_sizes) {
    if (b <= 0) return Status::Error("statistics state: non-positive batch size");
    total += b;
  }
  if (total * channels != static_cast<int64_t>(values.size())) {
    return Status::Error("statistics state: " + std::to_string(values.size()) +
                         " values do not match " + std::to_string(total) + " samples x " +
                         std::to_string(channels) + " channels");
  }
  SampleAccumulator acc(channels, per_channel);
  acc.values_ = std::move(values);
  acc.batch_sizes_ = std::move(batch_sizes);
  return acc;
}

Result<std::vector<float>> Aggregate(const SampleAccumulator& acc, Aggregator aggregator) {
  const int64_t n = acc.num_samples();
  const int64_t ch = acc.channels();
  if (n == 0) {
    return Status::Error(std::string("statistics: no samples to aggregate with '") +
                         AggregatorName(aggregator) + "'");
  }
  const std::vector<float>& v = acc.values();
  auto column = [&](int64_t c) {
    std::vector<float> col(n);
    for (int64_t r = 0; r < n; ++r) col[r] = v[r * ch + c];
    return col;
  };
  std::vector<float> out(ch);
  switch (aggregator) {
    case Aggregator::kMean: {
      // np.mean([np.mean(batch, axis=0) for batch in x], axis=0)
      const auto& sizes = acc.batch_sizes();
      std::vector<float> batch_means(sizes.size() * ch);
      int64_t row = 0;
      for (size_t b = 0; b < sizes.size(); ++b) {
        for (int64_t c = 0; c < ch; ++c) {
          float sum;
          if (acc.per_channel()) {
            sum = 0.0f;
            for (int64_t r = 0; r < sizes[b]; ++r) sum += v[(row + r) * ch + c];
          } else {
            sum = NumpyPairwiseSumF32(std::span<const float>(v.data() + row, sizes[b]));
          }
          batch_means[b * ch + c] = sum / static_cast<float>(sizes[b]);
        }
        row += sizes[b];
      }
      const int64_t nb = static_cast<int64_t>(sizes.size());
      for (int64_t c = 0; c < ch; ++c) {
        float sum;
        if (acc.per_channel()) {
          sum = 0.0f;
          for (int64_t b = 0; b < nb; ++b) sum += batch_means[b * ch + c];
        } else {
          sum = NumpyPairwiseSumF32(batch_means);
        }
        out[c] = sum / static_cast<float>(nb);
      }
      return out;
    }
    case Aggregator::kMax:
    case Aggregator::kMin:
      for (int64_t c = 0; c < ch; ++c) {
        float m = v[c];
        for (int64_t r = 1; r < n; ++r) {
          float x = v[r * ch + c];
          m = aggregator == Aggregator::kMax ? std::max(m, x) : std::min(m, x);
        }
        out[c] = m;
      }
      return out;
    case Aggregator::kMedian:
      for (int64_t c = 0; c < ch; ++c) out[c] = MedianF32(column(c));
      return out;
    case Aggregator::kMeanNoOutliers:
    case Aggregator::kMedianNoOutliers: {
      constexpr double kAlpha = 0.01;
      for (int64_t c = 0; c < ch; ++c) {
        std::vector<float> col = column(c);
        std::vector<double> d(col.begin(), col.end());
        const double low = QuantileLinear(d, kAlpha);
        const double high = QuantileLinear(d, 1.0 - kAlpha);
        std::vector<float> kept;
        for (float x : col) {
          if (static_cast<double>(x) >= low && static_cast<double>(x) <= high) kept.push_back(x);
        }
        if (kept.empty()) kept = col;  // cannot happen for finite data; keeps NaN out
        if (aggregator == Aggregator::kMeanNoOutliers) {
          out[c] = NumpyPairwiseSumF32(kept) / static_cast<float>(kept.size());
        } else {
          out[c] = MedianF32(std::move(kept));
        }
      }
      return out;
    }
    case Aggregator::kHlEstimator:
      for (int64_t c = 0; c < ch; ++c) {
        std::vector<float> col = column(c);
        if (n == 1) {
          out[c] = col[0];
          continue;
        }
        // Walsh sums x_i + x_j for i > j (strictly lower triangle), median, times 0.5.
        std::vector<float> sums;
        sums.reserve(n * (n - 1) / 2);
        for (int64_t i = 1; i < n; ++i)
          for (int64_t j = 0; j < i; ++j) sums.push_back(col[i] + col[j]);
        out[c] = 0.5f * MedianF32(std::move(sums));
      }
      return out;
  }
  return out;
}

Result<std::vector<float>> BatchMean(std::span<const float> data, const graph::Shape& shape) {
  if (shape.empty() || shape[0] <= 0) {
    return Status::Error("batch_mean: need a tensor with a non-empty axis 0, got shape " +
                         graph::ShapeToString(shape));
  }
  if (graph::ElementCount(shape) != static_cast<int64_t>(data.size())) {
    return Status::Error("batch_mean: size mismatch for shape " + graph::ShapeToString(shape));
  }
  const int64_t n = shape[0];
  const int64_t inner = static_cast<int64_t>(data.size()) / n;
  std::vector<float> out(inner, 0.0f);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < inner; ++i) out[i] += data[r * inner + i];
  for (float& x : out) x /= static_cast<float>(n);
  return out;
}

Histogram::Histogram(float lo, float hi, int64_t bins) : lo_(lo), hi_(hi), counts_(bins, 0) {
  CHECK_LT(lo, hi);
  CHECK_GE(bins, 1);
}

void Histogram::Add(std::span<const float> values) {
  const int64_t bins = static_cast<int64_t>(counts_.size());
  const double lo = lo_, hi = hi_;
  const double scale = static_cast<double>(bins) / (hi - lo);
  for (float x : values) {
    if (std::isnan(x)) {
      ++nan_;
      continue;
    }
    if (x < lo_) {
      ++underflow_;
      continue;
    }
    if (x > hi_) {
      ++overflow_;
      continue;
    }
    int64_t b = static_cast<int64_t>((static_cast<double>(x) - lo) * scale);
    b = std::clamp<int64_t>(b, 0, bins - 1);
    ++counts_[b];
  }
}

Status Histogram::Merge(const Histogram& other) {
  if (other.lo_ != lo_ || other.hi_ != hi_ || other.counts_.size() != counts_.size()) {
    return Status::Error("histogram: cannot merge histograms with different ranges or bins");
  }
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  underflow_ += other.underflow_;
  overflow_ += other.overflow_;
  nan_ += other.nan_;
  return Status::Ok();
}

Result<Histogram> Histogram::FromState(float lo, float hi, std::vector<int64_t> counts,
                                       int64_t underflow, int64_t overflow, int64_t nan_count) {
  if (!(lo < hi) || counts.empty()) {
    return Status::Error("histogram state: need lo < hi and at least one bin");
  }
  Histogram h(lo, hi, static_cast<int64_t>(counts.size()));
  h.counts_ = std::move(counts);
  h.underflow_ = underflow;
  h.overflow_ = overflow;
  h.nan_ = nan_count;
  return h;
}

}  // namespace ptqflow::quant
