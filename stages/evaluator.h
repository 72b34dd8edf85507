// Evaluator: scores a model on a dataset with the built-in metrics (quant/metrics.h), for `-e`,
// the FP32-vs-INT8 table and AccuracyAwareQuantization.
//
// One call runs the model — and, when given, the FP32 reference model on the same sample, for
// the annotation-free metrics (top1_agreement, sqnr, cosine) — over the selected samples with
// `workers` concurrent sessions (oneTBB parallel_for inside a task_arena of that many threads;
// one Session per thread and compiled plan). Each sample's scores are stored at its selection
// position, so values are identical for any number of workers.
//
// Errors: the first failing sample in selection order is reported (its dataset index and
// source): samples after a failure are not started, samples before it always finish, so the
// reported sample does not depend on scheduling. With skip_bad_samples, unreadable samples are
// skipped and counted instead (inference errors still fail).
//
// Ownership: borrows the graphs, dataset and metrics for the call. Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "io/data/dataset.h"
#include "quant/metrics.h"
#include "stages/progress.h"

namespace ptqflow::stages {

struct EvaluationOptions {
  io::SelectionOptions selection;  // default: every sample, dataset order
  bool skip_bad_samples = false;
  int workers = 0;           // concurrent sessions; 0 = cores
  int intra_op_threads = 0;  // OpenMP threads per session; 0 = max(1, cores / workers)
  ProgressMode progress = ProgressMode::kNone;
  std::string name = "evaluation";  // progress label
};

struct EvaluationResult {
  std::vector<double> values;  // one per metric (Metric::Aggregate)
  // scores[m][k]: metric m on the k-th evaluated sample (selection order, skipped ones left
  // out); positions[k] is that sample's position in the selection.
  std::vector<std::vector<quant::SampleScore>> scores;
  std::vector<size_t> positions;
  size_t skipped = 0;
  double seconds = 0.0;  // wall time of the evaluation
  // Median over the evaluated samples of one inference of `model` (Session::Run alone: no
  // reading, no compiling, no reference model), in milliseconds, while `workers` sessions run
  // concurrently; 0 when no sample was evaluated.
  double median_run_ms = 0.0;
};

// `reference` may be null when no metric is annotation-free (else an error).
Result<EvaluationResult> Evaluate(const graph::Graph& model, const graph::Graph* reference,
                                  const io::Dataset& dataset,
                                  std::span<const quant::Metric* const> metrics,
                                  const EvaluationOptions& options);

}  // namespace ptqflow::stages
