// Helpers for building known values and merging dims/types during shape inference.
#include <glog/logging.h>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

template <typename T, typename V>
void Fill(Tensor& t, const std::vector<V>& v) {
  T* d = t.mutable_data<T>();
  for (size_t i = 0; i < v.size(); ++i) d[i] = static_cast<T>(v[i]);
}

template <typename V>
Tensor Build(ElementType type, const Shape& shape, const std::vector<V>& v) {
  Tensor t = Tensor::Allocate(type, shape);
  CHECK_EQ(static_cast<int64_t>(v.size()), t.size());
  switch (type) {
    case ElementType::kF32:
      Fill<float>(t, v);
      break;
    case ElementType::kF64:
      Fill<double>(t, v);
      break;
    case ElementType::kF16: {
      uint16_t* d = t.mutable_data<uint16_t>();
      for (size_t i = 0; i < v.size(); ++i) d[i] = FloatToHalf(static_cast<float>(v[i]));
      break;
    }
    case ElementType::kI8:
      Fill<int8_t>(t, v);
      break;
    case ElementType::kU8:
      Fill<uint8_t>(t, v);
      break;
    case ElementType::kBoolean: {
      uint8_t* d = t.mutable_data<uint8_t>();
      for (size_t i = 0; i < v.size(); ++i) d[i] = v[i] != 0 ? 1 : 0;
      break;
    }
    case ElementType::kI16:
      Fill<int16_t>(t, v);
      break;
    case ElementType::kU16:
      Fill<uint16_t>(t, v);
      break;
    case ElementType::kI32:
      Fill<int32_t>(t, v);
      break;
    case ElementType::kU32:
      Fill<uint32_t>(t, v);
      break;
    case ElementType::kI64:
      Fill<int64_t>(t, v);
      break;
    case ElementType::kU64:
      Fill<uint64_t>(t, v);
      break;
    default:
      LOG(FATAL) << "cannot build a value of type " << ElementTypeName(type);
  }
  return t;
}

}  // namespace

// For each element of `out`, the flat index of the element of `in` it reads under numpy
// broadcasting (in is right-aligned against out).
std::vector<int64_t> BroadcastIndex(const Shape& in, const Shape& out) {
  const int64_t n = ElementCount(out);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  const size_t r = out.size();
  const size_t off = r - in.size();
  std::vector<int64_t> coord(r, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t flat = 0;
    for (size_t d = off; d < r; ++d) {
      const int64_t dim = in[d - off];
      flat = flat * dim + (dim == 1 ? 0 : coord[d]);
    }
    idx[static_cast<size_t>(i)] = flat;
    for (size_t d = r; d-- > 0;) {
      if (++coord[d] < out[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

Tensor MakeIntTensor(ElementType type, const Shape& shape, const std::vector<int64_t>& v) {
  return Build(type, shape, v);
}

Tensor MakeTensor(ElementType type, const Shape& shape, const std::vector<double>& v) {
  return Build(type, shape, v);
}

bool MergeDim(int64_t a, int64_t b, int64_t* out) {
  if (IsDyn(a)) {
    *out = b;
    return true;
  }
  if (IsDyn(b) || a == b) {
    *out = a;
    return true;
  }
  return false;
}

Result<ElementType> MergeTypes(const InferContext& ctx, ElementType a, ElementType b) {
  if (a == ElementType::kUndefined) return b;
  if (b == ElementType::kUndefined || a == b) return a;
  return ctx.Error("input element types differ: " + std::string(ElementTypeName(a)) + " and " +
                   std::string(ElementTypeName(b)));
}

}  // namespace ptqflow::graph::ops
