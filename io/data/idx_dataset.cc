#include "io/data/idx_dataset.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "io/data/file_util.h"

namespace ptqflow::io {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

Result<IdxArray> ReadIdx(const fs::path& path) {
  const std::string what = path.string();
  PTQ_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  if (IsGzip(bytes)) {
    PTQ_ASSIGN_OR_RETURN(bytes, Gunzip(bytes, what));
  }
  const auto* u = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 4 || u[0] != 0 || u[1] != 0) {
    return Status::Error(what + ": not an IDX file (bad magic)");
  }
  IdxArray a;
  int elem = 0;
  switch (u[2]) {
    case 0x08:
      a.type = ElementType::kU8, elem = 1;
      break;
    case 0x09:
      a.type = ElementType::kI8, elem = 1;
      break;
    case 0x0B:
      a.type = ElementType::kI16, elem = 2;
      break;
    case 0x0C:
      a.type = ElementType::kI32, elem = 4;
      break;
    case 0x0D:
      a.type = ElementType::kF32, elem = 4;
      break;
    case 0x0E:
      a.type = ElementType::kF64, elem = 8;
      break;
    default:
      return Status::Error(what + ": unknown IDX type code " + std::to_string(u[2]));
  }
  const int ndims = u[3];
  if (ndims == 0) return Status::Error(what + ": IDX file with 0 dimensions");
  if (bytes.size() < 4 + 4 * static_cast<size_t>(ndims)) {
    return Status::Error(what + ": truncated IDX header");
  }
  uint64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint8_t* p = u + 4 + 4 * d;
    const uint32_t v = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    a.dims.push_back(v);
    count *= v;
    if (count > bytes.size()) break;  // checked below
  }
  const size_t start = 4 + 4 * static_cast<size_t>(ndims);
  if (count > bytes.size() || (bytes.size() - start) / elem < count) {
    return Status::Error(what + ": IDX data is truncated (header says " +
                         graph::ShapeToString(a.dims) + ", file has " +
                         std::to_string(bytes.size() - start) + " data bytes)");
  }
  bytes.erase(0, start);
  bytes.resize(count * elem);
  a.data = std::move(bytes);
  if (elem > 1) {  // big-endian -> host (little-endian)
    for (size_t i = 0; i < a.data.size(); i += elem) std::reverse(&a.data[i], &a.data[i] + elem);
  }
  return a;
}

std::string MatchingIdxLabelsFile(const std::string& images_file) {
  const size_t p = images_file.rfind("images-idx3");
  if (p == std::string::npos) return "";
  std::string s = images_file;
  s.replace(p, 11, "labels-idx1");
  return s;
}

Result<std::unique_ptr<IdxDataset>> IdxDataset::Create(const IdxDatasetOptions& options) {
  if (options.border < 0) return Status::Error("IDX dataset: border must be >= 0");
  if (options.normalize && options.std == 0.0f) {
    return Status::Error("IDX dataset: std must be non-zero");
  }
  if (options.output_type != ElementType::kF32 && options.output_type != ElementType::kU8) {
    return Status::Error("IDX dataset: output type must be f32 or u8");
  }
  if (options.output_type == ElementType::kU8 && options.normalize) {
    return Status::Error("IDX dataset: output type u8 cannot carry normalisation");
  }
  std::unique_ptr<IdxDataset> d(new IdxDataset(options));
  PTQ_ASSIGN_OR_RETURN(IdxArray images, ReadIdx(options.images_file));
  if (images.type != ElementType::kU8 || images.dims.size() != 3) {
    return Status::Error(options.images_file + ": expected a 3-D u8 IDX image file, got " +
                         std::string(graph::ElementTypeName(images.type)) +
                         graph::ShapeToString(images.dims));
  }
  d->count_ = images.dims[0];
  d->rows_ = images.dims[1];
  d->cols_ = images.dims[2];
  d->pixels_ = std::move(images.data);
  auto out_value = [&](float p) {
    return options.normalize ? (p / 255.0f - options.mean) / options.std : p;
  };
  for (int v = 0; v < 256; ++v) d->value_of_[v] = out_value(static_cast<float>(v));
  d->border_out_ = out_value(options.border_value);
  if (!options.labels_file.empty()) {
    PTQ_ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(options.labels_file));
    if (labels.type != ElementType::kU8 || labels.dims.size() != 1) {
      return Status::Error(options.labels_file + ": expected a 1-D u8 IDX label file, got " +
                           std::string(graph::ElementTypeName(labels.type)) +
                           graph::ShapeToString(labels.dims));
    }
    if (static_cast<size_t>(labels.dims[0]) != d->count_) {
      return Status::Error(options.labels_file + ": has " + std::to_string(labels.dims[0]) +
                           " labels but " + options.images_file + " has " +
                           std::to_string(d->count_) + " images");
    }
    d->labels_.reserve(d->count_);
    for (unsigned char c : labels.data) d->labels_.push_back(c);
  }
  return d;
}

Result<Sample> IdxDataset::Get(size_t i) const {
  if (i >= count_) {
    return Status::Error("sample " + std::to_string(i) + " out of range (" + options_.images_file +
                         " has " + std::to_string(count_) + " images)");
  }
  const IdxDatasetOptions& o = options_;
  const int64_t b = o.border, H = rows_ + 2 * b, W = cols_ + 2 * b;
  const auto* src = reinterpret_cast<const uint8_t*>(pixels_.data()) + i * rows_ * cols_;
  auto raw = [&](int64_t y, int64_t x) -> float {
    if (y < b || x < b || y >= b + rows_ || x >= b + cols_) return o.border_value;
    return src[(y - b) * cols_ + (x - b)];
  };
  Tensor t = Tensor::Allocate(o.output_type, {1, 1, H, W});
  if (o.output_type == ElementType::kU8) {
    uint8_t* d = t.mutable_data<uint8_t>();
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        d[y * W + x] = static_cast<uint8_t>(std::clamp(raw(y, x), 0.0f, 255.0f));
  } else {
    float* d = t.mutable_data<float>();
    for (int64_t y = 0; y < H; ++y) {
      const bool border_row = y < b || y >= b + rows_;
      for (int64_t x = 0; x < W; ++x) {
        const bool border = border_row || x < b || x >= b + cols_;
        d[y * W + x] = border ? border_out_ : value_of_[src[(y - b) * cols_ + (x - b)]];
      }
    }
  }
  Sample s;
  s.inputs.emplace(o.input_name, std::move(t));
  if (!labels_.empty()) {
    Annotation a;
    a.class_label = labels_[i];
    a.source = o.labels_file + "#" + std::to_string(i);
    s.annotation = a;
  }
  s.source = o.images_file + "#" + std::to_string(i);
  return s;
}

}  // namespace ptqflow::io
