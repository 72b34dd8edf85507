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
