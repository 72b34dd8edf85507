#include "cli/commands.h"

#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/calibrate.h"
#include "cli/quantize.h"
#include "cli/summary.h"
#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "graph/ops/shape_inference.h"
#include "io/data/npy.h"
#include "io/ir/ir_writer.h"
#include "io/model/model_io.h"

DEFINE_string(output, "",
              "convert: output IR .xml path (the .bin is written beside it); calibrate: output "
              "statistics .json");
DEFINE_string(input_shape, "",
              "fix model input shapes, e.g. 'x[1,3,48,320]' or 'a[1,16],b[1,?]' (quantize with "
              "-q; with -c use model.input_shape)");
DEFINE_string(freeze_input, "",
              "ONNX: replace inputs by constants, e.g. 'sr=16000' (integer -> i64, else f32)");
DEFINE_string(weights, "", "IR weights file (default: the model path with .bin)");
DEFINE_string(model, "", "model file: OpenVINO IR .xml (+ .bin) or ONNX .onnx");
DEFINE_string(input, "",
              "infer: model inputs as name=file.npy; repeat the flag or separate with commas");
DEFINE_string(output_dir, "",
              "quantize: root of POT's output layout (default ./results); infer: directory for "
              "the output .npy files");
DEFINE_int32(threads, 0,
             "threads in total (0 = all cores); quantize: calibration and evaluation sessions x "
             "threads per session (--workers / --intra-op-threads split them)");
DEFINE_string(log_level, "INFO",
              "log verbosity (POT): DEBUG | INFO | WARNING | ERROR | CRITICAL, any case");

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
  const fs::path dir = fs::path(FLAGS_output).parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) return Fail(Status::Error("cannot create " + dir.string() + ": " + ec.message()));
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

// Output tensor names may contain '/', ':' and the like; keep file names portable.
std::string FileNameFor(const std::string& tensor) {
  std::string out = tensor;
  for (char& c : out) {
    if (c == '/' || c == '\\' || c == ':' || c == ' ') c = '_';
  }
  return out.empty() ? std::string("output") : out;
}

int Infer(int argc, char**) {
  if (argc != 2) return Usage("infer takes flags only (--model, --input, --output-dir)");
  if (FLAGS_model.empty()) return Usage("infer needs --model M.xml|M.onnx");
  if (FLAGS_input.empty()) return Usage("infer needs --input name=file.npy");
  if (FLAGS_output_dir.empty()) return Usage("infer needs --output-dir DIR");
  auto files = io::ParseNameValueList(FLAGS_input, "--input");
  if (!files.ok()) return Fail(files.status());
  std::map<std::string, graph::Tensor> inputs;
  for (const auto& [name, file] : *files) {
    auto t = io::ReadNpy(file);
    if (!t.ok()) return Fail(t.status().WithContext("input '" + name + "'"));
    inputs[name] = *t;
  }
  auto opts = ModelOptionsFromFlags();
  if (!opts.ok()) return Fail(opts.status());
  // Dynamic input dimensions default to the shapes of the given arrays.
  for (const auto& [name, t] : inputs)
    opts->input_shapes.emplace(name, graph::PartialShape(t.shape()));
  auto g = io::ReadModel(FLAGS_model, *opts);
  if (!g.ok()) return Fail(g.status());
  exec::CompileOptions copts;
  copts.threads = FLAGS_threads;
  auto plan = exec::CompiledModel::Compile(*g, copts);
  if (!plan.ok()) return Fail(plan.status().WithContext(FLAGS_model));
  exec::Session session(*plan);
  std::map<std::string, graph::Tensor> outputs;
  Status st = session.Run(inputs, &outputs);
  if (!st.ok()) return Fail(st.WithContext(FLAGS_model));
  std::error_code ec;
  fs::create_directories(FLAGS_output_dir, ec);
  if (ec) {
    return Fail(
        Status::Error("cannot create --output-dir '" + FLAGS_output_dir + "': " + ec.message()));
  }
  for (const auto& [name, t] : outputs) {
    const fs::path file = fs::path(FLAGS_output_dir) / (FileNameFor(name) + ".npy");
    st = io::WriteNpy(file, t);
    if (!st.ok()) return Fail(st);
    std::printf("%s %s%s -> %s\n", name.c_str(),
                std::string(graph::ElementTypeName(t.type())).c_str(),
                graph::ShapeToString(t.shape()).c_str(), file.c_str());
  }
  return kExitOk;
}

