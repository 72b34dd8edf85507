#include "quant/accuracy_aware.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "quant/algorithms_common.h"
#include "quant/patterns.h"
#include "quant/placement.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::Node;
using graph::NodeId;

namespace {

bool IsFq(const Node& n) { return n.type == "FakeQuantize"; }

// Consumers of every output of each node, in id order (no duplicates per node).
std::vector<std::vector<NodeId>> ConsumerLists(const Graph& g) {
  std::vector<std::vector<NodeId>> out(g.size());
  for (NodeId c : g.LiveNodes()) {
    for (const auto& in : g.node(c).inputs) {
      if (!in.source.valid()) continue;
      auto& list = out[static_cast<size_t>(in.source.node)];
      if (list.empty() || list.back() != c) list.push_back(c);
    }
  }
  return out;
}

FqBlock FindBlock(const Graph& g, NodeId start, const HardwareConfig& hw,
                  const std::vector<char>& known,
                  const std::vector<std::vector<NodeId>>& consumers) {
  std::set<NodeId> seen_children, seen_parents, ops;
  std::vector<NodeId> to_see_children = {start}, to_see_parents, to_cut = {start};
  auto parse = [&](NodeId id, bool as_parent) {
    const Node& n = g.node(id);
    if (IsQuantizedOpType(g, n, hw)) ops.insert(id);
    std::vector<NodeId> relatives;
    if (as_parent) {
      for (const auto& in : n.inputs) {
        if (in.source.valid()) relatives.push_back(in.source.node);
      }
    } else {
      relatives = consumers[static_cast<size_t>(id)];
    }
    for (NodeId r : relatives) {
      const Node& rn = g.node(r);
      if (IsFq(rn)) {
        if (as_parent) {
          if (seen_children.count(r)) continue;
          if (std::find(to_cut.begin(), to_cut.end(), r) == to_cut.end()) to_cut.push_back(r);
          to_see_children.push_back(r);
        } else {
          seen_children.insert(r);
        }
        continue;
      }
      // The data between `id` and `r`: produced by `r` (parents) or by `id` (children).
      const bool data_known = as_parent ? known[r] : known[id];
      if (rn.is_const() || data_known) continue;
      if (!seen_parents.count(r)) to_see_parents.push_back(r);
      if (!seen_children.count(r) && IsQuantizeAgnostic(rn, hw)) to_see_children.push_back(r);
    }
    (as_parent ? seen_parents : seen_children).insert(id);
  };
  while (!to_see_parents.empty() || !to_see_children.empty()) {
    if (!to_see_children.empty()) {
      const NodeId id = to_see_children.back();
      to_see_children.pop_back();
      parse(id, /*as_parent=*/false);
    }
    if (!to_see_parents.empty()) {
      const NodeId id = to_see_parents.back();
      to_see_parents.pop_back();
      parse(id, /*as_parent=*/true);
    }
  }
  FqBlock b;
  b.key = start;
  b.fqs = std::move(to_cut);
  b.ops.assign(ops.begin(), ops.end());
  return b;
}

// The Const behind input 1 of `op` (through FakeQuantize, Convert and Reshape input 0).
NodeId WeightConstThrough(const Graph& g, NodeId op) {
  const Node& n = g.node(op);
  if (n.inputs.size() < 2) return graph::kNoNode;
  NodeId id = n.input(1).node;
  for (int depth = 0; depth < 8 && id != graph::kNoNode; ++depth) {
    const Node& p = g.node(id);
    if (p.is_const()) return id;
    if (p.inputs.empty() || !(IsFq(p) || p.type == "Convert" || p.type == "Reshape")) break;
    id = p.input(0).node;
  }
  return graph::kNoNode;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string DropsText(std::span<const AaqMetric> metrics, std::span<const double> values,
                      std::span<const double> drops) {
  std::ostringstream os;
  for (size_t m = 0; m < metrics.size(); ++m) {
    os << (m ? "; " : "") << metrics[m].name << " " << values[m] << " (drop " << drops[m]
       << ", max " << metrics[m].max_drop << ")";
  }
  return os.str();
}

}  // namespace

const char* DropTypeName(DropType t) { return t == DropType::kRelative ? "relative" : "absolute"; }

Result<DropType> ParseDropType(const std::string& s) {
  if (s.empty() || s == "absolute") return DropType::kAbsolute;
  if (s == "relative") return DropType::kRelative;
  return Status::Error("unknown drop_type '" + s + "' (expected absolute or relative)");
}

double MetricDrop(const AaqMetric& m, double value) {
  const double d = m.baseline - value;
  return m.higher_is_better ? d : -d;
}

std::vector<double> MetricDrops(std::span<const AaqMetric> metrics,
                                std::span<const double> values) {
  CHECK_EQ(metrics.size(), values.size());
  std::vector<double> d;
  for (size_t i = 0; i < metrics.size(); ++i) d.push_back(MetricDrop(metrics[i], values[i]));
  return d;
}

bool DropsMet(std::span<const AaqMetric> metrics, std::span<const double> drops) {
  CHECK_EQ(metrics.size(), drops.size());
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (!(drops[i] <= metrics[i].max_drop)) return false;
  }
  return true;
}

