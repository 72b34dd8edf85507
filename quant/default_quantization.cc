#include "quant/default_quantization.h"

#include <utility>

#include "quant/algorithms_common.h"

namespace ptqflow::quant {

Result<QuantizationReport> RunDefaultQuantization(graph::Graph* g, const QuantizationPlan& plan,
                                                  Engine* engine,
                                                  const DefaultQuantizationOptions& options) {
  QuantizationReport report;
  // 1. ActivationChannelAlignment on the FP32 model.
  ActivationChannelAlignment aca(options.channel_alignment);
  PTQ_ASSIGN_OR_RETURN(std::vector<ActivationChannelAlignment::Pair> pairs, aca.FindPairs(*g));
  if (!pairs.empty()) {
    std::vector<StatRequest> requests = aca.Requests(pairs);
    graph::Graph fp32 = BypassFakeQuantize(*g, /*activations_only=*/false);
    CollectOptions co;
    co.pass_name = "ActivationChannelAlignment";
    PTQ_ASSIGN_OR_RETURN(CollectedStats stats, engine->Collect(fp32, requests, co));
    ++report.statistics_passes;
    PTQ_ASSIGN_OR_RETURN(report.need_rescale, aca.Apply(g, pairs, stats.results));
  }

  // Every Const as ACA left it (shared handles), to report what steps 3-4 change.
  std::map<graph::NodeId, graph::Tensor> before;
  for (graph::NodeId id : g->NodesOfType("Const")) before.emplace(id, g->node(id).constant);

  // 2. One pass on the ACA-modified FP32 model for MinMax and FastBiasCorrection.
  MinMaxQuantization minmax(options.minmax);
  FastBiasCorrection fbc(options.fast_bias);
  PTQ_ASSIGN_OR_RETURN(std::vector<StatRequest> requests,
                       minmax.ActivationRequests(*g, plan, nullptr));
  const size_t num_minmax = requests.size();
  std::vector<FastBiasCorrection::Candidate> fbc_candidates;
  if (options.use_fast_bias) {
    PTQ_ASSIGN_OR_RETURN(fbc_candidates, fbc.FindCandidates(*g));
    std::vector<StatRequest> more = fbc.Requests(fbc_candidates);
    requests.insert(requests.end(), more.begin(), more.end());
  }
  std::vector<StatResult> results;
  // MinMax's ranges are fitted inside the pass (weights while the samples run, activations
  // after the last one), by the engine's fitting node.
  std::vector<std::optional<FqParams>> ranges;
  if (!requests.empty()) {
    graph::Graph fp32 = BypassFakeQuantize(*g, /*activations_only=*/false);
    CollectOptions co;
    co.pass_name = "DefaultQuantization";
    co.fit = minmax.FitJobs(*g, plan, 0, &ranges);
    PTQ_ASSIGN_OR_RETURN(CollectedStats stats, engine->Collect(fp32, requests, co));
    ++report.statistics_passes;
    results = std::move(stats.results);
  }
  BiasCorrection bc(options.bias_correction);
  BiasCorrection::Fp32Stats bc_stats;
  if (!options.use_fast_bias) {
    PTQ_ASSIGN_OR_RETURN(bc_stats, bc.CollectFp32(*g, engine));
    ++report.statistics_passes;
  }

  // 3. MinMaxQuantization.
  std::span<const StatResult> all(results);
  PTQ_ASSIGN_OR_RETURN(
      report.fitted, minmax.Fit(g, plan, all.subspan(0, num_minmax), report.need_rescale, ranges));

  // 4. Bias correction.
  if (options.use_fast_bias) {
    PTQ_ASSIGN_OR_RETURN(report.biases,
                         fbc.Apply(g, fbc_candidates, all.subspan(num_minmax), engine));
  } else {
    PTQ_ASSIGN_OR_RETURN(report.biases, bc.Apply(g, std::move(bc_stats), engine));
  }
  // Changed constants, except the FQ limits MinMax fills (inputs 1..4 of a FakeQuantize).
  std::set<graph::NodeId> limits;
  for (graph::NodeId fq : g->NodesOfType("FakeQuantize")) {
    for (size_t i = 1; i < g->node(fq).inputs.size(); ++i) limits.insert(g->node(fq).input(i).node);
  }
  for (auto& [id, tensor] : before) {
    const graph::Node& n = g->node(id);
    if (!n.alive || limits.count(id) || n.constant.bytes() == tensor.bytes()) continue;
    report.fp32_constants.emplace(id, std::move(tensor));
  }
  return report;
}

}  // namespace ptqflow::quant
