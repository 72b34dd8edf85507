#include "quant/channel_alignment.h"

#include <algorithm>
#include <utility>

#include "quant/algorithms_common.h"
#include "quant/statistics.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::NodeId;
using graph::ValueRef;

namespace {

bool AllEqual(const Result<std::vector<int64_t>>& v, int64_t x) {
  if (!v.ok()) return false;
  return std::all_of(v->begin(), v->end(), [x](int64_t e) { return e == x; });
}

// POT's check_conv_node: not grouped, zero pads, unit strides and dilations.
bool AlignableConsumer(const Graph& g, NodeId id) {
  const graph::Node& n = g.node(id);
  if (n.type != "Convolution") return false;
  if (!AllEqual(n.attrs.GetInts("pads_begin"), 0) || !AllEqual(n.attrs.GetInts("pads_end"), 0)) {
    return false;
  }
  if (!AllEqual(n.attrs.GetInts("strides"), 1)) return false;
  if (!AllEqual(n.attrs.GetInts("dilations"), 1)) return false;
  // An auto_pad "same_*" convolution pads at run time whatever pads_begin says.
  auto auto_pad = n.attrs.GetString("auto_pad", "explicit");
  if (auto_pad.ok() && (*auto_pad == "same_upper" || *auto_pad == "same_lower")) {
    const NodeId w = WeightConst(g, id);
    if (w == graph::kNoNode) return false;
    const graph::Shape& ws = g.node(w).constant.shape();
    for (size_t i = 2; i < ws.size(); ++i) {
      if (ws[i] != 1) return false;
    }
  }
  return true;
}

float MedianF(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return (v[n / 2 - 1] + v[n / 2]) / 2.0f;
}

}  // namespace

Result<std::vector<ActivationChannelAlignment::Pair>> ActivationChannelAlignment::FindPairs(
    const Graph& quantized) const {
  // Pairs are found on the FP32 model (POT runs this before FQ insertion): activation
  // FakeQuantize layers bypassed; node ids are the same in both graphs.
  const Graph g = BypassFakeQuantize(quantized, /*activations_only=*/true);
  const ConsumerMap consumers = g.BuildConsumers();
  std::vector<std::pair<std::string, NodeId>> convs;
  for (NodeId id : g.NodesOfType("Convolution")) convs.emplace_back(g.node(id).name, id);
  std::sort(convs.begin(), convs.end());
  std::vector<Pair> pairs;
  for (const auto& [name, out] : convs) {
    if (!AlignableConsumer(g, out)) continue;
    const ValueRef src = g.node(out).input(0);
    auto it = consumers.find(src);
    if (it == consumers.end() || it->second.size() != 1) continue;
    NodeId in = src.node;
    if (g.node(in).type == "Add") in = g.node(in).input(0).node;
    const std::string& in_type = g.node(in).type;
    if (!IsConvolution(in_type) && in_type != "MatMul") continue;
    Pair p;
    p.node_in = in;
    p.node_out = out;
    p.w_in = WeightConst(g, in);
    p.w_out = WeightConst(g, out);
    if (p.w_in == graph::kNoNode || p.w_out == graph::kNoNode) continue;
    BiasInfo bin = FindBias(g, consumers, in);
    BiasInfo bout = FindBias(g, consumers, out);
    p.b_in = bin.bias_const;
    p.b_out = bout.bias_const;
    p.stat_value = bin.found() ? ValueRef{bin.add, 0} : ValueRef{in, 0};
    pairs.push_back(p);
  }
  return pairs;
}

std::vector<StatRequest> ActivationChannelAlignment::Requests(std::span<const Pair> pairs) const {
  std::vector<StatRequest> out;
  for (const Pair& p : pairs) {
    StatRequest r;
    r.value = p.stat_value;
    r.kind = StatKind::kReduction;
    r.reduction.type = StatType::kQuantile;
    r.reduction.per_channel = true;
    r.reduction.channel_axis = 1;
    r.reduction.quantile = options_.outlier_prob;
    out.push_back(r);
    r.reduction.quantile = 1.0 - options_.outlier_prob;
    out.push_back(r);
  }
  return out;
}

