#include "cli/commands.h"

#include <gflags/gflags.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/summary.h"
#include "graph/ops/shape_inference.h"
#include "io/ir/ir_writer.h"
#include "io/model/model_io.h"

DEFINE_string(output, "", "convert: output IR .xml path (the .bin is written beside it)");
DEFINE_string(input_shape, "", "fix model input shapes, e.g. 'x[1,3,48,320]' or 'a[1,16],b[1,?]'");
DEFINE_string(freeze_input, "",
              "ONNX: replace inputs by constants, e.g. 'sr=16000' (integer -> i64, else f32)");
DEFINE_string(weights, "", "IR weights file (default: the model path with .bin)");

namespace ptqflow::cli {
namespace fs = std::filesystem;
namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "ptqflow: error: %s\n", st.message().c_str());
  return kExitBadInput;
}

int Usage(const std::string& what) {
  std::fprintf(stderr, "ptqflow: %s\n\n%s", what.c_str(), UsageText());
  return kExitUsage;
}

Result<io::ModelReadOptions> ModelOptionsFromFlags() {
  io::ModelReadOptions opts;
  if (!FLAGS_input_shape.empty()) {
    auto shapes = graph::ops::ParseInputShapes(FLAGS_input_shape);
    if (!shapes.ok()) return shapes.status().WithContext("--input-shape");
    opts.input_shapes = *shapes;
  }
  if (!FLAGS_freeze_input.empty()) {
    auto frozen = io::ParseFrozenInputs(FLAGS_freeze_input);
    if (!frozen.ok()) return frozen.status().WithContext("--freeze-input");
    opts.frozen_inputs = *frozen;
  }
  opts.weights = FLAGS_weights;
  return opts;
}

int Convert(int argc, char** argv) {
  if (argc != 3) return Usage("convert takes one model path");
  if (FLAGS_output.empty()) return Usage("convert needs --output OUT.xml");
  if (fs::path(FLAGS_output).extension() != ".xml") {
    return Usage("--output must name an .xml file (the .bin goes beside it)");
  }
  auto opts = ModelOptionsFromFlags();
  if (!opts.ok()) return Fail(opts.status());
  auto g = io::ReadModel(argv[2], *opts);
  if (!g.ok()) return Fail(g.status());
  Status st = io::WriteIr(*g, FLAGS_output);
  if (!st.ok()) return Fail(st);
  std::printf("wrote %s\n", FLAGS_output.c_str());
  return kExitOk;
}

int Summary(int argc, char** argv) {
  if (argc != 3) return Usage("summary takes one model path");
  auto opts = ModelOptionsFromFlags();
  if (!opts.ok()) return Fail(opts.status());
  auto g = io::ReadModel(argv[2], *opts);
  if (!g.ok()) return Fail(g.status());
  std::printf("%s", SummarizeGraph(*g).c_str());
  return kExitOk;
}

}  // namespace

const char* UsageText() {
  return "usage: ptqflow <command> [flags]\n"
         "commands:\n"
         "  convert MODEL --output OUT.xml [--input-shape S] [--freeze-input F]\n"
         "      read an ONNX (.onnx) or OpenVINO IR (.xml) model, write OpenVINO IR v11\n"
         "  summary MODEL [--input-shape S] [--freeze-input F]\n"
         "      print inputs, outputs and op counts of a model\n"
         "flags are documented by --help; dashes and underscores in flag names are equivalent\n"
         "exit codes: 0 ok, 1 bad input (file, model, config, data), 2 bad usage\n";
}

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") flags_done = true;
    if (!flags_done && i > 0 && a.size() > 2 && a[0] == '-') {
      const size_t start = a[1] == '-' ? 2 : 1;
      const size_t end = std::min(a.find('='), a.size());
      for (size_t k = start; k < end; ++k) {
        if (a[k] == '-') a[k] = '_';
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

int Dispatch(int argc, char** argv) {
  if (argc < 2) return Usage("no command given");
  const std::string cmd = argv[1];
  if (cmd == "convert") return Convert(argc, argv);
  if (cmd == "summary") return Summary(argc, argv);
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace ptqflow::cli
