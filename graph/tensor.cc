#include "graph/tensor.h"

#include <cmath>
#include <cstdlib>

namespace ptqflow::graph {
namespace {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

template <typename Fn>
void ForEachValue(const Tensor& t, Fn&& fn) {
  const int64_t n = t.size();
  const uint8_t* b = t.bytes();
  switch (t.type()) {
    case ElementType::kF32:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<float>()[i]));
      break;
    case ElementType::kF64:
      for (int64_t i = 0; i < n; ++i) fn(i, t.data<double>()[i]);
      break;
    case ElementType::kF16:
      for (int64_t i = 0; i < n; ++i) fn(i, double(HalfToFloat(t.data<uint16_t>()[i])));
      break;
    case ElementType::kBF16:
      for (int64_t i = 0; i < n; ++i) fn(i, double(Bf16ToFloat(t.data<uint16_t>()[i])));
      break;
    case ElementType::kI8:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<int8_t>()[i]));
      break;
    case ElementType::kU8:
    case ElementType::kBoolean:
      for (int64_t i = 0; i < n; ++i) fn(i, double(b[i]));
      break;
    case ElementType::kI16:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<int16_t>()[i]));
      break;
    case ElementType::kU16:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<uint16_t>()[i]));
      break;
    case ElementType::kI32:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<int32_t>()[i]));
      break;
    case ElementType::kU32:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<uint32_t>()[i]));
      break;
    case ElementType::kI64:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<int64_t>()[i]));
      break;
    case ElementType::kU64:
      for (int64_t i = 0; i < n; ++i) fn(i, double(t.data<uint64_t>()[i]));
      break;
    case ElementType::kI4:
      for (int64_t i = 0; i < n; ++i) {
        int v = (b[i / 2] >> ((i % 2) * 4)) & 0xF;
        fn(i, double(v >= 8 ? v - 16 : v));
      }
      break;
    case ElementType::kU4:
      for (int64_t i = 0; i < n; ++i) fn(i, double((b[i / 2] >> ((i % 2) * 4)) & 0xF));
      break;
    case ElementType::kU1:
      // OpenVINO packs u1 most-significant bit first.
      for (int64_t i = 0; i < n; ++i) fn(i, double((b[i / 8] >> (7 - i % 8)) & 1));
      break;
    case ElementType::kUndefined:
      LOG(FATAL) << "ForEachValue on an undefined tensor";
  }
}

}  // namespace

Tensor Tensor::Allocate(ElementType type, Shape shape) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  const size_t n = std::max<size_t>(t.nbytes(), 1);
  const size_t rounded = (n + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  CHECK(p != nullptr) << "out of memory allocating " << rounded << " bytes";
  std::memset(p, 0, rounded);
  t.holder_ = std::shared_ptr<void>(p, AlignedFree());
  t.data_ = p;
  t.writable_ = true;
  return t;
}

Tensor Tensor::Wrap(ElementType type, Shape shape, const void* data,
                    std::shared_ptr<const void> holder) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.holder_ = std::move(holder);
  return t;
}

uint8_t* Tensor::mutable_bytes() {
  CHECK(writable_) << "tensor storage is not writable";
  return static_cast<uint8_t*>(const_cast<void*>(data_));
}

Tensor Tensor::Reshaped(Shape shape) const {
  CHECK_EQ(ElementCount(shape), size());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.writable_ = false;
  return t;
}

std::vector<double> Tensor::ToDoubles() const {
  std::vector<double> out(static_cast<size_t>(size()));
  ForEachValue(*this, [&](int64_t i, double v) { out[i] = v; });
  return out;
}

std::vector<int64_t> Tensor::ToInt64s() const {
  if (type_ == ElementType::kI64) return {data<int64_t>(), data<int64_t>() + size()};
  std::vector<int64_t> out(static_cast<size_t>(size()));
  ForEachValue(*this, [&](int64_t i, double v) { out[i] = static_cast<int64_t>(v); });
  return out;
}

Tensor Tensor::ToF32() const {
  if (type_ == ElementType::kF32) return *this;
  Tensor t = Allocate(ElementType::kF32, shape_);
  float* o = t.mutable_data<float>();
  ForEachValue(*this, [&](int64_t i, double v) { o[i] = static_cast<float>(v); });
  return t;
}

bool Tensor::BytesEqual(const Tensor& o) const {
  return type_ == o.type_ && shape_ == o.shape_ && nbytes() == o.nbytes() &&
         (nbytes() == 0 || std::memcmp(data_, o.data_, nbytes()) == 0);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3FF;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t abs = x & 0x7FFFFFFF;
  if (abs >= 0x7F800000)
    return static_cast<uint16_t>(sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 : 0));
  if (abs >= 0x477FF000) return static_cast<uint16_t>(sign | 0x7C00);  // overflow -> inf
  if (abs < 0x38800000) {                                              // subnormal or zero in half
    const float af = std::fabs(f);
    const float scaled = af * 16777216.0f;  // 2^24
    const uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return static_cast<uint16_t>(sign | m);
  }
  const uint32_t mant = abs & 0x7FFFFF;
  uint32_t h = ((abs >> 23) - 112) << 10 | (mant >> 13);
  const uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float Bf16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace ptqflow::graph
