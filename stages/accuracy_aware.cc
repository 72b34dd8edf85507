#include "stages/accuracy_aware.h"

#include <glog/logging.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "graph/exec/session.h"
#include "io/config/dataset_config.h"
#include "quant/placement.h"
#include "stages/quantize_pipeline.h"
#include "stages/sample_stats.h"

namespace ptqflow::stages {
namespace {

using Clock = std::chrono::steady_clock;
using Scores = std::vector<std::vector<quant::SampleScore>>;  // [metric][k]

constexpr size_t kInputCacheBytes = size_t{1} << 30;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The output a metric reads: by tensor name, by Result name, or the first output.
Result<graph::Tensor> MetricOutput(const exec::CompiledModel& plan,
                                   const std::map<std::string, graph::Tensor>& outputs,
                                   const quant::Metric& m) {
  const std::string& name = m.spec().output;
  if (name.empty()) return outputs.at(plan.outputs()[0].tensor_name);
  std::string list;
  for (const exec::ModelOutput& o : plan.outputs()) {
    if (o.tensor_name == name || o.result_name == name) return outputs.at(o.tensor_name);
    list += " " + o.tensor_name;
  }
  return Status::Error("metric '" + m.name() + "': the model has no output '" + name +
                       "'; outputs:" + list);
}

// One evaluation sample, as the FP32 pass left it.
struct CachedSample {
  size_t index = 0;  // dataset index
  std::string source;
  std::optional<std::map<std::string, graph::Tensor>> inputs;  // within the cache budget
  quant::SampleTruth truth;
  std::vector<graph::Tensor> reference;  // per metric: FP32 output (annotation-free metrics)
};

// Runs models over the evaluation samples. Prepare runs the FP32 model once and caches what
// later evaluations reuse; ScoreMany evaluates several models concurrently (a oneTBB task per
// model, its samples as nested tasks, one Session per thread and plan), storing each sample's
// scores at its position, so results do not depend on the thread count.
class Scorer {
 public:
  Scorer(const io::Dataset& data, std::vector<const quant::Metric*> metrics, int workers,
         int intra_op_threads, bool skip_bad_samples)
      : data_(data), metrics_(std::move(metrics)), skip_bad_(skip_bad_samples) {
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    workers_ = workers > 0 ? workers : cores;
    copts_.threads = intra_op_threads > 0 ? intra_op_threads : std::max(1, cores / workers_);
  }

