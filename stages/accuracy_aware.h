// AccuracyAwareQuantization driver (pot-spec §6): the steps that run models, around the pure
// search of quant/accuracy_aware.h.
//
//   FP32 model ──evaluate once──► per-sample FP32 scores, baselines (unless every metric has a
//                                  baseline_value), cached sample inputs and FP32 outputs
//   DefaultQuantization ──evaluate──► drop <= max_drop for every metric? -> done
//   [convert_to_mixed_preset, preset performance: re-place FQs with the mixed preset, DQ, eval]
//   [tune_hyperparams: POT's ParamsGridSearch on the hardest samples, kept if the mean drop
//    improves]
//   greedy revert (quant::RunGreedyRevert): ranking evaluations of every FQ block run
//   concurrently (one oneTBB task per block, each running its ranking samples as nested tasks)
//
// Samples: the evaluation data is engine.eval_dataset, else the calibration dataset, limited to
// its first QuantizeOptions::eval_subset_size samples (0 = all). Every model is evaluated on all
// of them; per-sample scores are kept for the diff subset (all samples, or when every metric has
// a baseline_value a seeded metric_subset_ratio fraction). The FP32 model runs once: its
// per-sample scores, the annotations and — for annotation-free metrics — the outputs they
// compare with are cached; sample inputs are cached too while they fit in 1 GiB (the rest is
// re-read from the dataset). Each model evaluation stores every sample's score at its position,
// so the numbers, the ranking and the chosen layers are identical at any thread count.
//
// Hyper-parameter grid (POT's ParamsGridSearchAlgorithm): first guess weights range estimator
// min/max = min/max; then activations min ∈ {min/min, quantile 1e-3/mean, quantile 1e-4/mean} ×
// max ∈ {max/max, quantile 1e-3/mean, quantile 1e-4/mean}; then use_fast_bias ∈ {true, false}
// with the best so far. Error of a guess = -mean over metrics of comparator((v - v0) / v0) on
// the hardest samples, v0 being the first guess's values; the lowest error wins (the earliest on
// ties). ptqflow keeps the user's bits / mode keys in every guess (POT's grid replaces the whole
// weights / activations section and so drops them).
//
// Ownership: plain values in and out; borrows the engine and dataset for the call.
// Thread-safety: one run per call.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "io/data/dataset.h"
#include "io/json.h"
#include "proto/run_config.pb.h"
#include "quant/accuracy_aware.h"
#include "quant/default_quantization.h"
#include "quant/engine.h"
#include "quant/quantization_plan.h"
#include "stages/run_options.h"

namespace ptqflow::stages {

struct QuantizeOptions;  // stages/quantize_pipeline.h

// What the run did, for the log, the JSON report and the exit code.
struct AccuracyAwareSummary {
  struct MetricInfo {
    std::string name;
    bool higher_is_better = true;
    double baseline = 0.0;
    bool baseline_given = false;  // from baseline_value, not evaluated
    double max_drop = 0.0;        // absolute bound on the drop
    double fp32 = 0.0;            // the FP32 model's value on the evaluation samples
  };
  struct Stage {  // a fully quantized model: DefaultQuantization, mixed preset, tuned
    std::string name;
    std::vector<double> values, drops;
  };
  std::string drop_type;
  double maximal_drop = 0.0;
  std::vector<MetricInfo> metrics;
  std::vector<Stage> stages;
  std::vector<quant::AaqIteration> iterations;
  size_t quantized_ops = 0;
  std::vector<std::string> reverted_ops;
  std::vector<double> values, drops;  // final model
  bool target_met = false;
  std::string stop_reason;  // "target met", "all layers checked", ...
  std::string message;      // user-facing explanation when the target is not met
  size_t eval_samples = 0, diff_samples = 0, ranking_samples = 0;
  size_t model_evaluations = 0;  // evaluations of a model over a set of samples
  size_t sample_inferences = 0;  // single-sample model runs inside them
  size_t quantizations = 0;      // DefaultQuantization runs
  double seconds = 0.0;
};

io::JsonValue AccuracyAwareToJson(const AccuracyAwareSummary& s);
// A few lines for the end-of-run summary.
std::string AccuracyAwareText(const AccuracyAwareSummary& s);

struct AccuracyAwareResult {
  graph::Graph model;                // FQs still in place, FP32 weights
  quant::QuantizationPlan plan;      // the FQs left in `model`
  quant::QuantizationReport report;  // fitted parallel to plan.fqs
  AccuracyAwareSummary summary;
};

// Runs AccuracyAwareQuantization. `fp32` is the model as read; `placed`/`plan` the result of
// PlaceFakeQuantize(run.placement) on a copy of it; `engine` collects statistics on the
// calibration data `calibration`. On error, *data_error (optional) tells whether the evaluation
// data was the cause.
Result<AccuracyAwareResult> RunAccuracyAware(const proto::RunConfig& config, const RunOptions& run,
                                             const QuantizeOptions& options,
                                             const graph::Graph& fp32, graph::Graph placed,
                                             quant::QuantizationPlan plan, quant::Engine* engine,
                                             std::shared_ptr<const io::Dataset> calibration,
                                             bool* data_error = nullptr);

}  // namespace ptqflow::stages
