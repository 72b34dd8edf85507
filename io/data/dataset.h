// The data-loader interface (POT's DataLoader in C++): a Dataset has a size and returns sample i
// as named input tensors plus an optional annotation. Built-in loaders live beside this file
// (image_dataset.h, audio_dataset.h, text_dataset.h, tensor_dataset.h, idx_dataset.h); users
// implement Dataset for their own data (see samples/custom_loader.cc).
//
// Also here: sample selection (POT's stat_subset_size + seeded shuffle) and the bad-sample log
// used when bad samples are skipped instead of failing the run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::io {

// What an evaluation needs to score a sample. Either label may be absent.
struct Annotation {
  std::optional<int64_t> class_label;  // e.g. Fashion-MNIST class 0..9
  std::optional<std::string> text;     // e.g. the exact text of an OCR line
  std::string source;                  // the file the sample came from (for reports)
};

// One model invocation's worth of data. `inputs` maps model input names to tensors; a dataset
// with a single input may use the empty name "" meaning "the model's only input".
struct Sample {
  std::map<std::string, graph::Tensor> inputs;
  std::optional<Annotation> annotation;
  std::string source;  // file (and position inside it) the sample came from; "" if none
};

// A read-only, indexable collection of samples.
//
// Thread-safety: implementations MUST make size() and Get() safe to call concurrently from
// several threads on the same object (the calibration pipeline decodes samples in parallel).
// The built-in loaders hold only immutable state after construction.
class Dataset {
 public:
  virtual ~Dataset() = default;
  // Number of samples; constant for the object's lifetime.
  virtual size_t size() const = 0;
  // Sample i (0 <= i < size(); out of range is an error value, not a crash). A failure names the
  // sample index and the file it came from, e.g. "sample 7 (/d/x.png): cannot decode image".
  virtual Result<Sample> Get(size_t i) const = 0;
};

// Which samples of a dataset a pass uses (POT's stat_subset_size and shuffling).
struct SelectionOptions {
  // Number of samples to use; 0 means all. Larger than the dataset means all.
  size_t subset_size = 0;
  // false: the first subset_size samples in dataset order. true: a seeded random permutation
  // of all indices, then its first subset_size entries.
  bool shuffle = false;
  uint64_t seed = 0;
};

// The selected dataset indices, in visiting order. Deterministic on every platform: the
// permutation is a Fisher–Yates shuffle (i = n-1 down to 1, swap(i, j) with j uniform in [0, i])
// driven by std::mt19937_64(seed) (whose output sequence the C++ standard fixes); j is drawn by
// rejection sampling (draws >= the largest multiple of (i+1) that fits in 2^64 are redrawn, then
// j = draw % (i+1)), so no implementation-defined distribution is involved.
std::vector<size_t> SelectSamples(size_t dataset_size, const SelectionOptions& options);

// A view of `base` restricted to `indices` (sample k of the view is base sample indices[k]).
// Shares ownership of base. Thread-safe as the base is. Errors keep the base's message and add
// the view position.
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<size_t> indices);
  size_t size() const override { return indices_.size(); }
  Result<Sample> Get(size_t i) const override;
  const std::vector<size_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<size_t> indices_;
};

// Convenience: SubsetDataset(base, SelectSamples(base->size(), options)).
std::shared_ptr<const Dataset> SelectSubset(std::shared_ptr<const Dataset> base,
                                            const SelectionOptions& options);

// Records samples skipped because they could not be read (option skip_bad_samples).
// Thread-safe: Record() may be called from several threads.
class BadSampleLog {
 public:
  struct Entry {
    size_t index;
    std::string message;
  };
  void Record(size_t index, const Status& status);
  size_t count() const;
  // Entries sorted by sample index (the order samples were skipped in is not deterministic).
  std::vector<Entry> entries() const;
  // "" when nothing was skipped; else "skipped N of M samples:\n  <message>\n..." (at most
  // `max_listed` messages, then "  ... and K more").
  std::string Report(size_t total_samples, size_t max_listed = 20) const;

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

// Reads sample i. When `skip_log` is null a bad sample is an error (returned as is). When it is
// non-null the failure is recorded there and std::nullopt is returned, so the caller goes on.
Result<std::optional<Sample>> GetOrSkip(const Dataset& dataset, size_t i, BadSampleLog* skip_log);

// "sample <i> (<source>): " prefix used by the loaders' error messages.
std::string SampleContext(size_t i, const std::string& source);

}  // namespace ptqflow::io