  // The FP32 pass over dataset `indices`: fills the cache (skipped samples are left out when
  // skip_bad_samples) and returns the FP32 scores of every kept sample.
  Result<Scores> Prepare(const graph::Graph& fp32, const std::vector<size_t>& indices) {
    std::vector<std::optional<CachedSample>> got(indices.size());
    std::vector<std::vector<quant::SampleScore>> per(indices.size());
    io::BadSampleLog bad;
    std::atomic<size_t> cached_bytes{0};
    PlanCache plans(fp32, copts_);
    FirstError err;
    tbb::enumerable_thread_specific<SessionMap> sessions;
    tbb::task_arena arena(workers_);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, indices.size(), 4),
                        [&](const tbb::blocked_range<size_t>& r) {
                          for (size_t k = r.begin(); k != r.end(); ++k) {
                            if (k > err.first()) continue;
                            Status st = PrepareOne(fp32, plans, sessions.local(), indices[k],
                                                   skip_bad_ ? &bad : nullptr, &cached_bytes,
                                                   &got[k], &per[k]);
                            if (!st.ok()) err.Record(k, st);
                          }
                        });
    });
    if (err.failed()) return err.status();
    Scores scores(metrics_.size());
    for (size_t k = 0; k < indices.size(); ++k) {
      if (!got[k]) continue;
      samples_.push_back(std::move(*got[k]));
      for (size_t m = 0; m < metrics_.size(); ++m) scores[m].push_back(per[k][m]);
    }
    skipped_ = bad.count();
    ++evaluations_;
    inferences_ += samples_.size();
    return scores;
  }

  size_t size() const { return samples_.size(); }
  size_t skipped() const { return skipped_; }
  size_t evaluations() const { return evaluations_; }
  size_t inferences() const { return inferences_; }

  // scores[i][m][k]: metric m of models[i] on sample positions[k].
  Result<std::vector<Scores>> ScoreMany(std::span<const graph::Graph* const> models,
                                        std::span<const size_t> positions) {
    std::vector<Scores> out(models.size(), Scores(metrics_.size()));
    for (Scores& s : out) {
      for (auto& v : s) v.resize(positions.size());
    }
    std::vector<FirstError> errs(models.size());
    tbb::task_arena arena(workers_);
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<size_t>(0, models.size(), 1),
          [&](const tbb::blocked_range<size_t>& r) {
            for (size_t i = r.begin(); i != r.end(); ++i) {
              PlanCache plans(*models[i], copts_);
              tbb::enumerable_thread_specific<SessionMap> sessions;
              tbb::parallel_for(tbb::blocked_range<size_t>(0, positions.size(), 4),
                                [&](const tbb::blocked_range<size_t>& rr) {
                                  for (size_t k = rr.begin(); k != rr.end(); ++k) {
                                    if (k > errs[i].first()) continue;
                                    Status st = ScoreOne(*models[i], plans, sessions.local(),
                                                         positions[k], k, &out[i]);
                                    if (!st.ok()) errs[i].Record(k, st);
                                  }
                                });
            }
          },
          tbb::simple_partitioner());
    });
    for (const FirstError& e : errs) {
      if (e.failed()) return e.status();
    }
    evaluations_ += models.size();
    inferences_ += models.size() * positions.size();
    return out;
  }

 private:
  using SessionMap = std::map<const exec::CompiledModel*, std::unique_ptr<exec::Session>>;

  // The error of the lowest failing position (samples after it are not started).
  class FirstError {
   public:
    void Record(size_t k, const Status& st) {
      std::lock_guard<std::mutex> lock(mu_);
      if (k < first_.load()) {
        first_ = k;
        status_ = st;
      }
    }
    size_t first() const { return first_.load(); }
    bool failed() const { return first_.load() != std::numeric_limits<size_t>::max(); }
    Status status() const { return status_; }

   private:
    std::mutex mu_;
    std::atomic<size_t> first_{std::numeric_limits<size_t>::max()};
    Status status_;
  };

  static exec::Session& SessionFor(SessionMap& sessions,
                                   const std::shared_ptr<const exec::CompiledModel>& plan) {
    auto& s = sessions[plan.get()];
    if (!s) s = std::make_unique<exec::Session>(plan);
    return *s;
  }

  Status Run(const graph::Graph& g, PlanCache& plans, SessionMap& sessions,
             const std::map<std::string, graph::Tensor>& inputs,
             std::map<std::string, graph::Tensor>* out,
             std::shared_ptr<const exec::CompiledModel>* plan) {
    PTQ_ASSIGN_OR_RETURN(auto bound, BindInputs(g, inputs));
    PTQ_ASSIGN_OR_RETURN(*plan, plans.Get(bound));
    return SessionFor(sessions, *plan).Run(bound, out);
  }

  Status PrepareOne(const graph::Graph& fp32, PlanCache& plans, SessionMap& sessions, size_t index,
                    io::BadSampleLog* bad, std::atomic<size_t>* cached_bytes,
                    std::optional<CachedSample>* got, std::vector<quant::SampleScore>* scores) {
    PTQ_ASSIGN_OR_RETURN(std::optional<io::Sample> sample, io::GetOrSkip(data_, index, bad));
    if (!sample) return Status::Ok();
    CachedSample c;
    c.index = index;
    c.source = sample->source;
    if (sample->annotation) {
      c.truth.class_label = sample->annotation->class_label;
      c.truth.text = sample->annotation->text;
    }
    const std::string where = io::SampleContext(index, sample->source);
    std::map<std::string, graph::Tensor> out;
    std::shared_ptr<const exec::CompiledModel> plan;
    Status st = Run(fp32, plans, sessions, sample->inputs, &out, &plan);
    if (!st.ok()) return Status::Error(where + "FP32 model: " + st.message());
    for (const quant::Metric* m : metrics_) {
      PTQ_ASSIGN_OR_RETURN(graph::Tensor o, MetricOutput(*plan, out, *m));
      PTQ_ASSIGN_OR_RETURN(quant::SampleScore s,
                           m->Score(o, c.truth, m->annotation_free() ? &o : nullptr, index));
      scores->push_back(s);
      c.reference.push_back(m->annotation_free() ? o : graph::Tensor());
    }
    size_t bytes = 0;
    for (const auto& [name, t] : sample->inputs) bytes += t.nbytes();
    if (cached_bytes->fetch_add(bytes) + bytes <= kInputCacheBytes) {
      c.inputs = std::move(sample->inputs);
    }
    *got = std::move(c);
    return Status::Ok();
  }

  Status ScoreOne(const graph::Graph& g, PlanCache& plans, SessionMap& sessions, size_t position,
                  size_t k, Scores* scores) {
    const CachedSample& c = samples_[position];
    const std::string where = io::SampleContext(c.index, c.source);
    std::optional<io::Sample> read;
    const std::map<std::string, graph::Tensor>* inputs = nullptr;
    if (c.inputs) {
      inputs = &*c.inputs;
    } else {
      auto s = data_.Get(c.index);
      if (!s.ok()) return s.status();
      read = std::move(*s);
      inputs = &read->inputs;
    }
    std::map<std::string, graph::Tensor> out;
    std::shared_ptr<const exec::CompiledModel> plan;
    Status st = Run(g, plans, sessions, *inputs, &out, &plan);
    if (!st.ok()) return Status::Error(where + st.message());
    for (size_t m = 0; m < metrics_.size(); ++m) {
      PTQ_ASSIGN_OR_RETURN(graph::Tensor o, MetricOutput(*plan, out, *metrics_[m]));
      const graph::Tensor* ref = metrics_[m]->annotation_free() ? &c.reference[m] : nullptr;
      PTQ_ASSIGN_OR_RETURN((*scores)[m][k], metrics_[m]->Score(o, c.truth, ref, c.index));
    }
    return Status::Ok();
  }

  const io::Dataset& data_;
  std::vector<const quant::Metric*> metrics_;
  bool skip_bad_ = false;
  int workers_ = 1;
  exec::CompileOptions copts_;
  std::vector<CachedSample> samples_;
  size_t skipped_ = 0;
  size_t evaluations_ = 0, inferences_ = 0;
};

