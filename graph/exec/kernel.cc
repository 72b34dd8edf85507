#include "graph/exec/kernel.h"

namespace ptqflow::exec {

Status KernelInit::ExpectInputs(size_t lo, size_t hi) const {
  if (inputs.size() < lo || inputs.size() > hi) {
    std::string want =
        lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
    return Error("expects " + want + " inputs, has " + std::to_string(inputs.size()));
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> KernelInit::ConstInts(size_t i) const {
  if (i >= inputs.size()) return Error("missing input " + std::to_string(i));
  const ValueInfo& v = inputs[i];
  if (!v.constant) {
    return Error("input " + std::to_string(i) +
                 " must be known at compile time (a constant or computed from static shapes)");
  }
  if (!graph::IsInteger(v.type) && v.type != graph::ElementType::kF32 &&
      v.type != graph::ElementType::kF64) {
    return Error("input " + std::to_string(i) + " has unsupported element type " +
                 TypeName(v.type) + " for an integer list");
  }
  return v.constant->ToInt64s();
}

std::vector<int64_t> ContiguousStrides(const graph::Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

Result<int64_t> NormalizeAxis(const KernelInit& init, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    return init.Error("axis " + std::to_string(axis) + " is out of range for rank " +
                      std::to_string(rank));
  }
  return a;
}

std::string TypeName(graph::ElementType t) { return std::string(graph::ElementTypeName(t)); }

}  // namespace ptqflow::exec