size_t MetricToOptimize(std::span<const AaqMetric> metrics, std::span<const double> drops) {
  CHECK(!metrics.empty());
  CHECK_EQ(metrics.size(), drops.size());
  size_t best = 0;
  double best_key = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < metrics.size(); ++i) {
    const double scale = metrics[i].baseline != 0 ? std::fabs(metrics[i].baseline) : 1.0;
    const double key = (drops[i] - metrics[i].max_drop) / scale;
    if (i == 0 || key >= best_key) {
      best = i;
      best_key = key;
    }
  }
  return best;
}

std::vector<size_t> RankingSubset(std::span<const double> fp32, std::span<const double> quantized,
                                  bool higher_is_better, size_t size) {
  CHECK_EQ(fp32.size(), quantized.size());
  std::vector<size_t> order(fp32.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto degradation = [&](size_t k) {
    const double d = fp32[k] - quantized[k];
    return higher_is_better ? d : -d;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return degradation(a) > degradation(b); });
  if (order.size() > size) order.resize(size);
  return order;
}

std::vector<size_t> HardestSubset(const std::vector<std::vector<double>>& fp32,
                                  const std::vector<std::vector<double>>& quantized,
                                  std::span<const AaqMetric> metrics, size_t size) {
  std::vector<std::vector<size_t>> orders;
  size_t n = 0;
  for (size_t m = 0; m < metrics.size(); ++m) {
    orders.push_back(
        RankingSubset(fp32[m], quantized[m], metrics[m].higher_is_better, fp32[m].size()));
    n = std::max(n, fp32[m].size());
  }
  std::set<size_t> chosen;
  for (size_t k = 0; k < n && chosen.size() < size; ++k) {
    for (size_t m = 0; m < orders.size() && chosen.size() < size; ++m) {
      if (k < orders[m].size()) chosen.insert(orders[m][k]);
    }
  }
  return {chosen.begin(), chosen.end()};
}

std::vector<std::string> OrderByImportance(std::vector<std::pair<std::string, double>> scores) {
  std::stable_sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first > b.first;
  });
  std::vector<std::string> names;
  for (auto& [name, score] : scores) names.push_back(std::move(name));
  return names;
}

FqBlock FindFqBlock(const Graph& g, NodeId fq, const HardwareConfig& hw) {
  return FindBlock(g, fq, hw, ValueKnownNodes(g, /*fake_quantize_is_data=*/true), ConsumerLists(g));
}

std::vector<FqBlock> FindFqBlocks(const Graph& g, const HardwareConfig& hw) {
  const std::vector<char> known = ValueKnownNodes(g, /*fake_quantize_is_data=*/true);
  const auto consumers = ConsumerLists(g);
  std::set<NodeId> taken;
  std::vector<FqBlock> blocks;
  for (NodeId fq : g.NodesOfType("FakeQuantize")) {
    if (taken.count(fq)) continue;
    FqBlock b = FindBlock(g, fq, hw, known, consumers);
    taken.insert(b.fqs.begin(), b.fqs.end());
    blocks.push_back(std::move(b));
  }
  return blocks;
}

std::vector<NodeId> QuantizedOps(const Graph& g, const HardwareConfig& hw) {
  const auto consumers = ConsumerLists(g);
  std::set<NodeId> ops, visited;
  for (NodeId fq : g.NodesOfType("FakeQuantize")) {
    std::vector<NodeId> stack = consumers[static_cast<size_t>(fq)];
    while (!stack.empty()) {
      const NodeId c = stack.back();
      stack.pop_back();
      if (IsQuantizedOpType(g, g.node(c), hw)) {
        ops.insert(c);
        continue;
      }
      if (!visited.insert(c).second) continue;
      for (NodeId d : consumers[static_cast<size_t>(c)]) stack.push_back(d);
    }
  }
  return {ops.begin(), ops.end()};
}

