#include "stages/quantize_pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include <glog/logging.h>

#include "graph/ops/shape_inference.h"
#include "io/config/dataset_config.h"
#include "io/ir/ir_writer.h"
#include "io/json.h"
#include "io/model/model_io.h"
#include "io/onnx/qdq_writer.h"
#include "quant/algorithms.h"
#include "quant/compress_weights.h"
#include "quant/placement.h"
#include "stages/run_options.h"

namespace ptqflow::stages {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t ConstBytes(const graph::Graph& g) {
  int64_t bytes = 0;
  for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(g.size()); ++id) {
    const graph::Node& n = g.node(id);
    if (n.alive && n.type == "Const") bytes += static_cast<int64_t>(n.constant.nbytes());
  }
  return bytes;
}

std::string Timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d_%H-%M-%S", &tm);
  return buf;
}

std::filesystem::path OutputModel(const QuantizeOptions& o, const RunOptions& run) {
  if (!o.output_model.empty()) return o.output_model;
  const std::string algo = run.algorithms.empty() ? "quantized" : run.algorithms[0];
  const std::string file =
      run.model_name + (o.output_format == OutputFormat::kOnnx ? ".onnx" : ".xml");
  if (o.direct_dump) return o.output_dir / "optimized" / file;
  return o.output_dir / (run.model_name + "_" + algo) / Timestamp() / "optimized" / file;
}

bool IsOnnxPath(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".onnx";
}

// The algorithms' wall time includes the engine's statistics passes: report those as their own
// "statistics" stage just before "algorithms", and the rest as "algorithms".
void SplitStatisticsTime(double statistics, std::vector<std::pair<std::string, double>>* seconds) {
  for (size_t i = 0; i < seconds->size(); ++i) {
    if ((*seconds)[i].first != "algorithms") continue;
    (*seconds)[i].second = std::max(0.0, (*seconds)[i].second - statistics);
    seconds->insert(seconds->begin() + static_cast<std::ptrdiff_t>(i), {"statistics", statistics});
    return;
  }
}

// JSON has no infinities or NaN: +/-inf (an SQNR of identical or all-zero values) and NaN (a
// metric over no sample) are written as the strings "inf", "-inf", "nan".
io::JsonValue FiniteOrString(double v) {
  if (std::isnan(v)) return io::JsonValue::String("nan");
  if (std::isinf(v)) return io::JsonValue::String(v > 0 ? "inf" : "-inf");
  return io::JsonValue::Number(v);
}

}  // namespace

