// Statistics used by POT's range estimators and bias correction (pot-spec §3.3, §5), as pure
// functions over float32 buffers plus mergeable, serialisable accumulators.
//
// Two stages, as in POT's out-of-graph statistics path:
//  1. ReducePerSample: one value per index of axis 0 of a tensor ("per sample"), and per channel
//     when asked (reducing over every axis except 0 and the channel axis). A [5,10] tensor gives
//     5 per-tensor values (one per row), whatever axis 0 means.
//  2. Aggregate: combine the per-sample values of all calibration samples into one value per
//     channel with POT's aggregators (mean, max, min, median, mean_no_outliers,
//     median_no_outliers, hl_estimator).
//
// Numerics: values are float32 as in POT's numpy statistics. Sums for means follow numpy's
// float32 pairwise summation (8-way unrolled blocks of up to 128, split in halves above that)
// for per-tensor values, and plain sequential float32 sums along axis 0 for per-channel ones,
// which is what numpy does for those memory layouts. Quantiles use numpy's 'linear' method
// (virtual index q*(n-1), lerp a + (b-a)*t, or b - (b-a)*(1-t) when t >= 0.5) in float64 and
// are rounded to float32.
//
// Accumulators keep every per-sample value (one float per sample per channel: small) because
// mean/median/quantile-based aggregators need them all; their state is plain vectors so the
// flow-graph stage can checkpoint them. Merge appends a later chunk, so merging chunks in
// sample order gives bit-identical results to one sequential pass.
//
// Thread-safety: functions are pure; an accumulator is a plain value (no internal locking).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/shape.h"
#include "graph/status.h"

