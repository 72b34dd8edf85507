#include "stages/flow_engine.h"

#include <glog/logging.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "proto/stage_config.pb.h"
#include "stages/fingerprint.h"
#include "stages/sample_stats.h"

namespace ptqflow::stages {
namespace {

namespace flow = oneapi::tbb::flow;

// One sample of a message. Each stage fills its part and frees what later stages do not need.
struct Item {
  size_t index = 0;  // dataset index
  std::string source;
  Status status;         // first failure of this sample
  bool skipped = false;  // unreadable and skip_bad_samples: status holds why
  std::map<std::string, graph::Tensor> inputs;
  SampleStats stats;
};

// A message: consecutive selection positions [first, first + items.size()). Messages are
// shared_ptr handles (oneTBB copies messages). The read stage stops a message at its first
// unskippable failure, so a failed item is always the message's last.
struct Chunk {
  size_t seq = 0;    // message number in this pass (the sequencer's key)
  size_t first = 0;  // selection position of items[0]
  size_t count = 0;  // positions the source assigned (items may stop short at a failure)
  std::vector<Item> items;
};
using Msg = std::shared_ptr<Chunk>;

// A session per worker, recreated when a sample needs another plan (another input shape).
// `busy` is claimed by the infer body using it.
struct SessionSlot {
  std::shared_ptr<const exec::CompiledModel> plan;
  std::unique_ptr<exec::Session> session;
  std::unique_ptr<SampleStatsRunner> runner;  // made on the slot's first sample
  std::atomic<bool> busy{false};
};

// samples_per_message = 0: a message carries about kMessageWork of inference, at most
// kMaxAutoSamplesPerMessage samples, and at most 1 / (2 x workers) of the samples left (so the
// last messages of a pass get small and no worker idles long at its end). The flow graph costs a
// few microseconds per message, so 4 ms makes that negligible; more importantly the merge in
// sample order couples the workers: one can run ahead of a slower or preempted one by the other
// messages in flight only, and 4 ms messages give it about a scheduler time slice of work.
constexpr std::chrono::nanoseconds kMessageWork = std::chrono::milliseconds(4);
constexpr int kMaxAutoSamplesPerMessage = 64;

int Cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::string ConfigFingerprint(std::span<const std::string> keys, const quant::CollectOptions& co,
                              size_t end, bool skip) {
  Fingerprinter f;
  f.AddU64(keys.size());
  for (const std::string& k : keys) f.AddString(k);
  f.AddString(co.pass_name);
  f.AddU64(end);
  f.AddU64(skip ? 1 : 0);
  return f.Hex();
}

// Calls `body`, turning an escaping exception into an error status (third-party code such as
// a user's Dataset may throw; nothing may escape a flow-graph body).
template <typename F>
Status Guarded(const char* stage, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Error(std::string(stage) + ": unexpected exception: " + e.what());
  } catch (...) {
    return Status::Error(std::string(stage) + ": unexpected exception");
  }
}

}  // namespace

Result<FlowEngineOptions> FlowEngineOptionsFromProto(const proto::StageConfig& c) {
  FlowEngineOptions o;
  auto to_int = [](uint32_t v, const char* key, int* out) -> Status {
    if (v > 4096)
      return Status::Error(std::string(key) + ": " + std::to_string(v) + " is too large");
    *out = static_cast<int>(v);
    return Status::Ok();
  };
  PTQ_RETURN_IF_ERROR(to_int(c.workers(), "workers", &o.workers));
  if (c.in_flight() > (1u << 20)) return Status::Error("in_flight: too large");
  o.in_flight = static_cast<int>(c.in_flight());
  PTQ_RETURN_IF_ERROR(to_int(c.intra_op_threads(), "intra_op_threads", &o.intra_op_threads));
  PTQ_RETURN_IF_ERROR(to_int(c.read_concurrency(), "read_concurrency", &o.read_concurrency));
  PTQ_RETURN_IF_ERROR(
      to_int(c.samples_per_message(), "samples_per_message", &o.samples_per_message));
  o.checkpoint_every = c.checkpoint_every();
  o.checkpoint_path = c.checkpoint_path();
  o.resume = c.resume();
  if (o.resume && o.checkpoint_path.empty()) {
    return Status::Error("resume: needs checkpoint_path");
  }
  o.skip_bad_samples = c.skip_bad_samples();
  o.selection.subset_size = c.selection().subset_size();
  o.selection.shuffle = c.selection().shuffle();
  o.selection.seed = c.selection().seed();
  if (!c.progress().empty() && !ParseProgressMode(c.progress(), &o.progress)) {
    return Status::Error("progress: \"" + c.progress() + "\" is not auto, bar, log or none");
  }
  return o;
}

