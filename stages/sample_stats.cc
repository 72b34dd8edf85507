#include "stages/sample_stats.h"

#include <glog/logging.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "graph/ops/shape_inference.h"

namespace ptqflow::stages {
namespace {

using quant::StatKind;
using quant::StatRequest;

std::string RequestName(const graph::Graph& g, const StatRequest& r, size_t i) {
  return "statistic #" + std::to_string(i) + " (" + quant::StatRequestKey(g, r) + ")";
}

// Room for request i's `rows` x `cols` reduction values at the end of out->values.
float* ValuesSlot(SampleStats* out, size_t i, int64_t rows, int64_t cols) {
  SampleStats::One& one = out->per_request[i];
  one.rows = rows;
  one.cols = cols;
  one.offset = out->values.size();
  out->values.resize(one.offset + static_cast<size_t>(rows * cols));
  return out->values.data() + one.offset;
}

// Reduces one value (any numeric type; converted to f32 first) for request i.
Status ReduceValue(const StatRequest& r, graph::ElementType type, const graph::Shape& shape,
                   const void* data, size_t i, SampleStats* out) {
  SampleStats::Other* other = nullptr;
  if (r.kind != StatKind::kReduction) {
    out->per_request[i].offset = out->others.size();
    other = &out->others.emplace_back();
  }
  if (r.kind == StatKind::kShape) {
    other->shape = shape;
    return Status::Ok();
  }
  graph::Tensor converted;
  std::span<const float> f;
  if (type == graph::ElementType::kF32) {
    f = {static_cast<const float*>(data), static_cast<size_t>(graph::ElementCount(shape))};
  } else {
    converted = graph::Tensor::Wrap(type, shape, data, nullptr).ToF32();
    f = converted.span<float>();
  }
  switch (r.kind) {
    case StatKind::kReduction: {
      PTQ_ASSIGN_OR_RETURN(quant::PerSampleValues v, quant::ReducePerSample(f, shape, r.reduction));
      std::copy(v.data.begin(), v.data.end(), ValuesSlot(out, i, v.rows, v.cols));
      return Status::Ok();
    }
    case StatKind::kBatchMean: {
      PTQ_ASSIGN_OR_RETURN(std::vector<float> mean, quant::BatchMean(f, shape));
      graph::Shape s = shape;
      s[0] = 1;
      other->batch_mean = graph::Tensor::FromVector(graph::ElementType::kF32, s, mean);
      return Status::Ok();
    }
    case StatKind::kHistogram: {
      other->histogram.emplace(r.hist_lo, r.hist_hi, r.hist_bins);
      other->histogram->Add(f);
      return Status::Ok();
    }
    case StatKind::kShape:
      break;
  }
  return Status::Ok();
}

std::string ShapeKey(const std::map<std::string, graph::Tensor>& inputs) {
  std::string key;
  for (const auto& [name, t] : inputs) {
    key += name + ":" + std::string(graph::ElementTypeName(t.type())) +
           graph::ShapeToString(t.shape()) + ";";
  }
  return key;
}

}  // namespace

Status ValidateRequests(const graph::Graph& g, std::span<const StatRequest> requests) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const StatRequest& r = requests[i];
    const std::string what = "statistic #" + std::to_string(i);
    if (!g.contains(r.value.node) || !g.node(r.value.node).alive) {
      return Status::Error(what + ": node " + std::to_string(r.value.node) +
                           " is not a live node of the graph");
    }
    const graph::Node& n = g.node(r.value.node);
    if (r.value.port < 0 || static_cast<size_t>(r.value.port) >= n.outputs.size()) {
      return Status::Error(what + ": " + graph::Describe(n) + " has no output port " +
                           std::to_string(r.value.port));
    }
    if (r.kind == StatKind::kHistogram && (!(r.hist_lo < r.hist_hi) || r.hist_bins < 1)) {
      return Status::Error(RequestName(g, r, i) + ": a histogram needs lo < hi and bins >= 1");
    }
    if (r.kind == StatKind::kReduction &&
        (r.reduction.type == quant::StatType::kQuantile ||
         r.reduction.type == quant::StatType::kAbsQuantile) &&
        !(r.reduction.quantile >= 0.0 && r.reduction.quantile <= 1.0)) {
      return Status::Error(RequestName(g, r, i) + ": quantile must be in [0, 1]");
    }
  }
  return Status::Ok();
}

