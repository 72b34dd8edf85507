// Calibration overhead and memory of the flow graph on a real model (issue 5 goals):
//   (a) calibration wall time / pure inference time of the same executor for the same samples
//       and threads (goal <= 1.15: reading, decoding and statistics hidden behind inference).
//       Both sides compile their plan once, from their first sample, before any other sample
//       is decoded (a calibration pass compiles inside its time), so (a) counts the plain
//       plan's compile in the inference time; the ratio to inference without its compile is
//       printed too (stricter: it charges calibration a compile that inference also needs);
//   (b) peak RSS of a 3000-sample calibration / of a 300-sample one (goal <= 1.10).
//
// Each measurement runs in its own child process (this program re-executing itself), so peak
// RSS (VmHWM) belongs to one run only and pure-inference runs do not share caches with
// calibration runs.
//
//   calib_bench [--model M.onnx] [--images train-images-idx3-ubyte.gz] [--border 2]
//               [--workers W] [--threads T] [--sizes 300,3000] [--repeat 3] [--breakdown]
//               [--in-flight N] [--samples-per-message K]
//
// --breakdown also times, at the largest size, the steps between pure inference and calibration
// (calibration plan, taps, statistics, flow graph) to show where the overhead is, with the CPU
// seconds of each (all threads; less noisy than wall time on a shared machine) and its minor
// page faults (each first touch of a fresh page: 10-30 us in a VM), and the plan compile a
// calibration pass does inside its time (the breakdown's pure inference compiles before its
// clock).
//
// Defaults: ../shared/models/fmnist_mobilenetv2_w0.5.onnx on Debian's Fashion-MNIST train
// images (normalised, 2-pixel border as the model expects), W = cores, T = 1. Statistics are
// the `ptqflow calibrate` ones: per-tensor min and abs_max per sample of every Convolution /
// GroupConvolution / MatMul input activation. Pure inference: the same samples decoded up front
// (not timed), W threads each running its own Session (T threads) without taps.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "io/data/idx_dataset.h"
#include "io/model/model_io.h"
#include "stages/flow_engine.h"
#include "stages/sample_stats.h"

namespace {

namespace fs = std::filesystem;
using namespace ptqflow;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model;
  std::string images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  int border = 2;
  int workers = 0;
  int threads = 1;
  int in_flight = 0;            // FlowEngineOptions::in_flight (0 = its default)
  int samples_per_message = 0;  // FlowEngineOptions::samples_per_message (0 = automatic)
  std::vector<size_t> sizes = {300, 3000};
  int repeat = 3;
  bool breakdown = false;
  std::string child;  // "calib" | "calib-none" | an ChildInfer mode: run one measurement
  size_t samples = 0;
};

std::string Arg(int argc, char** argv, int* i) {
  if (*i + 1 >= argc) {
    std::fprintf(stderr, "missing value for %s\n", argv[*i]);
    std::exit(2);
  }
  return argv[++*i];
}

Args Parse(int argc, char** argv) {
  Args a;
  const char* shared = std::getenv("PTQFLOW_SHARED_DIR");
  a.model = (shared ? fs::path(shared) : fs::path(PTQFLOW_SOURCE_DIR) / ".." / "shared") /
            "models" / "fmnist_mobilenetv2_w0.5.onnx";
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--model") {
      a.model = Arg(argc, argv, &i);
    } else if (f == "--images") {
      a.images = Arg(argc, argv, &i);
    } else if (f == "--border") {
      a.border = std::atoi(Arg(argc, argv, &i).c_str());
    } else if (f == "--workers") {
      a.workers = std::atoi(Arg(argc, argv, &i).c_str());
    } else if (f == "--threads") {
      a.threads = std::atoi(Arg(argc, argv, &i).c_str());
    } else if (f == "--in-flight") {
      a.in_flight = std::atoi(Arg(argc, argv, &i).c_str());
    } else if (f == "--samples-per-message") {
      a.samples_per_message = std::atoi(Arg(argc, argv, &i).c_str());
    } else if (f == "--repeat") {
      a.repeat = std::max(1, std::atoi(Arg(argc, argv, &i).c_str()));
    } else if (f == "--sizes") {
      a.sizes.clear();
      std::string s = Arg(argc, argv, &i);
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        a.sizes.push_back(std::stoul(s.substr(p, q - p)));
        p = q + 1;
      }
    } else if (f == "--breakdown") {
      a.breakdown = true;
    } else if (f == "--child") {
      a.child = Arg(argc, argv, &i);
    } else if (f == "--samples") {
      a.samples = std::stoul(Arg(argc, argv, &i));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  if (a.workers <= 0) a.workers = std::max(1u, std::thread::hardware_concurrency());
  return a;
}