Result<RunReport> RunQuantization(const proto::RunConfig& config, const QuantizeOptions& options,
                                  RunFailure* failure) {
  RunFailure ignored;
  RunFailure& kind = failure != nullptr ? *failure : ignored;
  kind = RunFailure::kConfig;
  RunReport report;
  auto t = Clock::now();
  PTQ_ASSIGN_OR_RETURN(std::unique_ptr<RunOptions> run, MakeRunOptions(config));
  report.model_name = run->model_name;
  const bool onnx_out = options.output_format == OutputFormat::kOnnx;
  report.output_format = onnx_out ? "onnx" : "ir";
  if (onnx_out && !IsOnnxPath(run->model)) {
    return Status::Error("ONNX QDQ output needs an ONNX input model (model.model is '" +
                         run->model.string() + "'); write OpenVINO IR instead");
  }

  io::ModelReadOptions read;
  read.weights = run->weights;
  for (const std::string& spec : run->input_shapes) {
    PTQ_ASSIGN_OR_RETURN(auto shapes, graph::ops::ParseInputShapes(spec));
    for (auto& [name, shape] : shapes) read.input_shapes[name] = shape;
  }
  for (const std::string& spec : run->freeze_inputs) {
    PTQ_ASSIGN_OR_RETURN(auto frozen, io::ParseFrozenInputs(spec));
    for (auto& [name, value] : frozen) read.frozen_inputs[name] = value;
  }
  kind = RunFailure::kModel;
  PTQ_ASSIGN_OR_RETURN(graph::Graph fp32, io::ReadModel(run->model, read));
  report.seconds.emplace_back("load model", Since(t));
  LOG(INFO) << "read " << run->model.string() << ": " << fp32.LiveNodes().size() << " layers";

  t = Clock::now();
  kind = RunFailure::kData;
  PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const io::Dataset> dataset, OpenRunDataset(config, fp32));
  FlowEngineOptions eopts = options.engine;
  eopts.selection = run->selection;
  FlowEngine engine(dataset, eopts);
  report.calibration_samples = engine.num_samples();
  report.sessions = engine.workers();
  report.threads_per_session = engine.intra_op_threads();
  report.seconds.emplace_back("load dataset", Since(t));
  LOG(INFO) << "calibration data: " << engine.num_samples() << " of " << dataset->size()
            << " samples; " << engine.workers() << " sessions x " << engine.intra_op_threads()
            << " threads";

  // ONNX output: activations per tensor unless the config says otherwise. ONNX Runtime's int8
  // kernels (QLinearConv, QLinearMatMul) take one input scale, as NNCF's ONNX backend and ORT's
  // own quantizer assume; a per-channel activation Q/DQ (the CPU config's choice for depthwise
  // inputs) leaves the layer in float and made a QDQ MobileNetV2 slower than FP32.
  const bool per_tensor_for_onnx = onnx_out && !run->placement.activations.granularity;
  if (per_tensor_for_onnx) {
    run->placement.activations.granularity = quant::Granularity::kPerTensor;
  }

  t = Clock::now();
  graph::Graph g = fp32;
  kind = RunFailure::kModel;
  PTQ_ASSIGN_OR_RETURN(quant::QuantizationPlan plan, quant::PlaceFakeQuantize(&g, run->placement));
  report.seconds.emplace_back("placement", Since(t));
  LOG(INFO) << "placed " << plan.fqs.size() << " FakeQuantize; running";
  for (const std::string& a : run->algorithms) LOG(INFO) << "  " << a;

  t = Clock::now();
  quant::QuantizationReport qr;
  if (run->accuracy_aware) {
    bool data_error = false;
    auto aa = RunAccuracyAware(config, *run, options, fp32, std::move(g), std::move(plan), &engine,
                               dataset, &data_error);
    if (!aa.ok() && data_error) kind = RunFailure::kData;
    PTQ_RETURN_IF_ERROR(aa.status());
    g = std::move(aa->model);
    plan = std::move(aa->plan);
    qr = std::move(aa->report);
    report.accuracy_aware = std::move(aa->summary);
  } else {
    PTQ_ASSIGN_OR_RETURN(
        qr, quant::RunAlgorithms(run->algorithms, &g, plan, &engine, run->algorithm_options));
  }
  report.seconds.emplace_back("algorithms", Since(t));
  report.skipped_samples = engine.bad_samples().count();

  for (size_t i = 0; i < plan.fqs.size(); ++i) {
    const quant::FqInfo& f = plan.fqs[i];
    FqSummary s;
    s.name = g.node(f.fq).name;
    s.role = f.role == quant::TensorRole::kWeights ? "weights" : "activations";
    s.mode = quant::QuantModeName(f.config.mode);
    s.granularity = quant::GranularityName(f.config.granularity);
    s.levels = f.levels.levels;
    if (i < qr.fitted.size()) {
      const quant::FqParams& p = qr.fitted[i].params;
      if (!p.input_low.empty()) {
        s.input_low_min = *std::min_element(p.input_low.begin(), p.input_low.end());
        s.input_high_max = *std::max_element(p.input_high.begin(), p.input_high.end());
        s.output_low_min = *std::min_element(p.output_low.begin(), p.output_low.end());
        s.output_high_max = *std::max_element(p.output_high.begin(), p.output_high.end());
      }
    }
    VLOG(1) << s.name << ": " << s.role << ", " << s.mode << ", " << s.granularity << ", levels "
            << s.levels << ", input [" << s.input_low_min << ", " << s.input_high_max
            << "], output [" << s.output_low_min << ", " << s.output_high_max << "]";
    report.fqs.push_back(std::move(s));
  }
  for (const quant::BiasCorrectionEntry& b : qr.biases) {
    report.bias_corrections.push_back(
        b.op_name + ": " + (b.applied ? "applied" : "skipped") +
        (b.skipped_reason.empty() ? "" : " (" + b.skipped_reason + ")"));
  }

  SplitStatisticsTime(engine.seconds(), &report.seconds);

  if (options.sqnr_samples > 0) {
    t = Clock::now();
    kind = RunFailure::kData;
    const std::vector<size_t>& selection = engine.selection();
    const std::vector<size_t> samples(
        selection.begin(), selection.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                   options.sqnr_samples, selection.size())));
    const std::vector<graph::NodeId> layers = QuantizedLayers(plan);
    LayerSqnrOptions lo;
    lo.threads = engine.workers() * engine.intra_op_threads();
    PTQ_ASSIGN_OR_RETURN(report.layer_sqnr,
                         ComputeLayerSqnr(fp32, g, layers, *dataset, samples, lo));
    report.sqnr_samples = samples.size();
    for (const LayerSqnr& l : report.layer_sqnr) {
      VLOG(1) << "SQNR " << l.name << " (" << l.type << "): " << l.sqnr_db << " dB";
    }
    report.seconds.emplace_back("layer sqnr", Since(t));
    kind = RunFailure::kModel;
  }

  graph::Graph out = g;
  if (!options.keep_uncompressed_weights) {
    t = Clock::now();
    PTQ_ASSIGN_OR_RETURN(quant::CompressWeightsStats cw, quant::CompressQuantizedWeights(&out));
    report.compressed_weights = cw.compressed;
    report.seconds.emplace_back("compress weights", Since(t));
  }
  report.fp32_weight_bytes = ConstBytes(fp32);
  report.int8_weight_bytes = ConstBytes(out);

  t = Clock::now();
  kind = RunFailure::kOutput;
  report.output_model = OutputModel(options, *run);
  std::error_code ec;
  std::filesystem::create_directories(report.output_model.parent_path(), ec);
  if (ec) {
    return Status::Error("cannot create output directory " +
                         report.output_model.parent_path().string() + ": " + ec.message());
  }
  if (onnx_out) {
    // The QDQ writer maps the FakeQuantize graph (FP32 weights + FQ, before compression) back
    // onto the original ONNX file.
    io::QdqWriterOptions wo;
    wo.import_options.input_shapes = read.input_shapes;
    wo.import_options.frozen_inputs = read.frozen_inputs;
    PTQ_ASSIGN_OR_RETURN(io::QdqExportSummary qdq,
                         io::WriteQdqOnnx(run->model, g, plan, report.output_model, wo));
    report.written_files.push_back(report.output_model);
    report.export_notes = std::move(qdq.notes);
    if (per_tensor_for_onnx) {
      report.export_notes.push_back(
          "activations quantized per tensor for ONNX Runtime's int8 kernels "
          "(compression...activations.granularity overrides)");
    }
  } else {
    PTQ_RETURN_IF_ERROR(io::WriteIr(out, report.output_model));
    report.written_files.push_back(report.output_model);
    report.written_files.push_back(
        std::filesystem::path(report.output_model).replace_extension(".bin"));
  }
  report.seconds.emplace_back("write", Since(t));
  for (const auto& f : report.written_files) LOG(INFO) << "wrote " << f.string();

  if (options.evaluate) {
    if (run->metrics.empty()) {
      return Status::Error("evaluation (-e) needs metrics: add \"metrics\" to the engine section");
    }
    t = Clock::now();
    kind = RunFailure::kData;
    std::vector<std::unique_ptr<quant::Metric>> metrics;
    std::vector<const quant::Metric*> ptrs;
    for (const quant::MetricSpec& spec : run->metrics) {
      PTQ_ASSIGN_OR_RETURN(auto m, quant::Metric::Create(spec));
      ptrs.push_back(m.get());
      metrics.push_back(std::move(m));
    }
    std::shared_ptr<const io::Dataset> eval_data = dataset;
    if (config.engine().has_eval_dataset()) {
      PTQ_ASSIGN_OR_RETURN(eval_data,
                           io::OpenDataset(config.engine().eval_dataset(), "engine.eval_dataset"));
    }
    EvaluationOptions ev;
    ev.selection.subset_size = options.eval_subset_size;
    ev.workers = options.engine.workers;
    ev.intra_op_threads = options.engine.intra_op_threads;
    ev.skip_bad_samples = options.engine.skip_bad_samples;
    ev.progress = options.engine.progress;
    ev.name = "FP32 evaluation";
    PTQ_ASSIGN_OR_RETURN(EvaluationResult f, Evaluate(fp32, &fp32, *eval_data, ptrs, ev));
    ev.name = "INT8 evaluation";
    PTQ_ASSIGN_OR_RETURN(EvaluationResult q, Evaluate(out, &fp32, *eval_data, ptrs, ev));
    for (size_t i = 0; i < metrics.size(); ++i) {
      report.metrics.push_back(
          {metrics[i]->name(), metrics[i]->higher_is_better(), f.values[i], q.values[i]});
    }
    report.eval_samples = q.positions.size();
    report.fp32_latency_ms = f.median_run_ms;
    report.int8_latency_ms = q.median_run_ms;
    report.seconds.emplace_back("evaluation", Since(t));
  }
  kind = RunFailure::kNone;
  return report;
}

