#include "quant/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "graph/ops/shape_inference.h"
#include "quant/algorithms_common.h"
#include "quant/statistics.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::NodeId;
using graph::ValueRef;

namespace {

struct Candidate {
  NodeId op = graph::kNoNode;
  NodeId add = graph::kNoNode;
  NodeId bias_const = graph::kNoNode;
  int channel_axis = 1;
};

bool QuantizedCandidateType(const Graph& g, NodeId id, bool all_nodes) {
  const graph::Node& n = g.node(id);
  if (!IsOpWithBias(n.type)) return false;
  return all_nodes || WeightFakeQuantize(g, id) != graph::kNoNode;
}

// POT's _get_topological_biased_ops: bias, batch-1 input, quantized weights.
Result<std::vector<Candidate>> FindCandidates(const Graph& g) {
  const ConsumerMap consumers = g.BuildConsumers();
  PTQ_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.TopologicalOrder());
  std::vector<Candidate> out;
  for (NodeId op : order) {
    const graph::Node& n = g.node(op);
    if (!IsOpWithBias(n.type) || n.inputs.size() < 2) continue;
    if (WeightFakeQuantize(g, op) == graph::kNoNode) continue;
    BiasInfo bias = FindBias(g, consumers, op);
    if (!bias.found()) continue;
    const graph::PartialShape& in = g.output(n.input(0)).shape;
    if (!in.rank_known() || in.rank() == 0 || in[0] != 1) continue;
    out.push_back({op, bias.add, bias.bias_const, OpChannelAxis(n.type)});
  }
  return out;
}

// Children as POT's get_node_children: consumers whose input 0 is not a constant.
std::vector<NodeId> Children(const Graph& g, const ConsumerMap& consumers, NodeId id) {
  std::vector<NodeId> out;
  for (size_t p = 0; p < g.node(id).outputs.size(); ++p) {
    auto it = consumers.find(ValueRef{id, static_cast<int32_t>(p)});
    if (it == consumers.end()) continue;
    for (const auto& use : it->second) {
      const graph::Node& c = g.node(use.node);
      if (!c.inputs.empty() && g.node(c.input(0).node).is_const()) continue;
      if (std::find(out.begin(), out.end(), use.node) == out.end()) out.push_back(use.node);
    }
  }
  return out;
}

std::vector<NodeId> Parents(const Graph& g, NodeId id) {
  std::vector<NodeId> out;
  for (const graph::InputPort& in : g.node(id).inputs) {
    if (!g.node(in.source.node).is_const()) out.push_back(in.source.node);
  }
  return out;
}

StatRequest MeanPerChannel(ValueRef v, int axis) {
  StatRequest r;
  r.value = v;
  r.kind = StatKind::kReduction;
  r.reduction.type = StatType::kMean;
  r.reduction.per_channel = true;
  r.reduction.channel_axis = axis;
  return r;
}

bool IsSplit(const std::string& type) { return type == "Split" || type == "VariadicSplit"; }

}  // namespace

size_t BiasCorrection::SampleCount(size_t subset) {
  return std::max<size_t>(static_cast<size_t>(static_cast<double>(subset) * 0.2), 1);
}

Result<BiasCorrection::Fp32Stats> BiasCorrection::CollectFp32(const Graph& g,
                                                              Engine* engine) const {
  Fp32Stats stats;
  PTQ_ASSIGN_OR_RETURN(std::vector<Candidate> cands, FindCandidates(g));
  const Graph fp32 = BypassFakeQuantize(g, /*activations_only=*/false);
  // Inputs of the first biased-type op after each Parameter (POT's _get_biased_after_params).
  std::vector<ValueRef> recorded;
  const ConsumerMap consumers = fp32.BuildConsumers();
  std::set<NodeId> visited;
  std::vector<NodeId> stack = fp32.parameters();
  while (!stack.empty()) {
    NodeId id = stack.back();
    stack.pop_back();
    if (!visited.insert(id).second) continue;
    if (IsOpWithBias(fp32.node(id).type)) {
      ValueRef in = fp32.node(id).input(0);
      if (std::find(recorded.begin(), recorded.end(), in) == recorded.end()) recorded.push_back(in);
      continue;
    }
    for (NodeId c : Children(fp32, consumers, id)) stack.push_back(c);
  }
  std::vector<StatRequest> requests;
  for (const Candidate& c : cands) requests.push_back(MeanPerChannel({c.add, 0}, c.channel_axis));
  for (const ValueRef& v : recorded) {
    StatRequest r;
    r.value = v;
    r.kind = StatKind::kBatchMean;
    requests.push_back(r);
  }
  if (requests.empty()) return stats;
  const size_t subset =
      options_.stat_subset_size ? options_.stat_subset_size : engine->num_samples();
  CollectOptions co;
  co.max_samples = SampleCount(subset);
  co.pass_name = "BiasCorrection";
  PTQ_ASSIGN_OR_RETURN(CollectedStats collected, engine->Collect(fp32, requests, co));
  stats.num_samples = collected.num_samples;
  for (size_t i = 0; i < cands.size(); ++i) {
    const StatResult& r = collected.results[i];
    if (!r.samples) return Status::Error("BiasCorrection: statistics were not collected");
    PTQ_ASSIGN_OR_RETURN(std::vector<float> m, Aggregate(*r.samples, Aggregator::kMean));
    stats.add_means[cands[i].add] = std::move(m);
  }
  for (size_t i = 0; i < recorded.size(); ++i) {
    stats.inputs[recorded[i]] = collected.results[cands.size() + i].batch_means;
  }
  return stats;
}

