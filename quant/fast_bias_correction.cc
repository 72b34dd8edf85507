#include "quant/fast_bias_correction.h"

#include <cmath>
#include <map>

#include "graph/ops/shape_inference.h"
#include "quant/algorithms_common.h"
#include "quant/statistics.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::NodeId;
using graph::ValueRef;

bool BiasShapeMatches(const graph::Shape& bias_shape, size_t rank, int channel_axis, int64_t c) {
  const int axis = channel_axis < 0 ? static_cast<int>(rank) + channel_axis : channel_axis;
  if (axis < 0 || static_cast<size_t>(axis) >= rank) return false;
  graph::Shape expected(rank, 1);
  expected[static_cast<size_t>(axis)] = c;
  // Also accept the expected shape without some of its leading 1s.
  for (size_t drop = 0; drop <= static_cast<size_t>(axis); ++drop) {
    if (bias_shape ==
        graph::Shape(expected.begin() + static_cast<std::ptrdiff_t>(drop), expected.end())) {
      return true;
    }
  }
  return false;
}

Graph BuildSubgraphForOp(const Graph& g, NodeId op, const graph::Shape& input_shape,
                         const std::string& param_name, ValueRef output,
                         const std::string& result_name) {
  Graph sub = g;
  for (NodeId r : sub.results()) sub.RemoveNode(r);
  const graph::ElementType type = g.output(g.node(op).input(0)).type;
  const NodeId param = sub.AddParameter(param_name, type, graph::PartialShape(input_shape));
  sub.node(op).inputs[0].source = ValueRef{param, 0};
  sub.AddResult(result_name, output);
  RemoveDeadNodes(&sub);
  return sub;
}

namespace {

// Most frequent shape over the samples (first seen wins ties), batch forced to 1.
Result<graph::Shape> ModeShape(const std::vector<graph::Shape>& shapes, const std::string& what) {
  if (shapes.empty()) return Status::Error(what + ": no shape was collected");
  std::map<graph::Shape, int> counts;
  graph::Shape best = shapes[0];
  int best_count = 0;
  for (const graph::Shape& s : shapes) {
    const int c = ++counts[s];
    if (c > best_count) {
      best_count = c;
      best = s;
    }
  }
  if (!best.empty()) best[0] = 1;
  return best;
}

Result<std::vector<float>> MeanOverSamples(const StatResult& r, const std::string& what) {
  if (!r.samples) return Status::Error(what + ": statistics were not collected");
  auto m = Aggregate(*r.samples, Aggregator::kMean);
  if (!m.ok()) return m.status().WithContext(what);
  return m;
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

}  // namespace

Result<std::vector<FastBiasCorrection::Candidate>> FastBiasCorrection::FindCandidates(
    const Graph& g) const {
  std::vector<Candidate> out;
  const ConsumerMap consumers = g.BuildConsumers();
  PTQ_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.TopologicalOrder());
  for (NodeId op : order) {
    const graph::Node& n = g.node(op);
    if (!IsOpWithBias(n.type) || n.inputs.size() < 2) continue;
    if (!options_.apply_for_all_nodes && WeightFakeQuantize(g, op) == graph::kNoNode) continue;
    BiasInfo bias = FindBias(g, consumers, op);
    if (!bias.found()) continue;
    if (WeightConst(g, op) == graph::kNoNode) continue;
    Candidate c;
    c.op = op;
    c.bias_add = bias.add;
    c.bias_const = bias.bias_const;
    c.input = n.input(0);
    if (g.node(c.input.node).type == "FakeQuantize") c.input = g.node(c.input.node).input(0);
    c.channel_axis = OpChannelAxis(n.type);
    out.push_back(c);
  }
  return out;
}

std::vector<StatRequest> FastBiasCorrection::Requests(std::span<const Candidate> candidates) const {
  std::vector<StatRequest> out;
  for (const Candidate& c : candidates) {
    out.push_back(MeanPerChannel(c.input, c.channel_axis));
    StatRequest s;
    s.value = c.input;
    s.kind = StatKind::kShape;
    out.push_back(s);
    out.push_back(MeanPerChannel(ValueRef{c.bias_add, 0}, c.channel_axis));
    s.value = ValueRef{c.bias_add, 0};
    out.push_back(s);
  }
  return out;
}

