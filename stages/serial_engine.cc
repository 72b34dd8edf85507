#include "stages/serial_engine.h"

#include <utility>

#include "stages/sample_stats.h"

namespace ptqflow::stages {

SerialEngine::SerialEngine(std::shared_ptr<const io::Dataset> dataset, SerialEngineOptions options)
    : dataset_(std::move(dataset)),
      options_(std::move(options)),
      selection_(io::SelectSamples(dataset_->size(), options_.selection)),
      bad_samples_(std::make_unique<io::BadSampleLog>()) {}

Result<quant::CollectedStats> SerialEngine::Collect(const graph::Graph& g,
                                                    std::span<const quant::StatRequest> requests,
                                                    const quant::CollectOptions& options) {
  PTQ_RETURN_IF_ERROR(ValidateRequests(g, requests));
  bad_samples_ = std::make_unique<io::BadSampleLog>();
  std::vector<std::string> keys;
  std::vector<graph::ValueRef> values;
  for (const quant::StatRequest& r : requests) {
    keys.push_back(quant::StatRequestKey(g, r));
    values.push_back(r.value);
  }
  exec::CompileOptions copts;
  copts.threads = options_.threads;
  PlanCache plans(g, copts, values);
  StatsAccumulator acc({requests.begin(), requests.end()}, keys);
  std::shared_ptr<const exec::CompiledModel> plan;
  std::unique_ptr<exec::Session> session;
  SampleStatsRunner runner(g, requests);
  SampleStats sample_stats;

  size_t n = selection_.size();
  if (options.max_samples > 0 && options.max_samples < n) n = options.max_samples;
  acc.Reserve(n);
  for (size_t pos = 0; pos < n; ++pos) {
    const size_t index = selection_[pos];
    PTQ_ASSIGN_OR_RETURN(
        std::optional<io::Sample> sample,
        io::GetOrSkip(*dataset_, index, options_.skip_bad_samples ? bad_samples_.get() : nullptr));
    if (!sample) continue;
    const std::string context = io::SampleContext(index, sample->source);
    auto inputs = BindInputs(g, sample->inputs);
    if (!inputs.ok()) return inputs.status().WithContext(context);
    auto p = plans.Get(*inputs);
    if (!p.ok()) return p.status().WithContext(context);
    if (*p != plan) {
      plan = *p;
      session = std::make_unique<exec::Session>(plan);
    }
    Status st = runner.Run(*session, *inputs, &sample_stats);
    if (!st.ok()) return st.WithContext(context);
    st = acc.Append(sample_stats);
    if (!st.ok()) return st.WithContext(context);
  }
  if (acc.num_samples() == 0) {
    return Status::Error("pass '" + options.pass_name + "': no calibration sample could be used" +
                         (bad_samples_->count() ? " (all were skipped as bad)" : ""));
  }
  quant::CollectedStats stats = acc.Release();
  PTQ_RETURN_IF_ERROR(quant::RunFitJobs(options.fit, stats));
  return stats;
}

Result<std::map<std::string, graph::Tensor>> SerialEngine::Infer(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) {
  return InferOnce(g, inputs, options_.threads);
}

}  // namespace ptqflow::stages
