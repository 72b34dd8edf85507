// ptqflow calibrate: one statistics pass of the flow graph on a real model and dataset, then
// POT's default symmetric activation ranges for every Convolution / GroupConvolution / MatMul
// input activation, written atomically as JSON (stable bytes: values in graph order, floats
// with 9 significant digits).
#include "cli/calibrate.h"

#include <gflags/gflags.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "io/atomic_file.h"
#include "io/data/idx_dataset.h"
#include "io/data/image_dataset.h"
#include "io/model/model_io.h"
#include "quant/fake_quantize.h"
#include "stages/flow_engine.h"
#include "stages/stop_signal.h"

DECLARE_string(model);
DECLARE_string(output);
DEFINE_string(data_type, "",
              "dataset loader: quantize (with -q): idx | image | audio | text | tensor; "
              "calibrate: idx | image");
DEFINE_string(data_source, "", "dataset file, folder or glob (quantize with -q, calibrate)");
DEFINE_string(data_option, "",
              "loader options key=value,...; quantize: any field of the loader's config "
              "(proto/dataset.proto), lists as k=[a,b]; calibrate: idx: labels, normalize, mean, "
              "std, border; image: height, width, mean, scale, rgb");
DEFINE_int32(workers, 0,
             "quantize, calibrate: concurrent inference sessions (0 = --threads, else cores)");
DEFINE_int32(in_flight, 0,
             "quantize, calibrate: samples in flight in the pipeline (0 = 2 x workers x 64)");
DEFINE_int32(samples_per_message, 0,
             "quantize, calibrate: consecutive samples a pipeline message carries (0 = automatic: "
             "about 4 ms of inference, at most 64); scheduling only, results do not change");
DEFINE_int32(intra_op_threads, 0,
             "quantize, calibrate: threads per session (0 = --threads / workers, at least 1)");
DEFINE_uint64(checkpoint_every, 0,
              "quantize, calibrate: write the statistics checkpoint every N samples (0 = only "
              "when stopped by SIGINT/SIGTERM)");
DEFINE_string(checkpoint, "",
              "quantize, calibrate: checkpoint file (default: quantize <output-dir>/ptqflow.ckpt, "
              "calibrate <output>.ckpt)");
DEFINE_bool(resume, false, "quantize, calibrate: continue from the checkpoint file when it exists");
DEFINE_uint64(subset_size, 300, "calibrate: samples to use (POT's stat_subset_size; 0 = all)");
DEFINE_bool(shuffle, false, "calibrate: shuffle the dataset before taking subset-size samples");
DEFINE_uint64(seed, 0, "calibrate: shuffle seed");
DEFINE_bool(skip_bad_samples, false,
            "quantize, calibrate: skip unreadable samples (counted in the report) instead of "
            "failing");
DEFINE_string(progress, "auto", "calibrate: progress output: auto | bar | log | none");
DEFINE_uint64(testing_kill_after, 0,
              "calibrate (testing): raise SIGKILL after this many merged samples");
DEFINE_uint64(testing_sigterm_after, 0,
              "calibrate (testing): raise SIGTERM after this many merged samples");

namespace ptqflow::cli {
namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "ptqflow: error: %s\n", st.message().c_str());
  return kExitBadInput;
}

int UsageError(const std::string& what) {
  std::fprintf(stderr, "ptqflow: %s\n\n%s", what.c_str(), UsageText());
  return kExitUsage;
}

Result<bool> ParseBool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return Status::Error("--data-option " + key + "=" + v + ": expected true or false");
}

Result<double> ParseNumber(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') {
    return Status::Error("--data-option " + key + "=" + v + ": expected a number");
  }
  return d;
}