Result<std::vector<BiasCorrectionEntry>> BiasCorrection::Apply(Graph* g, Fp32Stats stats,
                                                               Engine* engine) const {
  std::vector<BiasCorrectionEntry> entries;
  PTQ_ASSIGN_OR_RETURN(std::vector<Candidate> cands, FindCandidates(*g));
  for (const Candidate& c : cands) {
    const std::string where = graph::Describe(g->node(c.op));
    BiasCorrectionEntry e;
    e.op = c.op;
    e.op_name = g->node(c.op).name;
    auto fp_it = stats.add_means.find(c.add);
    if (fp_it == stats.add_means.end()) {
      e.skipped_reason = "no FP32 statistics";
      entries.push_back(e);
      continue;
    }
    // The model without activation FQs, as it is now (earlier biases already corrected).
    Graph work = BypassFakeQuantize(*g, /*activations_only=*/true);
    const ConsumerMap consumers = work.BuildConsumers();

    // Stats values: inputs of the next quantized biased ops downstream (walk_to_children).
    std::vector<ValueRef> stat_values;
    std::set<std::pair<NodeId, bool>> seen;
    std::vector<std::pair<NodeId, bool>> todo;
    for (NodeId ch : Children(work, consumers, c.op)) todo.emplace_back(ch, false);
    while (!todo.empty()) {
      auto [node, branch] = todo.back();
      todo.pop_back();
      if (!seen.insert({node, branch}).second) continue;
      const graph::Node& n = work.node(node);
      if (n.type == "Result") continue;
      ValueRef in0 = n.inputs.empty() ? ValueRef{} : n.input(0);
      if (branch && in0.valid() && IsSplit(work.node(in0.node).type)) {
        in0 = work.node(in0.node).input(0);
      }
      if (QuantizedCandidateType(work, node, options_.apply_for_all_nodes) && in0.valid()) {
        if (std::find(stat_values.begin(), stat_values.end(), in0) == stat_values.end()) {
          stat_values.push_back(in0);
        }
      } else if (branch && Parents(work, node).size() > 1) {
        continue;
      } else {
        std::vector<NodeId> children = Children(work, consumers, node);
        for (NodeId ch : children) todo.emplace_back(ch, children.size() > 1);
      }
    }
    // Input values: walk up to recorded values (walk_to_parents).
    std::vector<ValueRef> input_values;
    std::set<NodeId> visited;
    std::vector<NodeId> up;
    if (stat_values.empty()) {
      up = Parents(work, c.op);
    } else {
      for (const ValueRef& v : stat_values) {
        for (NodeId p : Parents(work, v.node)) up.push_back(p);
      }
    }
    // A recorded value is matched by its producer node, as POT keys statistics by node.
    auto recorded_of = [&](NodeId node) -> std::vector<ValueRef> {
      std::vector<ValueRef> out;
      for (const auto& [v, tensors] : stats.inputs) {
        if (v.node == node && !tensors.empty()) out.push_back(v);
      }
      return out;
    };
    while (!up.empty()) {
      NodeId node = up.back();
      up.pop_back();
      if (!visited.insert(node).second) continue;
      std::vector<ValueRef> rec = recorded_of(node);
      if (!rec.empty()) {
        for (const ValueRef& v : rec) {
          if (std::find(input_values.begin(), input_values.end(), v) == input_values.end()) {
            input_values.push_back(v);
          }
        }
        continue;
      }
      for (NodeId p : Parents(work, node)) up.push_back(p);
    }

    // The sub-graph: recorded values become Parameters; Results on the Add and stats values.
    Graph sub = work;
    for (NodeId r : sub.results()) sub.RemoveNode(r);
    std::vector<std::pair<std::string, ValueRef>> params;
    for (size_t k = 0; k < input_values.size(); ++k) {
      const ValueRef v = input_values[k];
      const graph::Tensor& first = stats.inputs[v][0];
      const std::string pname = work.node(v.node).name + "." + std::to_string(v.port) + "/bc_input";
      const NodeId p =
          sub.AddParameter(pname, graph::ElementType::kF32, graph::PartialShape(first.shape()));
      sub.ReplaceAllUses(v, ValueRef{p, 0});
      params.emplace_back(pname, v);
    }
    const std::string add_result = e.op_name + "/bc_bias_add";
    sub.AddResult(add_result, ValueRef{c.add, 0});
    std::vector<std::string> stat_results;
    for (size_t k = 0; k < stat_values.size(); ++k) {
      // A stats value that is itself recorded is already fed as a Parameter.
      stat_results.push_back(e.op_name + "/bc_stat_" + std::to_string(k));
      sub.AddResult(stat_results.back(), stat_values[k]);
    }
    RemoveDeadNodes(&sub);
    bool missing_input = false;
    for (NodeId p : sub.parameters()) {
      bool ours = false;
      for (const auto& [name, v] : params) ours |= sub.node(p).name == name;
      missing_input |= !ours;
    }
    if (missing_input) {
      e.skipped_reason = "its inputs were not recorded";
      entries.push_back(e);
      continue;
    }
    PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(sub).WithContext(where + " (bias correction)"));

    auto run_all = [&](const Graph& model,
                       std::vector<std::map<std::string, graph::Tensor>>* outs) -> Status {
      outs->clear();
      for (size_t s = 0; s < stats.num_samples; ++s) {
        std::map<std::string, graph::Tensor> feed;
        for (const auto& [name, v] : params) {
          const auto& tensors = stats.inputs[v];
          if (s >= tensors.size()) return Status::Error(where + ": missing recorded input");
          feed[name] = tensors[s];
        }
        PTQ_ASSIGN_OR_RETURN(auto out, engine->Infer(model, feed));
        outs->push_back(std::move(out));
      }
      return Status::Ok();
    };
    std::vector<std::map<std::string, graph::Tensor>> outs;
    PTQ_RETURN_IF_ERROR(run_all(sub, &outs));
    SampleAccumulator acc(static_cast<int64_t>(fp_it->second.size()), /*per_channel=*/true);
    ReductionSpec spec;
    spec.type = StatType::kMean;
    spec.per_channel = true;
    spec.channel_axis = c.channel_axis;
    graph::Shape add_shape;
    for (auto& out : outs) {
      graph::Tensor y = out.at(add_result).ToF32();
      add_shape = y.shape();
      PTQ_ASSIGN_OR_RETURN(PerSampleValues v, ReducePerSample(y.span<float>(), y.shape(), spec));
      PTQ_RETURN_IF_ERROR(acc.Add(v).WithContext(where));
    }
    bool updated = false;
    if (!outs.empty()) {
      PTQ_ASSIGN_OR_RETURN(std::vector<float> q, Aggregate(acc, Aggregator::kMean));
      std::vector<float> shift(q.size());
      for (size_t k = 0; k < q.size(); ++k) shift[k] = fp_it->second[k] - q[k];
      std::vector<float> b = ConstValuesF32(*g, c.bias_const);
      const graph::Shape& bshape = g->node(c.bias_const).constant.shape();
      if (!BiasShapeMatches(bshape, add_shape.size(), c.channel_axis,
                            static_cast<int64_t>(shift.size()))) {
        e.skipped_reason = "bias shape " + graph::ShapeToString(bshape) + " does not match";
      } else {
        bool zero = false;
        float magnitude = 0;
        for (size_t k = 0; k < b.size(); ++k) {
          zero |= b[k] == 0.0f;
          magnitude = std::max(magnitude, std::abs(shift[k] / b[k]));
        }
        e.magnitude = zero ? std::numeric_limits<float>::infinity() : magnitude;
        if (e.magnitude < options_.threshold) {
          for (size_t k = 0; k < b.size(); ++k) b[k] += shift[k];
          PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, c.bias_const, b));
          PTQ_RETURN_IF_ERROR(SetConstValuesF32(&sub, c.bias_const, b));
          e.applied = updated = true;
        }
      }
    }
    entries.push_back(e);

    // Record the inputs of the downstream candidates.
    if (!stat_values.empty()) {
      Graph next = updated ? sub : BypassFakeQuantize(sub, /*activations_only=*/false);
      PTQ_RETURN_IF_ERROR(run_all(next, &outs));
      for (size_t k = 0; k < stat_values.size(); ++k) {
        std::vector<graph::Tensor> per_sample;
        for (auto& out : outs) per_sample.push_back(out.at(stat_results[k]));
        stats.inputs[stat_values[k]] = std::move(per_sample);
      }
    }
  }
  return entries;
}

Result<std::vector<BiasCorrectionEntry>> BiasCorrection::Run(Graph* g, Engine* engine) const {
  PTQ_ASSIGN_OR_RETURN(Fp32Stats stats, CollectFp32(*g, engine));
  return Apply(g, std::move(stats), engine);
}

}  // namespace ptqflow::quant
