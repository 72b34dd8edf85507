// Subcommands of the ptqflow executable. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace ptqflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;  // a model or other input/output file is wrong
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitConfig = 3;    // the config (JSON or flags) is invalid
inline constexpr int kExitData = 4;      // the dataset or a sample is wrong
inline constexpr int kExitAccuracy = 5;  // AccuracyAware: the accuracy target was not met

const char* UsageText();
// Every ptqflow flag (those defined in cli/) with its POT short form, argument, default and
// description, for --help. Testing-only flags are left out.
std::string FlagsHelp();
// Applies POT's --log-level (DEBUG | INFO | WARNING | ERROR | CRITICAL, any case) to glog:
// DEBUG = minloglevel 0 and VLOG(1) on; INFO = minloglevel 0; WARNING = 1; ERROR = 2;
// CRITICAL = 3. False (with *error naming the flag and the choices) for another value.
bool ApplyLogLevel(const std::string& level, std::string* error);
// Rewrites "--foo-bar[=v]" as "--foo_bar[=v]" (gflags names use underscores); stops at "--".
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);
// argv[1] is the subcommand; flags were already parsed out by gflags.
int Dispatch(int argc, char** argv);

}  // namespace ptqflow::cli
