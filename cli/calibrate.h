// ptqflow calibrate: statistics pass + activation ranges (see calibrate.cc).
#pragma once

namespace ptqflow::cli {

int Calibrate(int argc, char** argv);

}  // namespace ptqflow::cli
