// Runs a real ONNX model through ptqflow (io::ImportOnnx + executor) and through ONNX Runtime
// (perf/ort_run.js, npm onnxruntime-node) on the same seeded inputs and compares every output:
// max |ptqflow - ORT| <= rel_tol * max |ORT|.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "io/onnx/onnx_importer.h"
#include "tests/graph/exec/npy_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::exec::testing {

struct ModelInputSpec {
  std::string name;
  graph::Shape shape;
  float lo = -1.f, hi = 1.f;  // uniform f32 values
};

inline std::string Sanitize(const std::string& s) {
  std::string o = s;
  for (char& c : o) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
  }
  return o;
}

inline void CompareWithOrt(const std::filesystem::path& model,
                           const std::vector<ModelInputSpec>& specs,
                           const std::map<std::string, graph::Tensor>& frozen, double rel_tol,
                           int threads = 0) {
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::exists(model)) << model;
  const fs::path dir = ptqflow::testing::TempDir();
  std::map<std::string, graph::Tensor> feeds;
  io::OnnxImportOptions opts;
  std::string cmd = "node " + (fs::path(PTQFLOW_SOURCE_DIR) / "perf" / "ort_run.js").string() +
                    " --model " + model.string() + " --output-dir " + (dir / "ort").string();
  uint32_t seed = 1234;
  for (const ModelInputSpec& s : specs) {
    std::mt19937 rng(seed++);
    std::uniform_real_distribution<float> d(s.lo, s.hi);
    std::vector<float> v(static_cast<size_t>(graph::ElementCount(s.shape)));
    for (float& x : v) x = d(rng);
    graph::Tensor t = graph::Tensor::FromVector<float>(graph::ElementType::kF32, s.shape, v);
    feeds[s.name] = t;
    opts.input_shapes[s.name] = graph::PartialShape(s.shape);
    const fs::path f = dir / (Sanitize(s.name) + ".npy");
    ASSERT_TRUE(WriteNpy(f, t).ok());
    cmd += " --input " + s.name + "=" + f.string();
  }
  for (const auto& [name, t] : frozen) {
    opts.frozen_inputs[name] = t;
    const fs::path f = dir / (Sanitize(name) + ".npy");
    ASSERT_TRUE(WriteNpy(f, t).ok());
    cmd += " --input " + name + "=" + f.string();
  }
  std::string out;
  int rc = ptqflow::testing::RunCommand(cmd, &out);
  ASSERT_EQ(rc, 0) << "ONNX Runtime failed (needs node and onnxruntime-node in "
                      "$PTQFLOW_ORT_DIR, default <repo>/.cache/ort): "
                   << cmd << "\n"
                   << out;
  Result<graph::Graph> g = io::ImportOnnx(model, opts);
  ASSERT_TRUE(g.ok()) << g.status().message();
  CompileOptions co;
  co.threads = threads;
  auto plan = CompiledModel::Compile(*g, co);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  Session session(*plan);
  std::map<std::string, graph::Tensor> outs;
  Status st = session.RunByResult(feeds, &outs);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_FALSE(outs.empty());
  for (const auto& [name, got] : outs) {
    Result<graph::Tensor> want = ReadNpy(dir / "ort" / (Sanitize(name) + ".npy"));
    ASSERT_TRUE(want.ok()) << "ORT output for '" << name << "': " << want.status().message();
    ASSERT_EQ(got.shape(), want->shape()) << name;
    std::vector<double> a = got.ToDoubles(), b = want->ToDoubles();
    double max_ref = 0, max_err = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(b[i]));
      double e = std::abs(a[i] - b[i]);
      max_err = std::isnan(a[i]) ? INFINITY : std::max(max_err, e);
    }
    std::printf("%s output '%s': max|ref| %.6g max abs err %.3g (%.3g of max|ref|)\n",
                model.filename().c_str(), name.c_str(), max_ref, max_err,
                max_ref > 0 ? max_err / max_ref : max_err);
    EXPECT_LE(max_err, rel_tol * max_ref) << model << " output " << name;
  }
}

}  // namespace ptqflow::exec::testing