// Until io/data/dataset_config.h lands: the two loaders calibrate needs, from flags.
Result<std::shared_ptr<const io::Dataset>> DatasetFromFlags() {
  PTQ_ASSIGN_OR_RETURN(auto opts, io::ParseNameValueList(FLAGS_data_option, "--data-option"));
  if (FLAGS_data_type == "idx") {
    io::IdxDatasetOptions o;
    o.images_file = FLAGS_data_source;
    for (const auto& [k, v] : opts) {
      if (k == "labels") {
        o.labels_file = v;
      } else if (k == "normalize") {
        PTQ_ASSIGN_OR_RETURN(o.normalize, ParseBool(k, v));
      } else if (k == "mean") {
        PTQ_ASSIGN_OR_RETURN(double d, ParseNumber(k, v));
        o.mean = static_cast<float>(d);
      } else if (k == "std") {
        PTQ_ASSIGN_OR_RETURN(double d, ParseNumber(k, v));
        o.std = static_cast<float>(d);
      } else if (k == "border") {
        PTQ_ASSIGN_OR_RETURN(double d, ParseNumber(k, v));
        o.border = static_cast<int>(d);
      } else {
        return Status::Error("--data-option: unknown key '" + k + "' for --data-type idx");
      }
    }
    PTQ_ASSIGN_OR_RETURN(auto d, io::IdxDataset::Create(o));
    return std::shared_ptr<const io::Dataset>(std::move(d));
  }
  if (FLAGS_data_type == "image") {
    io::ImageDatasetOptions o;
    o.source = FLAGS_data_source;
    for (const auto& [k, v] : opts) {
      if (k == "height" || k == "width") {
        PTQ_ASSIGN_OR_RETURN(double d, ParseNumber(k, v));
        (k == "height" ? o.height : o.width) = static_cast<int>(d);
      } else if (k == "mean" || k == "scale") {
        PTQ_ASSIGN_OR_RETURN(double d, ParseNumber(k, v));
        (k == "mean" ? o.mean : o.scale) = {static_cast<float>(d)};
      } else if (k == "rgb") {
        PTQ_ASSIGN_OR_RETURN(bool rgb, ParseBool(k, v));
        o.color = rgb ? io::ColorOrder::kRgb : io::ColorOrder::kBgr;
      } else {
        return Status::Error("--data-option: unknown key '" + k + "' for --data-type image");
      }
    }
    PTQ_ASSIGN_OR_RETURN(auto d, io::ImageDataset::Create(o));
    return std::shared_ptr<const io::Dataset>(std::move(d));
  }
  return Status::Error("--data-type: \"" + FLAGS_data_type + "\" is not idx or image");
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonFloat(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

std::string CheckPipelineFlags() {
  const std::pair<const char*, int> flags[] = {{"--workers", FLAGS_workers},
                                               {"--in-flight", FLAGS_in_flight},
                                               {"--samples-per-message", FLAGS_samples_per_message},
                                               {"--intra-op-threads", FLAGS_intra_op_threads}};
  for (const auto& [name, value] : flags) {
    if (value < 0) {
      return std::string(name) + " " + std::to_string(value) + ": must be >= 0 (0 = automatic)";
    }
  }
  return "";
}

int Calibrate(int argc, char**) {
  if (argc != 2) return UsageError("calibrate takes flags only");
  if (FLAGS_model.empty()) return UsageError("calibrate needs --model M.xml|M.onnx");
  if (FLAGS_data_type.empty() || FLAGS_data_source.empty()) {
    return UsageError("calibrate needs --data-type and --data-source");
  }
  if (FLAGS_output.empty()) return UsageError("calibrate needs --output stats.json");
  if (const std::string bad = CheckPipelineFlags(); !bad.empty()) return UsageError(bad);
  stages::ProgressMode progress;
  if (!stages::ParseProgressMode(FLAGS_progress, &progress)) {
    return UsageError("--progress must be auto, bar, log or none");
  }

  auto g = io::ReadModel(FLAGS_model, {});
  if (!g.ok()) return Fail(g.status());
  auto data = DatasetFromFlags();
  if (!data.ok()) return Fail(data.status());

  // POT's default activation statistics on every weighted layer's input activation.
  std::vector<graph::ValueRef> values;
  std::map<graph::ValueRef, std::vector<std::string>> consumers;
  for (graph::NodeId id : g->LiveNodes()) {
    const graph::Node& n = g->node(id);
    if (n.type != "Convolution" && n.type != "GroupConvolution" && n.type != "MatMul") continue;
    const graph::ValueRef v = n.input(0);
    if (g->node(v.node).is_const()) continue;
    if (!consumers.count(v)) values.push_back(v);
    consumers[v].push_back(n.name);
  }
  std::sort(values.begin(), values.end());
  if (values.empty()) {
    return Fail(Status::Error(FLAGS_model + ": no Convolution, GroupConvolution or MatMul layer "
                                            "with a computed input to calibrate"));
  }
  std::vector<quant::StatRequest> requests;
  for (const graph::ValueRef& v : values) {
    quant::StatRequest mn, am;
    mn.value = am.value = v;
    mn.reduction.type = quant::StatType::kMin;
    am.reduction.type = quant::StatType::kAbsMax;
    requests.push_back(mn);
    requests.push_back(am);
  }

  stages::FlowEngineOptions o;
  o.selection.subset_size = FLAGS_subset_size;
  o.selection.shuffle = FLAGS_shuffle;
  o.selection.seed = FLAGS_seed;
  o.skip_bad_samples = FLAGS_skip_bad_samples;
  o.workers = FLAGS_workers;
  o.in_flight = FLAGS_in_flight;
  o.samples_per_message = FLAGS_samples_per_message;
  o.intra_op_threads = FLAGS_intra_op_threads;
  o.checkpoint_every = FLAGS_checkpoint_every;
  o.checkpoint_path = FLAGS_checkpoint.empty() ? FLAGS_output + ".ckpt" : FLAGS_checkpoint;
  o.resume = FLAGS_resume;
  o.dataset_identity = FLAGS_data_type + "|" + FLAGS_data_source + "|" + FLAGS_data_option;
  o.progress = progress;
  o.stop = stages::InstallStopSignalHandlers();
  const uint64_t kill_after = FLAGS_testing_kill_after;
  const uint64_t term_after = FLAGS_testing_sigterm_after;
  if (kill_after > 0 || term_after > 0) {
    o.on_merged = [kill_after, term_after](size_t done) {
      if (done == kill_after) std::raise(SIGKILL);
      if (done == term_after) std::raise(SIGTERM);
    };
  }
  stages::FlowEngine engine(*data, o);
  std::fprintf(stderr,
               "calibrate: %zu samples, %zu activations, %d workers x %d threads, %d in flight\n",
               engine.num_samples(), values.size(), engine.workers(), engine.intra_op_threads(),
               engine.in_flight());
  quant::CollectOptions co;
  co.pass_name = "MinMax";
  auto stats = engine.Collect(*g, requests, co);
  if (!stats.ok()) {
    std::fprintf(stderr, "ptqflow: error: %s\n", stats.status().message().c_str());
    if (engine.interrupted()) return 128 + stages::StopSignalNumber();
    return kExitBadInput;
  }
  const std::string skipped = engine.bad_samples().Report(engine.num_samples());
  if (!skipped.empty()) std::fprintf(stderr, "%s\n", skipped.c_str());

  // Fitting: pot-spec §3.3 (min aggregated by min, abs_max by mean) and §2.2.
  std::string json = "{\n  \"model\": " + JsonString(FLAGS_model) +
                     ",\n  \"samples\": " + std::to_string(stats->num_samples) +
                     ",\n  \"skipped\": " + std::to_string(engine.bad_samples().count()) +
                     ",\n  \"activations\": [";
  for (size_t i = 0; i < values.size(); ++i) {
    const graph::ValueRef v = values[i];
    auto mn = quant::Aggregate(*stats->results[2 * i].samples, quant::Aggregator::kMin);
    auto am = quant::Aggregate(*stats->results[2 * i + 1].samples, quant::Aggregator::kMean);
    if (!mn.ok()) return Fail(mn.status());
    if (!am.ok()) return Fail(am.status());
    const quant::FqParams fq = quant::SymmetricActivationRange(*mn, *am, 256, false);
    std::string names;
    for (const std::string& c : consumers[v]) names += (names.empty() ? "" : ", ") + JsonString(c);
    json += std::string(i ? "," : "") +
            "\n    {\"value\": " + JsonString(g->node(v.node).name + ":" + std::to_string(v.port)) +
            ", \"consumers\": [" + names + "], \"min\": " + JsonFloat((*mn)[0]) +
            ", \"abs_max_mean\": " + JsonFloat((*am)[0]) + ", \"levels\": 256" +
            ", \"input_low\": " + JsonFloat(fq.input_low[0]) +
            ", \"input_high\": " + JsonFloat(fq.input_high[0]) + "}";
  }
  json += "\n  ]\n}\n";
  Status st = io::WriteFileAtomically(FLAGS_output, json);
  if (!st.ok()) return Fail(st);
  // The run is complete: its checkpoint has served its purpose.
  std::error_code ec;
  std::filesystem::remove(o.checkpoint_path, ec);
  std::printf("wrote %s (%zu activation ranges from %zu samples)\n", FLAGS_output.c_str(),
              values.size(), stats->num_samples);
  return kExitOk;
}

}  // namespace ptqflow::cli
