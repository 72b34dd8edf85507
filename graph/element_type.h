// Element types of the OpenVINO op set (IR `element_type` strings) and their properties.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "graph/status.h"

namespace ptqflow::graph {

// Order is part of no file format; use the names for persistence.
enum class ElementType : uint8_t {
  kUndefined,  // "undefined" / "dynamic": not yet known
  kF32,
  kF16,
  kBF16,
  kF64,
  kI4,
  kU4,
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kBoolean,
  kU1,
};

// IR name: "f32", "i4", "boolean", ...
std::string_view ElementTypeName(ElementType t);
// Parses an IR element_type (also accepts "undefined"/"dynamic"). Error names the bad string.
Result<ElementType> ParseElementType(std::string_view name);
// IR port precision: "FP32", "I8", "BOOL", ...
std::string_view PrecisionName(ElementType t);
// Parses an IR port precision string (v10 files carry only these).
Result<ElementType> ParsePrecision(std::string_view name);

int BitWidth(ElementType t);
bool IsFloat(ElementType t);
bool IsSigned(ElementType t);
bool IsInteger(ElementType t);  // boolean and u1 excluded
// Bytes needed for `count` elements; sub-byte types pack (i4/u4: 2 per byte, u1: 8 per byte).
size_t ByteSize(ElementType t, int64_t count);

}  // namespace ptqflow::graph