struct Quantized {
  graph::Graph model;
  quant::QuantizationPlan plan;
  quant::QuantizationReport report;
};

Result<Quantized> Quantize(const graph::Graph& fp32, const quant::PlacementOptions& placement,
                           const quant::DefaultQuantizationOptions& dq, quant::Engine* engine) {
  Quantized q;
  q.model = fp32;
  PTQ_ASSIGN_OR_RETURN(q.plan, quant::PlaceFakeQuantize(&q.model, placement));
  PTQ_ASSIGN_OR_RETURN(q.report, quant::RunDefaultQuantization(&q.model, q.plan, engine, dq));
  return q;
}

// POT's is_preset_performance.
bool IsPresetPerformance(const quant::PlacementOptions& p) {
  using quant::QuantMode;
  auto is = [](const std::optional<QuantMode>& m, QuantMode v) { return m && *m == v; };
  if (is(p.weights.mode, QuantMode::kSymmetric) && is(p.activations.mode, QuantMode::kSymmetric)) {
    return true;
  }
  if (is(p.weights.mode, QuantMode::kAsymmetric) || is(p.activations.mode, QuantMode::kAsymmetric))
    return false;
  return p.preset == quant::Preset::kPerformance;
}

// POT's get_mixed_preset_config.
quant::PlacementOptions MixedPreset(quant::PlacementOptions p) {
  p.preset = quant::Preset::kMixed;
  if (p.activations.mode) p.activations.mode = quant::QuantMode::kAsymmetric;
  if (p.weights.mode) p.weights.mode = quant::QuantMode::kSymmetric;
  return p;
}

// Drops the plan entries (and their fitted ranges) whose FakeQuantize the search removed.
void PrunePlan(const graph::Graph& g, quant::QuantizationPlan* plan,
               std::vector<quant::FittedFq>* fitted) {
  std::vector<int> remap(plan->fqs.size(), -1);
  quant::QuantizationPlan out;
  std::vector<quant::FittedFq> fit;
  for (size_t i = 0; i < plan->fqs.size(); ++i) {
    const graph::Node& n = g.node(plan->fqs[i].fq);
    if (!n.alive || n.type != "FakeQuantize") continue;
    remap[i] = static_cast<int>(out.fqs.size());
    out.fqs.push_back(plan->fqs[i]);
    if (i < fitted->size()) fit.push_back((*fitted)[i]);
  }
  for (const std::vector<int>& group : plan->unified_groups) {
    std::vector<int> kept;
    for (int i : group) {
      if (remap[static_cast<size_t>(i)] >= 0) kept.push_back(remap[static_cast<size_t>(i)]);
    }
    if (kept.size() >= 2) out.unified_groups.push_back(std::move(kept));
  }
  *plan = std::move(out);
  *fitted = std::move(fit);
}

// One point of the hyper-parameter grid.
struct Guess {
  std::string label;
  quant::DefaultQuantizationOptions dq;
};

void SetSide(quant::EstimatorSideConfig* side, quant::StatType type, quant::Aggregator agg,
             std::optional<double> outlier_prob) {
  side->type = type;
  side->aggregator = agg;
  side->outlier_prob = outlier_prob;
}

