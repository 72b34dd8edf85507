// Built-in evaluation metrics (issue 7: `-e`, and AccuracyAwareQuantization's metric): each
// scores one sample from the model's output, the sample's annotation and, for the
// annotation-free metrics, the FP32 model's output on the same sample; the value over a
// dataset is an aggregate of those per-sample scores.
//
// Metrics (`type`):
//   accuracy              top-1 class == label (output: scores [1, C] or [C]; argmax takes the
//                         first maximum, as numpy)                             higher is better
//   top_k                 label among the k highest scores (ties: lower index first)  higher
//   ctc_exact_match       greedy CTC decoding (argmax per time step, merge repeats, drop the
//                         blank 0; class i >= 1 is dictionary[i-1]) with leading/trailing
//                         Unicode white space (e.g. U+3000, as JavaScript's trim) stripped
//                         == the text label                                       higher
//   character_error_rate  Σ Levenshtein(decoded, label) / Σ len(label), in Unicode code
//                         points                                                  lower
//   binary_accuracy       (score >= threshold) == (label != 0), single-score output  higher
//   top1_agreement        argmax(output) == argmax(FP32 output)                   higher
//   sqnr                  10·log10(Σ‖ref‖² / Σ‖ref − out‖²) over all samples, in dB
//                         (+inf when identical)                                   higher
//   cosine                mean over samples of cos(out, ref)                      higher
// Every per-sample score is a (numerator, denominator) pair; the dataset value is
// Σnum / Σden (sqnr: 10·log10 of it), so a metric over a subset or over merged chunks is exact.
//
// Thread-safety: a Metric is immutable after Create; Score may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::quant {

// What is known about a sample (from the dataset's annotations).
struct SampleTruth {
  std::optional<int64_t> class_label;
  std::optional<std::string> text;
};

struct SampleScore {
  double num = 0.0;
  double den = 0.0;
};

struct MetricSpec {
  std::string name;  // display name; "" = the type
  std::string type;  // see above
  int top_k = 1;     // top_k
  // CTC classes 1..n (class i is dictionary[i-1]); the caller appends " " when the model has a
  // space class (PaddleOCR's use_space_char).
  std::vector<std::string> dictionary;
  float threshold = 0.5f;  // binary_accuracy
  std::string output;      // model output the metric reads; "" = the first output
};

// The metric types above, in that order.
const std::vector<std::string>& MetricTypes();

class Metric {
 public:
  // Errors: unknown type (with the list), top_k < 1, CTC metric without dictionary.
  static Result<std::unique_ptr<Metric>> Create(const MetricSpec& spec);

  const std::string& name() const { return name_; }
  const MetricSpec& spec() const { return spec_; }
  bool higher_is_better() const;
  // True for metrics that compare with the FP32 model instead of annotations.
  bool annotation_free() const;

  // Scores sample `index` (used in messages). `output` is any numeric tensor (converted to
  // f32); `reference` is required for annotation-free metrics and ignored otherwise. Errors
  // name the sample and the metric: a missing label, an output of the wrong shape (batch > 1,
  // class count not matching the dictionary), a reference of another shape.
  Result<SampleScore> Score(const graph::Tensor& output, const SampleTruth& truth,
                            const graph::Tensor* reference, size_t index) const;

  // The value over all scores (NaN when there are none).
  double Aggregate(std::span<const SampleScore> scores) const;
  // One sample's own value (for ranking samples by degradation).
  double SampleValue(const SampleScore& s) const { return Aggregate({&s, 1}); }

 private:
  explicit Metric(MetricSpec spec);
  MetricSpec spec_;
  std::string name_;
};

// Greedy CTC decoding of `probs` [T, C] (row-major): argmax per step, merge repeats, drop
// `blank`; class i >= 1 maps to dictionary[i-1]. Classes past the dictionary are an error.
Result<std::string> CtcGreedyDecode(std::span<const float> probs, int64_t steps, int64_t classes,
                                    const std::vector<std::string>& dictionary, int blank = 0);

// Levenshtein distance between two UTF-8 strings, counted in code points (invalid bytes count
// as one code point each).
size_t Utf8Levenshtein(const std::string& a, const std::string& b);
// Number of code points in a UTF-8 string.
size_t Utf8Length(const std::string& s);

}  // namespace ptqflow::quant