[[noreturn]] void Die(const Status& st) {
  std::fprintf(stderr, "calib_bench: %s\n", st.message().c_str());
  std::exit(1);
}

// CPU seconds (user + system) of this process so far.
double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * t.tv_usec; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Minor page faults of this process so far (each first touch of a fresh page: about 10 us in
// this VM, so they show up in the overhead).
long MinorFaults() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::shared_ptr<const io::Dataset> OpenData(const Args& a) {
  io::IdxDatasetOptions o;
  o.images_file = a.images;
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  o.border = a.border;
  auto d = io::IdxDataset::Create(o);
  if (!d.ok()) Die(d.status());
  return std::shared_ptr<const io::Dataset>(std::move(d).value());
}

std::vector<quant::StatRequest> DefaultRequests(const graph::Graph& g) {
  std::vector<graph::ValueRef> values;
  for (graph::NodeId id : g.LiveNodes()) {
    const graph::Node& n = g.node(id);
    if (n.type != "Convolution" && n.type != "GroupConvolution" && n.type != "MatMul") continue;
    if (g.node(n.input(0).node).is_const()) continue;
    if (std::find(values.begin(), values.end(), n.input(0)) == values.end()) {
      values.push_back(n.input(0));
    }
  }
  std::vector<quant::StatRequest> r;
  for (const graph::ValueRef& v : values) {
    for (quant::StatType t : {quant::StatType::kMin, quant::StatType::kAbsMax}) {
      quant::StatRequest q;
      q.value = v;
      q.reduction.type = t;
      r.push_back(q);
    }
  }
  return r;
}

// Child: one calibration pass over the first `samples` samples; prints seconds and VmHWM.
int ChildCalib(const Args& a) {
  auto g = io::ReadModel(a.model, {});
  if (!g.ok()) Die(g.status());
  auto data = OpenData(a);
  stages::FlowEngineOptions o;
  o.selection.subset_size = a.samples;
  o.workers = a.workers;
  o.intra_op_threads = a.threads;
  o.in_flight = a.in_flight;
  o.samples_per_message = a.samples_per_message;
  stages::FlowEngine engine(data, o);
  std::vector<quant::StatRequest> req;
  if (a.child == "calib") req = DefaultRequests(*g);
  const double cpu0 = CpuSeconds();
  const long faults0 = MinorFaults();
  const auto t0 = Clock::now();
  auto stats = engine.Collect(*g, req, {});
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  const long faults = MinorFaults() - faults0;
  if (!stats.ok()) Die(stats.status());
  std::printf("seconds=%.6f rss_kb=%ld cpu=%.6f faults=%ld stats=%zu\n", secs, PeakRssKb(), cpu,
              faults, req.size());
  return 0;
}

// Child: the same samples, decoded up front, through W threads each with its own Session.
// `mode` (the --breakdown steps; each adds one part of what calibration does):
//   infer       the plain plan, no taps (the (a) denominator)
//   observable  the calibration plan (tapped values stay computed: not fused away), no taps
//   taps        that plan with a no-op tap on every requested value (blocked values as they are)
//   stats       that plan computing the statistics (SampleStatsRunner), without the flow graph
//   compile-plain / compile-calib
//               only compiling the plain / the calibration plan (which the modes above do before
//               their clock starts, and a calibration pass inside its time)
int ChildInfer(const Args& a, const std::string& mode) {
  auto g = io::ReadModel(a.model, {});
  if (!g.ok()) Die(g.status());
  auto data = OpenData(a);
  // The plan is compiled from the first sample, before the others are decoded: as a calibration
  // pass does (it compiles when its first sample arrives), so both compile in the same state.
  const bool compile_only = mode.rfind("compile-", 0) == 0;
  const size_t n = compile_only ? 1 : std::min(a.samples, data->size());
  std::vector<std::map<std::string, graph::Tensor>> inputs(n);
  auto decode = [&](size_t i) {
    auto s = data->Get(i);
    if (!s.ok()) Die(s.status());
    auto in = stages::BindInputs(*g, s->inputs);
    if (!in.ok()) Die(in.status());
    inputs[i] = std::move(in).value();
  };
  decode(0);
  const auto req = DefaultRequests(*g);
  std::vector<graph::ValueRef> values;
  if (mode != "infer" && mode != "compile-plain") {
    for (const quant::StatRequest& r : req) values.push_back(r.value);
  }
  exec::CompileOptions copts;
  copts.threads = a.threads;
  stages::PlanCache plans(*g, copts, values);
  const double compile_cpu0 = CpuSeconds();
  const long compile_faults0 = MinorFaults();
  const auto compile_t0 = Clock::now();
  auto plan = plans.Get(inputs[0]);
  if (!plan.ok()) Die(plan.status());
  const double compile_secs = std::chrono::duration<double>(Clock::now() - compile_t0).count();
  if (compile_only) {
    std::printf("seconds=%.6f rss_kb=%ld cpu=%.6f faults=%ld\n", compile_secs, PeakRssKb(),
                CpuSeconds() - compile_cpu0, MinorFaults() - compile_faults0);
    return 0;
  }
  for (size_t i = 1; i < n; ++i) decode(i);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const double cpu0 = CpuSeconds();
  const long faults0 = MinorFaults();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < a.workers; ++w) {
    threads.emplace_back([&] {
      exec::Session session(*plan);
      exec::TapSet taps;
      for (const graph::ValueRef& v : values) {
        if (g->node(v.node).type == "Parameter") continue;
        taps.Observe(
            v, [](const graph::ValueRef&, const exec::TensorView&) {}, true);
      }
      stages::SampleStatsRunner runner(*g, req);
      stages::SampleStats stats;
      for (size_t i = next++; i < n; i = next++) {
        if (mode == "stats") {
          if (!runner.Run(session, inputs[i], &stats).ok()) failed = true;
        } else if (!session.Run(inputs[i], nullptr, mode == "taps" ? &taps : nullptr).ok()) {
          failed = true;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  const long faults = MinorFaults() - faults0;
  if (failed) Die(Status::Error("inference failed"));
  std::printf("seconds=%.6f rss_kb=%ld cpu=%.6f faults=%ld compile=%.6f\n", secs, PeakRssKb(), cpu,
              faults, compile_secs);
  return 0;
}

struct Measured {
  double seconds = 0;
  long rss_kb = 0;
  double cpu = 0;      // CPU seconds of the timed part (all threads)
  double compile = 0;  // pure inference modes: compiling the plan, before `seconds` started
  long faults = 0;     // minor page faults of the timed part
};

Measured RunChild(const Args& a, const std::string& mode, size_t samples) {
  std::string cmd = "'" + fs::read_symlink("/proc/self/exe").string() + "' --child " + mode +
                    " --samples " + std::to_string(samples) + " --model '" + a.model +
                    "' --images '" + a.images + "' --border " + std::to_string(a.border) +
                    " --workers " + std::to_string(a.workers) + " --threads " +
                    std::to_string(a.threads) + " --in-flight " + std::to_string(a.in_flight) +
                    " --samples-per-message " + std::to_string(a.samples_per_message);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) Die(Status::Error("cannot run " + cmd));
  char buf[256] = {};
  std::string out;
  while (std::fgets(buf, sizeof(buf), p)) out += buf;
  if (pclose(p) != 0) Die(Status::Error("child failed: " + cmd + "\n" + out));
  Measured m;
  if (std::sscanf(out.c_str(), "seconds=%lf rss_kb=%ld cpu=%lf faults=%ld", &m.seconds, &m.rss_kb,
                  &m.cpu, &m.faults) != 4) {
    Die(Status::Error("unexpected child output: " + out));
  }
  if (const size_t at = out.find("compile="); at != std::string::npos) {
    m.compile = std::atof(out.c_str() + at + 8);
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  if (a.child == "calib" || a.child == "calib-none") return ChildCalib(a);
  if (!a.child.empty()) return ChildInfer(a, a.child);
  std::printf("model %s\nimages %s\nworkers %d x intra-op threads %d, best of %d runs\n",
              a.model.c_str(), a.images.c_str(), a.workers, a.threads, a.repeat);
  std::vector<long> rss;
  for (size_t n : a.sizes) {
    double calib = 1e30, infer = 1e30, infer_compiled = 1e30;
    long peak = 0;
    for (int r = 0; r < a.repeat; ++r) {
      Measured c = RunChild(a, "calib", n);
      Measured i = RunChild(a, "infer", n);
      calib = std::min(calib, c.seconds);
      infer = std::min(infer, i.seconds);
      infer_compiled = std::min(infer_compiled, i.compile + i.seconds);
      peak = std::max(peak, c.rss_kb);
    }
    rss.push_back(peak);
    std::printf(
        "%5zu samples: calibration %.3f s, pure inference %.3f s (%.3f s with its plan compile), "
        "(a) ratio %.3f (%.3f to inference without its compile), calibration peak RSS %.1f MiB\n",
        n, calib, infer, infer_compiled, calib / infer_compiled, calib / infer,
        static_cast<double>(peak) / 1024.0);
  }
  if (rss.size() >= 2) {
    std::printf("(b) peak RSS at %zu / at %zu samples: %.3f\n", a.sizes.back(), a.sizes.front(),
                static_cast<double>(rss.back()) / static_cast<double>(rss.front()));
  }
  if (a.breakdown) {
    // Where calibration time goes, at the largest size: each step adds one part.
    const size_t n = a.sizes.back();
    std::printf("breakdown at %zu samples (best of %d; ratio to pure inference):\n", n, a.repeat);
    const char* steps[][2] = {
        {"infer", "pure inference (plain plan, no taps; compiled before the clock)"},
        {"observable", "+ calibration plan (tapped values kept, not fused away), no taps"},
        {"taps", "+ no-op taps on the requested values"},
        {"stats", "+ per-sample statistics (no flow graph)"},
        {"calib-none", "flow graph, no statistics (plain plan)"},
        {"calib", "flow graph with the statistics (calibration)"},
        {"compile-plain", "  of the flow graph rows: compiling the plain plan"},
        {"compile-calib", "  of the flow graph rows: compiling the calibration plan"}};
    // CPU time (all threads) is less disturbed by other processes on a shared machine.
    std::printf("  %-62s %8s %7s %8s %7s %7s\n", "", "wall", "ratio", "cpu", "ratio", "faults");
    double base = 0, base_cpu = 0;
    for (const auto& step : steps) {
      Measured best{1e30, 0, 1e30, 0, 0};
      for (int r = 0; r < a.repeat; ++r) {
        const Measured m = RunChild(a, step[0], n);
        best.seconds = std::min(best.seconds, m.seconds);
        best.cpu = std::min(best.cpu, m.cpu);
        best.faults = r == 0 ? m.faults : std::min(best.faults, m.faults);
      }
      if (base == 0) {
        base = best.seconds;
        base_cpu = best.cpu;
      }
      std::printf("  %-62s %7.3fs %7.3f %7.3fs %7.3f %7ld\n", step[1], best.seconds,
                  best.seconds / base, best.cpu, best.cpu / base_cpu, best.faults);
    }
  }
  return 0;
}
