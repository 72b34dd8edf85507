// ptqflow quantize: POT's command line (pot-spec §10.2) on ptqflow's pipeline
// (stages/quantize_pipeline.h). Flags and the JSON config fill the same proto::RunConfig.
//
//   -c/--config FILE           a POT config (model / engine / compression); exclusive with
//                              -q, -m, -w, --preset and the --data-* / --engine flags
//   -q/--quantize MODE         default | accuracy_aware: POT's templates, with
//   -m/--model, -w/--weights   the model (.xml+.bin or .onnx)
//   --engine simplified --data-source DIR     POT's simplified engine (images, no labels), or
//   --data-type T --data-source S --data-option k=v,...   any built-in loader (io/config)
//   -n/--name, --preset performance|mixed, --max-drop X (accuracy_aware)
//   --output-dir D (./results), -d/--direct-dump, --keep-uncompressed-weights,
//   --output-format ir|onnx (onnx: ONNX input only, else usage error), -e/--evaluate,
//   --eval-subset-size N, --report FILE.json, --sqnr-samples N, --print-config,
//   --threads N (total: sessions x threads per session; --workers / --intra-op-threads split
//   it), --resume, --checkpoint-every N, --progress-bar, --stream-output
// (--log-level is applied for every command in main.cc.)
#include "cli/quantize.h"

#include <gflags/gflags.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/calibrate.h"
#include "cli/commands.h"
#include "graph/ops/shape_inference.h"
#include "io/atomic_file.h"
#include "io/config/dataset_config.h"
#include "io/config/proto_json.h"
#include "io/config/run_config.h"
#include "io/model/model_io.h"
#include "stages/quantize_pipeline.h"
#include "stages/stop_signal.h"

DEFINE_string(config, "",
              "quantize: POT JSON config (model, engine, compression; comments allowed)");
DEFINE_string(quantize, "",
              "quantize: default | accuracy_aware: POT's config templates, filled from -m and the "
              "data flags");
DEFINE_string(name, "", "quantize: model name for outputs (default: the model file's stem)");
DEFINE_string(preset, "", "quantize: performance | mixed (with -q; default performance)");
DEFINE_double(max_drop, -1, "quantize: maximal metric drop (with -q accuracy_aware)");
DEFINE_string(engine, "",
              "quantize: simplified = images of the --data-source folder, resized, no labels");
DEFINE_bool(evaluate, false, "quantize: evaluate FP32 and INT8 on the config's metrics");
DEFINE_bool(direct_dump, false,
            "quantize: write to <output-dir>/optimized/ instead of "
            "<output-dir>/<name>_<algorithm>/<time>/optimized/");
DEFINE_bool(keep_uncompressed_weights, false,
            "quantize: IR keeps FP32 weights with FakeQuantize instead of int8 + decompression");
DEFINE_string(output_format, "ir",
              "quantize: ir (OpenVINO IR v11, .xml + .bin) | onnx (ONNX QDQ .onnx; needs an "
              "ONNX input model)");
DEFINE_string(report, "",
              "quantize: write the JSON report here (FQ ranges, per-layer SQNR, metrics, "
              "times, files)");
DEFINE_bool(print_config, false, "quantize: print the effective config as JSON and exit");
DEFINE_bool(progress_bar, false,
            "quantize: progress bar on stderr (default: a bar on a terminal, "
            "else log lines)");
DEFINE_bool(stream_output, false, "quantize: progress as log lines, never a bar (POT)");
DEFINE_uint64(sqnr_samples, 8,
              "quantize: calibration samples the per-layer SQNR (INT8 vs FP32, in the report) is "
              "measured on (0 = skip)");
DEFINE_uint64(eval_subset_size, 0, "quantize: evaluate on the first N samples (0 = all)");

DECLARE_string(model);
DECLARE_string(weights);
DECLARE_string(output_dir);
DECLARE_string(input_shape);
DECLARE_string(freeze_input);
DECLARE_int32(threads);
DECLARE_string(data_type);
DECLARE_string(data_source);
DECLARE_string(data_option);
DECLARE_int32(workers);
DECLARE_int32(in_flight);
DECLARE_int32(samples_per_message);
DECLARE_int32(intra_op_threads);
DECLARE_uint64(checkpoint_every);
DECLARE_string(checkpoint);
DECLARE_bool(resume);
DECLARE_bool(skip_bad_samples);

