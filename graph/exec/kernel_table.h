// The op type -> kernel factory table (built from kernels/kernel_list.def).
#pragma once

#include <string>
#include <vector>

#include "graph/exec/kernel.h"

namespace ptqflow::exec {

// nullptr if the executor has no kernel for `op_type`.
KernelFactory FindKernel(const std::string& op_type);
// All op types with a kernel, sorted.
std::vector<std::string> SupportedOps();

}  // namespace ptqflow::exec
