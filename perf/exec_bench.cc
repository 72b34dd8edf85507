// Side-by-side latency of ptqflow's executor and ONNX Runtime (perf/ort_run.js) on every real
// model at fixed shapes, 1 and 2 threads, same seeded inputs. Prints the median latency of each
// and the ratio ptqflow/ORT. Usage: exec_bench --source-dir DIR [--repeat N] [--threads 1,2]
// [--models substring] [--profile] [--tap-all]. Models come from DIR/.cache/models and
// DIR/../shared/models.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "graph/exec/compiled_model.h"
#include "graph/exec/openmp_env.h"
#include "graph/exec/session.h"
#include "io/onnx/onnx_importer.h"

namespace fs = std::filesystem;
using namespace ptqflow;

namespace {

struct Spec {
  std::string label, file;
  bool shared;
  std::vector<std::pair<std::string, graph::Shape>> inputs;
  std::map<std::string, graph::Tensor> frozen;
};

void WriteNpy(const fs::path& file, const graph::Tensor& t) {
  const char* descr = t.type() == graph::ElementType::kI64 ? "<i8" : "<f4";
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 ? "," : "");
    if (i + 1 < t.shape().size()) shape += ", ";
  }
  shape += ")";
  std::string h =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  h += std::string((64 - (11 + h.size()) % 64) % 64, ' ') + "\n";
  std::ofstream f(file, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(h.size());
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << h;
  f.write(reinterpret_cast<const char*>(t.bytes()), static_cast<std::streamsize>(t.nbytes()));
}

double OrtMedian(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::string out;
  while (fgets(buf, sizeof(buf), p)) out += buf;
  if (pclose(p) != 0) return -1;
  size_t k = out.find("\"median_ms\":");
  return k == std::string::npos ? -1 : std::atof(out.c_str() + k + 12);
}