namespace ptqflow::cli {
namespace {

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "ptqflow: error: %s\n", msg.c_str());
  return code;
}

bool Set(const char* flag) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(flag, &info) && !info.is_default;
}

// The run config from -c or from -q and the model/data flags. Usage errors -> kExitUsage.
int BuildConfig(proto::RunConfig* config) {
  const bool from_file = !FLAGS_config.empty();
  if (from_file == !FLAGS_quantize.empty()) {
    return Fail(kExitUsage, "give either -c/--config FILE or -q/--quantize default|accuracy_aware");
  }
  if (from_file) {
    for (const char* f : {"model", "weights", "preset", "max_drop", "engine", "data_type",
                          "data_source", "data_option", "name", "input_shape", "freeze_input"}) {
      if (Set(f)) {
        return Fail(kExitUsage, std::string("--") + f +
                                    " cannot be combined with -c/--config (put it in the config)");
      }
    }
    auto c = io::ReadRunConfig(FLAGS_config);
    if (!c.ok()) return Fail(kExitConfig, c.status().message());
    *config = std::move(*c);
    return kExitOk;
  }
  auto c = io::PotTemplate(FLAGS_quantize);
  if (!c.ok()) return Fail(kExitUsage, c.status().message());
  if (FLAGS_model.empty()) return Fail(kExitUsage, "-m/--model is required with -q");
  config->Swap(&*c);
  proto::ModelSection* m = config->mutable_model();
  m->set_model(FLAGS_model);
  m->set_weights(FLAGS_weights);
  m->set_model_name(FLAGS_name);
  if (!FLAGS_input_shape.empty()) {
    auto shapes = graph::ops::ParseInputShapes(FLAGS_input_shape);
    if (!shapes.ok()) return Fail(kExitUsage, "--input-shape: " + shapes.status().message());
    m->add_input_shape(FLAGS_input_shape);
  }
  if (!FLAGS_freeze_input.empty()) {
    auto frozen = io::ParseFrozenInputs(FLAGS_freeze_input);
    if (!frozen.ok()) return Fail(kExitUsage, "--freeze-input: " + frozen.status().message());
    m->add_freeze_input(FLAGS_freeze_input);
  }
  proto::AlgorithmParams* p =
      config->mutable_compression()->mutable_algorithms(0)->mutable_params();
  if (!FLAGS_preset.empty()) {
    if (FLAGS_preset != "performance" && FLAGS_preset != "mixed") {
      return Fail(kExitUsage, "--preset: expected performance or mixed");
    }
    p->set_preset(FLAGS_preset);
  }
  if (FLAGS_quantize == "accuracy_aware") {
    if (FLAGS_max_drop < 0)
      return Fail(kExitUsage, "--max-drop is required with -q accuracy_aware");
    p->set_maximal_drop(FLAGS_max_drop);
  } else if (Set("max_drop")) {
    return Fail(kExitUsage, "--max-drop applies to -q accuracy_aware only");
  }
  proto::EngineSection* e = config->mutable_engine();
  if (FLAGS_engine == "simplified") {
    if (FLAGS_data_source.empty()) {
      return Fail(kExitUsage, "--data-source DIR is required with --engine simplified");
    }
    e->set_type("simplified");
    e->set_data_source(FLAGS_data_source);
  } else if (!FLAGS_engine.empty()) {
    return Fail(kExitUsage, "--engine: only 'simplified' is supported (or use --data-type)");
  } else {
    auto d = io::DatasetConfigFromFlags(FLAGS_data_type, FLAGS_data_source, FLAGS_data_option);
    if (!d.ok()) return Fail(kExitUsage, d.status().message());
    *e->mutable_dataset() = std::move(*d);
  }
  Status st = io::ValidateRunConfig(*config);
  if (!st.ok()) return Fail(kExitConfig, st.message());
  return kExitOk;
}

}  // namespace

bool QuantizeRequested() { return !FLAGS_config.empty() || !FLAGS_quantize.empty(); }