FlowEngine::FlowEngine(std::shared_ptr<const io::Dataset> dataset, FlowEngineOptions options)
    : dataset_(std::move(dataset)),
      options_(std::move(options)),
      selection_(io::SelectSamples(dataset_->size(), options_.selection)),
      bad_samples_(std::make_unique<io::BadSampleLog>()) {
  const int cores = Cores();
  workers_ = options_.workers > 0 ? options_.workers : cores;
  intra_threads_ =
      options_.intra_op_threads > 0 ? options_.intra_op_threads : std::max(1, cores / workers_);
  // The limiter counts messages: in_flight samples are in_flight / samples_per_message_
  // messages. An explicit in_flight caps automatic messages so that two per worker still fit.
  auto_per_message_ = options_.samples_per_message <= 0;
  int per_message = options_.samples_per_message;
  if (auto_per_message_) {
    per_message = kMaxAutoSamplesPerMessage;
    if (options_.in_flight > 0) {
      per_message = std::clamp(options_.in_flight / (2 * workers_), 1, per_message);
    }
  }
  in_flight_ = options_.in_flight > 0 ? options_.in_flight : 2 * workers_ * per_message;
  samples_per_message_ = std::min(per_message, in_flight_);
  in_flight_messages_ = std::max(1, in_flight_ / samples_per_message_);
  read_concurrency_ = options_.read_concurrency > 0 ? options_.read_concurrency : workers_;
}

Result<std::string> FlowEngine::DatasetFingerprint() {
  Fingerprinter f;
  f.AddString(options_.dataset_identity);
  f.AddU64(dataset_->size());
  f.AddU64(selection_.size());
  for (size_t i : selection_) f.AddU64(i);
  // The first selected sample's bytes catch a changed file behind the same name.
  if (!selection_.empty()) {
    Result<io::Sample> s = dataset_->Get(selection_[0]);
    if (s.ok()) {
      for (const auto& [name, t] : s->inputs) {
        f.AddString(name);
        f.AddString(graph::ShapeToString(t.shape()));
        f.AddBytes(t.bytes(), t.nbytes());
      }
    } else {
      f.AddString(s.status().message());
    }
  }
  return f.Hex();
}

