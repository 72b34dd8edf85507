// ptqflow: post-training quantization for OpenVINO IR and ONNX models.
// Exit codes: 0 success, 1 bad input (file, model, config, data), 2 bad usage.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"

int main(int argc, char** argv) {
  gflags::SetUsageMessage(ptqflow::cli::UsageText());
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  return ptqflow::cli::Dispatch(argc, argv);
}