Result<std::set<NodeId>> ActivationChannelAlignment::Apply(
    Graph* g, std::span<const Pair> pairs, std::span<const StatResult> results) const {
  if (results.size() != 2 * pairs.size()) {
    return Status::Error("ActivationChannelAlignment: " + std::to_string(results.size()) +
                         " statistics results for " + std::to_string(pairs.size()) + " pairs");
  }
  std::set<NodeId> need_rescale;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& p = pairs[i];
    const std::string where = graph::Describe(g->node(p.node_out));
    if (!results[2 * i].samples || !results[2 * i + 1].samples) {
      return Status::Error(where + ": channel range statistics were not collected");
    }
    PTQ_ASSIGN_OR_RETURN(std::vector<float> amin,
                         Aggregate(*results[2 * i].samples, Aggregator::kMedian));
    PTQ_ASSIGN_OR_RETURN(std::vector<float> amax,
                         Aggregate(*results[2 * i + 1].samples, Aggregator::kMedian));
    const size_t c = amin.size();
    std::vector<float> ascale(c), amean(c);
    for (size_t k = 0; k < c; ++k) {
      ascale[k] = amax[k] - amin[k];
      amean[k] = (amin[k] + amax[k]) * 0.5f;
    }
    std::vector<float> w_out = ConstValuesF32(*g, p.w_out);
    const graph::Shape wo_shape = g->node(p.w_out).constant.shape();
    if (wo_shape.size() < 2 || wo_shape[1] != static_cast<int64_t>(c)) {
      return Status::Error(where + ": weights of shape " + graph::ShapeToString(wo_shape) +
                           " do not have " + std::to_string(c) + " input channels");
    }
    const int64_t o_count = wo_shape[0];
    int64_t spatial = 1;
    for (size_t d = 2; d < wo_shape.size(); ++d) spatial *= wo_shape[d];

    // align_means
    if (p.b_in != graph::kNoNode && p.b_out != graph::kNoNode) {
      std::vector<float> b_in = ConstValuesF32(*g, p.b_in);
      std::vector<float> b_out = ConstValuesF32(*g, p.b_out);
      if (b_in.size() != c || b_out.size() != static_cast<size_t>(o_count)) {
        return Status::Error(where + ": bias sizes do not match the channel counts");
      }
      for (size_t k = 0; k < c; ++k) b_in[k] -= amean[k];
      for (int64_t o = 0; o < o_count; ++o) {
        float shift = 0;
        for (size_t k = 0; k < c; ++k) {
          float wsum = 0;
          const float* wp =
              w_out.data() + (o * static_cast<int64_t>(c) + static_cast<int64_t>(k)) * spatial;
          for (int64_t s = 0; s < spatial; ++s) wsum += wp[s];
          shift += wsum * amean[k];
        }
        b_out[static_cast<size_t>(o)] += shift;
      }
      PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, p.b_in, b_in));
      PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, p.b_out, b_out));
    }

    // align_scales
    std::vector<float> positive;
    for (float s : ascale) {
      if (s > 0) positive.push_back(s);
    }
    if (!positive.empty()) {
      const float med = MedianF(positive);
      std::vector<float> sf(c);
      for (size_t k = 0; k < c; ++k) {
        sf[k] = ascale[k] <= 0 ? 1.0f : std::clamp(ascale[k] / med, 1e-2f, 1e2f);
      }
      std::vector<float> w_in = ConstValuesF32(*g, p.w_in);
      const graph::Shape wi_shape = g->node(p.w_in).constant.shape();
      PTQ_ASSIGN_OR_RETURN(int axis, WeightOutputChannelAxis(*g, p.node_in, wi_shape.size()));
      if (!wi_shape.empty() && wi_shape[static_cast<size_t>(axis)] == static_cast<int64_t>(c)) {
        int64_t inner = 1;
        for (size_t d = static_cast<size_t>(axis) + 1; d < wi_shape.size(); ++d)
          inner *= wi_shape[d];
        for (size_t j = 0; j < w_in.size(); ++j) {
          w_in[j] = w_in[j] / sf[(j / static_cast<size_t>(inner)) % c];
        }
        PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, p.w_in, w_in));
        if (p.b_in != graph::kNoNode) {
          std::vector<float> b_in = ConstValuesF32(*g, p.b_in);
          if (b_in.size() != c) return Status::Error(where + ": producer bias size mismatch");
          for (size_t k = 0; k < c; ++k) b_in[k] = b_in[k] / sf[k];
          PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, p.b_in, b_in));
        }
        for (size_t j = 0; j < w_out.size(); ++j) {
          w_out[j] = w_out[j] * sf[(j / static_cast<size_t>(spatial)) % c];
        }
        PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, p.w_out, w_out));
      }
    }
    need_rescale.insert(p.node_out);
  }
  return need_rescale;
}

Result<std::set<NodeId>> ActivationChannelAlignment::Run(Graph* g, Engine* engine) const {
  PTQ_ASSIGN_OR_RETURN(std::vector<Pair> pairs, FindPairs(*g));
  if (pairs.empty()) return std::set<NodeId>{};
  std::vector<StatRequest> requests = Requests(pairs);
  Graph fp32 = BypassFakeQuantize(*g, /*activations_only=*/false);
  CollectOptions co;
  co.pass_name = "ActivationChannelAlignment";
  PTQ_ASSIGN_OR_RETURN(CollectedStats stats, engine->Collect(fp32, requests, co));
  return Apply(g, pairs, stats.results);
}

}  // namespace ptqflow::quant
