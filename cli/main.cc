// ptqflow: post-training quantization for OpenVINO IR and ONNX models.
// Exit codes: see cli/commands.h.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // POT spells flags with dashes (--output-dir); gflags names use underscores.
  std::vector<std::string> args = ptqflow::cli::NormalizeFlagNames(argc, argv);
  std::vector<char*> argv2;
  for (std::string& a : args) argv2.push_back(a.data());
  argv2.push_back(nullptr);
  int argc2 = static_cast<int>(args.size());
  char** argv2p = argv2.data();
  gflags::SetUsageMessage(ptqflow::cli::UsageText());
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc2, &argv2p, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv2p[0]);
  return ptqflow::cli::Dispatch(argc2, argv2p);
}
