// ptqflow calibrate: statistics pass + activation ranges (see calibrate.cc).
#pragma once

#include <string>

namespace ptqflow::cli {

int Calibrate(int argc, char** argv);

// The pipeline flags shared by quantize and calibrate (--workers, --in-flight,
// --samples-per-message, --intra-op-threads; 0 = automatic): "" when they are valid, else what
// is wrong (a negative value), for a usage error.
std::string CheckPipelineFlags();

}  // namespace ptqflow::cli
