// FastBiasCorrection (pot-spec §5.1; POT's fast_bias_correction/algorithm.py): compensates the
// weight-quantization error of each biased Convolution/MatMul at its mean input.
//
// Candidates (in topological order): (Group)Convolution and MatMul ops whose input 1 is a
// FakeQuantize of a constant (any op with constant weights when apply_for_all_nodes), whose
// output feeds exactly one Add with a Const input (the bias).
// Statistics on the FP32 model (FakeQuantize layers bypassed), every calibration sample:
//   x_in:  mean_per_channel of the op's input (the input of its activation FQ, if any), and the
//          input shape;
//   y_fp:  mean_per_channel of the bias Add output.
// mean_per_channel reduces every axis but 0 and the channel axis (1 for convolutions, -1 for
// MatMul), then the mean over samples. Per candidate:
//   X = zeros(input shape with batch 1), X[:, c, ...] = mean x_in[c]
//   y_q = Infer(Parameter(X) -> op with its quantized weights), no input FQ, no bias
//   new_bias = mean y_fp - mean_per_channel(y_q)
//   magnitude = any(b == 0) ? inf : max |(new_bias - b) / b|
//   if magnitude < threshold: b := new_bias
// The bias Const must have the Add output's rank with C at the channel axis (POT skips other
// shapes); ptqflow also accepts the same shape without leading 1s ([C,1,1], [C]), which the
// ONNX importer produces.
//
// Thread-safety: immutable object; Apply/Run edit the graph they are given.
#pragma once

#include <limits>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/engine.h"

namespace ptqflow::quant {

struct FastBiasCorrectionOptions {
  float threshold = 2.0f;            // `threshold` (POT default 2.0)
  bool apply_for_all_nodes = false;  // `apply_for_all_nodes`: also ops without weight FQs
};

// One bias-correction decision (FastBiasCorrection and BiasCorrection).
struct BiasCorrectionEntry {
  graph::NodeId op = graph::kNoNode;
  std::string op_name;
  float magnitude = std::numeric_limits<float>::infinity();
  bool applied = false;
  std::string skipped_reason;  // "" when evaluated against the threshold
};

class FastBiasCorrection {
 public:
  explicit FastBiasCorrection(FastBiasCorrectionOptions options) : options_(options) {}

  struct Candidate {
    graph::NodeId op = graph::kNoNode;
    graph::NodeId bias_add = graph::kNoNode;
    graph::NodeId bias_const = graph::kNoNode;
    graph::ValueRef input;  // x_in
    int channel_axis = 1;
  };
  // Candidates of `g` (with its FakeQuantize layers) in topological order.
  Result<std::vector<Candidate>> FindCandidates(const graph::Graph& g) const;
  // Four requests per candidate, in order: x_in mean_per_channel, x_in shape, y_fp
  // mean_per_channel, y_fp shape. Values are the same in `g` and BypassFakeQuantize(g).
  std::vector<StatRequest> Requests(std::span<const Candidate> candidates) const;
  // Corrects the biases of `g` (now quantized) from FP32 `results` of Requests.
  Result<std::vector<BiasCorrectionEntry>> Apply(graph::Graph* g,
                                                 std::span<const Candidate> candidates,
                                                 std::span<const StatResult> results,
                                                 Engine* engine) const;
  // FindCandidates + one Collect on BypassFakeQuantize(*g) + Apply.
  Result<std::vector<BiasCorrectionEntry>> Run(graph::Graph* g, Engine* engine) const;

 private:
  FastBiasCorrectionOptions options_;
};

// Shared by both bias correctors: checks the bias Const's shape against C channels at
// `channel_axis` of an output of rank `rank` (see above).
bool BiasShapeMatches(const graph::Shape& bias_shape, size_t rank, int channel_axis, int64_t c);
// The graph "Parameter -> op -> Result" used to run one op on its own: a copy of `g` whose op
// input 0 reads a new Parameter `param_name` of `input_shape`, with a single Result on
// `output`; everything else that is not needed removed.
graph::Graph BuildSubgraphForOp(const graph::Graph& g, graph::NodeId op,
                                const graph::Shape& input_shape, const std::string& param_name,
                                graph::ValueRef output, const std::string& result_name);

}  // namespace ptqflow::quant
