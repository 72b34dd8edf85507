// ptqflow: post-training quantization for OpenVINO IR and ONNX models.
// Exit codes: see cli/commands.h.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "graph/exec/openmp_env.h"

DECLARE_string(log_level);

int main(int argc, char** argv) {
  // libgomp spin-waits after every parallel region unless OMP_WAIT_POLICY says otherwise, and
  // reads it only at load time: re-execute with "passive" first (a value the user set wins).
  ptqflow::exec::ReexecWithPassiveOpenMpWait(argv);

  // POT spells flags with dashes (--output-dir); gflags names use underscores.
  std::vector<std::string> args = ptqflow::cli::NormalizeFlagNames(argc, argv);
  // -h / --help: ptqflow's own flags and exit codes (--helpfull: gflags' list of every flag,
  // glog's included).
  for (size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-h" || args[i] == "--help" || args[i] == "-help") {
      std::printf("%s\n%s", ptqflow::cli::UsageText(), ptqflow::cli::FlagsHelp().c_str());
      return ptqflow::cli::kExitOk;
    }
  }
  std::vector<char*> argv2;
  for (std::string& a : args) argv2.push_back(a.data());
  argv2.push_back(nullptr);
  int argc2 = static_cast<int>(args.size());
  char** argv2p = argv2.data();
  gflags::SetUsageMessage(ptqflow::cli::UsageText());
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc2, &argv2p, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  std::string error;
  if (!ptqflow::cli::ApplyLogLevel(FLAGS_log_level, &error)) {
    std::fprintf(stderr, "ptqflow: %s\n", error.c_str());
    return ptqflow::cli::kExitUsage;
  }
  google::InitGoogleLogging(argv2p[0]);
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  VLOG(1) << "OMP_WAIT_POLICY=" << (wait != nullptr ? wait : "(unset)");
  return ptqflow::cli::Dispatch(argc2, argv2p);
}
