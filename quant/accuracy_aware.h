// AccuracyAwareQuantization, the pure part (pot-spec §6; POT's accuracy_aware_common/
// algorithm.py, utils.py and RemoveFakeQuantize in graph/transformer.py): FakeQuantize blocks,
// reverting a block to FP32, the drop arithmetic, the ranking subset and order, and the greedy
// revert loop. Running models is the caller's: stages/accuracy_aware.h evaluates through the two
// hooks of AccuracyAwareHooks (and also owns the baseline, DefaultQuantization, the mixed preset
// and the hyper-parameter grid, which need statistics passes).
//
// FQ block (POT's find_fq_nodes_to_cut), from a FakeQuantize F:
//   walk down from F through its consumers; every non-FakeQuantize, non-constant consumer is
//   visited "as a parent" (its producers are examined) and, when quantize-agnostic, also "as a
//   child" (its consumers are examined); a FakeQuantize met as a producer joins the block and is
//   walked down from in turn. Every quantized op met (an op the hardware config quantizes) is
//   returned to FP32. For   X ─► FQa ─┬► Conv1 ◄─ FQw1 ◄─ W1
//                                      └► Conv2 ◄─ FQw2 ◄─ W2
//   the block of FQa is {FQa, FQw1, FQw2} and ops {Conv1, Conv2}; for two FQs feeding a Concat
//   in front of a Conv it holds both Concat inputs' FQs and the Conv's weight FQ.
//
// Reverting a block: every FQ of the block is bypassed (its consumers read its input) and
// removed with its four limit constants; every Convolution / GroupConvolution / MatMul of the
// block gets back the weight and bias constants it had before MinMax's saturation fix (W/2) and
// bias correction changed them (POT's undo_weights_rescaling + undo_bias_correction), taken from
// QuantizationReport::fp32_constants. ActivationChannelAlignment's edits stay (as in POT: they
// keep the FP32 function).
//
// Greedy loop (POT's _change_quantization_scope, reproduced step for step):
//   metric to optimise = argmax over metrics of (drop - max_drop) / |baseline| (the last one on
//   ties, POT's sorted(...)[-1]; baseline 0 divides by 1); importance = rank(model);
//   is_step_back = true; repeat at most max_iter_num times:
//     no block left -> stop ("all layers checked");
//     revert the most important block; evaluate; all FQs gone -> stop; all drops met -> stop;
//     if max_drop < new_drop <= drop, or (new_drop > drop and is_step_back):
//        is_step_back = false; drop = new_drop; continue with the next block, no re-ranking;
//     if new_drop > drop and use_prev_if_drop_increase: back to the previous model (step back);
//     drop = new_drop (also after a step back, as POT);
//     if the metric is now met: switch to the worst metric, drop = its DefaultQuantization drop;
//     re-rank.
//   Ranking: the ranking subset (below) of the current model; every block (from each FQ in node
//   id order not yet in an earlier block) scored by comparator(metric on the ranking subset with
//   that block alone reverted); order by (score, key FQ name) descending.
// Ranking subset: the ranking_subset_size diff-subset samples with the largest degradation
//   comparator(fp32 - quantized) per sample; ties keep the lower position first (POT's numpy
//   argsort is not stable; ptqflow fixes the order so the result is reproducible).
//
// Thread-safety: free functions over graphs the caller owns; the hooks may run anything inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "graph/tensor.h"
#include "quant/hardware_config.h"