Result<int> RevertFqBlock(Graph* g, const FqBlock& block, const ConstantSnapshot& fp32) {
  std::set<NodeId> limits;
  for (NodeId fq : block.fqs) {
    if (!g->contains(fq) || !g->node(fq).alive || !IsFq(g->node(fq))) {
      return Status::Error("AccuracyAwareQuantization: block of " +
                           (g->contains(block.key) ? graph::Describe(g->node(block.key))
                                                   : std::to_string(block.key)) +
                           " names node " + std::to_string(fq) +
                           ", which is not a live FakeQuantize");
    }
  }
  for (NodeId fq : block.fqs) {
    Node& n = g->node(fq);
    for (size_t i = 1; i < n.inputs.size(); ++i) limits.insert(n.input(i).node);
    g->ReplaceAllUses({fq, 0}, n.input(0));
    g->RemoveNode(fq);
  }
  // The limit constants go too, unless something else reads them.
  std::set<NodeId> used;
  for (NodeId id : g->LiveNodes()) {
    for (const auto& in : g->node(id).inputs) used.insert(in.source.node);
  }
  for (NodeId c : limits) {
    if (g->node(c).alive && g->node(c).is_const() && !used.count(c)) g->RemoveNode(c);
  }
  int restored = 0;
  const ConsumerMap consumers = g->BuildConsumers();
  auto restore = [&](NodeId c) {
    if (c == graph::kNoNode) return;
    auto it = fp32.find(c);
    if (it == fp32.end() || !g->node(c).alive || !g->node(c).is_const()) return;
    g->node(c).constant = it->second;
    ++restored;
  };
  for (NodeId op : block.ops) {
    const Node& n = g->node(op);
    if (!IsOpWithWeights(PotType(n)) && !IsOpWithWeights(n.type)) continue;
    restore(WeightConstThrough(*g, op));
    if (IsOpWithBias(n.type)) restore(FindBias(*g, consumers, op).bias_const);
  }
  return restored;
}

