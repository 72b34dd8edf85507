// A custom data loader: implement ptqflow::io::Dataset for your own data, then hand it to the
// calibration pipeline like the built-in loaders.
//
// This example serves N synthetic "sensor" samples, each a [1, 3, 8, 8] f32 tensor computed on
// the fly (no files), with a class label. It shows the three things a Dataset must do:
//   1. report its size;
//   2. return sample i as named input tensors (+ optional annotation);
//   3. be safe to call from several threads at once (here: no mutable state at all),
// and how to select a calibration subset (POT's stat_subset_size with a seeded shuffle) and skip
// bad samples.
//
// Usage: sample_custom_loader [num_samples] [subset_size]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "io/data/dataset.h"

namespace {

using ptqflow::Result;
using ptqflow::Status;
using ptqflow::graph::ElementType;
using ptqflow::graph::Tensor;
using ptqflow::io::Dataset;
using ptqflow::io::Sample;

class SensorDataset : public Dataset {
 public:
  explicit SensorDataset(size_t n) : n_(n) {}

  size_t size() const override { return n_; }

  Result<Sample> Get(size_t i) const override {
    if (i >= n_) return Status::Error("sample " + std::to_string(i) + " out of range");
    // Every 7th sample is "corrupt", to show skipping.
    if (i % 7 == 6) {
      return Status::Error(ptqflow::io::SampleContext(i, "sensor://" + std::to_string(i)) +
                           ": checksum mismatch");
    }
    Tensor t = Tensor::Allocate(ElementType::kF32, {1, 3, 8, 8});
    float* d = t.mutable_data<float>();
    for (int k = 0; k < 3 * 8 * 8; ++k) d[k] = std::sin(0.1f * static_cast<float>(i + k));
    Sample s;
    s.inputs.emplace("input", std::move(t));  // the model input's name
    ptqflow::io::Annotation a;
    a.class_label = static_cast<int64_t>(i % 3);
    a.source = "sensor://" + std::to_string(i);
    s.annotation = a;
    s.source = a.source;
    return s;
  }

 private:
  const size_t n_;
};

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  const size_t subset = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 30;

  auto data = std::make_shared<SensorDataset>(n);
  ptqflow::io::SelectionOptions sel;
  sel.subset_size = subset;
  sel.shuffle = true;
  sel.seed = 0;
  auto calib = ptqflow::io::SelectSubset(data, sel);

  ptqflow::io::BadSampleLog skipped;
  double sum = 0;
  size_t used = 0;
  for (size_t i = 0; i < calib->size(); ++i) {
    auto r = ptqflow::io::GetOrSkip(*calib, i, &skipped);
    if (!r.ok()) {
      std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
      return 1;
    }
    if (!r->has_value()) continue;
    const Tensor& t = (*r)->inputs.at("input");
    for (float v : t.span<float>()) sum += v;
    ++used;
  }
  std::printf("dataset: %zu samples; calibration subset: %zu; used %zu; mean value %.6f\n", n,
              calib->size(), used, used ? sum / (used * 192.0) : 0.0);
  const std::string report = skipped.Report(calib->size());
  if (!report.empty()) std::printf("%s\n", report.c_str());
  return 0;
}