// POT's short options and the long flags they stand for.
constexpr std::pair<const char*, const char*> kShortFlags[] = {
    {"-c", "--config"}, {"-q", "--quantize"}, {"-m", "--model"},      {"-w", "--weights"},
    {"-n", "--name"},   {"-e", "--evaluate"}, {"-d", "--direct_dump"}};

std::string Dashed(std::string name) {
  for (char& c : name) {
    if (c == '_') c = '-';
  }
  return name;
}

// Appends `text` wrapped at 100 columns, continuation lines indented by `indent`.
void AppendWrapped(const std::string& text, size_t column, size_t indent, std::string* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t next = text.find(' ', pos);
    if (next == std::string::npos) next = text.size();
    const std::string word = text.substr(pos, next - pos);
    if (column > indent && column + 1 + word.size() > 100) {
      *out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      *out += ' ';
      ++column;
    }
    *out += word;
    column += word.size();
    pos = next + 1;
  }
  *out += '\n';
}

}  // namespace

std::string FlagsHelp() {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::sort(flags.begin(), flags.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string out;
  AppendWrapped(
      "flags (dashes and underscores are equivalent: --output-dir = --output_dir; booleans also "
      "take --flag=false / --noflag; --helpfull lists gflags' and glog's own flags too):",
      0, 2, &out);
  for (const gflags::CommandLineFlagInfo& f : flags) {
    if (f.filename.find("/cli/") == std::string::npos) continue;
    if (f.name.rfind("testing_", 0) == 0) continue;
    std::string head = "  ";
    for (const auto& [short_name, long_name] : kShortFlags) {
      if (std::string(long_name) == "--" + f.name) head += std::string(short_name) + ", ";
    }
    head += "--" + Dashed(f.name);
    if (f.type == "string") head += " S";
    if (f.type == "int32" || f.type == "uint64" || f.type == "int64") head += " N";
    if (f.type == "double") head += " X";
    std::string text = f.description;
    if (f.type != "bool" && !f.default_value.empty() && f.default_value != "0" &&
        f.default_value != "-1") {
      text += " [default: " + f.default_value + "]";
    }
    out += head;
    if (head.size() < 30) {
      out += std::string(30 - head.size(), ' ');
      AppendWrapped(text, 30, 30, &out);
    } else {
      out += "\n" + std::string(30, ' ');
      AppendWrapped(text, 30, 30, &out);
    }
  }
  return out;
}

bool ApplyLogLevel(const std::string& level, std::string* error) {
  std::string l = level;
  for (char& c : l) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int min_level = 0, verbose = 0;
  if (l == "DEBUG") {
    verbose = 1;
  } else if (l == "INFO") {
  } else if (l == "WARNING") {
    min_level = google::GLOG_WARNING;
  } else if (l == "ERROR") {
    min_level = google::GLOG_ERROR;
  } else if (l == "CRITICAL") {
    min_level = google::GLOG_FATAL;
  } else {
    *error = "--log-level: \"" + level + "\" is not DEBUG, INFO, WARNING, ERROR or CRITICAL";
    return false;
  }
  FLAGS_minloglevel = min_level;
  FLAGS_v = verbose;
  return true;
}

const char* UsageText() {
  return "usage: ptqflow [quantize] -c CONFIG.json [flags]\n"
         "       ptqflow [quantize] -q default|accuracy_aware -m MODEL (--engine simplified\n"
         "               --data-source DIR | --data-type T --data-source S [--data-option "
         "k=v,...])\n"
         "               [-w WEIGHTS] [-n NAME] [--preset performance|mixed] [--max-drop X]\n"
         "               [--input-shape S] [--freeze-input F]\n"
         "       ptqflow <command> [flags]\n"
         "quantize (POT's command line): insert FakeQuantize with POT's DefaultQuantization and\n"
         "      write the quantized model under --output-dir (./results; -d: "
         "<dir>/optimized/):\n"
         "      OpenVINO IR v11 with int8 weights, or --output-format onnx (ONNX input only): "
         "the\n"
         "      original ONNX graph with QuantizeLinear/DequantizeLinear; -e evaluates FP32 and "
         "INT8\n"
         "      on the config's metrics; --report R.json (FQ ranges, per-layer SQNR, times);\n"
         "      --print-config; --resume / --checkpoint-every N continue an interrupted run\n"
         "commands:\n"
         "  convert MODEL --output OUT.xml [--input-shape S] [--freeze-input F]\n"
         "      read an ONNX (.onnx) or OpenVINO IR (.xml) model, write OpenVINO IR v11\n"
         "  summary MODEL [--input-shape S] [--freeze-input F]\n"
         "      print inputs, outputs and op counts of a model\n"
         "  infer --model M --input name=file.npy [...] --output-dir D [--threads N]\n"
         "      run a model on .npy inputs and write each output as D/<tensor name>.npy\n"
         "  calibrate --model M --data-type idx|image --data-source S --output stats.json\n"
         "      [--workers N] [--in-flight K] [--checkpoint-every N] [--resume] [--subset-size N]\n"
         "      collect activation statistics (oneTBB flow graph) and write symmetric ranges\n"
         "exit codes:\n"
         "  0  success\n"
         "  1  model or other file error (unreadable or unsupported model, a layer the executor\n"
         "     cannot run, an output that cannot be written)\n"
         "  2  bad command line (unknown command, missing or conflicting flags)\n"
         "  3  invalid config (unknown key, wrong type or value; the message names the key)\n"
         "  4  data error (dataset or a sample; the message names the sample and its file)\n"
         "  5  accuracy target not met (AccuracyAwareQuantization)\n";
}

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out;
  std::string inputs;  // repeated --input flags, merged into one comma-separated value
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") flags_done = true;
    for (const auto& [short_name, long_name] : kShortFlags) {
      if (!flags_done && a == short_name) a = long_name;
    }
    if (!flags_done && i > 0 && a.size() > 2 && a[0] == '-') {
      const size_t start = a[1] == '-' ? 2 : 1;
      const size_t end = std::min(a.find('='), a.size());
      for (size_t k = start; k < end; ++k) {
        if (a[k] == '-') a[k] = '_';
      }
    }
    if (!flags_done && (a == "--input" || a == "-input") && i + 1 < argc) {
      inputs += (inputs.empty() ? "" : ",") + std::string(argv[++i]);
      continue;
    }
    if (!flags_done && (a.rfind("--input=", 0) == 0 || a.rfind("-input=", 0) == 0)) {
      inputs += (inputs.empty() ? "" : ",") + a.substr(a.find('=') + 1);
      continue;
    }
    out.push_back(std::move(a));
  }
  if (!inputs.empty()) out.insert(out.begin() + 1, "--input=" + inputs);
  return out;
}

int Dispatch(int argc, char** argv) {
  // POT style: `ptqflow -c config.json` / `ptqflow -q default -m model ...` without a command.
  if (argc < 2 && QuantizeRequested()) return Quantize(argc, argv);
  if (argc < 2) return Usage("no command given");
  const std::string cmd = argv[1];
  if (cmd == "quantize") return Quantize(argc, argv);
  if (cmd == "convert") return Convert(argc, argv);
  if (cmd == "summary") return Summary(argc, argv);
  if (cmd == "infer") return Infer(argc, argv);
  if (cmd == "calibrate") return Calibrate(argc, argv);
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace ptqflow::cli
