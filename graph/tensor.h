// Tensor: an element type, a static shape and a read-only byte buffer shared by handle.
// Copies are cheap and share the bytes (constants of a graph copy share storage with the
// original). The buffer may be a slice of a memory-mapped .bin file, kept alive by the
// holder. To edit values, build a new tensor (Tensor::Allocate + mutable_data before sharing).
//
// Thread-safety: a Tensor is immutable once shared; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <glog/logging.h>

#include "graph/element_type.h"
#include "graph/shape.h"

namespace ptqflow::graph {

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled, freshly owned storage (64-byte aligned).
  static Tensor Allocate(ElementType type, Shape shape);
  // Borrows `data` (nbytes = ByteSize(type, count)) and keeps `holder` alive for as long as any
  // copy of the tensor lives.
  static Tensor Wrap(ElementType type, Shape shape, const void* data,
                     std::shared_ptr<const void> holder);
  template <typename T>
  static Tensor FromVector(ElementType type, Shape shape, const std::vector<T>& values) {
    Tensor t = Allocate(type, std::move(shape));
    CHECK_EQ(values.size() * sizeof(T), t.nbytes());
    if (!values.empty()) std::memcpy(t.mutable_bytes(), values.data(), t.nbytes());
    return t;
  }
  static Tensor Scalar(float v) { return FromVector<float>(ElementType::kF32, {}, {v}); }

  bool empty() const { return data_ == nullptr && type_ == ElementType::kUndefined; }
  ElementType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  int64_t size() const { return ElementCount(shape_); }
  size_t nbytes() const { return ByteSize(type_, size()); }
  const uint8_t* bytes() const { return static_cast<const uint8_t*>(data_); }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(size())};
  }
  // Writable only for tensors made by Allocate whose storage is not yet shared.
  uint8_t* mutable_bytes();
  template <typename T>
  T* mutable_data() {
    return reinterpret_cast<T*>(mutable_bytes());
  }

  // Same bytes, new shape (element count must match).
  Tensor Reshaped(Shape shape) const;
  // Values converted to double (for small integer/shape tensors and tests). Not for i4/u4/u1.
  std::vector<double> ToDoubles() const;
  std::vector<int64_t> ToInt64s() const;
  // Converts to f32 (from any numeric type incl. f16/bf16/i4/u4).
  Tensor ToF32() const;
  bool BytesEqual(const Tensor& o) const;

 private:
  ElementType type_ = ElementType::kUndefined;
  Shape shape_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> holder_;
  bool writable_ = false;
};

float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);  // round to nearest even
float Bf16ToFloat(uint16_t h);

}  // namespace ptqflow::graph