Status FlowEngine::LoadCheckpoint() {
  checkpoint_loaded_ = true;
  if (!options_.resume) return Status::Ok();
  std::error_code ec;
  if (!std::filesystem::exists(options_.checkpoint_path, ec)) {
    LOG(INFO) << "no checkpoint at " << options_.checkpoint_path << "; starting from the beginning";
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(Checkpoint c, ReadCheckpointFile(options_.checkpoint_path));
  if (c.dataset_fingerprint != dataset_fp_) {
    return Status::Error("checkpoint " + options_.checkpoint_path +
                         " was made with a different dataset or sample selection (dataset "
                         "fingerprint " +
                         c.dataset_fingerprint + ", this run " + dataset_fp_ + "); remove it or " +
                         "run without --resume");
  }
  loaded_ = std::move(c);
  return Status::Ok();
}

Result<std::map<std::string, graph::Tensor>> FlowEngine::Infer(
    const graph::Graph& g, const std::map<std::string, graph::Tensor>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  auto out = InferOnce(g, inputs, workers_ * intra_threads_);
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<quant::CollectedStats> FlowEngine::Collect(const graph::Graph& g,
                                                  std::span<const quant::StatRequest> requests,
                                                  const quant::CollectOptions& co) {
  const auto start = std::chrono::steady_clock::now();
  auto out = CollectPass(g, requests, co);
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<quant::CollectedStats> FlowEngine::CollectPass(const graph::Graph& g,
                                                      std::span<const quant::StatRequest> requests,
                                                      const quant::CollectOptions& co) {
  PTQ_RETURN_IF_ERROR(ValidateRequests(g, requests));
  interrupted_ = false;
  bad_samples_ = std::make_unique<io::BadSampleLog>();
  const uint32_t pass_index = next_pass_++;
  const std::string pass_label = "pass " + std::to_string(pass_index) +
                                 (co.pass_name.empty() ? "" : " '" + co.pass_name + "'");
  std::vector<std::string> keys;
  std::vector<graph::ValueRef> values;
  for (const quant::StatRequest& r : requests) {
    keys.push_back(quant::StatRequestKey(g, r));
    values.push_back(r.value);
  }
  const size_t end =
      co.max_samples > 0 ? std::min(co.max_samples, selection_.size()) : selection_.size();
  const bool checkpointing = !options_.checkpoint_path.empty();

  PassCheckpoint pass;
  pass.pass_index = pass_index;
  pass.pass_name = co.pass_name;
  pass.keys = keys;
  std::optional<StatsAccumulator> acc;
  if (checkpointing) {
    pass.model_fingerprint = ModelFingerprint(g);
    pass.config_fingerprint = ConfigFingerprint(keys, co, end, options_.skip_bad_samples);
    if (!checkpoint_loaded_) {
      PTQ_ASSIGN_OR_RETURN(dataset_fp_, DatasetFingerprint());
      PTQ_RETURN_IF_ERROR(LoadCheckpoint());
    }
    // A saved pass must match this one exactly; say which part differs.
    auto check = [&](const PassCheckpoint& saved) -> Status {
      const std::string where = "checkpoint " + options_.checkpoint_path + ", " + pass_label;
      if (saved.model_fingerprint != pass.model_fingerprint) {
        return Status::Error(where + ": made with a different model (model fingerprint " +
                             saved.model_fingerprint + ", this run " + pass.model_fingerprint +
                             ")");
      }
      if (saved.config_fingerprint != pass.config_fingerprint || saved.keys != keys) {
        return Status::Error(where +
                             ": made with a different configuration (statistics requested, "
                             "sample count or skip_bad_samples differ)");
      }
      if (saved.positions_done > end) {
        return Status::Error(where + ": has more samples than this pass");
      }
      return Status::Ok();
    };
    if (loaded_) {
      for (const PassCheckpoint& saved : loaded_->completed) {
        if (saved.pass_index != pass_index) continue;
        PTQ_RETURN_IF_ERROR(check(saved));
        for (const auto& e : saved.skipped) bad_samples_->Record(e.index, Status::Error(e.message));
        completed_.push_back(saved);
        ++passes_restored_;
        LOG(INFO) << pass_label << ": restored from checkpoint (" << saved.positions_done
                  << " samples)";
        PTQ_RETURN_IF_ERROR(
            quant::RunFitJobs(co.fit, saved.stats).WithContext(pass_label + ": fitting"));
        return saved.stats;
      }
      if (loaded_->current && loaded_->current->pass_index == pass_index) {
        PassCheckpoint& saved = *loaded_->current;
        PTQ_RETURN_IF_ERROR(check(saved));
        PTQ_ASSIGN_OR_RETURN(
            StatsAccumulator restored,
            StatsAccumulator::FromSaved({requests.begin(), requests.end()}, keys, saved.stats));
        acc.emplace(std::move(restored));
        pass.positions_done = saved.positions_done;
        pass.skipped = saved.skipped;
        for (const auto& e : saved.skipped) bad_samples_->Record(e.index, Status::Error(e.message));
        ++passes_resumed_;
        LOG(INFO) << pass_label << ": resuming after " << saved.positions_done << " of " << end
                  << " samples";
        loaded_->current.reset();
      }
    }
  }
  if (!acc) acc.emplace(std::vector<quant::StatRequest>(requests.begin(), requests.end()), keys);
  acc->Reserve(end - pass.positions_done);

  const size_t start = pass.positions_done;
  exec::CompileOptions copts;
  copts.threads = intra_threads_;
  PlanCache plans(g, copts, values);
  std::vector<std::unique_ptr<SessionSlot>> slots;
  for (int i = 0; i < workers_; ++i) slots.push_back(std::make_unique<SessionSlot>());
  ProgressReporter progress(co.pass_name.empty() ? "statistics" : co.pass_name, end, start,
                            options_.progress);

  std::atomic<bool> failed{false};  // stops the source
  size_t next = start;              // source state (the input_node body runs serially)
  size_t next_seq = 0;
  // Mean inference time per sample of the latest message (ns; 0 = none yet): sizes automatic
  // messages. Scheduling only — results never depend on how samples are grouped.
  std::atomic<int64_t> sample_ns{0};
  Status error;  // first error in sample order (merge node only)
  const std::atomic<bool>* stop = options_.stop;
  const bool skip = options_.skip_bad_samples;
  const size_t max_per_message = static_cast<size_t>(samples_per_message_);
  auto message_size = [&]() -> size_t {
    if (!auto_per_message_) return max_per_message;
    const int64_t ns = sample_ns.load(std::memory_order_relaxed);
    if (ns <= 0) return 1;
    const int64_t want = (kMessageWork.count() + ns - 1) / ns;
    const int64_t tail = static_cast<int64_t>((end - next) / (2 * static_cast<size_t>(workers_)));
    return static_cast<size_t>(std::clamp<int64_t>(std::min(want, tail), 1, samples_per_message_));
  };

  // Claims a free session, preferring the one this arena thread used last: a session's
  // activation memory then stays in this core's cache.
  auto claim_slot = [&]() -> SessionSlot* {
    const int tid = oneapi::tbb::this_task_arena::current_thread_index();
    const size_t n = slots.size();
    const size_t first = tid >= 0 ? static_cast<size_t>(tid) % n : 0;
    for (size_t k = 0; k < n; ++k) {
      SessionSlot* slot = slots[(first + k) % n].get();
      if (!slot->busy.exchange(true)) return slot;
    }
    LOG(FATAL) << "more concurrent inferences than sessions";
    return nullptr;
  };

  // Decodes one sample; false when the message must end here (an unskippable failure).
  auto read_one = [&](Item& item) -> bool {
    item.status = Guarded("read", [&]() -> Status {
      Result<io::Sample> s = dataset_->Get(item.index);
      if (!s.ok()) {
        item.skipped = skip;
        return s.status();
      }
      item.source = std::move(s->source);
      auto in = BindInputs(g, s->inputs);
      if (!in.ok()) return in.status().WithContext(io::SampleContext(item.index, item.source));
      item.inputs = std::move(in).value();
      return Status::Ok();
    });
    return item.status.ok() || item.skipped;
  };

  // Merged samples' SampleStats, whose buffers the next samples reuse (at most about as many as
  // samples in flight).
  std::mutex spare_mu;
  std::vector<SampleStats> spare;

  // Infers one decoded sample on `slot`, adding the run's time (without compiling) to *ns;
  // false on failure.
  auto infer_one = [&](SessionSlot& slot, Item& item, int64_t* ns) -> bool {
    item.status = Guarded("inference", [&]() -> Status {
      PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const exec::CompiledModel> plan,
                           plans.Get(item.inputs, slot.plan));
      if (plan != slot.plan) {
        slot.session.reset();
        slot.plan = plan;
        slot.session = std::make_unique<exec::Session>(plan);
      }
      const auto t0 = std::chrono::steady_clock::now();
      if (!slot.runner) slot.runner = std::make_unique<SampleStatsRunner>(g, requests);
      {
        std::lock_guard<std::mutex> lock(spare_mu);
        if (!spare.empty()) {
          item.stats = std::move(spare.back());
          spare.pop_back();
        }
      }
      PTQ_RETURN_IF_ERROR(slot.runner->Run(*slot.session, item.inputs, &item.stats));
      *ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                  t0)
                 .count();
      return Status::Ok();
    });
    item.inputs.clear();  // the sample's tensors are no longer needed
    if (item.status.ok()) return true;
    item.status = item.status.WithContext(io::SampleContext(item.index, item.source));
    return false;
  };

  // Merges one sample in selection order; false when the pass fails.
  auto merge_one = [&](Item& item, flow::graph& fg) -> bool {
    if (item.skipped) {
      pass.skipped.push_back({item.index, item.status.message()});
      bad_samples_->Record(item.index, item.status);
    } else if (item.status.ok()) {
      Status st = acc->Append(item.stats);
      if (!st.ok()) item.status = st.WithContext(io::SampleContext(item.index, item.source));
    }
    if (!item.status.ok() && !item.skipped) {
      error = item.status;
      failed.store(true);
      fg.cancel();
      return false;
    }
    {
      std::lock_guard<std::mutex> lock(spare_mu);
      spare.push_back(std::move(item.stats));  // its buffers serve a later sample
    }
    item.stats = SampleStats();
    ++pass.positions_done;
    progress.Update(pass.positions_done);
    if (checkpointing && options_.checkpoint_every > 0 &&
        pass.positions_done % options_.checkpoint_every == 0 && pass.positions_done < end) {
      Checkpoint c;
      c.dataset_fingerprint = dataset_fp_;
      c.completed = completed_;
      c.current = pass;
      c.current->stats = acc->stats();
      // Written here, before the next sample merges (also inside a message): the checkpoint on
      // disk is always the latest multiple of checkpoint_every (inference keeps running).
      Status st =
          Guarded("checkpoint", [&] { return WriteCheckpointFile(options_.checkpoint_path, c); });
      if (!st.ok()) {
        error = st;
        failed.store(true);
        fg.cancel();
        return false;
      }
    }
    if (options_.on_merged) options_.on_merged(pass.positions_done);
    return true;
  };

  // Fitting (CollectOptions::fit): jobs that need no statistics start with the pass, the
  // others once the last sample has merged; each writes only its own output.
  const std::vector<quant::FitJob>& jobs = co.fit;
  const quant::CollectedStats no_stats;
  std::vector<Status> fit_status(jobs.size());
  std::vector<char> fit_ran(jobs.size(), 0);
  auto fit_one = [&](size_t j) {
    fit_status[j] = Guarded(
        "fitting", [&] { return jobs[j].run(jobs[j].needs_stats ? acc->stats() : no_stats); });
    fit_ran[j] = 1;
  };

  oneapi::tbb::task_arena arena(workers_);
  arena.execute([&] {
    flow::graph fg;
    flow::function_node<size_t, flow::continue_msg> fit(fg, flow::unlimited, [&](size_t j) {
      fit_one(j);
      return flow::continue_msg();
    });
    flow::input_node<Msg> source(fg, [&](oneapi::tbb::flow_control& fc) -> Msg {
      if (next >= end || failed.load() || (stop != nullptr && stop->load())) {
        fc.stop();
        return nullptr;
      }
      auto c = std::make_shared<Chunk>();
      c->seq = next_seq++;
      c->first = next;
      c->count = std::min(end - next, message_size());
      next += c->count;
      return c;
    });
    flow::limiter_node<Msg> limiter(fg, static_cast<size_t>(in_flight_messages_));
    flow::function_node<Msg, Msg> read(
        fg, static_cast<size_t>(read_concurrency_), [&](Msg c) -> Msg {
          c->items.reserve(c->count);
          for (size_t pos = c->first; pos < c->first + c->count; ++pos) {
            Item& item = c->items.emplace_back();
            item.index = selection_[pos];
            if (!read_one(item)) {
              failed.store(true);
              break;
            }
          }
          return c;
        });
    flow::function_node<Msg, Msg> infer(fg, static_cast<size_t>(workers_), [&](Msg c) -> Msg {
      SessionSlot* slot = claim_slot();
      int64_t ns = 0, inferred = 0;
      for (Item& item : c->items) {
        if (!item.status.ok()) continue;  // skipped, or the failed last item
        if (!infer_one(*slot, item, &ns)) {
          failed.store(true);
          // Later samples of this message would merge after this failure: never needed.
          c->items.resize(static_cast<size_t>(&item - c->items.data()) + 1);
          break;
        }
        ++inferred;
      }
      slot->busy.store(false);
      if (inferred > 0) sample_ns.store(std::max<int64_t>(1, ns / inferred));
      return c;
    });
    flow::sequencer_node<Msg> order(fg, [](const Msg& c) { return c->seq; });
    flow::function_node<Msg, flow::continue_msg> merge(fg, flow::serial, [&](Msg c) {
      if (!error.ok()) return flow::continue_msg();
      for (Item& item : c->items) {
        if (!merge_one(item, fg)) break;
      }
      if (error.ok() && pass.positions_done == end && acc->num_samples() > 0) {
        // The statistics are complete: fit from them while the graph drains (stats() moves the
        // buffered samples in here, so the fitting jobs' calls only read).
        acc->stats();
        for (size_t j = 0; j < jobs.size(); ++j) {
          if (jobs[j].needs_stats) fit.try_put(j);
        }
      }
      return flow::continue_msg();
    });
    flow::make_edge(source, limiter);
    flow::make_edge(limiter, read);
    flow::make_edge(read, infer);
    flow::make_edge(infer, order);
    flow::make_edge(order, merge);
    flow::make_edge(merge, limiter.decrementer());
    for (size_t j = 0; j < jobs.size(); ++j) {
      if (!jobs[j].needs_stats) fit.try_put(j);
    }
    source.activate();
    fg.wait_for_all();
  });

  if (!error.ok()) return error.WithContext(pass_label);
  pass.stats = acc->Release();
  if (pass.positions_done < end) {
    // Stopped by the stop flag: everything fed was merged; save it.
    interrupted_ = true;
    progress.Finish(pass.positions_done);
    std::string msg = pass_label + " interrupted after " + std::to_string(pass.positions_done) +
                      " of " + std::to_string(end) + " samples";
    if (!checkpointing) return Status::Error(msg + " (no checkpoint file configured)");
    Checkpoint c;
    c.dataset_fingerprint = dataset_fp_;
    c.completed = completed_;
    c.current = std::move(pass);
    PTQ_RETURN_IF_ERROR(WriteCheckpointFile(options_.checkpoint_path, c));
    return Status::Error(msg + "; checkpoint written to " + options_.checkpoint_path +
                         " (run again with --resume to continue)");
  }
  progress.Finish(pass.positions_done);
  if (pass.stats.num_samples == 0) {
    return Status::Error(pass_label + ": no calibration sample could be used" +
                         (bad_samples_->count() ? " (all were skipped as bad)" : ""));
  }
  // Jobs the graph did not run (a pass resumed with nothing left to read) run here; then the
  // first failure in job order, whatever the scheduling, fails the pass.
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!fit_ran[j]) {
      fit_status[j] = Guarded(
          "fitting", [&] { return jobs[j].run(jobs[j].needs_stats ? pass.stats : no_stats); });
    }
  }
  for (const Status& st : fit_status) {
    if (!st.ok()) return st.WithContext(pass_label + ": fitting");
  }
  if (!checkpointing) return std::move(pass.stats);
  completed_.push_back(std::move(pass));
  Checkpoint c;
  c.dataset_fingerprint = dataset_fp_;
  c.completed = completed_;
  PTQ_RETURN_IF_ERROR(WriteCheckpointFile(options_.checkpoint_path, c));
  return completed_.back().stats;
}

}  // namespace ptqflow::stages
