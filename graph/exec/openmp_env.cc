#include "graph/exec/openmp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace ptqflow::exec {

void ReexecWithPassiveOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || argv == nullptr || argv[0] == nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: exec failed; run on with the default policy (the variable now set only affects
  // child processes).
}

}  // namespace ptqflow::exec
