// FlowEngine: quant::Engine on a oneTBB flow graph — one Collect is one statistics pass. A
// message is a run of consecutive selection positions (samples_per_message of them), so the
// graph's per-message cost (a few microseconds: task hand-offs between threads, the sequencer,
// the limiter) is paid once per run, not per sample:
//
//   input_node (the next run of selected positions, in selection order; stops on error or stop
//               flag)
//     -> limiter_node (at most in_flight / samples_per_message messages, i.e. in_flight samples,
//                      between here and the merge)
//     -> read     function_node, read_concurrency: Dataset::Get (decode + preprocess) of each
//                 sample of the message, in order, up to the first one that fails
//     -> infer    function_node, workers: one Session (N sessions on one compiled plan per input
//                 shape; an arena thread gets the one it used last, so its activation memory stays
//                 in that core's cache) runs the message's samples one by one, batch 1 each as
//                 the dataset gives them; taps reduce each requested value as soon as its layer
//                 ran, so full activations never outlive their layer
//     -> sequencer_node (restores message order)
//     -> merge    function_node, serial: for each sample of the message in order, appends its
//                 results to the accumulators (this makes results bit-identical for any workers /
//                 in_flight / samples_per_message), records it if skipped, reports progress,
//                 calls on_merged, and every checkpoint_every samples (also inside a message)
//                 writes the checkpoint atomically (temp, fsync, rename) before the next sample
//                 merges (inference goes on meanwhile, up to in_flight samples)
//     merge -> limiter.decrementer() (every message, also failed and skipped ones, reaches the
//              merge, so the limiter is always released and the graph cannot deadlock)
//     fit    function_node, unlimited: the pass's FakeQuantize fitting (CollectOptions::fit):
//            jobs that need no statistics (weight ranges) are put when the pass starts and run
//            beside inference; the merge puts the others when the last sample has merged, so
//            activation ranges are fitted before Collect returns. Each job writes only its own
//            output; the first failing job in job order fails the pass. A pass restored from the
//            checkpoint runs its jobs on the saved statistics.
//
// Errors: a failing sample (read, inference or statistics) marks itself and ends its message
// (later samples of that message are not read or not inferred); the merge node, seeing samples
// in selection order, keeps the first one (so the reported sample is the first bad one in
// selection order, whatever the scheduling or grouping), merges nothing after it and cancels the
// graph. The message names the dataset index. No checkpoint is written after an error (earlier
// periodic ones stay valid).
//
// Stop (SIGINT/SIGTERM via stop_signal.h, or any flag): the source stops feeding, the messages
// in flight (at most in_flight samples, plus the one message the source had ready) drain and
// merge, the checkpoint is written with exactly the merged samples, and Collect returns an error
// saying how far it got; `interrupted()` is then true.
//
// Checkpoint/resume: see checkpoint.h. Each Collect call is a pass with an index (0, 1, ...).
// With resume, a pass found completed in the checkpoint returns its saved results (when the
// model and config fingerprints match), a pass found in progress continues after its saved
// prefix; any mismatch (dataset, model, config) is an error saying which.
//
// Threads: the graph runs in a task_arena of `workers` threads (decoding, inference and the
// merge share them, so TBB never oversubscribes the cores); each session uses intra_op_threads
// OpenMP threads. Defaults: workers = cores, intra_op_threads = max(1, cores / workers) = 1.
//
// Message size (samples_per_message = 0, automatic): the first messages hold one sample; then
// each holds about 4 ms of inference, measured on the previous message, but at most 64 samples
// and at most 1 / (2 x workers) of the samples left, so the last messages of a pass are small.
// Why 4 ms: the merge in sample order couples the workers — one can run ahead of a slower or
// preempted one (another process on its core) only by the other messages in flight — and with
// two messages per worker that is about a scheduler time slice; the graph's own cost (a few
// microseconds per message) is then negligible too. A model that takes 4 ms or more per sample
// gets one sample per message, so decoded inputs in flight stay as few as before. With an
// explicit in_flight, messages hold at most in_flight / (2 x workers) samples, so every worker
// still has two in flight. Grouping is scheduling only: it never changes results, checkpoints
// or which error is reported.
//
// Ownership: shares the dataset. Thread-safety: one call at a time (quant::Engine contract).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/data/dataset.h"
#include "quant/engine.h"
#include "stages/checkpoint.h"
#include "stages/progress.h"

