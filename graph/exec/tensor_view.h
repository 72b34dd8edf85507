// TensorView: a borrowed, read-only view of one value during a Session::Run (element type,
// static shape, data pointer, layout). It owns nothing; the memory belongs to the session's arena,
// the compiled plan (constants) or the caller (inputs), and is valid only for as long as the callee
// that received the view is running (e.g. during a tap callback).
//
// Thread-safety: plain value; the viewed bytes must not be written while the view is used.
#pragma once

#include <cstdint>
#include <cstring>

#include "graph/element_type.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace ptqflow::exec {

struct TensorView {
  graph::ElementType type = graph::ElementType::kUndefined;
  const graph::Shape* shape = nullptr;  // owned by the plan; never null in a valid view
  const void* data = nullptr;
  // Layout. 0: plain C order. B > 0: oneDNN's channel-blocked layout of a value of rank >= 3
  // (N, C, spatial...): memory is [N][ceil(C/B)][spatial...][B], element (n, c, s) with s the
  // C-order index over the spatial dims (S of them in all) is at ((n * ceil(C/B) + c / B) * S + s)
  // * B + c % B, and the lanes of channels >= C are padding. Only taps that opt in
  // (TapSet::Observe's accepts_blocked) ever receive B > 0.
  int channel_block = 0;

  int64_t size() const { return graph::ElementCount(*shape); }
  size_t nbytes() const { return graph::ByteSize(type, size()); }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
  // Deep copy into a freshly owned tensor, in plain C order (a blocked view is unblocked).
  graph::Tensor Copy() const {
    graph::Tensor t = graph::Tensor::Allocate(type, *shape);
    if (nbytes() == 0) return t;
    if (channel_block <= 0) {
      std::memcpy(t.mutable_bytes(), data, nbytes());
      return t;
    }
    const graph::Shape& d = *shape;
    const int64_t n = d[0], c = d[1], b = channel_block, cb = (c + b - 1) / b;
    const int64_t s = graph::ElementCount(d) / (n * c);
    const size_t e = graph::ByteSize(type, 1);
    const auto* src = static_cast<const uint8_t*>(data);
    auto* dst = static_cast<uint8_t*>(t.mutable_bytes());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* from = src + ((i * cb + ch / b) * s * b + ch % b) * e;
        uint8_t* to = dst + (i * c + ch) * s * e;
        for (int64_t k = 0; k < s; ++k) std::memcpy(to + k * e, from + k * b * e, e);
      }
    }
    return t;
  }
};

}  // namespace ptqflow::exec
