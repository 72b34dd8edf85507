#include "quant/minmax.h"

#include <glog/logging.h>

#include <algorithm>
#include <map>
#include <utility>

#include "quant/algorithms_common.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::NodeId;

const char* SaturationFixName(SaturationFix s) {
  switch (s) {
    case SaturationFix::kFirstLayer:
      return "first_layer";
    case SaturationFix::kAll:
      return "all";
    case SaturationFix::kNo:
      return "no";
  }
  return "?";
}

Result<SaturationFix> ParseSaturationFix(const std::string& s) {
  if (s == "first_layer") return SaturationFix::kFirstLayer;
  if (s == "all") return SaturationFix::kAll;
  if (s == "no") return SaturationFix::kNo;
  return Status::Error("saturation_fix: unknown value \"" + s +
                       "\" (expected \"first_layer\", \"all\" or \"no\")");
}

namespace {

std::string FqName(const Graph& g, const FqInfo& info) { return graph::Describe(g.node(info.fq)); }

Result<RangeEstimatorPlan> PlanFor(const FqInfo& info, const MinMaxOptions& o) {
  const RangeEstimatorConfig& cfg =
      info.role == TensorRole::kWeights ? o.weights_range_estimator : o.activations_range_estimator;
  return PlanRangeEstimator(info.role, info.config.mode, info.config.granularity, cfg);
}

// Weight statistic of one side on the constant feeding the FQ.
Result<std::vector<float>> WeightStatistic(const Graph& g, const FqInfo& info,
                                           const StatisticPlan& side) {
  const NodeId c = ConstSource(g, info.input);
  if (c == graph::kNoNode) {
    return Status::Error(FqName(g, info) + ": weights FakeQuantize input is not a constant");
  }
  std::vector<float> data = ConstValuesF32(g, c);
  const graph::Shape& shape = g.node(c).constant.shape();
  if (side.granularity == Granularity::kPerTensor || shape.empty()) {
    PTQ_ASSIGN_OR_RETURN(float v, WeightStatPerTensor(data, side.type, side.quantile));
    return std::vector<float>{v};
  }
  int axis = info.channel_axis;
  if (axis < 0) axis += static_cast<int>(shape.size());
  if (axis < 0 || static_cast<size_t>(axis) >= shape.size()) {
    return Status::Error(FqName(g, info) + ": channel axis " + std::to_string(info.channel_axis) +
                         " is outside the weights of shape " + graph::ShapeToString(shape));
  }
  graph::Shape moved = {shape[axis], 1};
  for (size_t i = 0; i < shape.size(); ++i) {
    if (static_cast<int>(i) != axis) moved[1] *= shape[i];
  }
  if (axis != 0) data = MoveAxisToFront(data, shape, axis);
  return WeightStatsPerOutputChannel(data, moved, side.type, /*transposed=*/false, side.quantile);
}

Result<std::vector<float>> ActivationStatistic(const Graph& g, const FqInfo& info,
                                               const StatisticPlan& side,
                                               std::span<const StatResult> results, int index) {
  if (index < 0 || static_cast<size_t>(index) >= results.size() ||
      !results[static_cast<size_t>(index)].samples) {
    return Status::Error(FqName(g, info) + ": statistics of its input were not collected");
  }
  auto agg = Aggregate(*results[static_cast<size_t>(index)].samples, side.aggregator);
  if (!agg.ok()) return agg.status().WithContext(FqName(g, info));
  return agg;
}

bool HasConvolution(const Graph& g) {
  for (NodeId id : g.LiveNodes()) {
    if (IsConvolution(g.node(id).type)) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<StatRequest>> MinMaxQuantization::ActivationRequests(
    const Graph& g, const QuantizationPlan& plan,
    std::vector<std::pair<int, int>>* request_of_fq) const {
  std::vector<StatRequest> requests;
  std::map<std::string, int> index_of_key;
  auto add = [&](const StatRequest& r) {
    const std::string key = StatRequestKey(g, r);
    auto it = index_of_key.find(key);
    if (it != index_of_key.end()) return it->second;
    requests.push_back(r);
    const int idx = static_cast<int>(requests.size()) - 1;
    index_of_key.emplace(key, idx);
    return idx;
  };
  if (request_of_fq) request_of_fq->assign(plan.fqs.size(), {-1, -1});
  for (size_t i = 0; i < plan.fqs.size(); ++i) {
    const FqInfo& info = plan.fqs[i];
    if (info.role != TensorRole::kActivations) continue;
    auto rp = PlanFor(info, options_);
    if (!rp.ok()) return rp.status().WithContext(FqName(g, info));
    StatRequest r;
    r.value = info.input;
    r.kind = StatKind::kReduction;
    r.reduction = rp->min.Reduction(info.channel_axis);
    const int min_idx = add(r);
    r.reduction = rp->max.Reduction(info.channel_axis);
    const int max_idx = add(r);
    if (request_of_fq) (*request_of_fq)[i] = {min_idx, max_idx};
  }
  return requests;
}

Result<FqParams> MinMaxQuantization::FitEntry(const Graph& g, const FqInfo& info,
                                              std::span<const StatResult> results,
                                              std::pair<int, int> requests) const {
  PTQ_ASSIGN_OR_RETURN(RangeEstimatorPlan rp, PlanFor(info, options_));
  const bool is_weights = info.role == TensorRole::kWeights;
  std::vector<float> stat_min, stat_max;
  if (is_weights) {
    if (rp.min.needed) {
      PTQ_ASSIGN_OR_RETURN(stat_min, WeightStatistic(g, info, rp.min));
    }
    PTQ_ASSIGN_OR_RETURN(stat_max, WeightStatistic(g, info, rp.max));
  } else {
    PTQ_ASSIGN_OR_RETURN(stat_min, ActivationStatistic(g, info, rp.min, results, requests.first));
    PTQ_ASSIGN_OR_RETURN(stat_max, ActivationStatistic(g, info, rp.max, results, requests.second));
  }
  const int64_t levels = info.levels.levels;
  FqParams p;
  if (info.config.mode == QuantMode::kSymmetric) {
    if (levels <= 2) {
      return Status::Error(FqName(g, info) + ": symmetric quantization needs levels > 2, got " +
                           std::to_string(levels));
    }
    p = is_weights ? SymmetricWeightRange(stat_max, levels)
                   : SymmetricActivationRange(stat_min, stat_max, levels, info.levels.is_signed);
  } else {
    if (stat_min.size() != stat_max.size()) {
      return Status::Error(FqName(g, info) + ": min and max statistics have " +
                           std::to_string(stat_min.size()) + " and " +
                           std::to_string(stat_max.size()) + " channels");
    }
    PTQ_ASSIGN_OR_RETURN(p,
                         AsymmetricRange(stat_min, stat_max, info.config.bits, levels, is_weights,
                                         /*unify_zp=*/false, g.node(info.fq).name));
  }
  ApplyClipping(&p, rp.min.needed ? rp.min.clipping_value : std::nullopt, rp.max.clipping_value);
  return p;
}

std::vector<FitJob> MinMaxQuantization::FitJobs(
    const Graph& g, const QuantizationPlan& plan, size_t first_result,
    std::vector<std::optional<FqParams>>* ranges) const {
  ranges->assign(plan.fqs.size(), std::nullopt);
  std::vector<std::pair<int, int>> req_of_fq;
  auto requests = ActivationRequests(g, plan, &req_of_fq);
  std::vector<FitJob> jobs;
  if (!requests.ok()) return jobs;  // Fit reports it
  const size_t count = requests->size();
  for (size_t i = 0; i < plan.fqs.size(); ++i) {
    FitJob job;
    job.needs_stats = plan.fqs[i].role != TensorRole::kWeights;
    job.run = [this, &g, &plan, i, first_result, count, req = req_of_fq[i],
               ranges](const CollectedStats& stats) -> Status {
      std::span<const StatResult> results;
      if (plan.fqs[i].role != TensorRole::kWeights &&
          first_result + count <= stats.results.size()) {
        results = std::span<const StatResult>(stats.results).subspan(first_result, count);
      }
      PTQ_ASSIGN_OR_RETURN(FqParams p, FitEntry(g, plan.fqs[i], results, req));
      (*ranges)[i] = std::move(p);
      return Status::Ok();
    };
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<std::vector<FittedFq>> MinMaxQuantization::Fit(
    Graph* g, const QuantizationPlan& plan, std::span<const StatResult> results,
    const std::set<NodeId>& need_rescale, std::span<const std::optional<FqParams>> ranges) const {
  std::vector<std::pair<int, int>> req_of_fq;
  PTQ_ASSIGN_OR_RETURN(std::vector<StatRequest> requests, ActivationRequests(*g, plan, &req_of_fq));
  if (requests.size() != results.size()) {
    return Status::Error("MinMaxQuantization: " + std::to_string(results.size()) +
                         " statistics results for " + std::to_string(requests.size()) +
                         " requests");
  }

  // Which weight FQs get the saturation fix (POT's set_rescaling_factors).
  std::set<NodeId> rescale;
  const bool device_ok = options_.target_device == "CPU" || options_.target_device == "ANY";
  if (device_ok && options_.saturation_fix != SaturationFix::kNo && HasConvolution(*g)) {
    for (const FqInfo& info : plan.fqs) {
      if (info.role != TensorRole::kWeights) continue;
      bool pick = false;
      if (options_.saturation_fix == SaturationFix::kFirstLayer) {
        pick = info.saturation_fix_candidate;
      } else {
        for (const auto& [op, port] : info.consumers) {
          if (port == 1 && IsOpWithWeights(g->node(op).type)) pick = true;
        }
      }
      if (pick) rescale.insert(info.fq);
    }
    for (NodeId op : need_rescale) {
      NodeId fq = WeightFakeQuantize(*g, op);
      if (fq != graph::kNoNode) rescale.insert(fq);
    }
  }

  std::vector<FittedFq> fitted(plan.fqs.size());
  for (size_t i = 0; i < plan.fqs.size(); ++i) {
    const FqInfo& info = plan.fqs[i];
    const bool is_weights = info.role == TensorRole::kWeights;
    FqParams p;
    if (i < ranges.size() && ranges[i].has_value()) {
      p = *ranges[i];
    } else {
      PTQ_ASSIGN_OR_RETURN(p, FitEntry(*g, info, results, req_of_fq[i]));
    }
    if (is_weights && rescale.count(info.fq)) {
      const float factor = options_.saturation_scaling_factor;
      ApplySaturationFix(&p, factor);
      const NodeId c = ConstSource(*g, info.input);
      std::vector<float> w = ConstValuesF32(*g, c);
      for (float& v : w) v = v / factor;
      PTQ_RETURN_IF_ERROR(SetConstValuesF32(g, c, w));
      fitted[i].saturation_fixed = true;
    }
    fitted[i].params = p;
    fitted[i].before_unify = p;
    PTQ_RETURN_IF_ERROR(WriteFqLimits(g, info.fq, p));
  }

  // Unified scales (POT's unify_fq_scales): elementwise min of il and max of ih over the group.
  for (const std::vector<int>& group : plan.unified_groups) {
    size_t width = 1;
    for (int m : group)
      width = std::max(width, fitted[static_cast<size_t>(m)].params.input_low.size());
    std::vector<float> lo(width, 0.0f), hi(width, 0.0f);
    bool first = true;
    for (int m : group) {
      const FqParams& p = fitted[static_cast<size_t>(m)].params;
      if (p.input_low.size() != 1 && p.input_low.size() != width) {
        return Status::Error(FqName(*g, plan.fqs[static_cast<size_t>(m)]) +
                             ": cannot unify scales of FakeQuantize layers with " +
                             std::to_string(p.input_low.size()) + " and " + std::to_string(width) +
                             " channels");
      }
      for (size_t k = 0; k < width; ++k) {
        const float l = p.input_low[p.input_low.size() == 1 ? 0 : k];
        const float h = p.input_high[p.input_high.size() == 1 ? 0 : k];
        lo[k] = first ? l : std::min(lo[k], l);
        hi[k] = first ? h : std::max(hi[k], h);
      }
      first = false;
    }
    for (int m : group) {
      FqParams& p = fitted[static_cast<size_t>(m)].params;
      if (p.input_low.size() == 1 && width != 1) {
        return Status::Error(FqName(*g, plan.fqs[static_cast<size_t>(m)]) +
                             ": a per-tensor FakeQuantize in a group with per-channel ones");
      }
      p.input_low = lo;
      p.input_high = hi;
      p.output_low = lo;
      p.output_high = hi;
      PTQ_RETURN_IF_ERROR(WriteFqLimits(g, plan.fqs[static_cast<size_t>(m)].fq, p));
    }
  }
  return fitted;
}

Result<std::vector<FittedFq>> MinMaxQuantization::Run(Graph* g, const QuantizationPlan& plan,
                                                      Engine* engine,
                                                      const std::set<NodeId>& need_rescale) const {
  PTQ_ASSIGN_OR_RETURN(std::vector<StatRequest> requests, ActivationRequests(*g, plan, nullptr));
  std::vector<StatResult> results;
  std::vector<std::optional<FqParams>> ranges;
  if (!requests.empty()) {
    Graph fp32 = BypassFakeQuantize(*g, /*activations_only=*/false);
    CollectOptions co;
    co.pass_name = "MinMaxQuantization";
    co.fit = FitJobs(*g, plan, 0, &ranges);
    PTQ_ASSIGN_OR_RETURN(CollectedStats stats, engine->Collect(fp32, requests, co));
    results = std::move(stats.results);
  }
  return Fit(g, plan, results, need_rescale, ranges);
}

Status WriteFqLimits(Graph* g, NodeId fq, const FqParams& p) {
  graph::Node& n = g->node(fq);
  if (n.type != "FakeQuantize" || n.inputs.size() != 5) {
    return Status::Error(graph::Describe(n) + ": not a FakeQuantize with 5 inputs");
  }
  const std::vector<float>* values[4] = {&p.input_low, &p.input_high, &p.output_low,
                                         &p.output_high};
  for (int k = 0; k < 4; ++k) {
    const NodeId c = n.input(static_cast<size_t>(k) + 1).node;
    graph::Node& cn = g->node(c);
    if (!cn.is_const()) {
      return Status::Error(graph::Describe(n) + ": input " + std::to_string(k + 1) +
                           " is not a constant");
    }
    const graph::Shape shape = cn.constant.shape();
    const size_t count = static_cast<size_t>(graph::ElementCount(shape));
    const std::vector<float>& v = *values[k];
    std::vector<float> data;
    if (v.size() == count) {
      data = v;
    } else if (v.size() == 1) {
      data.assign(count, v[0]);
    } else {
      return Status::Error(graph::Describe(n) + ": " + std::to_string(v.size()) +
                           " limit values for a constant of shape " + graph::ShapeToString(shape));
    }
    cn.constant = graph::Tensor::FromVector(graph::ElementType::kF32, shape, data);
    cn.outputs[0].type = graph::ElementType::kF32;
  }
  g->node(fq).attrs.SetInt("levels", p.levels);
  return Status::Ok();
}

Result<FqParams> ReadFqLimits(const Graph& g, NodeId fq) {
  const graph::Node& n = g.node(fq);
  if (n.type != "FakeQuantize" || n.inputs.size() != 5) {
    return Status::Error(graph::Describe(n) + ": not a FakeQuantize with 5 inputs");
  }
  FqParams p;
  std::vector<float>* out[4] = {&p.input_low, &p.input_high, &p.output_low, &p.output_high};
  for (int k = 0; k < 4; ++k) {
    const NodeId c = ConstSource(g, n.input(static_cast<size_t>(k) + 1));
    if (c == graph::kNoNode) {
      return Status::Error(graph::Describe(n) + ": input " + std::to_string(k + 1) +
                           " is not a constant");
    }
    *out[k] = ConstValuesF32(g, c);
  }
  PTQ_ASSIGN_OR_RETURN(p.levels, n.attrs.GetInt("levels"));
  return p;
}

}  // namespace ptqflow::quant
