// Subcommands of the ptqflow executable. Each returns the process exit code:
// 0 success, 1 bad input (a file, model, config or sample), 2 bad usage.
#pragma once

namespace ptqflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;
inline constexpr int kExitUsage = 2;

const char* UsageText();
// argv[1] is the subcommand; flags were already parsed out by gflags.
int Dispatch(int argc, char** argv);

}  // namespace ptqflow::cli