namespace ptqflow::quant {

enum class DropType { kAbsolute, kRelative };
const char* DropTypeName(DropType t);  // "absolute" | "relative"
// Error names the bad value. "" means absolute.
Result<DropType> ParseDropType(const std::string& s);

// AccuracyAwareQuantization's own parameters (pot-spec §6; POT's code defaults).
struct AccuracyAwareOptions {
  double maximal_drop = 0.01;
  DropType drop_type = DropType::kAbsolute;
  size_t max_iter_num = std::numeric_limits<size_t>::max();
  size_t ranking_subset_size = 0;  // 0 = min(diff subset size, 300)
  // Fraction of the evaluation samples whose per-sample FP32 scores are computed when every
  // metric has a baseline_value (POT's diff_subset). POT draws it unseeded; ptqflow seeds it
  // with `seed` so runs repeat.
  double metric_subset_ratio = 0.5;
  bool use_prev_if_drop_increase = true;
  bool tune_hyperparams = false;
  bool convert_to_mixed_preset = false;  // only when the preset is performance (symmetric)
  uint64_t seed = 0;
};

// One metric as the search sees it.
struct AaqMetric {
  std::string name;
  bool higher_is_better = true;
  double baseline = 0.0;  // FP32 value (given or evaluated)
  double max_drop = 0.0;  // maximal_drop, or maximal_drop * baseline for drop_type relative
};

// POT's comparator(baseline - value): positive = worse than FP32.
double MetricDrop(const AaqMetric& m, double value);
std::vector<double> MetricDrops(std::span<const AaqMetric> metrics, std::span<const double> values);
bool DropsMet(std::span<const AaqMetric> metrics, std::span<const double> drops);
// argmax over metrics of (drops[i] - max_drop) / |baseline| (baseline 0: / 1); the last on ties.
size_t MetricToOptimize(std::span<const AaqMetric> metrics, std::span<const double> drops);

// Positions (indices into the per-sample arrays) of the `size` samples with the largest
// degradation comparator(fp32[k] - quantized[k]), most degraded first; ties by position.
std::vector<size_t> RankingSubset(std::span<const double> fp32, std::span<const double> quantized,
                                  bool higher_is_better, size_t size);
// POT's hardest subset for tune_hyperparams: the metrics' ranking orders taken round-robin until
// `size` distinct positions are collected (or all are); sorted by position.
std::vector<size_t> HardestSubset(const std::vector<std::vector<double>>& fp32,
                                  const std::vector<std::vector<double>>& quantized,
                                  std::span<const AaqMetric> metrics, size_t size);

// Block names ordered by (score, name) descending (POT's node importance).
std::vector<std::string> OrderByImportance(std::vector<std::pair<std::string, double>> scores);

struct FqBlock {
  graph::NodeId key = graph::kNoNode;  // the FQ the block was found from (names the block)
  std::vector<graph::NodeId> fqs;      // every FakeQuantize of the block, key first
  std::vector<graph::NodeId> ops;      // quantized ops returned to FP32, by id
};

// The block of FakeQuantize `fq` (see the header comment). `hw` decides which ops are quantized
// and which are quantize-agnostic, as in placement.
FqBlock FindFqBlock(const graph::Graph& g, graph::NodeId fq, const HardwareConfig& hw);
// Every block of `g`: from each live FakeQuantize in node id order that no earlier block holds.
std::vector<FqBlock> FindFqBlocks(const graph::Graph& g, const HardwareConfig& hw);
// Quantized ops of `g` (ops the live FakeQuantize layers feed, through agnostic ops): POT's
// get_num_of_quantized_ops. Sorted by id.
std::vector<graph::NodeId> QuantizedOps(const graph::Graph& g, const HardwareConfig& hw);

// Const node -> its value before the saturation fix and bias correction changed it.
using ConstantSnapshot = std::map<graph::NodeId, graph::Tensor>;

// Reverts `block` in `g` (see the header comment). Returns the number of constants restored.
// Errors name the layer when the block does not describe live FakeQuantize nodes of `g`.
Result<int> RevertFqBlock(graph::Graph* g, const FqBlock& block, const ConstantSnapshot& fp32);

// What a model scores on the evaluation samples.
struct AaqEvaluation {
  std::vector<double> values;                   // per metric
  std::vector<std::vector<double>> per_sample;  // [metric][k]: per-sample value on the diff subset
};

struct AccuracyAwareHooks {
  // Evaluates `g` on the evaluation samples (values) and the diff subset (per_sample).
  std::function<Result<AaqEvaluation>(const graph::Graph& g)> evaluate;
  // The value of metric `metric` over the diff-subset positions `ranking` for each block of
  // `blocks` reverted alone in a copy of `g` (one value per block, same order).
  std::function<Result<std::vector<double>>(const graph::Graph& g, std::span<const FqBlock> blocks,
                                            size_t metric, std::span<const size_t> ranking)>
      score_blocks;
};

struct AaqIteration {
  std::string block;             // key FQ name
  std::vector<std::string> fqs;  // FQ names removed
  std::vector<std::string> ops;  // ops returned to FP32
  std::string metric;            // metric being optimised
  std::vector<double> values;    // after the revert, per metric
  std::vector<double> drops;     // per metric
  bool stepped_back = false;     // drop rose: the previous model was restored
  size_t blocks_ranked = 0;      // blocks scored before this iteration (0: list reused)
};

struct AaqSearchResult {
  graph::Graph model;
  std::vector<AaqIteration> iterations;
  std::vector<std::string> reverted_ops;  // ops of the final model returned to FP32, sorted
  size_t quantized_ops = 0;               // before the search
  std::vector<double> values, drops;      // of the final model
  bool target_met = false;
  // "target met", "all layers checked", "all FakeQuantize removed", "max_iter_num reached".
  std::string stop_reason;
  size_t rankings = 0;  // node-importance computations
};

// The greedy revert loop on the DefaultQuantization result `quantized`, whose evaluation is
// `quantized_eval`. `fp32_per_sample[m][k]` is metric m of the FP32 model on diff-subset
// position k. Errors come from the hooks and from reverting.
Result<AaqSearchResult> RunGreedyRevert(graph::Graph quantized, const AaqEvaluation& quantized_eval,
                                        const std::vector<std::vector<double>>& fp32_per_sample,
                                        std::span<const AaqMetric> metrics,
                                        const AccuracyAwareOptions& options,
                                        const HardwareConfig& hw, const ConstantSnapshot& fp32,
                                        const AccuracyAwareHooks& hooks);

}  // namespace ptqflow::quant
