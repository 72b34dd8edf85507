// Element type -> C++ type dispatch for kernels.
#pragma once

#include <cstdint>
#include <type_traits>

#include "graph/element_type.h"

namespace ptqflow::exec::kernels {

struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

// Calls f(T{}) for the C++ type of `t` among the types a numeric kernel supports;
// returns false if `t` is not one of them.
template <typename F>
bool DispatchArith(graph::ElementType t, F&& f) {
  using E = graph::ElementType;
  switch (t) {
    case E::kF32:
      f(float{});
      return true;
    case E::kF64:
      f(double{});
      return true;
    case E::kI8:
      f(int8_t{});
      return true;
    case E::kU8:
      f(uint8_t{});
      return true;
    case E::kI16:
      f(int16_t{});
      return true;
    case E::kU16:
      f(uint16_t{});
      return true;
    case E::kI32:
      f(int32_t{});
      return true;
    case E::kU32:
      f(uint32_t{});
      return true;
    case E::kI64:
      f(int64_t{});
      return true;
    case E::kU64:
      f(uint64_t{});
      return true;
    default:
      return false;
  }
}

template <typename F>
bool DispatchFloat(graph::ElementType t, F&& f) {
  using E = graph::ElementType;
  switch (t) {
    case E::kF32:
      f(float{});
      return true;
    case E::kF64:
      f(double{});
      return true;
    default:
      return false;
  }
}

// Every byte-addressable type incl. f16/bf16/boolean (boolean as uint8_t).
template <typename F>
bool DispatchAll(graph::ElementType t, F&& f) {
  using E = graph::ElementType;
  switch (t) {
    case E::kF16:
      f(F16{});
      return true;
    case E::kBF16:
      f(BF16{});
      return true;
    case E::kBoolean:
      f(bool{});
      return true;
    default:
      return DispatchArith(t, f);
  }
}

// Copies elements of `bytes` bytes: dispatch on element size for generic data movement.
template <typename F>
bool DispatchBySize(graph::ElementType t, F&& f) {
  switch (graph::BitWidth(t)) {
    case 8:
      f(uint8_t{});
      return true;
    case 16:
      f(uint16_t{});
      return true;
    case 32:
      f(uint32_t{});
      return true;
    case 64:
      f(uint64_t{});
      return true;
    default:
      return false;
  }
}

}  // namespace ptqflow::exec::kernels
