#include "stages/evaluator.h"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "graph/exec/session.h"
#include "stages/sample_stats.h"

namespace ptqflow::stages {
namespace {

// One thread's sessions, one per compiled plan.
using SessionMap = std::map<const exec::CompiledModel*, std::unique_ptr<exec::Session>>;

exec::Session& SessionFor(SessionMap& sessions,
                          const std::shared_ptr<const exec::CompiledModel>& plan) {
  auto& s = sessions[plan.get()];
  if (!s) s = std::make_unique<exec::Session>(plan);
  return *s;
}

// The output tensor a metric reads: by tensor name, by Result name, or the first output.
Result<graph::Tensor> MetricOutput(const exec::CompiledModel& plan,
                                   const std::map<std::string, graph::Tensor>& outputs,
                                   const std::string& name, const std::string& metric) {
  if (name.empty()) return outputs.at(plan.outputs()[0].tensor_name);
  for (const exec::ModelOutput& o : plan.outputs()) {
    if (o.tensor_name == name || o.result_name == name) return outputs.at(o.tensor_name);
  }
  std::string list;
  for (const exec::ModelOutput& o : plan.outputs()) list += " " + o.tensor_name;
  return Status::Error("metric '" + metric + "': the model has no output '" + name +
                       "'; outputs:" + list);
}

struct PerSample {
  bool skipped = false;
  std::vector<quant::SampleScore> scores;
  double run_ms = 0.0;  // Session::Run of the evaluated model
};

}  // namespace

Result<EvaluationResult> Evaluate(const graph::Graph& model, const graph::Graph* reference,
                                  const io::Dataset& dataset,
                                  std::span<const quant::Metric* const> metrics,
                                  const EvaluationOptions& options) {
  bool need_ref = false;
  for (const quant::Metric* m : metrics) need_ref = need_ref || m->annotation_free();
  if (need_ref && reference == nullptr) {
    return Status::Error("annotation-free metrics need the FP32 reference model");
  }
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int workers = options.workers > 0 ? options.workers : cores;
  exec::CompileOptions copts;
  copts.threads =
      options.intra_op_threads > 0 ? options.intra_op_threads : std::max(1, cores / workers);
  PlanCache plans(model, copts);
  std::optional<PlanCache> ref_plans;
  if (need_ref) ref_plans.emplace(*reference, copts);

  const std::vector<size_t> selection = io::SelectSamples(dataset.size(), options.selection);
  std::vector<PerSample> results(selection.size());
  io::BadSampleLog bad;
  std::atomic<size_t> first_bad{std::numeric_limits<size_t>::max()};
  std::mutex err_mu;
  Status first_error;
  auto fail = [&](size_t pos, const Status& st) {
    std::lock_guard<std::mutex> lock(err_mu);
    if (pos < first_bad.load()) {
      first_bad = pos;
      first_error = st;
    }
  };
  std::mutex progress_mu;
  size_t done = 0;
  ProgressReporter progress(options.name, selection.size(), 0, options.progress);

  auto one = [&](size_t pos, SessionMap& sessions) -> Status {
    const size_t index = selection[pos];
    PTQ_ASSIGN_OR_RETURN(std::optional<io::Sample> sample,
                         io::GetOrSkip(dataset, index, options.skip_bad_samples ? &bad : nullptr));
    if (!sample) {
      results[pos].skipped = true;
      return Status::Ok();
    }
    const std::string where = io::SampleContext(index, sample->source);
    quant::SampleTruth truth;
    if (sample->annotation) {
      truth.class_label = sample->annotation->class_label;
      truth.text = sample->annotation->text;
    }
    auto run = [&](const graph::Graph& g, PlanCache& cache,
                   std::map<std::string, graph::Tensor>* out,
                   std::shared_ptr<const exec::CompiledModel>* plan_out, double* run_ms) -> Status {
      PTQ_ASSIGN_OR_RETURN(auto inputs, BindInputs(g, sample->inputs));
      PTQ_ASSIGN_OR_RETURN(*plan_out, cache.Get(inputs));
      exec::Session& session = SessionFor(sessions, *plan_out);
      const auto start = std::chrono::steady_clock::now();
      Status st = session.Run(inputs, out);
      if (run_ms != nullptr) {
        *run_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
      }
      return st;
    };
    std::map<std::string, graph::Tensor> out, ref_out;
    std::shared_ptr<const exec::CompiledModel> plan, ref_plan;
    Status st = run(model, plans, &out, &plan, &results[pos].run_ms);
    if (!st.ok()) return Status::Error(where + st.message());
    if (need_ref) {
      st = run(*reference, *ref_plans, &ref_out, &ref_plan, nullptr);
      if (!st.ok()) return Status::Error(where + "FP32 reference: " + st.message());
    }
    for (const quant::Metric* m : metrics) {
      PTQ_ASSIGN_OR_RETURN(graph::Tensor o, MetricOutput(*plan, out, m->spec().output, m->name()));
      std::optional<graph::Tensor> r;
      if (m->annotation_free()) {
        PTQ_ASSIGN_OR_RETURN(r, MetricOutput(*ref_plan, ref_out, m->spec().output, m->name()));
      }
      PTQ_ASSIGN_OR_RETURN(quant::SampleScore s, m->Score(o, truth, r ? &*r : nullptr, index));
      results[pos].scores.push_back(s);
    }
    return Status::Ok();
  };

  const auto start = std::chrono::steady_clock::now();
  tbb::enumerable_thread_specific<SessionMap> sessions;
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, selection.size(), 1),
        [&](const tbb::blocked_range<size_t>& r) {
          for (size_t pos = r.begin(); pos != r.end(); ++pos) {
            if (pos > first_bad.load()) continue;  // earlier positions always finish
            Status st = one(pos, sessions.local());
            if (!st.ok()) fail(pos, st);
            std::lock_guard<std::mutex> lock(progress_mu);
            progress.Update(++done);
          }
        },
        tbb::simple_partitioner());
  });
  progress.Finish(done);
  if (first_bad.load() != std::numeric_limits<size_t>::max()) return first_error;

  EvaluationResult res;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.scores.resize(metrics.size());
  std::vector<double> run_ms;
  for (size_t pos = 0; pos < results.size(); ++pos) {
    if (results[pos].skipped) {
      ++res.skipped;
      continue;
    }
    res.positions.push_back(pos);
    run_ms.push_back(results[pos].run_ms);
    for (size_t m = 0; m < metrics.size(); ++m) res.scores[m].push_back(results[pos].scores[m]);
  }
  for (size_t m = 0; m < metrics.size(); ++m)
    res.values.push_back(metrics[m]->Aggregate(res.scores[m]));
  if (!run_ms.empty()) {
    std::nth_element(run_ms.begin(), run_ms.begin() + run_ms.size() / 2, run_ms.end());
    res.median_run_ms = run_ms[run_ms.size() / 2];
  }
  return res;
}

}  // namespace ptqflow::stages