std::string RunReportToJson(const RunReport& r) {
  using io::JsonValue;
  std::vector<JsonValue::Member> top;
  top.emplace_back("model_name", JsonValue::String(r.model_name));
  top.emplace_back("output_model", JsonValue::String(r.output_model.string()));
  top.emplace_back("output_format", JsonValue::String(r.output_format));
  std::vector<JsonValue> files;
  for (const auto& f : r.written_files) files.push_back(JsonValue::String(f.string()));
  top.emplace_back("written_files", JsonValue::Array(std::move(files)));
  std::vector<JsonValue> notes;
  for (const std::string& n : r.export_notes) notes.push_back(JsonValue::String(n));
  top.emplace_back("export_notes", JsonValue::Array(std::move(notes)));
  top.emplace_back("calibration_samples",
                   JsonValue::Integer(static_cast<int64_t>(r.calibration_samples)));
  top.emplace_back("skipped_samples", JsonValue::Integer(static_cast<int64_t>(r.skipped_samples)));
  top.emplace_back("threads",
                   JsonValue::Object({{"sessions", JsonValue::Integer(r.sessions)},
                                      {"per_session", JsonValue::Integer(r.threads_per_session)}}));
  std::vector<JsonValue> fqs;
  for (const FqSummary& f : r.fqs) {
    fqs.push_back(JsonValue::Object({
        {"name", JsonValue::String(f.name)},
        {"role", JsonValue::String(f.role)},
        {"mode", JsonValue::String(f.mode)},
        {"granularity", JsonValue::String(f.granularity)},
        {"levels", JsonValue::Integer(f.levels)},
        {"input_low", JsonValue::Number(f.input_low_min)},
        {"input_high", JsonValue::Number(f.input_high_max)},
        {"output_low", JsonValue::Number(f.output_low_min)},
        {"output_high", JsonValue::Number(f.output_high_max)},
    }));
  }
  top.emplace_back("fake_quantize", JsonValue::Array(std::move(fqs)));
  top.emplace_back("compressed_weights", JsonValue::Integer(r.compressed_weights));
  std::vector<JsonValue> bias;
  for (const std::string& b : r.bias_corrections) bias.push_back(JsonValue::String(b));
  top.emplace_back("bias_corrections", JsonValue::Array(std::move(bias)));
  std::vector<JsonValue> metrics;
  for (const MetricRow& m : r.metrics) {
    metrics.push_back(
        JsonValue::Object({{"name", JsonValue::String(m.name)},
                           {"fp32", FiniteOrString(m.fp32)},
                           {"int8", FiniteOrString(m.int8)},
                           {"higher_is_better", JsonValue::Bool(m.higher_is_better)}}));
  }
  top.emplace_back("metrics", JsonValue::Array(std::move(metrics)));
  top.emplace_back("eval_samples", JsonValue::Integer(static_cast<int64_t>(r.eval_samples)));
  top.emplace_back("latency_ms",
                   JsonValue::Object({{"fp32", JsonValue::Number(r.fp32_latency_ms)},
                                      {"int8", JsonValue::Number(r.int8_latency_ms)}}));
  std::vector<JsonValue> layers;
  for (const LayerSqnr& l : r.layer_sqnr) {
    layers.push_back(JsonValue::Object({{"name", JsonValue::String(l.name)},
                                        {"id", JsonValue::Integer(l.id)},
                                        {"type", JsonValue::String(l.type)},
                                        {"measured_at", JsonValue::String(l.measured)},
                                        {"sqnr_db", FiniteOrString(l.sqnr_db)}}));
  }
  top.emplace_back(
      "layer_sqnr",
      JsonValue::Object({{"samples", JsonValue::Integer(static_cast<int64_t>(r.sqnr_samples))},
                         {"layers", JsonValue::Array(std::move(layers))}}));
  std::vector<JsonValue::Member> secs;
  for (const auto& [stage, s] : r.seconds) secs.emplace_back(stage, JsonValue::Number(s));
  top.emplace_back("seconds", JsonValue::Object(std::move(secs)));
  top.emplace_back("fp32_weight_bytes", JsonValue::Integer(r.fp32_weight_bytes));
  top.emplace_back("int8_weight_bytes", JsonValue::Integer(r.int8_weight_bytes));
  if (r.accuracy_aware) top.emplace_back("accuracy_aware", AccuracyAwareToJson(*r.accuracy_aware));
  return io::ToJson(JsonValue::Object(std::move(top))) + "\n";
}