Result<std::map<std::string, graph::Tensor>> BindInputs(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) {
  auto it = inputs.find("");
  if (it == inputs.end()) return inputs;
  const std::vector<graph::NodeId> params = g.parameters();
  if (params.size() != 1 || inputs.size() != 1) {
    return Status::Error("the sample has an unnamed input but the model has " +
                         std::to_string(params.size()) +
                         " inputs; name the input (e.g. the dataset's input_name option)");
  }
  return std::map<std::string, graph::Tensor>{{g.node(params[0]).name, it->second}};
}

PlanCache::PlanCache(const graph::Graph& g, exec::CompileOptions options,
                     std::vector<graph::ValueRef> must_compute)
    : g_(g), options_(std::move(options)), must_compute_(std::move(must_compute)) {
  // Tapped values must survive the executor's layer fusion (a fused-away value is not
  // computed, and tapping it is an error).
  options_.observable.insert(options_.observable.end(), must_compute_.begin(), must_compute_.end());
}

Result<std::shared_ptr<const exec::CompiledModel>> PlanCache::Get(
    const std::map<std::string, graph::Tensor>& inputs,
    const std::shared_ptr<const exec::CompiledModel>& current) {
  if (current && current->inputs().size() == inputs.size()) {
    bool same = true;
    for (const exec::ModelInput& in : current->inputs()) {
      auto it = inputs.find(in.name);
      same = same && it != inputs.end() && it->second.type() == in.type &&
             it->second.shape() == in.shape;
    }
    if (same) return current;
  }
  const std::string key = ShapeKey(inputs);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;

  graph::Graph copy = g_;
  // Fix dynamic dimensions (or check static ones) from the sample's shapes.
  std::map<std::string, graph::PartialShape> shapes;
  bool changed = false;
  for (graph::NodeId p : copy.parameters()) {
    auto in = inputs.find(copy.node(p).name);
    if (in == inputs.end()) continue;
    const graph::PartialShape& declared = copy.node(p).outputs[0].shape;
    if (!declared.is_static() || declared.to_shape() != in->second.shape()) changed = true;
    shapes.emplace(in->first, graph::PartialShape(in->second.shape()));
  }
  if (changed) {
    PTQ_RETURN_IF_ERROR(graph::ops::SetInputShapes(copy, shapes));
    PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(copy));
  }
  PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const exec::CompiledModel> plan,
                       exec::CompiledModel::Compile(copy, options_));
  // Values no output needs were pruned: give them a Result and compile again.
  bool added = false;
  for (size_t i = 0; i < must_compute_.size(); ++i) {
    const graph::ValueRef v = must_compute_[i];
    if (plan->ValueIndex(v) >= 0 || copy.node(v.node).type == "Parameter") continue;
    copy.AddResult("__ptqflow_stat_" + std::to_string(i), v);
    added = true;
  }
  if (added) {
    PTQ_ASSIGN_OR_RETURN(plan, exec::CompiledModel::Compile(copy, options_));
  }
  plans_.emplace(key, plan);
  return plan;
}