double ThreadCpuMs() {
  // PTQFLOW_PROFILE_WALL=1: wall-clock time instead (shows waiting).
  static const clockid_t clock =
      getenv("PTQFLOW_PROFILE_WALL") ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  exec::ReexecWithPassiveOpenMpWait(argv);  // see graph/exec/openmp_env.h
  fs::path src = PTQFLOW_SOURCE_DIR;
  int repeat = 20;
  std::vector<int> thread_counts = {1, 2};
  std::string only;
  bool profile = false;
  // --tap-all: what calibration does: every layer observable (no fusion), a no-op ObserveAll
  // tap (blocked values are converted to plain for it).
  bool tap_all = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--source-dir" && i + 1 < argc)
      src = argv[++i];
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::atoi(argv[++i]);
    else if (a == "--models" && i + 1 < argc)
      only = argv[++i];
    else if (a == "--profile")
      profile = true;
    else if (a == "--tap-all")
      tap_all = true;
    else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      std::string s = argv[++i];
      for (size_t p = 0; p < s.size();) {
        size_t q = s.find(',', p);
        thread_counts.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const fs::path models = getenv("PTQFLOW_MODELS_DIR") ? fs::path(getenv("PTQFLOW_MODELS_DIR"))
                                                       : src / ".cache" / "models";
  const fs::path shared =
      getenv("PTQFLOW_SHARED_DIR") ? fs::path(getenv("PTQFLOW_SHARED_DIR")) : src / ".." / "shared";
  auto sr = graph::Tensor::FromVector<int64_t>(graph::ElementType::kI64, {}, {16000});
  std::vector<Spec> specs = {
      {"PP-OCRv4 det 640x640", "ch_PP-OCRv4_det_infer.onnx", false, {{"x", {1, 3, 640, 640}}}, {}},
      {"PP-OCRv4 rec 48x320", "ch_PP-OCRv4_rec_infer.onnx", false, {{"x", {1, 3, 48, 320}}}, {}},
      {"PP-OCR cls 48x192",
       "ch_ppocr_mobile_v2.0_cls_infer.onnx",
       false,
       {{"x", {1, 3, 48, 192}}},
       {}},
      {"melspectrogram 16000", "melspectrogram.onnx", false, {{"input", {1, 16000}}}, {}},
      {"audio embedding", "embedding_model.onnx", false, {{"input_1", {1, 76, 32, 1}}}, {}},
      {"silero VAD (op18 ifless)",
       "silero_vad_op18_ifless.onnx",
       false,
       {{"input", {1, 512}}, {"state", {2, 1, 128}}},
       {{"sr", sr}}},
      {"silero VAD (16k op15, LSTM)",
       "silero_vad_16k_op15.onnx",
       false,
       {{"input", {1, 512}}, {"state", {2, 1, 128}}},
       {{"sr", sr}}},
      {"fmnist CNN", "fmnist_cnn.onnx", true, {{"input", {1, 1, 28, 28}}}, {}},
      {"fmnist MobileNetV2 w0.5",
       "fmnist_mobilenetv2_w0.5.onnx",
       true,
       {{"input", {1, 1, 32, 32}}},
       {}},
  };
  const fs::path tmp =
      fs::temp_directory_path() / ("ptqflow_exec_bench_" + std::to_string(getpid()));
  fs::create_directories(tmp);
  std::printf("| model | threads | ptqflow ms | ORT ms | ptqflow/ORT |\n|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (const Spec& s : specs) {
    if (!only.empty() && s.label.find(only) == std::string::npos &&
        s.file.find(only) == std::string::npos)
      continue;
    const fs::path model = (s.shared ? shared / "models" : models) / s.file;
    io::OnnxImportOptions opts;
    std::map<std::string, graph::Tensor> feeds;
    std::string ort_cmd = "node " + (src / "perf" / "ort_run.js").string() + " --model " +
                          model.string() + " --repeat " + std::to_string(repeat);
    uint32_t seed = 7;
    for (const auto& [name, shape] : s.inputs) {
      std::mt19937 rng(seed++);
      std::uniform_real_distribution<float> d(-1.f, 1.f);
      std::vector<float> v(static_cast<size_t>(graph::ElementCount(shape)));
      for (float& x : v) x = d(rng);
      feeds[name] = graph::Tensor::FromVector<float>(graph::ElementType::kF32, shape, v);
      opts.input_shapes[name] = graph::PartialShape(shape);
      fs::path f = tmp / (name + ".npy");
      WriteNpy(f, feeds[name]);
      ort_cmd += " --input " + name + "=" + f.string();
    }
    for (const auto& [name, t] : s.frozen) {
      opts.frozen_inputs[name] = t;
      fs::path f = tmp / (name + ".npy");
      WriteNpy(f, t);
      ort_cmd += " --input " + name + "=" + f.string();
    }
    Result<graph::Graph> g = io::ImportOnnx(model, opts);
    if (!g.ok()) {
      std::printf("| %s | - | import failed: %s | | |\n", s.label.c_str(),
                  g.status().message().c_str());
      continue;
    }
    for (int threads : thread_counts) {
      exec::CompileOptions co;
      co.threads = threads;
      if (getenv("PTQFLOW_CONV_LAYOUT")) co.conv_layout = getenv("PTQFLOW_CONV_LAYOUT");
      if (getenv("PTQFLOW_NO_FUSION") || tap_all) co.fuse = false;
      auto plan = exec::CompiledModel::Compile(*g, co);
      if (!plan.ok()) {
        std::printf("| %s | %d | compile failed: %s | | |\n", s.label.c_str(), threads,
                    plan.status().message().c_str());
        continue;
      }
      exec::Session session(*plan);
      std::map<std::string, graph::Tensor> outs;
      if (!session.Run(feeds, &outs).ok()) {
        std::printf("| %s | %d | run failed | | |\n", s.label.c_str(), threads);
        continue;
      }
      exec::TapSet all_taps;
      all_taps.ObserveAll([](const graph::ValueRef&, const exec::TensorView&) {});
      std::vector<double> times;
      for (int r = 0; r < repeat; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        (void)session.Run(feeds, &outs, tap_all ? &all_taps : nullptr);
        times.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      std::sort(times.begin(), times.end());
      if (profile) {
        rusage ru0, ru1;
        getrusage(RUSAGE_SELF, &ru0);
        (void)session.Run(feeds, &outs);
        getrusage(RUSAGE_SELF, &ru1);
        std::printf("    page faults per run: %ld\n", ru1.ru_minflt - ru0.ru_minflt);
        // CPU time of this thread between consecutive produced values ~ the producing layer's
        // time (not counting time the OS gave to other processes; meaningful at 1 thread): per
        // op type and the slowest layers (name, type, input shapes).
        std::map<std::string, double> per_type;
        std::map<graph::NodeId, double> per_node;
        exec::TapSet taps;
        double last = ThreadCpuMs();
        taps.ObserveAll([&](const graph::ValueRef& v, const exec::TensorView&) {
          const double now = ThreadCpuMs();
          const double ms = now - last;
          per_type[g->node(v.node).type] += ms;
          per_node[v.node] += ms;
          last = now;
        });
        constexpr int kProfileRuns = 5;
        for (int r = 0; r < kProfileRuns; ++r) {
          last = ThreadCpuMs();
          (void)session.Run(feeds, &outs, &taps);
        }
        std::vector<std::pair<double, std::string>> rows;
        for (const auto& [t, ms] : per_type) rows.push_back({ms / kProfileRuns, t});
        std::sort(rows.rbegin(), rows.rend());
        for (const auto& [ms, t] : rows) std::printf("    %-28s %9.3f ms\n", t.c_str(), ms);
        auto consumers = g->BuildConsumers();
        std::vector<std::pair<double, graph::NodeId>> nodes;
        for (const auto& [id, ms] : per_node) nodes.push_back({ms / kProfileRuns, id});
        std::sort(nodes.rbegin(), nodes.rend());
        for (size_t i = 0; i < nodes.size() && i < 25; ++i) {
          const graph::Node& n = g->node(nodes[i].second);
          std::string shapes;
          for (const graph::InputPort& in : n.inputs) {
            shapes += g->node(in.source.node).type + g->output(in.source).shape.ToString() + " ";
          }
          shapes += "->";
          for (const auto& u : consumers[{nodes[i].second, 0}])
            shapes += " " + g->node(u.node).type;
          std::printf("      %8.3f ms  %s %s <- %s\n", nodes[i].first, n.type.c_str(),
                      n.name.c_str(), shapes.c_str());
        }
      }
      const double ours = times[times.size() / 2];
      const double ort = OrtMedian(ort_cmd + " --threads " + std::to_string(threads));
      std::printf("| %s | %d | %.3f | %.3f | %.2f |\n", s.label.c_str(), threads, ours, ort,
                  ort > 0 ? ours / ort : -1.0);
      std::fflush(stdout);
    }
  }
  fs::remove_all(tmp);
  return 0;
}