std::string RunReportSummary(const RunReport& r) {
  std::ostringstream os;
  int weights = 0, acts = 0;
  for (const FqSummary& f : r.fqs) (f.role == "weights" ? weights : acts)++;
  os << "quantized " << r.model_name << ": " << r.fqs.size() << " FakeQuantize (" << weights
     << " on weights, " << acts << " on activations), " << r.calibration_samples
     << " calibration samples";
  if (r.skipped_samples > 0) os << " (" << r.skipped_samples << " skipped)";
  os << "\n";
  if (!r.metrics.empty()) {
    char line[256];
    std::snprintf(line, sizeof(line), "%-28s %12s %12s %10s\n", "metric", "FP32", "INT8", "drop");
    os << line;
    for (const MetricRow& m : r.metrics) {
      const double drop = m.higher_is_better ? m.fp32 - m.int8 : m.int8 - m.fp32;
      std::snprintf(line, sizeof(line), "%-28s %12.4f %12.4f %10.4f\n", m.name.c_str(), m.fp32,
                    m.int8, drop);
      os << line;
    }
    std::snprintf(line, sizeof(line), "%-28s %12.2f %12.2f\n", "weights (MB)",
                  r.fp32_weight_bytes / 1e6, r.int8_weight_bytes / 1e6);
    os << line;
    std::snprintf(line, sizeof(line), "%-28s %12.2f %12.2f\n", "latency (ms/sample)",
                  r.fp32_latency_ms, r.int8_latency_ms);
    os << line;
    os << "(" << r.eval_samples
       << " evaluation samples; latency: median inference in ptqflow's executor, INT8 simulated "
          "with FakeQuantize in FP32)\n";
  }
  if (!r.layer_sqnr.empty()) {
    // The three worst layers and the median, short.
    std::vector<const LayerSqnr*> sorted;
    for (const LayerSqnr& l : r.layer_sqnr) sorted.push_back(&l);
    std::stable_sort(sorted.begin(), sorted.end(), [](const LayerSqnr* a, const LayerSqnr* b) {
      return a->sqnr_db < b->sqnr_db;
    });
    auto db = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.1f dB", v);
      return std::string(buf);
    };
    os << "layer SQNR INT8 vs FP32 (" << sorted.size() << " layers, " << r.sqnr_samples
       << " samples): median " << db(sorted[sorted.size() / 2]->sqnr_db) << "; lowest:";
    for (size_t i = 0; i < std::min<size_t>(3, sorted.size()); ++i) {
      os << " " << db(sorted[i]->sqnr_db) << " " << sorted[i]->name << " (" << sorted[i]->type
         << ");";
    }
    os << "\n";
  }
  if (r.metrics.empty()) {
    char sizes[128];
    std::snprintf(sizes, sizeof(sizes), "weights: %.2f MB FP32 -> %.2f MB\n",
                  r.fp32_weight_bytes / 1e6, r.int8_weight_bytes / 1e6);
    os << sizes;
  }
  if (r.accuracy_aware) os << AccuracyAwareText(*r.accuracy_aware);
  os << "time:";
  for (const auto& [stage, s] : r.seconds) {
    char t[64];
    std::snprintf(t, sizeof(t), " %s %.2fs;", stage.c_str(), s);
    os << t;
  }
  os << "\n";
  for (const std::string& n : r.export_notes) os << "note: " << n << "\n";
  os << "output:";
  for (const auto& f : r.written_files) os << " " << f.string();
  os << "\n";
  return os.str();
}

}  // namespace ptqflow::stages
