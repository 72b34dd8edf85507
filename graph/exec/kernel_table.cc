#include "graph/exec/kernel_table.h"

#include <algorithm>
#include <cstring>

#include "graph/exec/kernels/kernels.h"

namespace ptqflow::exec {
namespace {

struct Entry {
  const char* op;
  KernelFactory factory;
};

constexpr Entry kTable[] = {
#define PTQ_KERNEL(op, factory) {op, &kernels::factory},
#include "graph/exec/kernels/kernel_list.def"
#undef PTQ_KERNEL
};

}  // namespace

KernelFactory FindKernel(const std::string& op_type) {
  for (const Entry& e : kTable) {
    if (op_type == e.op) return e.factory;
  }
  return nullptr;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> out;
  for (const Entry& e : kTable) out.push_back(e.op);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ptqflow::exec
