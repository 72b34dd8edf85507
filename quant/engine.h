// Engine: the statistics-and-inference service the quantization algorithms call (POT's
// "engine"). quant/ never links the executor or TBB; stages/ implements this interface with the
// oneTBB flow graph (one Collect = one statistics pass over the calibration samples), and tests
// may implement it over a plain loop.
//
// An algorithm builds a list of StatRequests on values of the graph it is about to edit, calls
// Collect once (all requests share one pass), reads the results back in request order, and
// edits the graph. It may call Infer on small graphs it builds itself (FastBiasCorrection runs
// one layer on a constant per-channel image; BiasCorrection runs sub-graphs on recorded inputs).
//
// Determinism contract (implementations must keep it): results are bit-identical whatever the
// number of workers or samples in flight, and for a pass that was checkpointed and resumed.
// Samples are visited in the engine's selection order (POT's stat_subset_size / shuffle_data),
// and every accumulator receives its per-sample values in that order.
//
// Thread-safety: an Engine is used by one algorithm at a time (calls do not overlap); it may use
// any number of threads inside a call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/shape.h"
#include "graph/status.h"
#include "graph/tensor.h"
#include "quant/statistics.h"

namespace ptqflow::quant {

// What to compute on one value, for every calibration sample.
enum class StatKind {
  // ReducePerSample(value, reduction): one row per index of axis 0 (per tensor or per channel),
  // appended in sample order to a SampleAccumulator. Covers min/max/abs_max/quantile/
  // abs_quantile and mean_per_channel (kMean, per_channel).
  kReduction,
  // The value itself averaged over axis 0, keeping that axis (BiasCorrection's batch_mean):
  // one tensor per sample, in sample order. Memory grows with the sample count: request it
  // only with CollectOptions::max_samples set (BC uses the first 20% of the subset).
  kBatchMean,
  // The value's shape for every sample (FastBiasCorrection's input shape).
  kShape,
  // A fixed-range histogram of every element (range from a previous pass): counts do not
  // depend on visiting order.
  kHistogram,
};
const char* StatKindName(StatKind k);  // "reduction", "batch_mean", "shape", "histogram"

struct StatRequest {
  graph::ValueRef value;  // a value of the graph passed to Collect
  StatKind kind = StatKind::kReduction;
  ReductionSpec reduction;  // kReduction
  float hist_lo = 0.0f;     // kHistogram: range and bin count
  float hist_hi = 0.0f;
  int64_t hist_bins = 0;
};

// A stable, human-readable identity of a request on graph `g`, used in checkpoints, reports and
// error messages: "<node name>:<output port>/<kind>[/<stat>[/perchannel@axis]][/q=<quantile>]".
std::string StatRequestKey(const graph::Graph& g, const StatRequest& r);

// The result of one request, in the same position as the request.
struct StatResult {
  std::optional<SampleAccumulator> samples;  // kReduction
  std::vector<graph::Tensor> batch_means;    // kBatchMean: one f32 tensor per sample
  std::vector<graph::Shape> shapes;          // kShape: one per sample
  std::optional<Histogram> histogram;        // kHistogram
};

struct CollectedStats {
  size_t num_samples = 0;           // samples that contributed (after skipped bad samples)
  std::vector<StatResult> results;  // parallel to the requests
};

// A piece of FakeQuantize fitting that a statistics pass runs as part of itself (in the flow
// graph, its fitting node), so fitting overlaps calibration instead of following it.
struct FitJob {
  // false: needs only the model (e.g. a weights range): may run while samples are processed.
  // true: needs the pass's statistics: runs once the last sample has been merged.
  bool needs_stats = true;
  // Writes only its own output (jobs may run concurrently). `stats` is the pass's result for
  // jobs that need it, and empty for the others.
  std::function<Status(const CollectedStats& stats)> run;
};

// Runs the jobs one after another (jobs with !needs_stats get an empty CollectedStats); returns
// the error of the first failing job in job order. For engines without concurrency.
Status RunFitJobs(std::span<const FitJob> jobs, const CollectedStats& stats);

struct CollectOptions {
  // Use only the first `max_samples` of the engine's selected samples (0 = all of them).
  size_t max_samples = 0;
  // A name for progress lines, logs and the checkpoint ("ActivationChannelAlignment", ...).
  std::string pass_name;
  // Fitting to run within the pass (see FitJob). Collect fails if a job fails, with the error
  // of the first failing job in job order whatever the scheduling. Every job has run when a
  // successful Collect returns (also for a pass restored from a checkpoint).
  std::vector<FitJob> fit;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // One statistics pass over the calibration samples on `g` as it is now (FakeQuantize layers
  // in `g` run as the FakeQuantize formula). Errors: a request on a value the graph does not
  // compute, a failing sample (message names its index), a model the executor cannot compile.
  virtual Result<CollectedStats> Collect(const graph::Graph& g,
                                         std::span<const StatRequest> requests,
                                         const CollectOptions& options) = 0;

  // Runs `g` once. `inputs` are keyed by Parameter name; outputs are keyed by Result name.
  virtual Result<std::map<std::string, graph::Tensor>> Infer(
      const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) = 0;

  // Number of calibration samples a Collect with max_samples = 0 visits (POT's
  // min(stat_subset_size, len(dataset))).
  virtual size_t num_samples() const = 0;
};

}  // namespace ptqflow::quant