std::string Values(const std::vector<AccuracyAwareSummary::MetricInfo>& metrics,
                   const std::vector<double>& values, const std::vector<double>& drops) {
  std::ostringstream os;
  for (size_t m = 0; m < metrics.size(); ++m) {
    os << (m ? "; " : "") << metrics[m].name << " " << values[m] << " (drop " << drops[m]
       << ", max " << metrics[m].max_drop << ")";
  }
  return os.str();
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

io::JsonValue MetricMap(const std::vector<AccuracyAwareSummary::MetricInfo>& metrics,
                        const std::vector<double>& v) {
  std::vector<io::JsonValue::Member> members;
  for (size_t m = 0; m < metrics.size() && m < v.size(); ++m) {
    members.emplace_back(metrics[m].name, io::JsonValue::Number(v[m]));
  }
  return io::JsonValue::Object(std::move(members));
}

io::JsonValue Strings(const std::vector<std::string>& v) {
  std::vector<io::JsonValue> items;
  for (const std::string& s : v) items.push_back(io::JsonValue::String(s));
  return io::JsonValue::Array(std::move(items));
}

// POT's ParamsGridSearchAlgorithm (see the header): every guess is a full DefaultQuantization
// from `fp32`; the guesses of one space are evaluated together on the `hardest` positions.
Result<Quantized> SearchHyperparameters(const graph::Graph& fp32,
                                        const quant::PlacementOptions& placement,
                                        const quant::DefaultQuantizationOptions& base,
                                        const std::vector<const quant::Metric*>& metrics,
                                        const std::vector<size_t>& hardest, quant::Engine* engine,
                                        Scorer* scorer, size_t* quantizations) {
  using quant::Aggregator;
  using quant::StatType;
  struct Choice {
    const char* label;
    StatType type;
    Aggregator agg;
    std::optional<double> p;
  };
  // POT writes the quantiles as 10e-4 and 10e-5.
  const Choice mins[] = {{"min/min", StatType::kMin, Aggregator::kMin, std::nullopt},
                         {"quantile 1e-3/mean", StatType::kQuantile, Aggregator::kMean, 1e-3},
                         {"quantile 1e-4/mean", StatType::kQuantile, Aggregator::kMean, 1e-4}};
  const Choice maxs[] = {{"max/max", StatType::kMax, Aggregator::kMax, std::nullopt},
                         {"quantile 1e-3/mean", StatType::kQuantile, Aggregator::kMean, 1e-3},
                         {"quantile 1e-4/mean", StatType::kQuantile, Aggregator::kMean, 1e-4}};
  std::vector<Guess> space1;
  {
    Guess g{"weights min min/max max", base};
    quant::RangeEstimatorConfig& w = g.dq.minmax.weights_range_estimator;
    SetSide(&w.min, StatType::kMin, Aggregator::kMin, std::nullopt);
    SetSide(&w.max, StatType::kMax, Aggregator::kMax, std::nullopt);
    space1.push_back(std::move(g));
  }
  for (const Choice& lo : mins) {
    for (const Choice& hi : maxs) {
      Guess g{std::string("activations min ") + lo.label + ", max " + hi.label, base};
      quant::RangeEstimatorConfig& a = g.dq.minmax.activations_range_estimator;
      SetSide(&a.min, lo.type, lo.agg, lo.p);
      SetSide(&a.max, hi.type, hi.agg, hi.p);
      space1.push_back(std::move(g));
    }
  }
  std::vector<double> v0;  // the first guess's values (POT's _default_metrics_values)
  double best_error = std::numeric_limits<double>::infinity();
  std::optional<Quantized> best;
  Guess best_guess{"", base};
  auto run_space = [&](const std::vector<Guess>& guesses) -> Status {
    std::vector<Quantized> models;
    for (const Guess& g : guesses) {
      PTQ_ASSIGN_OR_RETURN(Quantized q, Quantize(fp32, placement, g.dq, engine));
      ++*quantizations;
      models.push_back(std::move(q));
    }
    std::vector<const graph::Graph*> ptrs;
    for (const Quantized& q : models) ptrs.push_back(&q.model);
    PTQ_ASSIGN_OR_RETURN(std::vector<Scores> s, scorer->ScoreMany(ptrs, hardest));
    for (size_t i = 0; i < models.size(); ++i) {
      std::vector<double> v;
      for (size_t m = 0; m < metrics.size(); ++m) v.push_back(metrics[m]->Aggregate(s[i][m]));
      double error = 0.0;  // the first guess is the reference: error 0
      if (v0.empty()) {
        v0 = v;
      } else {
        double acc = 0.0;
        for (size_t m = 0; m < v.size(); ++m) {
          const double ref = v0[m] + 1e-8;
          const double rel = (v[m] - ref) / ref;
          acc += metrics[m]->higher_is_better() ? rel : -rel;
        }
        error = -acc / static_cast<double>(v.size());
      }
      LOG(INFO) << "AccuracyAware grid: " << guesses[i].label << ": error " << error;
      if (error < best_error) {
        best_error = error;
        best = std::move(models[i]);
        best_guess = guesses[i];
      }
    }
    return Status::Ok();
  };
  PTQ_RETURN_IF_ERROR(run_space(space1));
  std::vector<Guess> space2;
  for (bool fast : {true, false}) {
    Guess g = best_guess;
    g.label = std::string("use_fast_bias ") + (fast ? "true" : "false") + " + " + best_guess.label;
    g.dq.use_fast_bias = fast;
    space2.push_back(std::move(g));
  }
  PTQ_RETURN_IF_ERROR(run_space(space2));
  LOG(INFO) << "AccuracyAware grid: best " << best_guess.label << " (error " << best_error << ")";
  return std::move(*best);
}

}  // namespace