namespace ptqflow::quant {

enum class StatType { kMin, kMax, kAbsMax, kMean, kQuantile, kAbsQuantile };
const char* StatTypeName(StatType t);  // "min", "max", "abs_max", "mean", "quantile", ...
Result<StatType> ParseStatType(const std::string& s);

struct ReductionSpec {
  StatType type = StatType::kMax;
  double quantile = 0.0;  // for kQuantile / kAbsQuantile, in [0, 1]
  bool per_channel = false;
  int channel_axis = 1;  // for per_channel; negative counts from the end; must not be axis 0
};

// Per-sample values: `rows` samples (size of axis 0) x `cols` channels (1 when per tensor),
// row-major.
struct PerSampleValues {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;
  float at(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

// Reduces a C-ordered float32 tensor of `shape` (rank >= 1; a scalar counts as one sample).
// Errors: data size does not match the shape, bad channel axis, quantile outside [0, 1], or an
// empty reduction (a zero-sized dimension).
Result<PerSampleValues> ReducePerSample(std::span<const float> data, const graph::Shape& shape,
                                        const ReductionSpec& spec);

// Min and max per sample in one pass, read in place: from a plain C-order float32 tensor, or
// from oneDNN's channel-blocked layout (`channel_block` B > 0, rank >= 3: memory
// [N][ceil(C/B)][spatial...][B], padding lanes ignored; see exec::TensorView). `tensor` (if not
// null) gets one value per index of axis 0, `channel` (if not null; rank >= 2) one per index of
// axis 0 and channel of axis 1. The values are bit for bit what ReducePerSample gives for kMin
// and kMax (per tensor / per channel along axis 1), and AbsMaxOf gives its kAbsMax. Returns
// false, leaving the outputs unspecified, when the answer could depend on the visiting order
// (a NaN, or an extreme equal to zero where both +0 and -0 occur) or the tensor is empty: the
// caller then uses ReducePerSample on the plain values.
struct Extremes {
  PerSampleValues min, max;
};
bool ReduceExtremes(const float* data, const graph::Shape& shape, int64_t channel_block,
                    Extremes* tensor, Extremes* channel);
// kAbsMax from the exact min and max of ReduceExtremes: max(|min|, |max|) per entry.
PerSampleValues AbsMaxOf(const Extremes& e);
// The same values written to out[0, e.min.data.size()).
void AbsMaxInto(const Extremes& e, float* out);
namespace internal {
// ReduceExtremes uses the widest kernels the CPU has (0: SSE2, 1: AVX2, 2: AVX-512); tests
// select narrower ones with this (clamped to what the CPU has) to compare them. Returns the
// previous choice. Not thread-safe with concurrent reductions.
int UseExtremesKernels(int isa);
}  // namespace internal

// Weight statistics (pot-spec §3.3): reshape to (O, -1) and reduce along axis 1, giving one
// value per output channel. `transposed` (ConvolutionBackpropData) swaps axes 0 and 1 first.
Result<std::vector<float>> WeightStatsPerOutputChannel(std::span<const float> data,
                                                       const graph::Shape& shape, StatType type,
                                                       bool transposed = false,
                                                       double quantile = 0.0);
// Per-tensor weight statistic (reduction over every element).
Result<float> WeightStatPerTensor(std::span<const float> data, StatType type,
                                  double quantile = 0.0);

// numpy.quantile(values, q) with the 'linear' method, in float64. CHECKs non-empty.
double QuantileLinear(std::vector<double> values, double q);
// numpy float32 sum of a contiguous 1-D array (pairwise summation).
float NumpyPairwiseSumF32(std::span<const float> v);

enum class Aggregator {
  kMean,
  kMax,
  kMin,
  kMedian,
  kMeanNoOutliers,
  kMedianNoOutliers,
  kHlEstimator
};
const char* AggregatorName(Aggregator a);  // POT's names, e.g. "mean_no_outliers"
Result<Aggregator> ParseAggregator(const std::string& s);

// Collects per-sample values of one statistic of one tensor in sample order.
class SampleAccumulator {
 public:
  // `per_channel` selects numpy's summation order (see above); channels >= 1.
  SampleAccumulator(int64_t channels, bool per_channel);

  // Appends one batch (rows = batch size). Error if the channel count differs.
  Status Add(const PerSampleValues& batch);
  // The same for a batch given as `rows` x `cols` values, row-major.
  Status Add(int64_t rows, int64_t cols, std::span<const float> values);
  // What Add checks of a batch of `size` values for an accumulator of `channels`: the channel
  // count, and rows x cols values with rows, cols >= 1.
  static Status CheckBatch(int64_t channels, int64_t rows, int64_t cols, size_t size);
  // Appends `count` batches of the same `rows` x `cols` layout, the k-th at
  // first[k * stride, k * stride + rows * cols) (batches of consecutive samples kept in one
  // buffer): the same as `count` calls of Add, checked once. stride >= rows * cols.
  Status AddStrided(int64_t rows, int64_t cols, const float* first, size_t stride, size_t count);
  // Room for `samples` more single-sample batches (no reallocation while they are added).
  void Reserve(size_t samples);
  // Appends everything `later` holds (collected on the samples after ours).
  Status Merge(const SampleAccumulator& later);

  int64_t channels() const { return channels_; }
  bool per_channel() const { return per_channel_; }
  int64_t num_samples() const;
  // num_samples x channels, row-major, in sample order.
  const std::vector<float>& values() const { return values_; }
  // Size of each added batch, in order (POT's mean is a mean of per-batch means).
  std::vector<int64_t> batch_sizes() const;
  int64_t num_batches() const { return num_batches_; }

  // Rebuilds an accumulator from saved state; validates sizes.
  static Result<SampleAccumulator> FromState(int64_t channels, bool per_channel,
                                             std::vector<float> values,
                                             std::vector<int64_t> batch_sizes);

 private:
  int64_t channels_;
  bool per_channel_;
  // Appends `count` batches of `rows` samples each.
  void AppendBatches(int64_t rows, int64_t count);

  std::vector<float> values_;
  // The batch sizes, run-length encoded: a pass adds thousands of single-sample batches, and
  // one int64 each was twice the memory of the values (first touches of fresh pages cost).
  struct Run {
    int64_t rows = 0;   // samples in each batch of the run
    int64_t count = 0;  // batches in the run
  };
  std::vector<Run> runs_;
  int64_t num_batches_ = 0;
};

// POT's aggregation functions over the collected samples, one value per channel.
// Error if the accumulator is empty. hl_estimator with a single sample returns that sample
// (POT would return NaN from the median of an empty set).
Result<std::vector<float>> Aggregate(const SampleAccumulator& acc, Aggregator aggregator);

// Bias correction's batch_mean: the mean over axis 0 of a tensor, keeping that axis (size 1).
// Summation is sequential float32 along axis 0 (numpy's order for that layout).
Result<std::vector<float>> BatchMean(std::span<const float> data, const graph::Shape& shape);

// Fixed-range histogram (deterministic: counts do not depend on the order of Add calls).
// Bin i covers [lo + i*w, lo + (i+1)*w), the last bin also includes hi (numpy.histogram).
// Values outside [lo, hi] and NaNs are counted in underflow/overflow/nan, not in the bins.
class Histogram {
 public:
  Histogram(float lo, float hi, int64_t bins);  // CHECK lo < hi, bins >= 1
  void Add(std::span<const float> values);
  Status Merge(const Histogram& other);  // error unless same range and bin count
  float lo() const { return lo_; }
  float hi() const { return hi_; }
  const std::vector<int64_t>& counts() const { return counts_; }
  int64_t underflow() const { return underflow_; }
  int64_t overflow() const { return overflow_; }
  int64_t nan_count() const { return nan_; }
  static Result<Histogram> FromState(float lo, float hi, std::vector<int64_t> counts,
                                     int64_t underflow, int64_t overflow, int64_t nan_count);

 private:
  float lo_, hi_;
  std::vector<int64_t> counts_;
  int64_t underflow_ = 0, overflow_ = 0, nan_ = 0;
};

}  // namespace ptqflow::quant
