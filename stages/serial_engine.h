// SerialEngine: the plain reference implementation of quant::Engine — one loop over the
// selected samples, one Session, no TBB, no checkpoints. It shares the per-sample core
// (sample_stats.h) with the flow graph, so tests use it as the independent check that the
// flow graph's scheduling (workers, samples in flight, resume) does not change a single bit.
// Algorithms' unit tests may use it too: it is small and has no threads of its own.
//
// Ownership: shares the dataset. Thread-safety: one call at a time (quant::Engine contract).
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>

#include "io/data/dataset.h"
#include "quant/engine.h"

namespace ptqflow::stages {

struct SerialEngineOptions {
  // Which samples, in which order (POT's stat_subset_size and shuffle); default: all, in order.
  io::SelectionOptions selection;
  // false (default): the first unreadable sample fails the pass, naming its index. true: it is
  // skipped and recorded in bad_samples().
  bool skip_bad_samples = false;
  // Intra-op threads of the session (0 = all cores).
  int threads = 0;
};

class SerialEngine : public quant::Engine {
 public:
  SerialEngine(std::shared_ptr<const io::Dataset> dataset, SerialEngineOptions options = {});

  Result<quant::CollectedStats> Collect(const graph::Graph& g,
                                        std::span<const quant::StatRequest> requests,
                                        const quant::CollectOptions& options) override;
  Result<std::map<std::string, graph::Tensor>> Infer(
      const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) override;
  size_t num_samples() const override { return selection_.size(); }

  // Samples skipped by the last Collect (skip_bad_samples).
  const io::BadSampleLog& bad_samples() const { return *bad_samples_; }
  // Dataset indices in visiting order.
  const std::vector<size_t>& selection() const { return selection_; }

 private:
  std::shared_ptr<const io::Dataset> dataset_;
  SerialEngineOptions options_;
  std::vector<size_t> selection_;
  std::unique_ptr<io::BadSampleLog> bad_samples_;
};

}  // namespace ptqflow::stages