Result<AccuracyAwareResult> RunAccuracyAware(const proto::RunConfig& config, const RunOptions& run,
                                             const QuantizeOptions& options,
                                             const graph::Graph& fp32, graph::Graph placed,
                                             quant::QuantizationPlan plan, quant::Engine* engine,
                                             std::shared_ptr<const io::Dataset> calibration,
                                             bool* data_error) {
  bool ignored = false;
  bool& data_err = data_error != nullptr ? *data_error : ignored;
  data_err = false;
  const auto start = Clock::now();
  CHECK(run.accuracy_aware);
  CHECK(run.placement.hardware != nullptr);
  const quant::AccuracyAwareOptions& aa = run.accuracy_aware_options;
  const quant::HardwareConfig& hw = *run.placement.hardware;
  AccuracyAwareResult res;
  AccuracyAwareSummary& sum = res.summary;
  sum.drop_type = quant::DropTypeName(aa.drop_type);
  sum.maximal_drop = aa.maximal_drop;

  // Metrics.
  std::vector<std::unique_ptr<quant::Metric>> owned;
  std::vector<const quant::Metric*> metrics;
  for (const RunOptions::AaqMetricChoice& c : run.accuracy_aware_metrics) {
    PTQ_ASSIGN_OR_RETURN(auto m, quant::Metric::Create(run.metrics[c.metric]));
    metrics.push_back(m.get());
    owned.push_back(std::move(m));
  }
  if (metrics.empty()) return Status::Error("AccuracyAwareQuantization: no metric to optimise");

  // Evaluation data and the FP32 pass.
  std::shared_ptr<const io::Dataset> eval_data = calibration;
  if (config.engine().has_eval_dataset()) {
    data_err = true;
    PTQ_ASSIGN_OR_RETURN(eval_data,
                         io::OpenDataset(config.engine().eval_dataset(), "engine.eval_dataset"));
  }
  io::SelectionOptions sel;
  sel.subset_size = options.eval_subset_size;
  const std::vector<size_t> indices = io::SelectSamples(eval_data->size(), sel);
  Scorer scorer(*eval_data, metrics, options.engine.workers, options.engine.intra_op_threads,
                options.engine.skip_bad_samples);
  data_err = true;
  auto t = Clock::now();
  PTQ_ASSIGN_OR_RETURN(Scores fp32_scores, scorer.Prepare(fp32, indices));
  data_err = false;
  const size_t n = scorer.size();
  if (n == 0) return Status::Error("AccuracyAwareQuantization: no evaluation sample");
  sum.eval_samples = n;
  LOG(INFO) << "AccuracyAware: FP32 model evaluated on " << n << " samples in " << Since(t) << " s"
            << (scorer.skipped() ? " (" + std::to_string(scorer.skipped()) + " skipped)"
                                 : std::string());

  bool all_given = true;
  for (const RunOptions::AaqMetricChoice& c : run.accuracy_aware_metrics) {
    all_given = all_given && c.baseline.has_value();
  }
  std::vector<quant::AaqMetric> aaq;
  for (size_t m = 0; m < metrics.size(); ++m) {
    quant::AaqMetric a;
    a.name = metrics[m]->name();
    a.higher_is_better = metrics[m]->higher_is_better();
    const double measured = metrics[m]->Aggregate(fp32_scores[m]);
    a.baseline = all_given ? *run.accuracy_aware_metrics[m].baseline : measured;
    if (!std::isfinite(a.baseline)) {
      return Status::Error("AccuracyAwareQuantization: metric '" + a.name +
                           "' has no finite FP32 value (" + std::to_string(a.baseline) +
                           "); give its baseline_value or optimise another metric");
    }
    a.max_drop =
        aa.drop_type == quant::DropType::kRelative ? aa.maximal_drop * a.baseline : aa.maximal_drop;
    aaq.push_back(a);
    sum.metrics.push_back(
        {a.name, a.higher_is_better, a.baseline, all_given, a.max_drop, measured});
  }
  // The diff subset: positions whose per-sample scores drive the ranking.
  std::vector<size_t> diff(n);
  std::iota(diff.begin(), diff.end(), size_t{0});
  const auto diff_size = static_cast<size_t>(static_cast<double>(n) * aa.metric_subset_ratio);
  if (all_given && diff_size < n && diff_size > 0) {
    io::SelectionOptions ds;
    ds.subset_size = diff_size;
    ds.shuffle = true;
    ds.seed = aa.seed;
    diff = io::SelectSamples(n, ds);
    std::sort(diff.begin(), diff.end());
  }
  sum.diff_samples = diff.size();
  sum.ranking_samples = aa.ranking_subset_size > 0 ? std::min(aa.ranking_subset_size, diff.size())
                                                   : std::min<size_t>(diff.size(), 300);
  std::vector<std::vector<double>> fp32_per_sample(metrics.size());
  for (size_t m = 0; m < metrics.size(); ++m) {
    for (size_t k : diff) fp32_per_sample[m].push_back(metrics[m]->SampleValue(fp32_scores[m][k]));
  }
  {
    std::ostringstream os;
    for (const auto& mi : sum.metrics) {
      os << " " << mi.name << " " << mi.baseline << (mi.baseline_given ? " (given)" : "")
         << " max drop " << mi.max_drop << ";";
    }
    LOG(INFO) << "AccuracyAware: baseline" << os.str();
  }

  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  auto evaluate = [&](const graph::Graph& g) -> Result<quant::AaqEvaluation> {
    const graph::Graph* models[] = {&g};
    PTQ_ASSIGN_OR_RETURN(std::vector<Scores> s, scorer.ScoreMany(models, all));
    quant::AaqEvaluation ev;
    ev.per_sample.resize(metrics.size());
    for (size_t m = 0; m < metrics.size(); ++m) {
      ev.values.push_back(metrics[m]->Aggregate(s[0][m]));
      for (size_t k : diff) ev.per_sample[m].push_back(metrics[m]->SampleValue(s[0][m][k]));
    }
    return ev;
  };
  auto record = [&](const std::string& name, const quant::AaqEvaluation& ev) {
    AccuracyAwareSummary::Stage st;
    st.name = name;
    st.values = ev.values;
    st.drops = quant::MetricDrops(aaq, ev.values);
    LOG(INFO) << "AccuracyAware: " << name << ": " << Values(sum.metrics, st.values, st.drops);
    sum.stages.push_back(st);
    return quant::DropsMet(aaq, st.drops);
  };
  auto finish = [&](Quantized q, bool met, std::string reason) -> AccuracyAwareResult {
    if (sum.quantized_ops == 0) sum.quantized_ops = quant::QuantizedOps(q.model, hw).size();
    sum.values = sum.stages.back().values;
    sum.drops = sum.stages.back().drops;
    sum.target_met = met;
    sum.stop_reason = std::move(reason);
    sum.model_evaluations = scorer.evaluations();
    sum.sample_inferences = scorer.inferences();
    sum.seconds = Since(start);
    res.model = std::move(q.model);
    res.plan = std::move(q.plan);
    res.report = std::move(q.report);
    return std::move(res);
  };

  // DefaultQuantization.
  t = Clock::now();
  Quantized current;
  current.model = std::move(placed);
  current.plan = std::move(plan);
  PTQ_ASSIGN_OR_RETURN(
      current.report,
      quant::RunDefaultQuantization(&current.model, current.plan, engine, run.algorithm_options));
  ++sum.quantizations;
  PTQ_ASSIGN_OR_RETURN(quant::AaqEvaluation current_eval, evaluate(current.model));
  quant::PlacementOptions current_placement = run.placement;
  if (record("DefaultQuantization", current_eval)) {
    return finish(std::move(current), true, "target met");
  }

  // convert_to_mixed_preset.
  if (aa.convert_to_mixed_preset && IsPresetPerformance(run.placement)) {
    current_placement = MixedPreset(run.placement);
    PTQ_ASSIGN_OR_RETURN(current, Quantize(fp32, current_placement, run.algorithm_options, engine));
    ++sum.quantizations;
    PTQ_ASSIGN_OR_RETURN(current_eval, evaluate(current.model));
    if (record("DefaultQuantization, mixed preset", current_eval)) {
      return finish(std::move(current), true, "target met");
    }
  }

  // tune_hyperparams: POT's ParamsGridSearchAlgorithm on the hardest samples.
  if (aa.tune_hyperparams) {
    const std::vector<size_t> hardest_diff =
        quant::HardestSubset(fp32_per_sample, current_eval.per_sample, aaq, sum.ranking_samples);
    std::vector<size_t> hardest;
    for (size_t k : hardest_diff) hardest.push_back(diff[k]);
    PTQ_ASSIGN_OR_RETURN(
        Quantized tuned,
        SearchHyperparameters(fp32, current_placement, run.algorithm_options, metrics, hardest,
                              engine, &scorer, &sum.quantizations));
    PTQ_ASSIGN_OR_RETURN(quant::AaqEvaluation tuned_eval, evaluate(tuned.model));
    const double current_mean = Mean(quant::MetricDrops(aaq, current_eval.values));
    const double tuned_mean = Mean(quant::MetricDrops(aaq, tuned_eval.values));
    if (tuned_mean < current_mean) {
      current = std::move(tuned);
      current_eval = std::move(tuned_eval);
      if (record("DefaultQuantization, tuned hyper-parameters", current_eval)) {
        return finish(std::move(current), true, "target met");
      }
    } else {
      LOG(INFO) << "AccuracyAware: the tuned hyper-parameters do not lower the mean drop ("
                << tuned_mean << " vs " << current_mean << "); keeping the previous model";
    }
  }

  // Greedy revert.
  quant::AccuracyAwareHooks hooks;
  hooks.evaluate = evaluate;
  hooks.score_blocks = [&](const graph::Graph& g, std::span<const quant::FqBlock> blocks,
                           size_t metric,
                           std::span<const size_t> ranking) -> Result<std::vector<double>> {
    std::vector<graph::Graph> copies(blocks.size(), g);
    for (size_t b = 0; b < blocks.size(); ++b) {
      PTQ_RETURN_IF_ERROR(
          quant::RevertFqBlock(&copies[b], blocks[b], current.report.fp32_constants).status());
    }
    std::vector<const graph::Graph*> ptrs;
    for (const graph::Graph& c : copies) ptrs.push_back(&c);
    std::vector<size_t> positions;
    for (size_t k : ranking) positions.push_back(diff[k]);
    PTQ_ASSIGN_OR_RETURN(std::vector<Scores> s, scorer.ScoreMany(ptrs, positions));
    std::vector<double> values;
    for (size_t b = 0; b < blocks.size(); ++b) {
      values.push_back(metrics[metric]->Aggregate(s[b][metric]));
    }
    return values;
  };
  graph::Graph model = std::move(current.model);
  PTQ_ASSIGN_OR_RETURN(quant::AaqSearchResult search,
                       quant::RunGreedyRevert(std::move(model), current_eval, fp32_per_sample, aaq,
                                              aa, hw, current.report.fp32_constants, hooks));
  current.model = std::move(search.model);
  PrunePlan(current.model, &current.plan, &current.report.fitted);
  sum.iterations = std::move(search.iterations);
  sum.reverted_ops = std::move(search.reverted_ops);
  AccuracyAwareSummary::Stage final_stage;
  final_stage.name = "after reverting " + std::to_string(sum.reverted_ops.size()) + " layers";
  final_stage.values = search.values;
  final_stage.drops = search.drops;
  sum.stages.push_back(final_stage);
  const size_t quantized_before = search.quantized_ops;
  sum.quantized_ops = quantized_before;
  AccuracyAwareResult out = finish(std::move(current), search.target_met, search.stop_reason);
  LOG(INFO) << "AccuracyAware: " << out.summary.reverted_ops.size() << " of " << quantized_before
            << " layers reverted to FP32 (" << out.summary.stop_reason
            << "): " << Values(out.summary.metrics, out.summary.values, out.summary.drops) << "; "
            << out.summary.model_evaluations << " model evaluations ("
            << out.summary.sample_inferences << " sample inferences), " << out.summary.seconds
            << " s";
  if (!out.summary.target_met) {
    std::ostringstream os;
    os << "AccuracyAwareQuantization could not meet maximal_drop " << aa.maximal_drop << " ("
       << out.summary.drop_type << "):";
    for (size_t m = 0; m < aaq.size(); ++m) {
      if (!(out.summary.drops[m] <= aaq[m].max_drop)) {
        os << " " << aaq[m].name << " drop " << out.summary.drops[m] << " > " << aaq[m].max_drop
           << " (baseline " << aaq[m].baseline << ", now " << out.summary.values[m] << ");";
        const double fp32_drop = quant::MetricDrop(aaq[m], out.summary.metrics[m].fp32);
        if (!(fp32_drop <= aaq[m].max_drop)) {
          os << " the FP32 model itself scores " << out.summary.metrics[m].fp32
             << " on these samples, so no set of FP32 layers can meet the bound;";
        }
      }
    }
    os << " " << out.summary.reverted_ops.size() << " of " << quantized_before
       << " quantized layers reverted to FP32 (" << out.summary.stop_reason
       << "); the model was written anyway";
    out.summary.message = os.str();
    LOG(WARNING) << out.summary.message;
  }
  return out;
}