namespace {

// The requests on one value, reduced together in one tap callback. When every one of them is
// a min / max / abs_max (per tensor, or per channel along axis 1), one in-place pass
// (quant::ReduceExtremes) serves them all, straight from oneDNN's blocked layout if the value
// is blocked; otherwise, or when that pass cannot give the exact answer, each request is reduced
// from the plain values.
struct ValueGroup {
  graph::ValueRef value;
  std::vector<size_t> requests;
  bool extremes = true;       // all min / max / abs_max along axis 1
  bool need_channel = false;  // some of them per channel
  bool need_tensor = false;   // some of them per tensor
};

bool IsExtreme(const StatRequest& r, const graph::Graph& g) {
  if (r.kind != StatKind::kReduction) return false;
  const quant::StatType t = r.reduction.type;
  if (t != quant::StatType::kMin && t != quant::StatType::kMax && t != quant::StatType::kAbsMax) {
    return false;
  }
  if (!r.reduction.per_channel) return true;
  const graph::PartialShape& shape = g.node(r.value.node).outputs[r.value.port].shape;
  if (!shape.rank_known()) return false;
  const int rank = static_cast<int>(shape.rank());
  const int axis =
      r.reduction.channel_axis < 0 ? r.reduction.channel_axis + rank : r.reduction.channel_axis;
  return axis == 1 && rank >= 2;
}

}  // namespace

struct SampleStatsRunner::Impl {
  const graph::Graph& g;
  std::span<const StatRequest> requests;
  std::vector<ValueGroup> groups;
  struct InputGroup {
    size_t group;
    std::string name;  // the Parameter's name: the sample's input of that name
  };
  std::vector<InputGroup> inputs;
  exec::TapSet taps;
  quant::Extremes tensor, channel;  // ReduceExtremes' outputs (their buffers are reused)
  size_t last_values = 0;           // size of the previous sample's values (reserved)
  // State of the current run.
  SampleStats* out = nullptr;
  std::vector<char> seen;
  std::vector<Status> errors;

  Impl(const graph::Graph& graph, std::span<const StatRequest> reqs) : g(graph), requests(reqs) {
    std::map<graph::ValueRef, size_t> group_of;
    for (size_t i = 0; i < requests.size(); ++i) {
      const StatRequest& r = requests[i];
      auto [it, added] = group_of.emplace(r.value, groups.size());
      if (added) groups.push_back(ValueGroup{r.value, {}});
      ValueGroup& group = groups[it->second];
      group.requests.push_back(i);
      group.extremes = group.extremes && IsExtreme(r, g);
      (r.reduction.per_channel ? group.need_channel : group.need_tensor) = true;
    }
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const graph::Node& n = g.node(groups[gi].value.node);
      if (n.type == "Parameter") {
        // A model input is not computed by the run: reduced from the sample's tensor (Run).
        inputs.push_back({gi, n.name});
        continue;
      }
      taps.Observe(
          groups[gi].value,
          [this, gi](const graph::ValueRef&, const exec::TensorView& view) { Reduce(gi, view); },
          /*accepts_blocked=*/groups[gi].extremes);
    }
  }

  void Reduce(size_t gi, const exec::TensorView& view) {
    const ValueGroup& group = groups[gi];
    for (size_t i : group.requests) seen[i] = 1;
    if (group.extremes && ReduceGroupExtremes(group, view)) return;
    graph::Tensor plain;
    const void* data = view.data;
    if (view.channel_block > 0) {
      plain = view.Copy();
      data = plain.bytes();
    }
    for (size_t i : group.requests) {
      errors[i] = ReduceValue(requests[i], view.type, *view.shape, data, i, out);
    }
  }

  // Fills the group's requests from one extremes pass; false if the pass cannot be exact.
  bool ReduceGroupExtremes(const ValueGroup& group, const exec::TensorView& view) {
    if (view.type != graph::ElementType::kF32) return false;
    if (!quant::ReduceExtremes(view.as<float>(), *view.shape, view.channel_block,
                               group.need_tensor ? &tensor : nullptr,
                               group.need_channel ? &channel : nullptr)) {
      return false;
    }
    for (size_t i : group.requests) {
      const quant::ReductionSpec& spec = requests[i].reduction;
      const quant::Extremes& e = spec.per_channel ? channel : tensor;
      const size_t n = e.min.data.size();
      float* v = ValuesSlot(out, i, e.min.rows, e.min.cols);
      switch (spec.type) {
        case quant::StatType::kMin:
          std::copy_n(e.min.data.data(), n, v);
          break;
        case quant::StatType::kMax:
          std::copy_n(e.max.data.data(), n, v);
          break;
        default:  // kAbsMax
          quant::AbsMaxInto(e, v);
          break;
      }
    }
    return true;
  }
};