namespace ptqflow::proto {
class StageConfig;
}

namespace ptqflow::stages {

struct FlowEngineOptions {
  io::SelectionOptions selection;  // default: every sample, dataset order
  bool skip_bad_samples = false;   // skip (and count) unreadable samples instead of failing
  int workers = 0;                 // concurrent sessions; 0 = cores
  // Samples between limiter and merge (bounds memory and what a stop drains); 0 = 2 x workers
  // x samples_per_message (automatic: 2 x workers x 64).
  int in_flight = 0;
  // Consecutive samples per flow-graph message, at most in_flight; 0 = automatic (see above).
  int samples_per_message = 0;
  int intra_op_threads = 0;       // OpenMP threads per session; 0 = max(1, cores / workers)
  int read_concurrency = 0;       // concurrent Dataset::Get calls; 0 = workers
  uint64_t checkpoint_every = 0;  // samples between checkpoints; 0 = only on stop
  std::string checkpoint_path;    // "" = no checkpoints
  bool resume = false;            // continue from checkpoint_path when it exists
  // Mixed into the dataset fingerprint: what identifies the data beyond its size and first
  // sample (e.g. the data source path and loader options).
  std::string dataset_identity;
  // When it becomes true the pass stops feeding, drains, checkpoints and fails (interrupted).
  const std::atomic<bool>* stop = nullptr;
  ProgressMode progress = ProgressMode::kNone;
  // Called in the serial merge node after each merged selection position with the number of
  // positions done (tests and the CLI's testing hooks use it). May be empty.
  std::function<void(size_t positions_done)> on_merged;
};

// StageConfig (proto/stage_config.proto) -> options. Error names the bad field.
Result<FlowEngineOptions> FlowEngineOptionsFromProto(const proto::StageConfig& config);

class FlowEngine : public quant::Engine {
 public:
  FlowEngine(std::shared_ptr<const io::Dataset> dataset, FlowEngineOptions options);

  Result<quant::CollectedStats> Collect(const graph::Graph& g,
                                        std::span<const quant::StatRequest> requests,
                                        const quant::CollectOptions& options) override;
  Result<std::map<std::string, graph::Tensor>> Infer(
      const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) override;
  size_t num_samples() const override { return selection_.size(); }

  // The effective thread settings (defaults resolved).
  int workers() const { return workers_; }
  int in_flight() const { return in_flight_; }
  // The largest message (automatic messages may be smaller).
  int samples_per_message() const { return samples_per_message_; }
  int intra_op_threads() const { return intra_threads_; }
  const std::vector<size_t>& selection() const { return selection_; }
  // Skipped samples of the last Collect (including those restored from a checkpoint).
  const io::BadSampleLog& bad_samples() const { return *bad_samples_; }
  // True when the last Collect stopped because of the stop flag.
  bool interrupted() const { return interrupted_; }
  // Passes served from the checkpoint / resumed from it (for reports and tests).
  int passes_restored() const { return passes_restored_; }
  int passes_resumed() const { return passes_resumed_; }
  // Wall time spent in Collect and Infer since construction (the run report's "statistics").
  double seconds() const { return seconds_; }

 private:
  Result<quant::CollectedStats> CollectPass(const graph::Graph& g,
                                            std::span<const quant::StatRequest> requests,
                                            const quant::CollectOptions& options);
  Status LoadCheckpoint();
  Result<std::string> DatasetFingerprint();

  std::shared_ptr<const io::Dataset> dataset_;
  FlowEngineOptions options_;
  std::vector<size_t> selection_;
  int workers_ = 1, in_flight_ = 2, intra_threads_ = 1, read_concurrency_ = 1;
  int samples_per_message_ = 1, in_flight_messages_ = 2;
  bool auto_per_message_ = true;
  std::unique_ptr<io::BadSampleLog> bad_samples_;
  bool interrupted_ = false;
  uint32_t next_pass_ = 0;
  std::string dataset_fp_;
  bool checkpoint_loaded_ = false;
  std::optional<Checkpoint> loaded_;       // what --resume found
  std::vector<PassCheckpoint> completed_;  // this run's finished passes
  int passes_restored_ = 0, passes_resumed_ = 0;
  double seconds_ = 0.0;
};

}  // namespace ptqflow::stages