Result<std::vector<BiasCorrectionEntry>> FastBiasCorrection::Apply(
    Graph* g, std::span<const Candidate> candidates, std::span<const StatResult> results,
    Engine* engine) const {
  if (results.size() != 4 * candidates.size()) {
    return Status::Error("FastBiasCorrection: " + std::to_string(results.size()) +
                         " statistics results for " + std::to_string(candidates.size()) +
                         " candidate layers");
  }
  std::vector<BiasCorrectionEntry> entries;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const std::string where = graph::Describe(g->node(c.op));
    BiasCorrectionEntry e;
    e.op = c.op;
    e.op_name = g->node(c.op).name;
    PTQ_ASSIGN_OR_RETURN(std::vector<float> mean_in, MeanOverSamples(results[4 * i], where));
    PTQ_ASSIGN_OR_RETURN(graph::Shape in_shape, ModeShape(results[4 * i + 1].shapes, where));
    PTQ_ASSIGN_OR_RETURN(std::vector<float> mean_out, MeanOverSamples(results[4 * i + 2], where));
    PTQ_ASSIGN_OR_RETURN(graph::Shape out_shape, ModeShape(results[4 * i + 3].shapes, where));
    if (in_shape.size() < 2) {
      return Status::Error(where + ": invalid input shape " + graph::ShapeToString(in_shape) +
                           " for bias correction");
    }
    const int rank = static_cast<int>(in_shape.size());
    const int axis = c.channel_axis < 0 ? rank + c.channel_axis : c.channel_axis;
    if (in_shape[static_cast<size_t>(axis)] != static_cast<int64_t>(mean_in.size())) {
      return Status::Error(where + ": " + std::to_string(mean_in.size()) +
                           " input channel means for an input of shape " +
                           graph::ShapeToString(in_shape));
    }
    // X: zeros with the per-channel mean along the channel axis.
    graph::Tensor x = graph::Tensor::Allocate(graph::ElementType::kF32, in_shape);
    {
      float* d = x.mutable_data<float>();
      int64_t inner = 1;
      for (int k = axis + 1; k < rank; ++k) inner *= in_shape[static_cast<size_t>(k)];
      const int64_t channels = in_shape[static_cast<size_t>(axis)];
      for (int64_t j = 0; j < x.size(); ++j)
        d[j] = mean_in[static_cast<size_t>((j / inner) % channels)];
    }
    const std::string param = g->node(c.op).name + "/fbc_input";
    const std::string result = g->node(c.op).name + "/fbc_output";
    Graph sub = BuildSubgraphForOp(*g, c.op, in_shape, param, ValueRef{c.op, 0}, result);
    PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(sub).WithContext(where + " (bias correction)"));
    PTQ_ASSIGN_OR_RETURN(auto outputs, engine->Infer(sub, {{param, x}}));
    auto it = outputs.find(result);
    if (it == outputs.end()) return Status::Error(where + ": bias correction run gave no output");
    graph::Tensor y = it->second.ToF32();
    ReductionSpec spec;
    spec.type = StatType::kMean;
    spec.per_channel = true;
    spec.channel_axis = c.channel_axis;
    PTQ_ASSIGN_OR_RETURN(PerSampleValues q, ReducePerSample(y.span<float>(), y.shape(), spec));
    if (q.rows != 1 || q.cols != static_cast<int64_t>(mean_out.size())) {
      return Status::Error(where + ": quantized output has " + std::to_string(q.cols) +
                           " channels, FP32 statistics " + std::to_string(mean_out.size()));
    }
    std::vector<float> new_bias(mean_out.size());
    for (size_t k = 0; k < new_bias.size(); ++k) new_bias[k] = mean_out[k] - q.data[k];

    const graph::Shape& bshape = g->node(c.bias_const).constant.shape();
    if (!BiasShapeMatches(bshape, out_shape.size(), c.channel_axis,
                          static_cast<int64_t>(new_bias.size()))) {
      e.skipped_reason = "bias shape " + graph::ShapeToString(bshape) + " does not match";
      entries.push_back(e);
      continue;
    }
    const std::vector<float> b = ConstValuesF32(*g, c.bias_const);
    bool has_zero = false;
    float magnitude = 0;
    for (size_t k = 0; k < b.size(); ++k) {
      if (b[k] == 0.0f) has_zero = true;
      magnitude = std::max(magnitude, std::abs((new_bias[k] - b[k]) / b[k]));
    }
    e.magnitude = has_zero ? std::numeric_limits<float>::infinity() : magnitude;
    if (e.magnitude < options_.threshold) {
      PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, c.bias_const, new_bias));
      e.applied = true;
    }
    entries.push_back(e);
  }
  return entries;
}

Result<std::vector<BiasCorrectionEntry>> FastBiasCorrection::Run(Graph* g, Engine* engine) const {
  PTQ_ASSIGN_OR_RETURN(std::vector<Candidate> cands, FindCandidates(*g));
  if (cands.empty()) return std::vector<BiasCorrectionEntry>{};
  std::vector<StatRequest> requests = Requests(cands);
  Graph fp32 = BypassFakeQuantize(*g, /*activations_only=*/false);
  CollectOptions co;
  co.pass_name = "FastBiasCorrection";
  PTQ_ASSIGN_OR_RETURN(CollectedStats stats, engine->Collect(fp32, requests, co));
  return Apply(g, cands, stats.results, engine);
}

}  // namespace ptqflow::quant
