#include "quant/engine.h"

#include <sstream>

namespace ptqflow::quant {

const char* StatKindName(StatKind k) {
  switch (k) {
    case StatKind::kReduction:
      return "reduction";
    case StatKind::kBatchMean:
      return "batch_mean";
    case StatKind::kShape:
      return "shape";
    case StatKind::kHistogram:
      return "histogram";
  }
  return "?";
}

std::string StatRequestKey(const graph::Graph& g, const StatRequest& r) {
  std::ostringstream os;
  os.precision(9);
  os << g.node(r.value.node).name << ":" << r.value.port << "/" << StatKindName(r.kind);
  if (r.kind == StatKind::kReduction) {
    os << "/" << StatTypeName(r.reduction.type);
    if (r.reduction.per_channel) os << "/perchannel@" << r.reduction.channel_axis;
    if (r.reduction.type == StatType::kQuantile || r.reduction.type == StatType::kAbsQuantile) {
      os << "/q=" << r.reduction.quantile;
    }
  } else if (r.kind == StatKind::kHistogram) {
    os << "/[" << r.hist_lo << "," << r.hist_hi << "]x" << r.hist_bins;
  }
  return os.str();
}

Status RunFitJobs(std::span<const FitJob> jobs, const CollectedStats& stats) {
  const CollectedStats none;
  for (const FitJob& job : jobs) {
    PTQ_RETURN_IF_ERROR(job.run(job.needs_stats ? stats : none));
  }
  return Status::Ok();
}

}  // namespace ptqflow::quant
