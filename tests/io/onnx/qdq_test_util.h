// Shared by the QDQ writer tests: a tiny ONNX CNN that exercises every mapping the writer does
// (bias-carrying Conv, depthwise Conv without bias, Gemm with transB = 0, a model input as the
// first quantized tensor), and "quantization by hand": FakeQuantize limits filled from plain
// formulas plus the edits POT's algorithms make (saturation fix halving the first conv's
// weights, corrected biases, a non-zero bias after a bias-less conv).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "io/hardware_config_reader.h"
#include "quant/hardware_config.h"
#include "quant/placement.h"
#include "tests/io/onnx/onnx_builder.h"

namespace ptqflow::testing {

inline std::vector<float> SeededValues(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// x[1,2,5,5] → Conv "conv" (W [4,2,3,3], B [4], pads 1) → Relu → Conv "dw" (group 4,
// W [4,1,3,3], no bias, pads 1) → Relu → GlobalAveragePool → Flatten → Gemm "fc" (W [4,3],
// transB 0, C [3]) → y[1,3].
inline OnnxBuilder TinyQdqModel(int opset = 13) {
  OnnxBuilder b(opset);
  b.Input("x", {1, 2, 5, 5});
  b.InitF("W", {4, 2, 3, 3}, SeededValues(72, 1, -1.f, 1.f));
  b.InitF("B", {4}, {0.1f, -0.2f, 0.3f, 0.05f});
  b.InitF("Wdw", {4, 1, 3, 3}, SeededValues(36, 2, -0.8f, 0.8f));
  b.InitF("Wfc", {4, 3}, SeededValues(12, 3, -1.f, 1.f));
  b.InitF("Cfc", {3}, {0.5f, -0.5f, 0.25f});
  auto* conv = b.Node("Conv", {"x", "W", "B"}, {"c1"}, "conv");
  OnnxBuilder::AttrInts(conv, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  auto* dw = b.Node("Conv", {"r1", "Wdw"}, {"c2"}, "dw");
  OnnxBuilder::AttrInts(dw, "pads", {1, 1, 1, 1});
  OnnxBuilder::AttrInt(dw, "group", 4);
  b.Node("Relu", {"c2"}, {"r2"}, "relu2");
  b.Node("GlobalAveragePool", {"r2"}, {"gap"}, "gap");
  b.Node("Flatten", {"gap"}, {"flat"}, "flatten");
  b.Node("Gemm", {"flat", "Wfc", "Cfc"}, {"y"}, "fc");
  OnnxBuilder::SetValueInfo(b.g()->add_output(), "y", onnx::TensorProto::FLOAT, {1, 3});
  return b;
}

inline quant::HardwareConfig CpuHardware() {
  auto spec = io::ReadHardwareConfigFile(quant::HardwareConfigDir() / "cpu.json");
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  auto hw = quant::FlattenHardwareConfig(*spec, "ANY");
  EXPECT_TRUE(hw.ok()) << hw.status().message();
  return hw.ok() ? *hw : quant::HardwareConfig{};
}

// Axis along which the FQ's limit constant varies (-1: per tensor), and the channel count.
inline std::pair<int, int64_t> LimitAxis(const graph::Graph& g, graph::NodeId fq) {
  const graph::Shape& s = g.node(g.node(fq).input(1).node).constant.shape();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != 1) return {int(i), s[i]};
  }
  return {-1, 1};
}

inline void SetLimit(graph::Graph* g, graph::NodeId fq, int k, const std::vector<float>& v) {
  graph::Node& c = g->node(g->node(fq).input(size_t(k)).node);
  const graph::Shape shape = c.constant.shape();
  ASSERT_EQ(graph::ElementCount(shape), int64_t(v.size())) << g->node(fq).name;
  c.constant = graph::Tensor::FromVector<float>(graph::ElementType::kF32, shape, v);
}

// Per-channel abs-max of a weight tensor along `axis` (whole tensor when axis < 0).
inline std::vector<float> AbsMaxPerChannel(const graph::Tensor& w, int axis, int64_t channels) {
  std::vector<float> m(size_t(channels), 0.f);
  int64_t inner = 1;
  if (axis >= 0) {
    for (size_t i = size_t(axis) + 1; i < w.shape().size(); ++i) inner *= w.shape()[i];
  }
  const float* p = w.data<float>();
  for (int64_t i = 0; i < w.size(); ++i) {
    const size_t ch = axis >= 0 ? size_t((i / inner) % channels) : 0;
    m[ch] = std::max(m[ch], std::abs(p[i]));
  }
  return m;
}

struct HandQuantized {
  graph::Graph g;
  quant::QuantizationPlan plan;
  std::map<std::string, std::vector<float>> weight_m;  // ONNX weight name -> per-channel m
};

// Places FQs (cpu.json, performance) and fills them by hand:
//   weights: symmetric per channel, il = -m, ih = m (m = abs-max of the ORIGINAL weights); the
//     first conv gets POT's saturation fix (weights halved, ol/oh = 2·il/ih);
//   the model input: signed symmetric, m = 3 (il = -3·256/254);
//   other activations: unsigned [0, 2 + channel] (per channel) or [0, 4].
// Then edits like the algorithms: conv bias += 0.25, Gemm bias C += 0.5, dw's inserted zero
// bias = [0.1, 0.2, 0.3, 0.4].
inline HandQuantized QuantizeTinyByHand(const graph::Graph& imported) {
  HandQuantized out;
  out.g = imported;
  quant::HardwareConfig hw = CpuHardware();
  quant::PlacementOptions po;
  po.hardware = &hw;
  po.preset = quant::Preset::kPerformance;
  auto plan = quant::PlaceFakeQuantize(&out.g, po);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  if (!plan.ok()) return out;
  out.plan = *plan;
  graph::Graph& g = out.g;
  for (const quant::FqInfo& info : out.plan.fqs) {
    const auto [axis, channels] = LimitAxis(g, info.fq);
    graph::Node& src = g.node(info.input.node);
    std::vector<float> il(static_cast<size_t>(channels)), ih(static_cast<size_t>(channels));
    std::vector<float> ol, oh;
    if (src.is_const()) {
      const std::vector<float> m = AbsMaxPerChannel(src.constant, axis, channels);
      for (size_t c = 0; c < m.size(); ++c) {
        il[c] = -m[c];
        ih[c] = m[c];
      }
      ol = il;
      oh = ih;
      const std::string onnx = g.node(info.consumers[0].first).onnx_node;
      out.weight_m[onnx] = m;
      if (onnx == "conv") {  // saturation fix
        for (size_t c = 0; c < m.size(); ++c) {
          ol[c] = 2 * il[c];
          oh[c] = 2 * ih[c];
        }
        graph::Tensor half = src.constant.ToF32();
        graph::Tensor w = graph::Tensor::Allocate(graph::ElementType::kF32, half.shape());
        for (int64_t i = 0; i < half.size(); ++i)
          w.mutable_data<float>()[i] = half.data<float>()[i] / 2;
        src.constant = w;
      }
    } else {
      for (size_t c = 0; c < size_t(channels); ++c) {
        if (src.type == "Parameter") {
          il[c] = -3.f * 256.f / 254.f;
          ih[c] = 3.f;
        } else {
          il[c] = 0.f;
          ih[c] = channels > 1 ? 2.f + float(c) : 4.f;
        }
      }
      ol = il;
      oh = ih;
    }
    SetLimit(&g, info.fq, 1, il);
    SetLimit(&g, info.fq, 2, ih);
    SetLimit(&g, info.fq, 3, ol);
    SetLimit(&g, info.fq, 4, oh);
  }
  for (graph::NodeId id : g.NodesOfType("Const")) {
    graph::Node& n = g.node(id);
    auto add = [&](float d, const std::vector<float>& set) {
      graph::Tensor t = n.constant.ToF32();
      graph::Tensor w = graph::Tensor::Allocate(graph::ElementType::kF32, t.shape());
      for (int64_t i = 0; i < t.size(); ++i) {
        w.mutable_data<float>()[i] = set.empty() ? t.data<float>()[i] + d : set[size_t(i)];
      }
      n.constant = w;
    };
    if (n.name == "conv/Bias") add(0.25f, {});
    if (n.name == "Cfc") add(0.5f, {});
    if (n.name == "dw/WithoutBiases/add_/bias" || n.name == "dw/add_/bias") {
      add(0, {0.1f, 0.2f, 0.3f, 0.4f});
    }
  }
  return out;
}

}  // namespace ptqflow::testing
