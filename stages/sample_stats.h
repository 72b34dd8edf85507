// The per-sample core shared by every statistics engine (the oneTBB flow graph in
// flow_engine.h and the plain loop in serial_engine.h), so both compute exactly the same numbers
// and differ only in scheduling:
//
//   BindInputs          sample inputs ("" = the only input) -> inputs keyed by Parameter name
//   PlanCache           graph + concrete input shapes -> a compiled plan (dynamic dimensions are
//                       fixed from the sample's shapes; one plan per distinct shape set)
//   ComputeSampleStats  one Session::Run with taps: every requested value is reduced in its tap
//                       callback, right after the layer producing it ran, so a full activation
//                       never outlives its layer; the result is small per-sample values
//   StatsAccumulator    appends per-sample results in sample order (the determinism contract)
//
// Thread-safety: PlanCache is thread-safe; the functions are reentrant (one Session per thread);
// StatsAccumulator is a plain value (the caller serialises Append).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "graph/graph.h"
#include "graph/status.h"
#include "graph/tensor.h"
#include "quant/engine.h"
#include "quant/statistics.h"

namespace ptqflow::stages {

// Checks every request against `g`: a live node's existing output port, histogram range and
// bins, quantile in [0, 1]. Errors name the request (StatRequestKey) or its position.
Status ValidateRequests(const graph::Graph& g, std::span<const quant::StatRequest> requests);

// Renames a sample's inputs to `g`'s Parameter names: "" means the only Parameter (error if the
// model has several). Unknown names are left for Session::Run to report.
Result<std::map<std::string, graph::Tensor>> BindInputs(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs);

// Compiled plans of one graph, one per set of concrete input shapes. Each plan computes every
// value in `must_compute` (values no model output needs get an extra Result, so they are not
// pruned). Borrows `g`, which must outlive the cache and stay unchanged.
// Thread-safety: Get may be called from several threads (compiles under a lock).
class PlanCache {
 public:
  PlanCache(const graph::Graph& g, exec::CompileOptions options,
            std::vector<graph::ValueRef> must_compute = {});
  // The plan for these inputs (keyed by Parameter name). Errors: an input shape the model
  // cannot take (names the input), a layer the executor cannot compile.
  // `current`, a plan this cache returned before, is returned without a lookup when the inputs
  // are exactly its inputs (names, types, shapes): a worker passes the plan of its last sample.
  Result<std::shared_ptr<const exec::CompiledModel>> Get(
      const std::map<std::string, graph::Tensor>& inputs,
      const std::shared_ptr<const exec::CompiledModel>& current = nullptr);
  // The graph copy a plan was compiled from has the same node ids as `g` (Results are only
  // appended), so ValueRefs of `g` are valid on every plan.

 private:
  const graph::Graph& g_;
  exec::CompileOptions options_;
  std::vector<graph::ValueRef> must_compute_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const exec::CompiledModel>> plans_;
};

// What one sample contributed to each request (parallel to the requests). Kept small (24 bytes
// a request, the reduced values back to back) because a message of samples holds one each
// until they merge.
struct SampleStats {
  struct One {
    // kReduction: `rows` (size of axis 0) x `cols` (channels, 1 per tensor) values, row-major,
    // at values[offset, offset + rows * cols). Other kinds: others[offset].
    int64_t rows = 0, cols = 0;
    size_t offset = 0;
  };
  struct Other {
    graph::Tensor batch_mean;                   // kBatchMean: f32, axis 0 of size 1
    graph::Shape shape;                         // kShape
    std::optional<quant::Histogram> histogram;  // kHistogram: this sample alone
  };
  std::vector<One> per_request;
  std::vector<float> values;  // the kReduction values of every request, back to back
  std::vector<Other> others;  // what the other kinds gave, in the order they were computed
  // One request's kReduction values.
  std::span<const float> ValuesOf(size_t request) const {
    const One& o = per_request[request];
    return {values.data() + o.offset, static_cast<size_t>(o.rows * o.cols)};
  }
  const Other& OtherOf(size_t request) const { return others[per_request[request].offset]; }
};

// ComputeSampleStats prepared once for a graph and its requests: the requests grouped by value
// and the taps reducing them, reused for every sample. Borrows `g` and `requests`, which must
// outlive it. Not thread-safe: one per thread (each owns the TapSet its runs fill).
class SampleStatsRunner {
 public:
  SampleStatsRunner(const graph::Graph& g, std::span<const quant::StatRequest> requests);
  ~SampleStatsRunner();
  SampleStatsRunner(const SampleStatsRunner&) = delete;
  SampleStatsRunner& operator=(const SampleStatsRunner&) = delete;

  // Runs `inputs` (keyed by Parameter name) through `session` and reduces every requested value
  // as it is produced, into *out (replaced; its buffers are reused, so passing back a merged
  // sample's SampleStats saves allocations). A request on a Parameter is reduced from the input
  // itself. Errors: the run fails, a value is not computed, a reduction fails (names the
  // request key).
  Status Run(exec::Session& session, const std::map<std::string, graph::Tensor>& inputs,
             SampleStats* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One sample with a runner made for it (SampleStatsRunner::Run).
Result<SampleStats> ComputeSampleStats(exec::Session& session, const graph::Graph& g,
                                       const std::map<std::string, graph::Tensor>& inputs,
                                       std::span<const quant::StatRequest> requests);

// The running CollectedStats of one pass. Append must be called in sample order.
class StatsAccumulator {
 public:
  // `keys` (StatRequestKey of each request) name the requests in error messages.
  StatsAccumulator(std::vector<quant::StatRequest> requests, std::vector<std::string> keys);
  // Continues from saved results (a checkpoint), parallel to `requests`. Error if they do not
  // fit the requests (kind, histogram range).
  static Result<StatsAccumulator> FromSaved(std::vector<quant::StatRequest> requests,
                                            std::vector<std::string> keys,
                                            quant::CollectedStats saved);

  // Appends one sample's results. Error if it does not fit what earlier samples gave (e.g. a
  // different channel count) — the message names the request position. The reduction values
  // of consecutive samples with the same layout are buffered and moved into the statistics a
  // block at a time (one request after another: a sample's values go to as many vectors as
  // there are requests, which per sample would touch a cache line in each).
  Status Append(const SampleStats& s);
  // Expect `samples` more samples: reductions are stored without reallocating as they grow.
  void Reserve(size_t samples) { reserve_ = samples; }
  size_t num_samples() const { return stats_.num_samples; }
  // The statistics of every appended sample. Not const: it first moves the buffered values in;
  // once that is done (no Append since), concurrent calls only read.
  const quant::CollectedStats& stats() {
    Flush();
    return stats_;
  }
  quant::CollectedStats Release() {
    Flush();
    return std::move(stats_);
  }

 private:
  void Flush();

  std::vector<quant::StatRequest> requests_;
  std::vector<std::string> keys_;
  quant::CollectedStats stats_;
  size_t reserve_ = 0;  // samples expected (Reserve), applied when an accumulator is made
  // Buffered samples: their reduction values back to back (`row_` floats each), all laid out
  // as `layout_` says (SampleStats::One of each request).
  std::vector<SampleStats::One> layout_;
  std::vector<float> pending_;
  size_t row_ = 0, pending_samples_ = 0;
};

// Runs `g` once on `inputs` (keyed by Parameter name; dynamic dimensions fixed from them);
// outputs keyed by Result name. The Engine::Infer of every engine.
Result<std::map<std::string, graph::Tensor>> InferOnce(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs, int threads);

}  // namespace ptqflow::stages
