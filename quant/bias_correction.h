// BiasCorrection (pot-spec §5.2; POT's bias_correction/algorithm.py, `use_fast_bias: false`):
// sequential bias correction on recorded inputs, so that upstream weight-quantization error
// propagates downstream.
//
// Candidates, in topological order: (Group)Convolution/MatMul ops with a batch-1 input, a bias
// (the output's single consumer is an Add with a Const input) and quantized weights (input 1 is
// a FakeQuantize of a constant). Only the first n = max(int(0.2 * stat_subset_size), 1)
// samples are used (POT's own sampler). FP32 statistics (one pass on the FP32 model):
//   * mean_per_channel of every candidate's bias Add output (axis 1 or -1 for MatMul);
//   * batch_mean of the input of the first candidate-type op after each Parameter (the
//     "recorded inputs" the sub-graphs start from).
// Then for each candidate, on a copy of the quantized graph with activation FakeQuantize
// layers removed (weight FQs stay):
//   1. the sub-graph from the recorded inputs (as Parameters) to the candidate's bias Add and
//      to the inputs of the next candidate ops downstream ("stats nodes");
//   2. run it on the n recorded samples; q = mean over samples of mean_per_channel(Add);
//   3. shift = fp32_mean - q; if no bias element is 0 and max|shift / b| < threshold:
//      b += shift (in the model and in the copy);
//   4. run the sub-graph again (with the updated bias, or with every FQ removed when the bias
//      was not updated) and record the outputs at the stats nodes as the inputs of the
//      downstream candidates.
// A candidate whose sub-graph needs an input that was never recorded (e.g. a second model
// input that reaches it without a biased op in between) is skipped with a reason.
//
// Thread-safety: immutable object; Run edits the graph it is given.
#pragma once

#include <map>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/engine.h"
#include "quant/fast_bias_correction.h"

namespace ptqflow::quant {

struct BiasCorrectionOptions {
  float threshold = 1000.0f;         // `threshold` (POT default 1000)
  bool apply_for_all_nodes = false;  // `apply_for_all_nodes`
  // stat_subset_size of the run (0 = engine->num_samples()); BC uses 20% of it, at least 1.
  size_t stat_subset_size = 0;
};

class BiasCorrection {
 public:
  explicit BiasCorrection(BiasCorrectionOptions options) : options_(options) {}

  // FP32 statistics BC needs, collected before the weights are quantized.
  struct Fp32Stats {
    size_t num_samples = 0;
    std::map<graph::NodeId, std::vector<float>> add_means;         // bias Add -> mean per channel
    std::map<graph::ValueRef, std::vector<graph::Tensor>> inputs;  // recorded, per sample
  };
  // One Collect on BypassFakeQuantize(g) with max_samples = n.
  Result<Fp32Stats> CollectFp32(const graph::Graph& g, Engine* engine) const;
  // Corrects the biases of `g` (quantized: FQs filled).
  Result<std::vector<BiasCorrectionEntry>> Apply(graph::Graph* g, Fp32Stats stats,
                                                 Engine* engine) const;
  Result<std::vector<BiasCorrectionEntry>> Run(graph::Graph* g, Engine* engine) const;

  // n = max(int(0.2 * subset), 1).
  static size_t SampleCount(size_t subset);

 private:
  BiasCorrectionOptions options_;
};

}  // namespace ptqflow::quant
