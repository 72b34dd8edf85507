#include "quant/algorithms.h"

#include <algorithm>

namespace ptqflow::quant {

const std::vector<std::string>& KnownAlgorithmNames() {
  static const std::vector<std::string> kNames = {"DefaultQuantization", "MinMaxQuantization",
                                                  "ActivationChannelAlignment",
                                                  "FastBiasCorrection", "BiasCorrection"};
  return kNames;
}

Result<QuantizationReport> RunAlgorithms(const std::vector<std::string>& names, graph::Graph* g,
                                         const QuantizationPlan& plan, Engine* engine,
                                         const DefaultQuantizationOptions& options) {
  const auto& known = KnownAlgorithmNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::find(known.begin(), known.end(), names[i]) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return Status::Error("algorithms[" + std::to_string(i) + "].name: unknown algorithm \"" +
                           names[i] + "\" (expected one of " + list + ")");
    }
  }
  QuantizationReport report;
  for (const std::string& name : names) {
    if (name == "DefaultQuantization") {
      PTQ_ASSIGN_OR_RETURN(QuantizationReport r, RunDefaultQuantization(g, plan, engine, options));
      report.need_rescale.insert(r.need_rescale.begin(), r.need_rescale.end());
      report.fitted = std::move(r.fitted);
      report.biases.insert(report.biases.end(), r.biases.begin(), r.biases.end());
      report.statistics_passes += r.statistics_passes;
    } else if (name == "ActivationChannelAlignment") {
      ActivationChannelAlignment aca(options.channel_alignment);
      PTQ_ASSIGN_OR_RETURN(std::set<graph::NodeId> marked, aca.Run(g, engine));
      report.need_rescale.insert(marked.begin(), marked.end());
      ++report.statistics_passes;
    } else if (name == "MinMaxQuantization") {
      MinMaxQuantization minmax(options.minmax);
      PTQ_ASSIGN_OR_RETURN(report.fitted, minmax.Run(g, plan, engine, report.need_rescale));
      ++report.statistics_passes;
    } else if (name == "FastBiasCorrection") {
      PTQ_ASSIGN_OR_RETURN(auto entries, FastBiasCorrection(options.fast_bias).Run(g, engine));
      report.biases.insert(report.biases.end(), entries.begin(), entries.end());
      ++report.statistics_passes;
    } else if (name == "BiasCorrection") {
      PTQ_ASSIGN_OR_RETURN(auto entries, BiasCorrection(options.bias_correction).Run(g, engine));
      report.biases.insert(report.biases.end(), entries.begin(), entries.end());
      ++report.statistics_passes;
    }
  }
  return report;
}

}  // namespace ptqflow::quant
