// Tensor dataset: one sample per .npy, .npz or raw binary file.
//   .npy  -> one input named input_names[0] ("" when input_names is empty = the only input);
//   .npz  -> one input per array, named by the array's key; when input_names is non-empty every
//            listed name must be in the archive (error names the file, sample and missing input)
//            and only those are kept;
//   other extensions (.bin, .raw, ...) -> raw little-endian data of raw_type and raw_shape.
//
// Thread-safety: immutable after Create; Get() may be called concurrently.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "graph/element_type.h"
#include "graph/shape.h"
#include "io/data/annotations.h"
#include "io/data/dataset.h"
#include "io/data/file_util.h"

namespace ptqflow::io {

struct TensorDatasetOptions {
  std::string source;  // folder (files with .npy/.npz/.bin/.raw), glob, list file or one file
  SourceKind source_kind = SourceKind::kAuto;
  std::vector<std::string> input_names;
  graph::ElementType raw_type = graph::ElementType::kUndefined;  // for raw files
  graph::Shape raw_shape;                                        // for raw files
  AnnotationOptions annotations;
};

class TensorDataset : public Dataset {
 public:
  static Result<std::unique_ptr<TensorDataset>> Create(const TensorDatasetOptions& options);
  size_t size() const override { return files_.size(); }
  Result<Sample> Get(size_t i) const override;
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  explicit TensorDataset(TensorDatasetOptions o) : options_(std::move(o)) {}
  TensorDatasetOptions options_;
  std::vector<std::filesystem::path> files_;
  FileAnnotations annotations_;
};

}  // namespace ptqflow::io