int Quantize(int argc, char** argv) {
  (void)argv;
  if (argc > 2) return Fail(kExitUsage, "quantize takes no positional arguments");
  if (const std::string bad = CheckPipelineFlags(); !bad.empty()) return Fail(kExitUsage, bad);
  proto::RunConfig config;
  if (int code = BuildConfig(&config); code != kExitOk) return code;
  if (FLAGS_print_config) {
    std::printf("%s\n", io::MessageToJson(config).c_str());
    return kExitOk;
  }
  stages::QuantizeOptions opts;
  if (FLAGS_output_format == "onnx") {
    const std::filesystem::path model = config.model().model();
    std::string ext = model.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext != ".onnx") {
      return Fail(kExitUsage,
                  "--output-format onnx needs an ONNX input model (-m M.onnx or "
                  "model.model in the config); got '" +
                      model.string() + "'");
    }
    opts.output_format = stages::OutputFormat::kOnnx;
  } else if (FLAGS_output_format != "ir") {
    return Fail(kExitUsage, "--output-format " + FLAGS_output_format + ": expected ir or onnx");
  }
  if (!FLAGS_output_dir.empty()) opts.output_dir = FLAGS_output_dir;
  opts.direct_dump = FLAGS_direct_dump;
  opts.keep_uncompressed_weights = FLAGS_keep_uncompressed_weights;
  opts.evaluate = FLAGS_evaluate;
  opts.eval_subset_size = FLAGS_eval_subset_size;
  opts.sqnr_samples = FLAGS_sqnr_samples;
  stages::FlowEngineOptions& e = opts.engine;
  // --threads is the run's total: sessions x threads per session. --workers and
  // --intra-op-threads set either part explicitly.
  e.workers = FLAGS_workers > 0 ? FLAGS_workers : FLAGS_threads;
  e.intra_op_threads = FLAGS_intra_op_threads;
  if (e.intra_op_threads <= 0 && FLAGS_threads > 0) {
    e.intra_op_threads = std::max(1, FLAGS_threads / std::max(1, e.workers));
  }
  e.in_flight = FLAGS_in_flight;
  e.samples_per_message = FLAGS_samples_per_message;
  e.skip_bad_samples = FLAGS_skip_bad_samples;
  e.checkpoint_every = FLAGS_checkpoint_every;
  e.resume = FLAGS_resume;
  e.checkpoint_path = FLAGS_checkpoint;
  if (e.checkpoint_path.empty() && (FLAGS_resume || FLAGS_checkpoint_every > 0)) {
    e.checkpoint_path = (std::filesystem::path(opts.output_dir) / "ptqflow.ckpt").string();
  }
  if (!e.checkpoint_path.empty()) {
    const std::filesystem::path dir = std::filesystem::path(e.checkpoint_path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Fail(kExitBadInput,
                  "cannot create the checkpoint directory " + dir.string() + ": " + ec.message());
    }
  }
  e.progress = FLAGS_progress_bar    ? stages::ProgressMode::kBar
               : FLAGS_stream_output ? stages::ProgressMode::kLog
                                     : stages::ProgressMode::kAuto;
  e.dataset_identity = io::MessageToJson(config.engine());
  e.stop = stages::InstallStopSignalHandlers();

  stages::RunFailure failure;
  auto report = stages::RunQuantization(config, opts, &failure);
  if (!report.ok()) {
    const int code = failure == stages::RunFailure::kConfig ? kExitConfig
                     : failure == stages::RunFailure::kData ? kExitData
                                                            : kExitBadInput;
    return Fail(code, report.status().message());
  }
  std::fprintf(stdout, "%s", stages::RunReportSummary(*report).c_str());
  if (!FLAGS_report.empty()) {
    Status st = io::WriteFileAtomically(FLAGS_report, stages::RunReportToJson(*report));
    if (!st.ok()) return Fail(kExitBadInput, st.message());
  }
  if (report->accuracy_aware && !report->accuracy_aware->target_met) {
    return Fail(kExitAccuracy, report->accuracy_aware->message);
  }
  return kExitOk;
}

}  // namespace ptqflow::cli
