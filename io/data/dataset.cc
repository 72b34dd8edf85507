#include "io/data/dataset.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include <glog/logging.h>

namespace ptqflow::io {

namespace {

// Uniform integer in [0, n) by rejection sampling over the full 64-bit output range.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  CHECK_GT(n, 0u);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  // Largest multiple of n that is <= 2^64 (expressed as max - (2^64 mod n) + 1 draws allowed).
  const uint64_t rem = (max % n + 1) % n;  // 2^64 mod n
  const uint64_t limit = max - rem;        // accept draws <= limit
  uint64_t x;
  do {
    x = rng();
  } while (rem != 0 && x > limit);
  return x % n;
}

}  // namespace

std::vector<size_t> SelectSamples(size_t dataset_size, const SelectionOptions& options) {
  std::vector<size_t> idx(dataset_size);
  std::iota(idx.begin(), idx.end(), size_t{0});
  if (options.shuffle && dataset_size > 1) {
    std::mt19937_64 rng(options.seed);
    for (size_t i = dataset_size - 1; i >= 1; --i) {
      const size_t j = static_cast<size_t>(UniformBelow(rng, i + 1));
      std::swap(idx[i], idx[j]);
    }
  }
  if (options.subset_size != 0 && options.subset_size < dataset_size) {
    idx.resize(options.subset_size);
  }
  return idx;
}

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<size_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  CHECK(base_ != nullptr);
}

Result<Sample> SubsetDataset::Get(size_t i) const {
  if (i >= indices_.size()) {
    return Status::Error("sample " + std::to_string(i) + " out of range (subset of " +
                         std::to_string(indices_.size()) + " samples)");
  }
  return base_->Get(indices_[i]);
}

std::shared_ptr<const Dataset> SelectSubset(std::shared_ptr<const Dataset> base,
                                            const SelectionOptions& options) {
  std::vector<size_t> idx = SelectSamples(base->size(), options);
  return std::make_shared<SubsetDataset>(std::move(base), std::move(idx));
}

void BadSampleLog::Record(size_t index, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back({index, status.message()});
}

size_t BadSampleLog::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

std::vector<BadSampleLog::Entry> BadSampleLog::entries() const {
  std::vector<Entry> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = entries_;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Entry& a, const Entry& b) { return a.index < b.index; });
  return out;
}

std::string BadSampleLog::Report(size_t total_samples, size_t max_listed) const {
  std::vector<Entry> e = entries();
  if (e.empty()) return "";
  std::string s =
      "skipped " + std::to_string(e.size()) + " of " + std::to_string(total_samples) + " samples:";
  for (size_t k = 0; k < e.size() && k < max_listed; ++k) s += "\n  " + e[k].message;
  if (e.size() > max_listed) s += "\n  ... and " + std::to_string(e.size() - max_listed) + " more";
  return s;
}

Result<std::optional<Sample>> GetOrSkip(const Dataset& dataset, size_t i, BadSampleLog* skip_log) {
  Result<Sample> r = dataset.Get(i);
  if (r.ok()) return std::optional<Sample>(std::move(r).value());
  if (skip_log == nullptr) return r.status();
  skip_log->Record(i, r.status());
  return std::optional<Sample>();
}

std::string SampleContext(size_t i, const std::string& source) {
  std::string s = "sample " + std::to_string(i);
  if (!source.empty()) s += " (" + source + ")";
  return s;
}

}  // namespace ptqflow::io
