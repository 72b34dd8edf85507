// A plain serial quant::Engine for the algorithm tests: runs graph/exec Sessions in a loop over
// a fixed list of samples (each a map Parameter name -> tensor) and computes every statistic
// with quant/statistics.h on the kept values. Independent of the flow-graph engine in stages/.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "graph/exec/tap_set.h"
#include "quant/engine.h"

namespace ptqflow::quant::testing {

class LoopEngine : public Engine {
 public:
  explicit LoopEngine(std::vector<std::map<std::string, graph::Tensor>> samples)
      : samples_(std::move(samples)) {}

  Result<CollectedStats> Collect(const graph::Graph& g, std::span<const StatRequest> requests,
                                 const CollectOptions& options) override {
    ++collect_calls_;
    exec::CompileOptions co;
    co.threads = 1;
    for (const StatRequest& r : requests) co.observable.push_back(r.value);  // not fused away
    PTQ_ASSIGN_OR_RETURN(auto plan, exec::CompiledModel::Compile(g, co));
    exec::Session session(plan);
    CollectedStats out;
    out.results.resize(requests.size());
    const size_t n =
        options.max_samples == 0 ? samples_.size() : std::min(options.max_samples, samples_.size());
    for (size_t s = 0; s < n; ++s) {
      exec::TapSet taps;
      std::set<graph::ValueRef> kept;
      for (const StatRequest& r : requests) {
        if (g.node(r.value.node).type == "Parameter") continue;
        if (kept.insert(r.value).second) taps.Keep(r.value);
      }
      std::map<std::string, graph::Tensor> inputs;
      for (const exec::ModelInput& in : plan->inputs()) {
        auto it = samples_[s].find(in.name);
        if (it == samples_[s].end()) return Status::Error("sample lacks input " + in.name);
        inputs[in.name] = it->second;
      }
      std::map<std::string, graph::Tensor> outputs;
      PTQ_RETURN_IF_ERROR(session.Run(inputs, &outputs, &taps));
      for (size_t i = 0; i < requests.size(); ++i) {
        const StatRequest& r = requests[i];
        graph::Tensor t;
        const graph::Node& producer = g.node(r.value.node);
        if (producer.type == "Parameter") {
          auto in = samples_[s].find(producer.name);
          if (in == samples_[s].end()) return Status::Error("sample lacks input " + producer.name);
          t = in->second.ToF32();
        } else {
          auto it = taps.kept().find(r.value);
          if (it == taps.kept().end()) return Status::Error("value not kept");
          t = it->second.ToF32();
        }
        StatResult& res = out.results[i];
        switch (r.kind) {
          case StatKind::kReduction: {
            PTQ_ASSIGN_OR_RETURN(PerSampleValues v,
                                 ReducePerSample(t.span<float>(), t.shape(), r.reduction));
            if (!res.samples) res.samples.emplace(v.cols, r.reduction.per_channel);
            PTQ_RETURN_IF_ERROR(res.samples->Add(v));
            break;
          }
          case StatKind::kBatchMean: {
            PTQ_ASSIGN_OR_RETURN(std::vector<float> m, BatchMean(t.span<float>(), t.shape()));
            graph::Shape shape = t.shape();
            if (!shape.empty()) shape[0] = 1;
            res.batch_means.push_back(
                graph::Tensor::FromVector(graph::ElementType::kF32, shape, m));
            break;
          }
          case StatKind::kShape:
            res.shapes.push_back(t.shape());
            break;
          case StatKind::kHistogram:
            return Status::Error("LoopEngine: histograms are not supported");
        }
      }
    }
    out.num_samples = n;
    PTQ_RETURN_IF_ERROR(RunFitJobs(options.fit, out));
    return out;
  }

  Result<std::map<std::string, graph::Tensor>> Infer(
      const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) override {
    ++infer_calls_;
    exec::CompileOptions co;
    co.threads = 1;
    PTQ_ASSIGN_OR_RETURN(auto plan, exec::CompiledModel::Compile(g, co));
    exec::Session session(plan);
    std::map<std::string, graph::Tensor> outputs;
    PTQ_RETURN_IF_ERROR(session.RunByResult(inputs, &outputs));
    return outputs;
  }

  size_t num_samples() const override { return samples_.size(); }

  int collect_calls() const { return collect_calls_; }
  int infer_calls() const { return infer_calls_; }

 private:
  std::vector<std::map<std::string, graph::Tensor>> samples_;
  int collect_calls_ = 0;
  int infer_calls_ = 0;
};

}  // namespace ptqflow::quant::testing
