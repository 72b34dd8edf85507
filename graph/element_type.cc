#include "graph/element_type.h"

#include <array>
#include <string>

namespace ptqflow::graph {
namespace {

struct Info {
  ElementType type;
  std::string_view name;
  std::string_view precision;
  int bits;
  bool is_float;
  bool is_signed;
};

constexpr std::array<Info, 17> kInfos = {{
    {ElementType::kUndefined, "undefined", "UNSPECIFIED", 0, false, false},
    {ElementType::kF32, "f32", "FP32", 32, true, true},
    {ElementType::kF16, "f16", "FP16", 16, true, true},
    {ElementType::kBF16, "bf16", "BF16", 16, true, true},
    {ElementType::kF64, "f64", "FP64", 64, true, true},
    {ElementType::kI4, "i4", "I4", 4, false, true},
    {ElementType::kU4, "u4", "U4", 4, false, false},
    {ElementType::kI8, "i8", "I8", 8, false, true},
    {ElementType::kU8, "u8", "U8", 8, false, false},
    {ElementType::kI16, "i16", "I16", 16, false, true},
    {ElementType::kU16, "u16", "U16", 16, false, false},
    {ElementType::kI32, "i32", "I32", 32, false, true},
    {ElementType::kU32, "u32", "U32", 32, false, false},
    {ElementType::kI64, "i64", "I64", 64, false, true},
    {ElementType::kU64, "u64", "U64", 64, false, false},
    {ElementType::kBoolean, "boolean", "BOOL", 8, false, false},
    {ElementType::kU1, "u1", "BIN", 1, false, false},
}};

const Info& InfoOf(ElementType t) { return kInfos[static_cast<size_t>(t)]; }

}  // namespace

std::string_view ElementTypeName(ElementType t) { return InfoOf(t).name; }
std::string_view PrecisionName(ElementType t) { return InfoOf(t).precision; }

Result<ElementType> ParseElementType(std::string_view name) {
  for (const Info& i : kInfos) {
    if (i.name == name) return i.type;
  }
  if (name == "dynamic") return ElementType::kUndefined;
  return Status::Error("unknown element_type '" + std::string(name) + "'");
}

Result<ElementType> ParsePrecision(std::string_view name) {
  for (const Info& i : kInfos) {
    if (i.precision == name) return i.type;
  }
  if (name == "FP32" || name == "FP16")
    return name == "FP32" ? ElementType::kF32 : ElementType::kF16;
  if (name == "U1") return ElementType::kU1;
  if (name == "BOOLEAN") return ElementType::kBoolean;
  if (name == "UNDEFINED" || name == "DYNAMIC") return ElementType::kUndefined;
  return Status::Error("unknown port precision '" + std::string(name) + "'");
}

int BitWidth(ElementType t) { return InfoOf(t).bits; }
bool IsFloat(ElementType t) { return InfoOf(t).is_float; }
bool IsSigned(ElementType t) { return InfoOf(t).is_signed; }
bool IsInteger(ElementType t) {
  return !IsFloat(t) && t != ElementType::kBoolean && t != ElementType::kU1 &&
         t != ElementType::kUndefined;
}

size_t ByteSize(ElementType t, int64_t count) {
  const int64_t bits = BitWidth(t) * count;
  return static_cast<size_t>((bits + 7) / 8);
}

}  // namespace ptqflow::graph