SampleStatsRunner::SampleStatsRunner(const graph::Graph& g, std::span<const StatRequest> requests)
    : impl_(std::make_unique<Impl>(g, requests)) {}

SampleStatsRunner::~SampleStatsRunner() = default;

Status SampleStatsRunner::Run(exec::Session& session,
                              const std::map<std::string, graph::Tensor>& inputs,
                              SampleStats* out) {
  Impl& m = *impl_;
  const std::span<const StatRequest> requests = m.requests;
  out->per_request.assign(requests.size(), SampleStats::One());
  out->values.clear();
  out->values.reserve(m.last_values);
  out->others.clear();
  m.out = out;
  m.seen.assign(requests.size(), 0);
  m.errors.assign(requests.size(), Status::Ok());
  const Status run = session.Run(inputs, nullptr, &m.taps);
  for (size_t k = 0; run.ok() && k < m.inputs.size(); ++k) {
    auto in = inputs.find(m.inputs[k].name);
    if (in == inputs.end()) continue;  // reported below as not computed
    const graph::Tensor& t = in->second;
    exec::TensorView view;
    view.type = t.type();
    view.shape = &t.shape();
    view.data = t.bytes();
    m.Reduce(m.inputs[k].group, view);
  }
  m.out = nullptr;
  PTQ_RETURN_IF_ERROR(run);
  for (size_t i = 0; i < requests.size(); ++i) {
    const StatRequest& r = requests[i];
    if (!m.seen[i]) {
      return Status::Error(RequestName(m.g, r, i) + ": the value was not computed by the run");
    }
    if (!m.errors[i].ok()) return m.errors[i].WithContext(RequestName(m.g, r, i));
  }
  m.last_values = out->values.size();
  return Status::Ok();
}

Result<SampleStats> ComputeSampleStats(exec::Session& session, const graph::Graph& g,
                                       const std::map<std::string, graph::Tensor>& inputs,
                                       std::span<const StatRequest> requests) {
  SampleStatsRunner runner(g, requests);
  SampleStats out;
  PTQ_RETURN_IF_ERROR(runner.Run(session, inputs, &out));
  return out;
}

StatsAccumulator::StatsAccumulator(std::vector<StatRequest> requests, std::vector<std::string> keys)
    : requests_(std::move(requests)), keys_(std::move(keys)) {
  CHECK_EQ(requests_.size(), keys_.size());
  stats_.results.resize(requests_.size());
  for (size_t i = 0; i < requests_.size(); ++i) {
    const StatRequest& r = requests_[i];
    if (r.kind == StatKind::kHistogram) {
      stats_.results[i].histogram.emplace(r.hist_lo, r.hist_hi, r.hist_bins);
    }
  }
}

Result<StatsAccumulator> StatsAccumulator::FromSaved(std::vector<StatRequest> requests,
                                                     std::vector<std::string> keys,
                                                     quant::CollectedStats saved) {
  if (saved.results.size() != requests.size()) {
    return Status::Error("saved statistics have " + std::to_string(saved.results.size()) +
                         " entries for " + std::to_string(requests.size()) + " requests");
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const StatRequest& r = requests[i];
    const quant::StatResult& s = saved.results[i];
    bool fits = true;
    switch (r.kind) {
      case StatKind::kReduction:
        fits = s.samples.has_value() || saved.num_samples == 0;
        if (s.samples) {
          fits = s.samples->per_channel() == r.reduction.per_channel &&
                 s.samples->num_samples() >= static_cast<int64_t>(saved.num_samples);
        }
        break;
      case StatKind::kBatchMean:
        fits = s.batch_means.size() == saved.num_samples;
        break;
      case StatKind::kShape:
        fits = s.shapes.size() == saved.num_samples;
        break;
      case StatKind::kHistogram:
        fits = s.histogram && s.histogram->lo() == r.hist_lo && s.histogram->hi() == r.hist_hi &&
               static_cast<int64_t>(s.histogram->counts().size()) == r.hist_bins;
        break;
    }
    if (!fits) return Status::Error("saved state of " + keys[i] + " does not fit the request");
  }
  StatsAccumulator acc(std::move(requests), std::move(keys));
  acc.stats_ = std::move(saved);
  return acc;
}

