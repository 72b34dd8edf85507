// TensorView: a borrowed, read-only view of one value during a Session::Run (element type,
// static shape, data pointer). It owns nothing; the memory belongs to the session's arena, the
// compiled plan (constants) or the caller (inputs), and is valid only for as long as the callee
// that received the view is running (e.g. during a tap callback).
//
// Thread-safety: plain value; the viewed bytes must not be written while the view is used.
#pragma once

#include <cstdint>

#include "graph/element_type.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace ptqflow::exec {

struct TensorView {
  graph::ElementType type = graph::ElementType::kUndefined;
  const graph::Shape* shape = nullptr;  // owned by the plan; never null in a valid view
  const void* data = nullptr;

  int64_t size() const { return graph::ElementCount(*shape); }
  size_t nbytes() const { return graph::ByteSize(type, size()); }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
  // Deep copy into a freshly owned tensor.
  graph::Tensor Copy() const {
    graph::Tensor t = graph::Tensor::Allocate(type, *shape);
    if (nbytes() > 0) std::memcpy(t.mutable_bytes(), data, nbytes());
    return t;
  }
};

}  // namespace ptqflow::exec
