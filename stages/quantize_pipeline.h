// A whole quantization run, as `ptqflow -c config.json` / `ptqflow -q default ...` performs it:
//
//   run config ──MakeRunOptions──► model (ReadModel) ─► calibration dataset ─► FlowEngine
//     ─► PlaceFakeQuantize ─► the configured algorithms (DefaultQuantization, ...) through the
//        engine's statistics passes ─► compress weights (unless kept as FP32 + FQ)
//     ─► write the model atomically: OpenVINO IR v11 (.xml + .bin), or for an ONNX input model
//        and OutputFormat::kOnnx the original ONNX graph with QuantizeLinear/DequantizeLinear
//        pairs (io/onnx/qdq_writer.h, built from the FakeQuantize graph before compression)
//     ─► [evaluate FP32 and INT8 on the metrics] ─► RunReport
//
// The output model is a pure function of the model, the config and the dataset: the same bytes
// at any thread count, resumed or not (the flow graph's determinism contract).
//
// Ownership: plain values in and out. Thread-safety: one run per call; runs are independent.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "proto/run_config.pb.h"
#include "stages/accuracy_aware.h"
#include "stages/evaluator.h"
#include "stages/flow_engine.h"
#include "stages/layer_sqnr.h"

namespace ptqflow::stages {

enum class OutputFormat {
  kIr,    // OpenVINO IR v11: <name>.xml + <name>.bin
  kOnnx,  // ONNX QDQ: <name>.onnx (the input model must be ONNX)
};

struct QuantizeOptions {
  // Where the model goes: `output_model` when set, else POT's layout under output_dir
  // (<output_dir>/<model_name>_<algorithm>/<YYYY-MM-DD_HH-MM-SS>/optimized/<model_name>.xml, or
  // <output_dir>/optimized/<model_name>.xml with direct_dump; .onnx for OutputFormat::kOnnx).
  std::filesystem::path output_dir = "results";
  bool direct_dump = false;
  std::filesystem::path output_model;
  OutputFormat output_format = OutputFormat::kIr;
  bool keep_uncompressed_weights = false;  // FQ on FP32 weights instead of int8 + decompression
  bool evaluate = false;                   // FP32 vs INT8 on engine.metrics
  // Per-layer SQNR of the quantized model vs FP32 (stages/layer_sqnr.h) on the first
  // `sqnr_samples` calibration samples; 0 = not measured.
  size_t sqnr_samples = 8;
  size_t eval_subset_size = 0;  // 0 = the whole dataset
  // Statistics engine settings (selection comes from the config; checkpoint/resume, threads,
  // progress from here).
  FlowEngineOptions engine;
};

struct FqSummary {
  std::string name;
  std::string role;  // "weights" | "activations"
  std::string mode;  // "symmetric" | "asymmetric"
  std::string granularity;
  int64_t levels = 0;
  float input_low_min = 0, input_high_max = 0;  // over channels
  float output_low_min = 0, output_high_max = 0;
};

struct MetricRow {
  std::string name;
  bool higher_is_better = true;
  double fp32 = 0, int8 = 0;
};

struct RunReport {
  std::filesystem::path output_model;  // the .xml (IR) or .onnx (QDQ) written
  std::string output_format;           // "ir" | "onnx"
  // Every file the run wrote, in writing order (the model's .xml and .bin, or the .onnx).
  std::vector<std::filesystem::path> written_files;
  std::vector<std::string> export_notes;  // QDQ export: rounded zero points and the like
  std::string model_name;
  size_t calibration_samples = 0;
  size_t skipped_samples = 0;
  int sessions = 0, threads_per_session = 0;  // the statistics engine's resolved threads
  std::vector<FqSummary> fqs;
  int compressed_weights = 0;
  std::vector<std::string> bias_corrections;  // "<op>: applied|skipped (reason)"
  std::vector<MetricRow> metrics;             // when evaluated
  size_t eval_samples = 0;
  // Median inference time per sample in ptqflow's executor during the evaluation (the INT8 model
  // simulates quantization with FakeQuantize in FP32, so it is not int8-kernel speed).
  double fp32_latency_ms = 0, int8_latency_ms = 0;
  // Per quantized layer (the ops reading a FakeQuantize output), in graph order.
  std::vector<LayerSqnr> layer_sqnr;
  size_t sqnr_samples = 0;  // samples the layer SQNR was measured on
  // Wall time per stage, in run order: "load model", "load dataset", "placement", "statistics"
  // (the engine's passes), "algorithms" (the rest of the algorithms' time), "layer sqnr",
  // "compress weights", "write", "evaluation".
  std::vector<std::pair<std::string, double>> seconds;
  int64_t fp32_weight_bytes = 0, int8_weight_bytes = 0;  // constants of the two models
  // AccuracyAwareQuantization runs: the search (the CLI exits with 5 when !target_met).
  std::optional<AccuracyAwareSummary> accuracy_aware;
};

// What kind of input a failed run blames (the CLI maps it to an exit code).
enum class RunFailure { kNone, kConfig, kModel, kData, kOutput };

// `failure` (optional) receives the kind of a failure: the config (values the config names that
// cannot be loaded: hardware config, dictionaries), the model (reading, placement, a layer the
// executor cannot run), the data (the dataset, a failing sample), the output (writing).
Result<RunReport> RunQuantization(const proto::RunConfig& config, const QuantizeOptions& options,
                                  RunFailure* failure = nullptr);

// The report as JSON (stable key order) and as the summary printed at the end of a run.
std::string RunReportToJson(const RunReport& r);
std::string RunReportSummary(const RunReport& r);

}  // namespace ptqflow::stages