Status StatsAccumulator::Append(const SampleStats& s) {
  CHECK_EQ(s.per_request.size(), requests_.size());
  // Samples buffered per block (a block's values stay in cache while they are moved).
  constexpr size_t kBlock = 64;
  bool same = pending_samples_ > 0 && s.values.size() == row_;
  for (size_t i = 0; same && i < requests_.size(); ++i) {
    if (requests_[i].kind != StatKind::kReduction) continue;
    const SampleStats::One& a = s.per_request[i];
    const SampleStats::One& b = layout_[i];
    same = a.rows == b.rows && a.cols == b.cols && a.offset == b.offset;
  }
  if (!same) {
    // A new layout: what SampleAccumulator::Add would refuse is refused now, for this sample.
    Flush();
    for (size_t i = 0; i < requests_.size(); ++i) {
      if (requests_[i].kind != StatKind::kReduction) continue;
      const SampleStats::One& one = s.per_request[i];
      const std::optional<quant::SampleAccumulator>& acc = stats_.results[i].samples;
      // The values this request has in the sample's buffer (none if they would run past it).
      const int64_t n = one.rows * one.cols;
      const bool inside = n > 0 && one.offset + static_cast<size_t>(n) <= s.values.size();
      Status st =
          quant::SampleAccumulator::CheckBatch(acc ? acc->channels() : one.cols, one.rows, one.cols,
                                               inside ? static_cast<size_t>(n) : 0);
      if (!st.ok()) return st.WithContext(keys_[i]);
    }
    layout_ = s.per_request;
    row_ = s.values.size();
  }
  pending_.insert(pending_.end(), s.values.begin(), s.values.end());
  ++pending_samples_;
  for (size_t i = 0; i < requests_.size(); ++i) {
    const StatRequest& r = requests_[i];
    quant::StatResult& res = stats_.results[i];
    Status st;
    switch (r.kind) {
      case StatKind::kReduction:
        break;
      case StatKind::kBatchMean:
        res.batch_means.push_back(s.OtherOf(i).batch_mean);
        break;
      case StatKind::kShape:
        res.shapes.push_back(s.OtherOf(i).shape);
        break;
      case StatKind::kHistogram:
        CHECK(s.OtherOf(i).histogram.has_value());
        st = res.histogram->Merge(*s.OtherOf(i).histogram);
        break;
    }
    if (!st.ok()) return st.WithContext(keys_[i]);
  }
  ++stats_.num_samples;
  if (pending_samples_ >= kBlock) Flush();
  return Status::Ok();
}

void StatsAccumulator::Flush() {
  if (pending_samples_ == 0) return;
  for (size_t i = 0; i < requests_.size(); ++i) {
    const StatRequest& r = requests_[i];
    if (r.kind != StatKind::kReduction) continue;
    const SampleStats::One& one = layout_[i];
    std::optional<quant::SampleAccumulator>& acc = stats_.results[i].samples;
    if (!acc) {
      acc.emplace(one.cols, r.reduction.per_channel);
      acc->Reserve(reserve_);
    }
    // Checked when the layout was taken (Append).
    CHECK(acc->AddStrided(one.rows, one.cols, pending_.data() + one.offset, row_, pending_samples_)
              .ok());
  }
  pending_.clear();
  pending_samples_ = 0;
}

Result<std::map<std::string, graph::Tensor>> InferOnce(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs, int threads) {
  exec::CompileOptions options;
  options.threads = threads;
  PlanCache cache(g, options);
  PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const exec::CompiledModel> plan, cache.Get(inputs));
  exec::Session session(plan);
  std::map<std::string, graph::Tensor> outputs;
  PTQ_RETURN_IF_ERROR(session.RunByResult(inputs, &outputs));
  return outputs;
}

}  // namespace ptqflow::stages
