#include "stages/layer_sqnr.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "graph/exec/session.h"
#include "stages/sample_stats.h"

namespace ptqflow::stages {

std::vector<graph::NodeId> QuantizedLayers(const quant::QuantizationPlan& plan) {
  std::vector<graph::NodeId> layers;
  std::set<graph::NodeId> seen;
  for (const quant::FqInfo& f : plan.fqs) {
    for (const auto& [node, port] : f.consumers) {
      if (seen.insert(node).second) layers.push_back(node);
    }
  }
  return layers;
}

namespace {

double SqnrDb(double signal, double noise) {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  if (signal == 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

// The output of the Add(v, Const) that is the only reader of v, else an invalid ref.
graph::ValueRef BiasAddAfter(
    const graph::Graph& g,
    const std::unordered_map<graph::ValueRef, std::vector<graph::Graph::Use>, graph::ValueRefHash>&
        consumers,
    graph::ValueRef v) {
  auto it = consumers.find(v);
  if (it == consumers.end() || it->second.size() != 1) return {};
  const graph::Node& add = g.node(it->second[0].node);
  if (add.type != "Add" || add.inputs.size() != 2) return {};
  const graph::ValueRef other = add.inputs[1 - it->second[0].input].source;
  if (!g.node(other.node).is_const()) return {};
  return {it->second[0].node, 0};
}

// One model's plans and a session per plan (plans differ only by input shapes).
struct Runner {
  Runner(const graph::Graph& g, const exec::CompileOptions& options,
         std::vector<graph::ValueRef> values)
      : graph(g), plans(g, options, std::move(values)) {}
  Status Run(const std::map<std::string, graph::Tensor>& sample_inputs, exec::TapSet* taps) {
    PTQ_ASSIGN_OR_RETURN(auto inputs, BindInputs(graph, sample_inputs));
    PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const exec::CompiledModel> plan, plans.Get(inputs));
    auto& session = sessions[plan.get()];
    if (!session) session = std::make_unique<exec::Session>(plan);
    return session->Run(inputs, nullptr, taps);
  }
  const graph::Graph& graph;
  PlanCache plans;
  std::map<const exec::CompiledModel*, std::unique_ptr<exec::Session>> sessions;
};

}  // namespace

Result<std::vector<LayerSqnr>> ComputeLayerSqnr(const graph::Graph& fp32,
                                                const graph::Graph& quantized,
                                                std::span<const graph::NodeId> layers,
                                                const io::Dataset& dataset,
                                                std::span<const size_t> sample_indices,
                                                const LayerSqnrOptions& options) {
  std::vector<LayerSqnr> out;
  std::vector<graph::ValueRef> values;
  const auto consumers = quantized.BuildConsumers();
  for (graph::NodeId id : layers) {
    if (!quantized.contains(id) || !quantized.node(id).alive) {
      return Status::Error("layer SQNR: node id " + std::to_string(id) +
                           " is not a layer of the quantized model");
    }
    const graph::Node& q = quantized.node(id);
    if (!fp32.contains(id) || !fp32.node(id).alive || fp32.node(id).name != q.name ||
        fp32.node(id).type != q.type) {
      return Status::Error("layer SQNR: " + graph::Describe(q) +
                           " of the quantized model is not in the FP32 model under the same id");
    }
    if (q.outputs.empty()) {
      return Status::Error("layer SQNR: " + graph::Describe(q) + " has no output");
    }
    LayerSqnr l;
    l.id = id;
    l.name = q.name;
    l.type = q.type;
    l.value = {id, 0};
    if (options.after_bias_add) {
      const graph::ValueRef bias = BiasAddAfter(quantized, consumers, l.value);
      if (bias.valid() && fp32.contains(bias.node) && fp32.node(bias.node).alive &&
          fp32.node(bias.node).name == quantized.node(bias.node).name) {
        l.value = bias;
      }
    }
    l.measured = quantized.node(l.value.node).name;
    values.push_back(l.value);
    out.push_back(std::move(l));
  }
  if (out.empty()) return out;

  exec::CompileOptions copts;
  copts.threads = options.threads;
  Runner ref(fp32, copts, values), quant(quantized, copts, values);
  for (size_t index : sample_indices) {
    PTQ_ASSIGN_OR_RETURN(io::Sample sample, dataset.Get(index));
    const std::string where = io::SampleContext(index, sample.source) + ": ";
    exec::TapSet ref_taps;
    for (const graph::ValueRef& v : values) ref_taps.Keep(v);
    Status st = ref.Run(sample.inputs, &ref_taps);
    if (!st.ok()) return Status::Error(where + "FP32 model: " + st.message());

    std::vector<Status> errors(values.size());
    std::vector<char> seen(values.size(), 0);
    exec::TapSet q_taps;
    for (size_t i = 0; i < values.size(); ++i) {
      q_taps.Observe(values[i], [&, i](const graph::ValueRef& v, const exec::TensorView& view) {
        seen[i] = 1;
        const graph::Node& n = quantized.node(v.node);
        auto kept = ref_taps.kept().find(v);
        if (kept == ref_taps.kept().end()) {
          errors[i] = Status::Error(graph::Describe(n) + ": not computed by the FP32 model");
          return;
        }
        const graph::Tensor& r = kept->second;
        if (view.type != graph::ElementType::kF32 || r.type() != graph::ElementType::kF32) {
          errors[i] =
              Status::Error(graph::Describe(n) + ": output is " +
                            std::string(graph::ElementTypeName(view.type)) + ", SQNR needs f32");
          return;
        }
        if (*view.shape != r.shape()) {
          errors[i] = Status::Error(graph::Describe(n) + ": output shape " +
                                    graph::ShapeToString(*view.shape) + " differs from FP32 " +
                                    graph::ShapeToString(r.shape()));
          return;
        }
        const float* q = view.as<float>();
        const float* p = r.data<float>();
        double signal = 0.0, noise = 0.0;
        for (int64_t k = 0; k < view.size(); ++k) {
          const double d = double(p[k]) - double(q[k]);
          signal += double(p[k]) * double(p[k]);
          noise += d * d;
        }
        out[i].signal += signal;
        out[i].noise += noise;
      });
    }
    st = quant.Run(sample.inputs, &q_taps);
    if (!st.ok()) return Status::Error(where + "quantized model: " + st.message());
    for (size_t i = 0; i < values.size(); ++i) {
      if (!errors[i].ok()) return Status::Error(where + "layer SQNR: " + errors[i].message());
      if (!seen[i]) {
        return Status::Error(where +
                             "layer SQNR: " + graph::Describe(quantized.node(values[i].node)) +
                             ": not computed by the quantized model");
      }
    }
  }
  for (LayerSqnr& l : out) l.sqnr_db = SqnrDb(l.signal, l.noise);
  return out;
}

}  // namespace ptqflow::stages
