#include "cli/commands.h"

#include <cstdio>
#include <string>

namespace ptqflow::cli {

const char* UsageText() {
  return "ptqflow <command> [flags]\n"
         "commands:\n"
         "  convert MODEL --output OUT.xml   convert an ONNX or IR model to OpenVINO IR v11\n"
         "  summary MODEL                    print a summary of a model's graph\n";
}

int Dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "%s", UsageText());
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  std::fprintf(stderr, "ptqflow: unknown command '%s'\n%s", cmd.c_str(), UsageText());
  return kExitUsage;
}

}  // namespace ptqflow::cli