Result<AaqSearchResult> RunGreedyRevert(Graph quantized, const AaqEvaluation& quantized_eval,
                                        const std::vector<std::vector<double>>& fp32_per_sample,
                                        std::span<const AaqMetric> metrics,
                                        const AccuracyAwareOptions& options,
                                        const HardwareConfig& hw, const ConstantSnapshot& fp32,
                                        const AccuracyAwareHooks& hooks) {
  CHECK(!metrics.empty());
  CHECK_EQ(fp32_per_sample.size(), metrics.size());
  AaqSearchResult res;
  Graph model = std::move(quantized);
  res.quantized_ops = QuantizedOps(model, hw).size();
  const size_t diff_size = fp32_per_sample[0].size();
  const size_t ranking_size = options.ranking_subset_size > 0
                                  ? std::min(options.ranking_subset_size, diff_size)
                                  : std::min<size_t>(diff_size, 300);

  const std::vector<double> original_drops = MetricDrops(metrics, quantized_eval.values);
  size_t metric = MetricToOptimize(metrics, original_drops);
  double drop = original_drops[metric];
  LOG(INFO) << "AccuracyAware: " << res.quantized_ops << " quantized ops; optimising "
            << metrics[metric].name;

  // POT's _get_node_importance.
  auto rank = [&](const Graph& g, size_t m, const std::vector<std::vector<double>>* per_sample)
      -> Result<std::pair<std::vector<std::string>, size_t>> {
    std::vector<std::vector<double>> evaluated;
    if (per_sample == nullptr) {
      PTQ_ASSIGN_OR_RETURN(AaqEvaluation ev, hooks.evaluate(g));
      evaluated = std::move(ev.per_sample);
      per_sample = &evaluated;
    }
    const std::vector<size_t> subset = RankingSubset(fp32_per_sample[m], (*per_sample)[m],
                                                     metrics[m].higher_is_better, ranking_size);
    const std::vector<FqBlock> blocks = FindFqBlocks(g, hw);
    std::vector<double> values;
    if (!blocks.empty()) {
      PTQ_ASSIGN_OR_RETURN(values, hooks.score_blocks(g, blocks, m, subset));
      CHECK_EQ(values.size(), blocks.size());
    }
    std::vector<std::pair<std::string, double>> scores;
    for (size_t b = 0; b < blocks.size(); ++b) {
      const double v = values[b];
      scores.emplace_back(g.node(blocks[b].key).name, metrics[m].higher_is_better ? v : -v);
    }
    ++res.rankings;
    LOG(INFO) << "AccuracyAware: ranked " << blocks.size() << " FakeQuantize blocks on "
              << subset.size() << " samples for " << metrics[m].name;
    return std::make_pair(OrderByImportance(std::move(scores)), blocks.size());
  };

  PTQ_ASSIGN_OR_RETURN(auto ranked, rank(model, metric, &quantized_eval.per_sample));
  std::vector<std::string> importance = std::move(ranked.first);
  size_t blocks_ranked = ranked.second;
  std::optional<std::vector<std::vector<double>>> per_sample;  // of `model`; none = evaluate
  std::vector<double> values = quantized_eval.values;
  std::vector<double> drops = original_drops;
  // Ops in FP32 per accepted iteration (for the final list).
  std::vector<std::vector<std::string>> accepted_ops;
  bool is_step_back = true;
  res.stop_reason = "max_iter_num reached";
  for (size_t iter = 0; iter < options.max_iter_num; ++iter) {
    Graph prev_model = model;
    auto prev_per_sample = per_sample;
    if (importance.empty()) {
      res.stop_reason = "all layers checked";
      break;
    }
    const std::string name = importance.front();
    importance.erase(importance.begin());
    AaqIteration it;
    it.block = name;
    it.metric = metrics[metric].name;
    it.blocks_ranked = blocks_ranked;
    blocks_ranked = 0;
    const NodeId key = model.FindByName(name);
    if (key != graph::kNoNode && model.node(key).alive && IsFq(model.node(key))) {
      const FqBlock block = FindFqBlock(model, key, hw);
      for (NodeId f : block.fqs) it.fqs.push_back(model.node(f).name);
      for (NodeId o : block.ops) it.ops.push_back(model.node(o).name);
      PTQ_RETURN_IF_ERROR(RevertFqBlock(&model, block, fp32).status());
    }
    PTQ_ASSIGN_OR_RETURN(AaqEvaluation ev, hooks.evaluate(model));
    values = ev.values;
    drops = MetricDrops(metrics, values);
    per_sample = std::move(ev.per_sample);
    it.values = values;
    it.drops = drops;
    const double new_drop = drops[metric];
    LOG(INFO) << "AccuracyAware iteration " << iter + 1 << ": reverted block " << name << " ("
              << it.fqs.size() << " FakeQuantize; ops to FP32: " << Join(it.ops)
              << "): " << DropsText(metrics, values, drops);
    accepted_ops.push_back(it.ops);
    res.iterations.push_back(it);
    AaqIteration& cur = res.iterations.back();

    if (model.NodesOfType("FakeQuantize").empty()) {
      res.stop_reason = "all FakeQuantize removed";
      break;
    }
    if (DropsMet(metrics, drops)) {
      res.stop_reason = "target met";
      break;
    }
    const double max_drop = metrics[metric].max_drop;
    if ((max_drop < new_drop && new_drop <= drop) || (new_drop > drop && is_step_back)) {
      is_step_back = false;
      drop = new_drop;
      continue;
    }
    if (new_drop > drop && options.use_prev_if_drop_increase) {
      model = std::move(prev_model);
      per_sample = std::move(prev_per_sample);
      accepted_ops.pop_back();
      cur.stepped_back = true;
      is_step_back = true;
      LOG(INFO) << "AccuracyAware: the drop rose (" << drop << " -> " << new_drop
                << "); back to the previous model";
    }
    drop = new_drop;
    if (new_drop <= max_drop) {
      metric = MetricToOptimize(metrics, drops);
      drop = original_drops[metric];
      is_step_back = false;
      LOG(INFO) << "AccuracyAware: optimising " << metrics[metric].name;
    }
    PTQ_ASSIGN_OR_RETURN(ranked, rank(model, metric, per_sample ? &*per_sample : nullptr));
    importance = std::move(ranked.first);
    blocks_ranked = ranked.second;
  }
  // The final model's values: the last evaluation, unless the last step went back.
  if (!res.iterations.empty() && res.iterations.back().stepped_back) {
    // The model is the one before the last revert; its values are those of the iteration that
    // produced it (or DefaultQuantization's).
    values = quantized_eval.values;
    for (auto i = res.iterations.rbegin() + 1; i != res.iterations.rend(); ++i) {
      if (!i->stepped_back) {
        values = i->values;
        break;
      }
    }
    drops = MetricDrops(metrics, values);
  }
  std::set<std::string> ops;
  for (const auto& list : accepted_ops) ops.insert(list.begin(), list.end());
  res.reverted_ops.assign(ops.begin(), ops.end());
  res.values = values;
  res.drops = drops;
  res.target_met = DropsMet(metrics, drops);
  res.model = std::move(model);
  return res;
}

}  // namespace ptqflow::quant
