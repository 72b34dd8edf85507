// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain (detected by the gzip
// magic). Header: two zero bytes, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
// 0x0E f64), the number of dimensions, then each dimension as a big-endian uint32; then the data,
// big-endian, row-major.
//
// IdxDataset: sample i is image i of a 3-D u8 IDX file ([N, H, W]) as a [1, 1, H', W'] tensor,
// where H' = H + 2*border. Pixel p (u8) becomes, in order: border pixels get border_value (a raw
// pixel value); then, if normalize, x = (p/255 - mean) / std (f32); else x = p (f32 or u8).
// The label of sample i (annotation.class_label) comes from the labels file when given.
//
// Thread-safety: the whole file is decoded into memory by Create; Get() is const and may be
// called concurrently.
#pragma once

#include <array>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "graph/element_type.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "io/data/dataset.h"

namespace ptqflow::io {

// A decoded IDX file, data converted to host byte order.
struct IdxArray {
  graph::ElementType type = graph::ElementType::kUndefined;
  graph::Shape dims;
  std::string data;  // host-order bytes, ByteSize(type, count)
};

// Reads and decodes an IDX file (.gz or plain). Errors name the file and the defect.
Result<IdxArray> ReadIdx(const std::filesystem::path& path);

struct IdxDatasetOptions {
  std::string images_file;  // e.g. .../t10k-images-idx3-ubyte.gz
  std::string labels_file;  // e.g. .../t10k-labels-idx1-ubyte.gz; "" = no annotations
  std::string input_name;   // "" = the model's only input
  bool normalize = false;
  float mean = 0.0f;  // on the [0, 1] scale
  float std = 1.0f;
  int border = 0;             // pixels added on every side (Fashion-MNIST MobileNetV2: 2 -> 32x32)
  float border_value = 0.0f;  // raw pixel value of the border
  graph::ElementType output_type = graph::ElementType::kF32;  // kF32, or kU8 without normalize
};

class IdxDataset : public Dataset {
 public:
  static Result<std::unique_ptr<IdxDataset>> Create(const IdxDatasetOptions& options);
  size_t size() const override { return count_; }
  Result<Sample> Get(size_t i) const override;
  // Label of image i (requires a labels file).
  int64_t label(size_t i) const { return labels_.at(i); }
  const std::vector<int64_t>& labels() const { return labels_; }

 private:
  explicit IdxDataset(IdxDatasetOptions o) : options_(std::move(o)) {}
  IdxDatasetOptions options_;
  size_t count_ = 0;
  int64_t rows_ = 0, cols_ = 0;
  std::string pixels_;  // count_ * rows_ * cols_ bytes
  std::vector<int64_t> labels_;
  // f32 output: the output value of each pixel value, and of the border (computed once with
  // the per-pixel formula, so lookups give the same bits).
  std::array<float, 256> value_of_{};
  float border_out_ = 0.0f;
};

// The labels file that pairs with an images file by the MNIST naming convention
// ("...-images-idx3-ubyte[.gz]" -> "...-labels-idx1-ubyte[.gz]"); "" if the name does not fit.
std::string MatchingIdxLabelsFile(const std::string& images_file);

}  // namespace ptqflow::io