io::JsonValue AccuracyAwareToJson(const AccuracyAwareSummary& s) {
  using io::JsonValue;
  std::vector<JsonValue::Member> top;
  top.emplace_back("target_met", JsonValue::Bool(s.target_met));
  top.emplace_back("stop_reason", JsonValue::String(s.stop_reason));
  if (!s.message.empty()) top.emplace_back("message", JsonValue::String(s.message));
  top.emplace_back("maximal_drop", JsonValue::Number(s.maximal_drop));
  top.emplace_back("drop_type", JsonValue::String(s.drop_type));
  std::vector<JsonValue> metrics;
  for (const auto& m : s.metrics) {
    metrics.push_back(JsonValue::Object({{"name", JsonValue::String(m.name)},
                                         {"higher_is_better", JsonValue::Bool(m.higher_is_better)},
                                         {"baseline", JsonValue::Number(m.baseline)},
                                         {"baseline_given", JsonValue::Bool(m.baseline_given)},
                                         {"fp32", JsonValue::Number(m.fp32)},
                                         {"max_drop", JsonValue::Number(m.max_drop)}}));
  }
  top.emplace_back("metrics", JsonValue::Array(std::move(metrics)));
  std::vector<JsonValue> stages;
  for (const auto& st : s.stages) {
    stages.push_back(JsonValue::Object({{"name", JsonValue::String(st.name)},
                                        {"values", MetricMap(s.metrics, st.values)},
                                        {"drops", MetricMap(s.metrics, st.drops)}}));
  }
  top.emplace_back("stages", JsonValue::Array(std::move(stages)));
  std::vector<JsonValue> iterations;
  for (size_t i = 0; i < s.iterations.size(); ++i) {
    const quant::AaqIteration& it = s.iterations[i];
    iterations.push_back(JsonValue::Object(
        {{"iteration", JsonValue::Integer(static_cast<int64_t>(i + 1))},
         {"block", JsonValue::String(it.block)},
         {"fake_quantize", Strings(it.fqs)},
         {"ops", Strings(it.ops)},
         {"metric", JsonValue::String(it.metric)},
         {"values", MetricMap(s.metrics, it.values)},
         {"drops", MetricMap(s.metrics, it.drops)},
         {"stepped_back", JsonValue::Bool(it.stepped_back)},
         {"blocks_ranked", JsonValue::Integer(static_cast<int64_t>(it.blocks_ranked))}}));
  }
  top.emplace_back("iterations", JsonValue::Array(std::move(iterations)));
  top.emplace_back("quantized_ops", JsonValue::Integer(static_cast<int64_t>(s.quantized_ops)));
  top.emplace_back("reverted_ops", Strings(s.reverted_ops));
  top.emplace_back("values", MetricMap(s.metrics, s.values));
  top.emplace_back("drops", MetricMap(s.metrics, s.drops));
  top.emplace_back("eval_samples", JsonValue::Integer(static_cast<int64_t>(s.eval_samples)));
  top.emplace_back("diff_samples", JsonValue::Integer(static_cast<int64_t>(s.diff_samples)));
  top.emplace_back("ranking_samples", JsonValue::Integer(static_cast<int64_t>(s.ranking_samples)));
  top.emplace_back("quantizations", JsonValue::Integer(static_cast<int64_t>(s.quantizations)));
  top.emplace_back("model_evaluations",
                   JsonValue::Integer(static_cast<int64_t>(s.model_evaluations)));
  top.emplace_back("sample_inferences",
                   JsonValue::Integer(static_cast<int64_t>(s.sample_inferences)));
  top.emplace_back("seconds", JsonValue::Number(s.seconds));
  return JsonValue::Object(std::move(top));
}

std::string AccuracyAwareText(const AccuracyAwareSummary& s) {
  std::ostringstream os;
  os << "AccuracyAwareQuantization (maximal_drop " << s.maximal_drop << ", " << s.drop_type
     << "): " << (s.target_met ? "target met" : "target NOT met");
  if (s.stop_reason != "target met") os << " (" << s.stop_reason << ")";
  os << "\n";
  for (const auto& st : s.stages)
    os << "  " << st.name << ": " << Values(s.metrics, st.values, st.drops) << "\n";
  os << "  " << s.reverted_ops.size() << " of " << s.quantized_ops << " layers in FP32";
  if (!s.reverted_ops.empty()) {
    os << ":";
    for (const std::string& op : s.reverted_ops) os << " " << op;
  }
  os << "\n  " << s.iterations.size() << " iterations, " << s.quantizations << " quantizations, "
     << s.model_evaluations << " model evaluations (" << s.sample_inferences
     << " sample inferences; " << s.eval_samples << " evaluation, " << s.ranking_samples
     << " ranking samples), " << s.seconds << " s\n";
  return os.str();
}

}  // namespace ptqflow::stages
