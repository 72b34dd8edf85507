// ONNX QDQ export (see qdq_writer.h for the rewrites and the numerics).
#include "io/onnx/qdq_writer.h"

#include <glog/logging.h>
#include <onnx/checker.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "io/atomic_file.h"
#include "io/onnx/onnx_context.h"

namespace ptqflow::io {

using graph::ElementType;
using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

// ---------------------------------------------------------------- parameters

int64_t FqLevelIndex(float x, float il, float ih, int64_t levels) {
  if (x <= std::min(il, ih)) return 0;
  if (x > std::max(il, ih)) return levels - 1;
  const float steps = static_cast<float>(levels - 1);
  // FE_TONEAREST (the default) makes nearbyint round half to even, as FakeQuantize-1 does.
  return static_cast<int64_t>(std::nearbyint((x - il) / (ih - il) * steps));
}

namespace {

constexpr double kIntegralTolerance = 1e-3;

std::string FloatText(double v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

Status CheckLevels(const FqLimits& fq, const std::string& fq_name) {
  if (fq.levels < 2) {
    return Status::Error(fq_name + ": levels " + std::to_string(fq.levels) + " is not >= 2");
  }
  if (fq.levels > 256) {
    return Status::Error(fq_name + ": levels " + std::to_string(fq.levels) +
                         " needs more than 8 bits; ONNX QuantizeLinear has no 16/32-bit types "
                         "before opset 21, so this FakeQuantize cannot be exported as QDQ");
  }
  const size_t c = fq.il.size();
  if (c == 0 || fq.ih.size() != c || fq.ol.size() != c || fq.oh.size() != c) {
    return Status::Error(fq_name + ": limits of different sizes");
  }
  return Status::Ok();
}

// Rounds a zero point that should be an integer; notes it when it is not (within tolerance).
int32_t IntegralZeroPoint(double z, const std::string& fq_name, size_t channel,
                          std::vector<std::string>* notes) {
  const double r = std::nearbyint(z);
  if (std::abs(z - r) > kIntegralTolerance) {
    notes->push_back(fq_name + ": zero point " + FloatText(z) + " (channel " +
                     std::to_string(channel) + ") is not on the quantization grid; rounded to " +
                     FloatText(r));
  }
  return static_cast<int32_t>(r);
}

}  // namespace

Result<ActivationQdq> ActivationQdqFromFq(const FqLimits& fq, const std::string& fq_name) {
  PTQ_RETURN_IF_ERROR(CheckLevels(fq, fq_name));
  ActivationQdq out;
  const size_t c = fq.il.size();
  const double steps = static_cast<double>(fq.levels - 1);
  std::vector<double> z(c);
  for (size_t i = 0; i < c; ++i) {
    if (fq.ol[i] != fq.il[i] || fq.oh[i] != fq.ih[i]) {
      return Status::Error(fq_name + ": activation FakeQuantize with an output range [" +
                           FloatText(fq.ol[i]) + ", " + FloatText(fq.oh[i]) +
                           "] different from its input range [" + FloatText(fq.il[i]) + ", " +
                           FloatText(fq.ih[i]) + "] has no QuantizeLinear/DequantizeLinear form");
    }
    const float s = static_cast<float>((double(fq.ih[i]) - double(fq.il[i])) / steps);
    if (!(s > 0.f) || !std::isfinite(s)) {
      return Status::Error(fq_name + ": degenerate range [" + FloatText(fq.il[i]) + ", " +
                           FloatText(fq.ih[i]) + "] (scale must be positive and finite)");
    }
    out.scale.push_back(s);
    z[i] = -double(fq.il[i]) / double(s);
  }
  // Symmetric signed activations (il = -m*levels/(levels-2)) put zero on level 128 of 256: int8
  // with zero point 0. Everything else is uint8 with zero point -il/scale.
  bool signed_symmetric = fq.levels == 256;
  for (double v : z)
    signed_symmetric = signed_symmetric && std::abs(v - 128.0) <= kIntegralTolerance;
  out.storage = signed_symmetric ? QdqStorage::kInt8 : QdqStorage::kUint8;
  for (size_t i = 0; i < c; ++i) {
    int32_t zp = IntegralZeroPoint(z[i], fq_name, i, &out.notes);
    if (signed_symmetric) zp -= 128;
    const int32_t lo = signed_symmetric ? -128 : 0, hi = signed_symmetric ? 127 : 255;
    if (zp < lo || zp > hi) {
      return Status::Error(fq_name + ": range [" + FloatText(fq.il[i]) + ", " +
                           FloatText(fq.ih[i]) + "] does not contain zero (zero point " +
                           FloatText(z[i]) + "), which uint8 QuantizeLinear cannot represent");
    }
    out.zero_point.push_back(zp);
  }
  out.clip = fq.levels < 256;
  return out;
}

Result<WeightQdq> WeightQdqFromFq(const FqLimits& fq, const std::string& fq_name) {
  PTQ_RETURN_IF_ERROR(CheckLevels(fq, fq_name));
  WeightQdq out;
  out.q_min = -(fq.levels / 2);
  const double steps = static_cast<double>(fq.levels - 1);
  for (size_t i = 0; i < fq.il.size(); ++i) {
    const float s = static_cast<float>((double(fq.oh[i]) - double(fq.ol[i])) / steps);
    if (!(s > 0.f) || !std::isfinite(s) || !(fq.ih[i] > fq.il[i])) {
      return Status::Error(fq_name + ": degenerate weight range (input [" + FloatText(fq.il[i]) +
                           ", " + FloatText(fq.ih[i]) + "], output [" + FloatText(fq.ol[i]) + ", " +
                           FloatText(fq.oh[i]) + "]) in channel " + std::to_string(i));
    }
    // Stored q = index + q_min must dequantize to index * scale + ol.
    const double z = double(out.q_min) - double(fq.ol[i]) / double(s);
    const int32_t zp = IntegralZeroPoint(z, fq_name, i, &out.notes);
    if (zp < -128 || zp > 127) {
      return Status::Error(fq_name + ": weight zero point " + FloatText(z) + " in channel " +
                           std::to_string(i) + " is outside int8");
    }
    out.scale.push_back(s);
    out.zero_point.push_back(zp);
  }
  return out;
}

std::vector<int8_t> QuantizeWeightsToInt8(std::span<const float> w, const Shape& shape, int axis,
                                          const FqLimits& fq, int64_t q_min) {
  const size_t channels = fq.il.size();
  int64_t inner = 1;
  int64_t dim = 1;
  if (channels > 1) {
    CHECK_GE(axis, 0);
    CHECK_LT(size_t(axis), shape.size());
    dim = shape[size_t(axis)];
    CHECK_EQ(size_t(dim), channels);
    for (size_t i = size_t(axis) + 1; i < shape.size(); ++i) inner *= shape[i];
  }
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t ch = channels > 1 ? size_t((int64_t(i) / inner) % dim) : 0;
    q[i] = static_cast<int8_t>(FqLevelIndex(w[i], fq.il[ch], fq.ih[ch], fq.levels) + q_min);
  }
  return q;
}

Status CheckOnnxModel(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Status::Error(std::string("ONNX checker: ") + e.what());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- the export

namespace {

std::string OnnxNodeKey(const onnx::NodeProto& n) {
  if (!n.name().empty()) return n.name();
  return n.output_size() > 0 ? n.output(0) : std::string();
}

int DefaultOpset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  }
  return -1;
}

void SetRawFloats(onnx::TensorProto* t, const std::vector<float>& v) {
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->clear_float_data();
  t->clear_double_data();
  t->clear_int32_data();
  t->clear_int64_data();
  t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

// Every tensor name a node (and its sub-graphs, which may capture outer names) reads.
void CollectReads(const onnx::GraphProto& g, std::unordered_set<std::string>* reads) {
  for (const auto& n : g.node()) {
    for (const auto& i : n.input()) {
      if (!i.empty()) reads->insert(i);
    }
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectReads(a.g(), reads);
      for (const auto& sg : a.graphs()) CollectReads(sg, reads);
    }
  }
}

// Nodes (by key) whose outputs nobody reads and initializers nobody reads, to a fixpoint.
void DeadSets(const onnx::GraphProto& g, std::set<std::string>* dead_nodes,
              std::set<std::string>* dead_inits) {
  onnx::GraphProto copy = g;
  bool changed = true;
  while (changed) {
    changed = false;
    std::unordered_set<std::string> reads;
    CollectReads(copy, &reads);
    for (const auto& o : copy.output()) reads.insert(o.name());
    auto* nodes = copy.mutable_node();
    for (int i = nodes->size() - 1; i >= 0; --i) {
      const onnx::NodeProto& n = nodes->Get(i);
      bool used = n.output_size() == 0;
      for (const auto& o : n.output()) used = used || reads.count(o);
      if (!used) {
        dead_nodes->insert(OnnxNodeKey(n));
        nodes->DeleteSubrange(i, 1);
        changed = true;
      }
    }
    if (!changed) {
      for (const auto& t : copy.initializer()) {
        if (!reads.count(t.name())) dead_inits->insert(t.name());
      }
    }
  }
}

struct Slot {
  enum Kind { kTensor, kNullBias } kind = kTensor;
  std::string tensor;       // the ONNX tensor the constant stands for
  bool transposed = false;  // graph data = ONNX data with the last two axes swapped
  int node = -1;            // derived slots: the ONNX node reading it ...
  int input = -1;           // ... at this input (cloning rewires only this one)
};

class QdqBuilder {
 public:
  QdqBuilder(const onnx::ModelProto& original, const Graph& g, const quant::QuantizationPlan& plan,
             const QdqWriterOptions& options, QdqExportSummary* summary)
      : original_(original), g_(g), plan_(plan), options_(options), sum_(*summary) {}

  Status Run(onnx::ModelProto* out) {
    PTQ_RETURN_IF_ERROR(PrepareModel());
    consumers_ = g_.BuildConsumers();
    Index();
    for (const quant::FqInfo& info : plan_.fqs) {
      if (!g_.contains(info.fq) || !g_.node(info.fq).alive ||
          g_.node(info.fq).type != "FakeQuantize") {
        return Status::Error("quantization plan names node " + std::to_string(info.fq) +
                             ", which is not a FakeQuantize of the graph");
      }
      fq_nodes_.insert(info.fq);
    }
    for (const quant::FqInfo& info : plan_.fqs) PTQ_RETURN_IF_ERROR(ExportFq(info.fq));
    PTQ_RETURN_IF_ERROR(WriteBackConstants());
    AssembleNodes();
    RemoveNewlyDead();
    if (options_.check_model) PTQ_RETURN_IF_ERROR(CheckOnnxModel(m_));
    *out = std::move(m_);
    return Status::Ok();
  }

 private:
  // ---- model preparation and indices

  Status PrepareModel() {
    m_ = original_;
    const int opset = DefaultOpset(m_);
    sum_.opset_before = opset;
    if (opset < 0) return Status::Error("the model imports no opset of the default ONNX domain");
    if (opset < 13) {
      try {
        // Some adapters need an input's rank (Softmax 12 -> 13 checks its axis against it):
        // declare the rank of every f32 tensor the imported graph knows, for the conversion only
        // (dimensions left unnamed, so nothing is fixed that the model leaves dynamic).
        const int own_value_info = m_.graph().value_info_size();
        std::set<std::string> declared;
        for (const auto& v : m_.graph().input()) declared.insert(v.name());
        for (const auto& v : m_.graph().output()) declared.insert(v.name());
        for (const auto& v : m_.graph().value_info()) declared.insert(v.name());
        for (const auto& t : m_.graph().initializer()) declared.insert(t.name());
        for (graph::NodeId id : g_.LiveNodes()) {
          for (const graph::OutputPort& port : g_.node(id).outputs) {
            if (port.type != graph::ElementType::kF32 || !port.shape.rank_known()) continue;
            for (const std::string& name : port.names) {
              if (!declared.insert(name).second) continue;
              onnx::ValueInfoProto* vi = m_.mutable_graph()->add_value_info();
              vi->set_name(name);
              onnx::TypeProto_Tensor* tt = vi->mutable_type()->mutable_tensor_type();
              tt->set_elem_type(onnx::TensorProto::FLOAT);
              onnx::TensorShapeProto* shape = tt->mutable_shape();
              for (size_t k = 0; k < port.shape.rank(); ++k) shape->add_dim();
            }
          }
        }
        m_ = onnx::version_conversion::ConvertVersion(m_, 13);
        while (m_.graph().value_info_size() > own_value_info) {
          m_.mutable_graph()->mutable_value_info()->RemoveLast();
        }
      } catch (const std::exception& e) {
        return Status::Error(
            "the model has opset " + std::to_string(opset) +
            "; per-axis QuantizeLinear/DequantizeLinear need opset 13 and ONNX's version "
            "converter could not convert it: " +
            e.what());
      }
      if (DefaultOpset(m_) < 13) {
        return Status::Error("ONNX's version converter left the model at opset " +
                             std::to_string(DefaultOpset(m_)) + " (13 needed)");
      }
    }
    if (m_.ir_version() < 7) m_.set_ir_version(7);
    sum_.opset_after = DefaultOpset(m_);
    reference_ = m_;  // the original values, read while m_ changes
    DeadSets(m_.graph(), &dead_nodes_before_, &dead_inits_before_);
    return Status::Ok();
  }

  void Index() {
    const onnx::GraphProto& gp = m_.graph();
    for (int i = 0; i < gp.node_size(); ++i) {
      const onnx::NodeProto& n = gp.node(i);
      const std::string key = OnnxNodeKey(n);
      auto [it, fresh] = node_by_key_.emplace(key, i);
      if (!fresh) it->second = -2;  // ambiguous
      for (const auto& o : n.output()) {
        if (!o.empty()) producer_[o] = i;
        names_.insert(o);
      }
      for (const auto& in : n.input()) {
        if (!in.empty()) readers_[in].push_back(i);
      }
      if (!n.name().empty()) names_.insert(n.name());
    }
    for (int i = 0; i < gp.initializer_size(); ++i) {
      initializer_[gp.initializer(i).name()] = i;
      names_.insert(gp.initializer(i).name());
    }
    for (const auto& in : gp.input()) names_.insert(in.name());
    for (const auto& o : gp.output()) {
      names_.insert(o.name());
      graph_outputs_.insert(o.name());
    }
    for (const auto& v : gp.value_info()) names_.insert(v.name());
  }

  std::string Unique(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }

  Result<int> OnnxNode(const Node& n) {
    auto it = node_by_key_.find(n.onnx_node);
    if (it == node_by_key_.end()) {
      return Status::Error(graph::Describe(n) + " comes from ONNX node '" + n.onnx_node +
                           "', which is not a node of the model's main graph");
    }
    if (it->second < 0) {
      return Status::Error(graph::Describe(n) + " comes from ONNX node '" + n.onnx_node +
                           "', a name several nodes of the model share");
    }
    return it->second;
  }

  std::vector<graph::Graph::Use> Uses(ValueRef v) const {
    auto it = consumers_.find(v);
    return it == consumers_.end() ? std::vector<graph::Graph::Use>{} : it->second;
  }

  // ---- constants and their ONNX origin

  // The ONNX (initializer or Constant) proto holding tensor `name` in the reference model.
  const onnx::TensorProto* ConstantProto(const std::string& name) const {
    const onnx::GraphProto& gp = reference_.graph();
    for (const auto& t : gp.initializer()) {
      if (t.name() == name) return &t;
    }
    for (const auto& n : gp.node()) {
      if (n.op_type() != "Constant" || n.output_size() != 1 || n.output(0) != name) continue;
      for (const auto& a : n.attribute()) {
        if (a.name() == "value" && a.has_t()) return &a.t();
      }
    }
    return nullptr;
  }

  // The mutable proto (in m_) of an initializer or Constant "value" named `name`, or nullptr.
  onnx::TensorProto* MutableConstantProto(const std::string& name) {
    auto it = initializer_.find(name);
    if (it != initializer_.end()) return m_.mutable_graph()->mutable_initializer(it->second);
    auto p = producer_.find(name);
    if (p == producer_.end()) return nullptr;
    onnx::NodeProto* n = m_.mutable_graph()->mutable_node(p->second);
    if (n->op_type() != "Constant" || n->output_size() != 1) return nullptr;
    for (auto& a : *n->mutable_attribute()) {
      if (a.name() == "value" && a.has_t()) return a.mutable_t();
    }
    return nullptr;
  }

  // The original value of ONNX tensor `name`: an initializer / Constant, else the constant the
  // importer folded it to (fresh import of the original model). nullopt if none.
  Result<std::optional<Tensor>> OriginalValue(const std::string& name) {
    if (const onnx::TensorProto* t = ConstantProto(name)) {
      auto v = onnx_import::TensorFromProto(*t);
      if (!v.ok()) return v.status().WithContext("ONNX tensor '" + name + "'");
      return std::optional<Tensor>(std::move(v).value());
    }
    PTQ_RETURN_IF_ERROR(EnsureBaseline());
    auto it = baseline_by_tensor_.find(name);
    if (it == baseline_by_tensor_.end()) return std::optional<Tensor>();
    const Node& n = baseline_->node(it->second);
    if (n.is_const()) return std::optional<Tensor>(n.constant);
    // FP16 weights: Const(f16) -> Convert(f32), which placement folds.
    if (n.type == "Convert" && n.inputs.size() == 1 &&
        baseline_->node(n.input(0).node).is_const()) {
      return std::optional<Tensor>(baseline_->node(n.input(0).node).constant.ToF32());
    }
    return std::optional<Tensor>();
  }

  // A fresh import of the original model: the values the importer folded, and the helper
  // constants of every translation, as they were before placement and the algorithms.
  Status EnsureBaseline() {
    if (baseline_) return Status::Ok();
    std::string bytes;
    original_.SerializeToString(&bytes);
    auto b = ImportOnnxFromBytes(bytes, "the original model", options_.import_options);
    if (!b.ok()) {
      return b.status().WithContext("re-importing the original model to compare constants");
    }
    baseline_ = std::make_unique<Graph>(std::move(b).value());
    for (NodeId id : baseline_->LiveNodes()) {
      const Node& n = baseline_->node(id);
      for (const auto& p : n.outputs) {
        if (!p.onnx_tensor.empty()) baseline_by_tensor_.emplace(p.onnx_tensor, id);
      }
      if (n.is_const()) baseline_const_by_name_.emplace(n.name, id);
    }
    return Status::Ok();
  }

  // A float constant of some translation (no ONNX tensor of its own) must be unchanged: the
  // writer has nowhere to put a new value.
  Status CheckHelperUnchanged(NodeId c) {
    const Node& cn = g_.node(c);
    PTQ_RETURN_IF_ERROR(EnsureBaseline());
    // Constants placement made have names the import does not produce.
    auto it = baseline_const_by_name_.find(cn.name);
    if (it == baseline_const_by_name_.end()) return Status::Ok();
    const Tensor& b = baseline_->node(it->second).constant;
    if (b.shape() == cn.constant.shape() && b.ToDoubles() == cn.constant.ToDoubles()) {
      return Status::Ok();
    }
    return Status::Error(graph::Describe(cn) + ", a constant of the translation of ONNX node '" +
                         baseline_->node(it->second).onnx_node +
                         "' (or folded by the importer), was changed, and the QDQ writer cannot "
                         "map that change back onto the ONNX model");
  }

  // ONNX dims of tensor `name` if it is an initializer / Constant.
  std::optional<Shape> ConstantDims(const std::string& name) const {
    const onnx::TensorProto* t = ConstantProto(name);
    if (!t) return std::nullopt;
    return Shape(t->dims().begin(), t->dims().end());
  }

  // Follows a constant's value through FakeQuantize (input 0) and placement's Reshapes without
  // ONNX origin to the ops that use it.
  void EffectiveUses(ValueRef v, std::vector<graph::Graph::Use>* out, int depth = 0) const {
    for (const auto& u : Uses(v)) {
      const Node& n = g_.node(u.node);
      if (depth < 4 && u.input == 0 &&
          (n.type == "FakeQuantize" || (n.type == "Reshape" && n.onnx_node.empty()))) {
        EffectiveUses({u.node, 0}, out, depth + 1);
      } else {
        out->push_back(u);
      }
    }
  }

  // Whether the importer's / placement's MatMul preparation transposed this constant relative
  // to the ONNX tensor: it feeds MatMul input 1 with transpose_b, and that MatMul is an ONNX
  // MatMul or a Gemm with transB = 0 (both imported with transpose_b = false).
  Result<bool> TransposedForMatMul(NodeId c) {
    std::vector<graph::Graph::Use> uses;
    EffectiveUses({c, 0}, &uses);
    for (const auto& u : uses) {
      const Node& n = g_.node(u.node);
      if (n.type != "MatMul" || u.input != 1) continue;
      auto tb = n.attrs.GetBool("transpose_b", false);
      if (!tb.ok() || !*tb) continue;
      PTQ_ASSIGN_OR_RETURN(int idx, OnnxNode(n));
      const onnx::NodeProto& on = m_.graph().node(idx);
      if (on.op_type() == "MatMul") return true;
      if (on.op_type() == "Gemm") {
        for (const auto& a : on.attribute()) {
          if (a.name() == "transB") return a.i() == 0;
        }
        return true;
      }
      return Status::Error(graph::Describe(g_.node(c)) + " feeds " + graph::Describe(n) +
                           " of ONNX " + on.op_type() + " node '" + n.onnx_node +
                           "' with a layout the QDQ writer cannot map back");
    }
    return false;
  }

  static bool ConvLike(const std::string& t) {
    return t == "Convolution" || t == "GroupConvolution" || t == "ConvolutionBackpropData" ||
           t == "GroupConvolutionBackpropData";
  }

  // The ONNX tensor a graph constant stands for (nullopt: a helper constant of some
  // translation, e.g. axes or shapes).
  Result<std::optional<Slot>> FindSlot(NodeId c) {
    const Node& cn = g_.node(c);
    Slot s;
    PTQ_ASSIGN_OR_RETURN(s.transposed, TransposedForMatMul(c));
    if (!cn.outputs[0].onnx_tensor.empty()) {
      s.tensor = cn.outputs[0].onnx_tensor;
      return std::optional<Slot>(s);
    }
    std::vector<graph::Graph::Use> uses;
    EffectiveUses({c, 0}, &uses);
    for (const auto& u : uses) {
      const Node& x = g_.node(u.node);
      if (x.onnx_node.empty()) {
        // Placement's zero bias after a bias-less convolution: Add(conv, c).
        if (x.type == "Add" && x.inputs.size() == 2) {
          const Node& other = g_.node(x.inputs[1 - u.input].source.node);
          if (ConvLike(other.type) && !other.onnx_node.empty()) {
            PTQ_ASSIGN_OR_RETURN(int idx, OnnxNode(other));
            s.kind = Slot::kNullBias;
            s.node = idx;
            s.input = 2;
            return std::optional<Slot>(s);
          }
        }
        continue;
      }
      PTQ_ASSIGN_OR_RETURN(int idx, OnnxNode(x));
      const onnx::NodeProto& on = m_.graph().node(idx);
      const bool conv = on.op_type() == "Conv" || on.op_type() == "ConvTranspose";
      if (u.input == 1 &&
          ((ConvLike(x.type) && conv) ||
           (x.type == "MatMul" && (on.op_type() == "MatMul" || on.op_type() == "Gemm")))) {
        s.node = idx;
        s.input = 1;
      } else if (x.type == "Add" && conv && on.input_size() >= 3 && !on.input(2).empty()) {
        s.node = idx;
        s.input = 2;
      } else {
        continue;
      }
      if (on.input_size() <= s.input || on.input(s.input).empty()) continue;
      s.tensor = on.input(s.input);
      return std::optional<Slot>(s);
    }
    return std::optional<Slot>();
  }

  // Undoes the MatMul preparation's transposition (last two axes of `shape`).
  template <typename T>
  static std::vector<T> TransposeLastTwo(const std::vector<T>& v, const Shape& shape) {
    const size_t r = shape.size();
    const int64_t rows = shape[r - 2], cols = shape[r - 1];
    const int64_t batch = rows * cols > 0 ? int64_t(v.size()) / (rows * cols) : 0;
    std::vector<T> out(v.size());
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          out[size_t((b * cols + j) * rows + i)] = v[size_t((b * rows + i) * cols + j)];
        }
      }
    }
    return out;
  }

  // ---- new ONNX entities

  std::string AddInitializer(const std::string& base, int32_t data_type, const Shape& dims,
                             const void* data, size_t nbytes) {
    onnx::TensorProto* t = m_.mutable_graph()->add_initializer();
    const std::string name = Unique(base);
    t->set_name(name);
    t->set_data_type(data_type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(data), nbytes));
    initializer_[name] = m_.graph().initializer_size() - 1;
    return name;
  }
  std::string AddFloats(const std::string& base, const Shape& dims, const std::vector<float>& v) {
    return AddInitializer(base, onnx::TensorProto::FLOAT, dims, v.data(), v.size() * sizeof(float));
  }
  std::string AddZeroPoints(const std::string& base, const Shape& dims, QdqStorage st,
                            const std::vector<int32_t>& zp) {
    std::vector<int8_t> b(zp.size());
    for (size_t i = 0; i < zp.size(); ++i) {
      b[i] = st == QdqStorage::kInt8 ? static_cast<int8_t>(zp[i])
                                     : static_cast<int8_t>(static_cast<uint8_t>(zp[i]));
    }
    return AddInitializer(
        base, st == QdqStorage::kInt8 ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8, dims,
        b.data(), b.size());
  }

  // Adds a node to be placed in front of its first reader; returns its output name.
  std::string AddNode(const std::string& op, const std::string& base,
                      std::vector<std::string> inputs, std::optional<int64_t> axis = {}) {
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_name(Unique(base + "_" + op));
    for (auto& i : inputs) n.add_input(i);
    const std::string out = Unique(base + "_" + op + "_out");
    n.add_output(out);
    if (axis) {
      onnx::AttributeProto* a = n.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(*axis);
    }
    pending_producer_[out] = pending_.size();
    pending_.push_back(std::move(n));
    return out;
  }

  // Replaces `from` by `to` in the inputs of ONNX node `idx`; error if it does not read `from`.
  Status Rewire(int idx, const std::string& from, const std::string& to, const std::string& fq) {
    onnx::NodeProto* n = m_.mutable_graph()->mutable_node(idx);
    bool found = false;
    for (auto& in : *n->mutable_input()) {
      if (in == from) {
        in = to;
        found = true;
      }
    }
    if (!found) {
      return Status::Error(fq + ": its consumer ONNX node '" + OnnxNodeKey(*n) + "' (" +
                           n->op_type() + ") does not read ONNX tensor '" + from + "'");
    }
    return Status::Ok();
  }

  // The ONNX nodes of the ops reading an FQ's output (through placement's helper ops).
  Status OnnxConsumers(ValueRef v, std::set<int>* out, int depth = 0) {
    for (const auto& u : Uses(v)) {
      const Node& n = g_.node(u.node);
      if (!n.onnx_node.empty()) {
        PTQ_ASSIGN_OR_RETURN(int idx, OnnxNode(n));
        out->insert(idx);
      } else if (depth < 4 && n.type != "Result" && n.outputs.size() == 1) {
        PTQ_RETURN_IF_ERROR(OnnxConsumers({u.node, 0}, out, depth + 1));
      } else {
        return Status::Error(graph::Describe(n) +
                             " reads a FakeQuantize output but has no ONNX "
                             "origin");
      }
    }
    return Status::Ok();
  }

  // ---- one FakeQuantize

  Result<std::pair<FqLimits, int>> ReadLimits(const Node& fq, size_t rank) {
    const std::string what = graph::Describe(fq);
    if (fq.inputs.size() != 5) return Status::Error(what + ": expected 5 inputs");
    auto levels = fq.attrs.GetInt("levels");
    if (!levels.ok()) return Status::Error(what + ": " + levels.status().message());
    std::vector<float> lim[4];
    int axis = -1;
    size_t channels = 1;
    for (size_t k = 0; k < 4; ++k) {
      const Node& c = g_.node(fq.input(k + 1).node);
      if (!c.is_const())
        return Status::Error(what + ": limit input " + std::to_string(k + 1) +
                             " is not a constant");
      const Tensor t = c.constant.ToF32();
      lim[k].assign(t.data<float>(), t.data<float>() + t.size());
      if (t.size() > 1) {
        const Shape& s = t.shape();
        int a = -1;
        for (size_t i = 0; i < s.size(); ++i) {
          if (s[i] == 1) continue;
          if (a >= 0) return Status::Error(what + ": limits vary along more than one axis");
          a = int(i);
        }
        // Limits of lower rank broadcast from the right (numpy).
        a += int(rank) - int(s.size());
        if ((axis >= 0 && a != axis) || (channels > 1 && size_t(t.size()) != channels)) {
          return Status::Error(what + ": limits disagree on the channel axis");
        }
        axis = a;
        channels = size_t(t.size());
      }
    }
    FqLimits out;
    out.levels = *levels;
    std::vector<float>* dst[4] = {&out.il, &out.ih, &out.ol, &out.oh};
    for (size_t k = 0; k < 4; ++k) {
      if (lim[k].size() == 1) {
        dst[k]->assign(channels, lim[k][0]);
      } else {
        *dst[k] = lim[k];
      }
    }
    return std::make_pair(std::move(out), axis);
  }

  Status ExportFq(NodeId fq_id) {
    const Node& fq = g_.node(fq_id);
    const std::string what = graph::Describe(fq);
    const ValueRef in = fq.input(0);
    const Node& src = g_.node(in.node);
    const graph::OutputPort& port = g_.output(in);
    const size_t rank = port.shape.rank_known() ? port.shape.rank() : 0;
    PTQ_ASSIGN_OR_RETURN(auto limits,
                         ReadLimits(fq, src.is_const() ? src.constant.shape().size() : rank));
    auto& [fql, axis] = limits;
    std::set<int> consumers;
    PTQ_RETURN_IF_ERROR(OnnxConsumers({fq_id, 0}, &consumers));
    if (src.is_const()) return ExportWeights(fq_id, fql, axis, consumers);

    // Activations: Q → DQ on the ONNX tensor.
    const std::string& t = port.onnx_tensor;
    if (t.empty()) {
      return Status::Error(what + " quantizes output " + std::to_string(in.port) + " of " +
                           graph::Describe(src) +
                           ", a value internal to the translation of ONNX node '" + src.onnx_node +
                           "' with no ONNX tensor to put QuantizeLinear on");
    }
    PTQ_ASSIGN_OR_RETURN(ActivationQdq q, ActivationQdqFromFq(fql, what));
    for (auto& n : q.notes) sum_.notes.push_back(std::move(n));
    const bool per_channel = fql.il.size() > 1;
    Shape dims;
    if (per_channel) dims = {int64_t(fql.il.size())};
    std::string x = t;
    if (q.clip) {
      if (!per_channel) {
        x = AddNode(
            "Clip", t,
            {x, AddFloats(t + "_clip_min", {}, fql.il), AddFloats(t + "_clip_max", {}, fql.ih)});
      } else {
        Shape bs(rank, 1);
        bs[size_t(axis)] = int64_t(fql.il.size());
        x = AddNode("Max", t, {x, AddFloats(t + "_clip_min", bs, fql.il)});
        x = AddNode("Min", t, {x, AddFloats(t + "_clip_max", bs, fql.ih)});
      }
      ++sum_.clips;
    }
    const std::string scale = AddFloats(t + "_scale", dims, q.scale);
    const std::string zp = AddZeroPoints(t + "_zero_point", dims, q.storage, q.zero_point);
    std::optional<int64_t> ax;
    if (per_channel) ax = axis;
    const std::string qo = AddNode("QuantizeLinear", t, {x, scale, zp}, ax);
    const std::string dq = AddNode("DequantizeLinear", t, {qo, scale, zp}, ax);
    for (int idx : consumers) PTQ_RETURN_IF_ERROR(Rewire(idx, t, dq, what));
    ++sum_.activation_pairs;
    if (per_channel) ++sum_.per_channel;
    return Status::Ok();
  }

  Status ExportWeights(NodeId fq_id, const FqLimits& fql, int axis,
                       const std::set<int>& consumers) {
    const Node& fq = g_.node(fq_id);
    const std::string what = graph::Describe(fq);
    const NodeId c = fq.input(0).node;
    PTQ_ASSIGN_OR_RETURN(std::optional<Slot> slot, FindSlot(c));
    if (!slot || slot->kind != Slot::kTensor) {
      return Status::Error(what + " quantizes constant " + graph::Describe(g_.node(c)) +
                           ", which the QDQ writer cannot trace back to an ONNX initializer");
    }
    PTQ_ASSIGN_OR_RETURN(WeightQdq q, WeightQdqFromFq(fql, what));
    for (auto& n : q.notes) sum_.notes.push_back(std::move(n));
    const Tensor w = g_.node(c).constant.ToF32();
    Shape shape = w.shape();
    std::vector<int8_t> data = QuantizeWeightsToInt8(w.span<float>(), shape, axis, fql, q.q_min);
    if (slot->transposed) {
      if (shape.size() < 2) return Status::Error(what + ": transposed weights of rank < 2");
      data = TransposeLastTwo(data, shape);
      std::swap(shape[shape.size() - 2], shape[shape.size() - 1]);
      if (axis == int(shape.size()) - 1) {
        axis = int(shape.size()) - 2;
      } else if (axis == int(shape.size()) - 2) {
        axis = int(shape.size()) - 1;
      }
    }
    const std::string& t = slot->tensor;
    std::optional<Shape> odims = ConstantDims(t);
    Shape dims = odims ? *odims : shape;
    if (graph::ElementCount(dims) != graph::ElementCount(shape)) {
      return Status::Error(what + ": ONNX tensor '" + t + "' has " +
                           std::to_string(graph::ElementCount(dims)) + " elements, the graph's " +
                           graph::Describe(g_.node(c)) + " " +
                           std::to_string(graph::ElementCount(shape)));
    }
    const bool per_channel = fql.il.size() > 1;
    if (per_channel && dims != shape) {
      return Status::Error(what + ": per-channel weights of shape " +
                           graph::PartialShape(shape).ToString() + " do not match ONNX tensor '" +
                           t + "' of shape " + graph::PartialShape(dims).ToString());
    }
    Shape cdims;
    if (per_channel) cdims = {int64_t(fql.il.size())};
    const std::string qw =
        AddInitializer(t + "_quantized", onnx::TensorProto::INT8, dims, data.data(), data.size());
    const std::string scale = AddFloats(t + "_scale", cdims, q.scale);
    const std::string zp = AddZeroPoints(t + "_zero_point", cdims, QdqStorage::kInt8, q.zero_point);
    std::optional<int64_t> ax;
    if (per_channel) ax = axis;
    const std::string dq = AddNode("DequantizeLinear", t, {qw, scale, zp}, ax);
    for (int idx : consumers) PTQ_RETURN_IF_ERROR(Rewire(idx, t, dq, what));
    ++sum_.weight_dequantizers;
    if (per_channel) ++sum_.per_channel;
    return Status::Ok();
  }

  // ---- edited constants

  bool OnlyFeedsWeightFqs(NodeId c) const {
    const auto uses = Uses({c, 0});
    if (uses.empty()) return false;
    for (const auto& u : uses) {
      if (!fq_nodes_.count(u.node) || u.input != 0) return false;
    }
    return true;
  }

  Status WriteBackConstants() {
    std::set<NodeId> limit_consts;
    for (NodeId f : fq_nodes_) {
      for (size_t k = 1; k < g_.node(f).inputs.size(); ++k) {
        limit_consts.insert(g_.node(f).input(k).node);
      }
    }
    for (NodeId c : g_.NodesOfType("Const")) {
      const Node& cn = g_.node(c);
      const ElementType et = cn.constant.type();
      if (limit_consts.count(c) || OnlyFeedsWeightFqs(c)) continue;
      if (et != ElementType::kF32 && et != ElementType::kF16 && et != ElementType::kBF16 &&
          et != ElementType::kF64) {
        continue;  // algorithms edit float weights and biases only
      }
      if (Uses({c, 0}).empty()) continue;
      PTQ_ASSIGN_OR_RETURN(std::optional<Slot> slot, FindSlot(c));
      if (!slot) {
        PTQ_RETURN_IF_ERROR(CheckHelperUnchanged(c));
        continue;
      }
      const Tensor cur32 = cn.constant.ToF32();
      std::vector<float> cur(cur32.data<float>(), cur32.data<float>() + cur32.size());
      if (slot->transposed) cur = TransposeLastTwo(cur, cur32.shape());
      if (slot->kind == Slot::kNullBias) {
        PTQ_RETURN_IF_ERROR(AddBias(c, *slot, cur));
        continue;
      }
      PTQ_ASSIGN_OR_RETURN(std::optional<Tensor> orig, OriginalValue(slot->tensor));
      const std::string what = graph::Describe(cn) + " (ONNX tensor '" + slot->tensor + "')";
      if (!orig) {
        return Status::Error(what +
                             ": the original value is unknown, so whether the "
                             "algorithms edited it cannot be checked");
      }
      if (orig->size() != int64_t(cur.size())) {
        return Status::Error(what + " has " + std::to_string(cur.size()) +
                             " elements, the ONNX tensor " + std::to_string(orig->size()));
      }
      const std::vector<double> ov = orig->ToDoubles();
      bool same = true;
      for (size_t i = 0; i < cur.size() && same; ++i) same = double(cur[i]) == ov[i];
      if (same) continue;
      PTQ_RETURN_IF_ERROR(WriteConstant(*slot, cur, orig->shape(), what));
      ++sum_.constants_written;
    }
    return Status::Ok();
  }

  // Writes `v` (ONNX layout, shape `dims`) as the new value of the slot's tensor.
  Status WriteConstant(const Slot& s, const std::vector<float>& v, const Shape& dims,
                       const std::string& what) {
    onnx::TensorProto* proto = MutableConstantProto(s.tensor);
    const auto rit = readers_.find(s.tensor);
    const size_t readers = rit == readers_.end() ? 0 : rit->second.size();
    const bool direct = s.node < 0;
    if (graph_outputs_.count(s.tensor)) {
      return Status::Error(what + " was edited by the algorithms but is also a model output");
    }
    if (proto && (direct || readers <= 1)) {
      if (proto->data_type() != onnx::TensorProto::FLOAT) {
        return Status::Error(what +
                             " was edited by the algorithms, but the ONNX tensor is not "
                             "float32");
      }
      SetRawFloats(proto, v);
      return Status::Ok();
    }
    // A new initializer: for the one node that needs it (a derived slot whose tensor others
    // read too), or for every reader (a value the importer folded).
    const std::string name = AddFloats(s.tensor + "_ptq", dims, v);
    if (!direct) {
      m_.mutable_graph()->mutable_node(s.node)->set_input(s.input, name);
    } else if (rit != readers_.end()) {
      for (int idx : rit->second) PTQ_RETURN_IF_ERROR(Rewire(idx, s.tensor, name, what));
    }
    return Status::Ok();
  }

  Status AddBias(NodeId c, const Slot& s, const std::vector<float>& v) {
    bool zero = true;
    for (float x : v) zero = zero && x == 0.f;
    if (zero) return Status::Ok();
    onnx::NodeProto* n = m_.mutable_graph()->mutable_node(s.node);
    const std::string what = graph::Describe(g_.node(c));
    if (n->op_type() != "Conv" && n->op_type() != "ConvTranspose") {
      return Status::Error(what + ": a bias the algorithms added to ONNX node '" + OnnxNodeKey(*n) +
                           "' (" + n->op_type() + ") has no place in that node");
    }
    if (n->input_size() >= 3 && !n->input(2).empty()) {
      return Status::Error(what + ": ONNX node '" + OnnxNodeKey(*n) +
                           "' already has a bias, yet the graph inserted another");
    }
    const std::string name = AddFloats(OnnxNodeKey(*n) + "_bias", {int64_t(v.size())}, v);
    while (n->input_size() < 2) n->add_input("");
    if (n->input_size() == 2) {
      n->add_input(name);
    } else {
      n->set_input(2, name);
    }
    ++sum_.biases_added;
    return Status::Ok();
  }

  // ---- final node list

  void AssembleNodes() {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    std::vector<char> emitted(pending_.size(), 0);
    std::function<void(size_t)> emit = [&](size_t p) {
      if (emitted[p]) return;
      emitted[p] = 1;
      for (const auto& in : pending_[p].input()) {
        auto it = pending_producer_.find(in);
        if (it != pending_producer_.end()) emit(it->second);
      }
      *nodes.Add() = pending_[p];
    };
    for (auto& n : *m_.mutable_graph()->mutable_node()) {
      for (const auto& in : n.input()) {
        auto it = pending_producer_.find(in);
        if (it != pending_producer_.end()) emit(it->second);
      }
      *nodes.Add() = std::move(n);
    }
    for (size_t p = 0; p < pending_.size(); ++p) emit(p);
    m_.mutable_graph()->mutable_node()->Swap(&nodes);
  }

  void RemoveNewlyDead() {
    onnx::GraphProto* gp = m_.mutable_graph();
    bool changed = true;
    while (changed) {
      changed = false;
      std::unordered_set<std::string> reads;
      CollectReads(*gp, &reads);
      for (const auto& o : gp->output()) reads.insert(o.name());
      auto* nodes = gp->mutable_node();
      for (int i = nodes->size() - 1; i >= 0; --i) {
        const onnx::NodeProto& n = nodes->Get(i);
        bool used = n.output_size() == 0;
        for (const auto& o : n.output()) used = used || reads.count(o);
        if (!used && !dead_nodes_before_.count(OnnxNodeKey(n))) {
          nodes->DeleteSubrange(i, 1);
          ++sum_.nodes_removed;
          changed = true;
        }
      }
      if (changed) continue;
      std::set<std::string> removed;
      auto* inits = gp->mutable_initializer();
      for (int i = inits->size() - 1; i >= 0; --i) {
        const std::string& name = inits->Get(i).name();
        if (!reads.count(name) && !dead_inits_before_.count(name)) {
          removed.insert(name);
          inits->DeleteSubrange(i, 1);
        }
      }
      auto* inputs = gp->mutable_input();
      for (int i = inputs->size() - 1; i >= 0; --i) {
        if (removed.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
      }
    }
  }

  const onnx::ModelProto& original_;
  const Graph& g_;
  const quant::QuantizationPlan& plan_;
  const QdqWriterOptions& options_;
  QdqExportSummary& sum_;

  onnx::ModelProto m_;          // being rewritten
  onnx::ModelProto reference_;  // m_ before any change (after the opset conversion)
  std::unordered_map<ValueRef, std::vector<graph::Graph::Use>, graph::ValueRefHash> consumers_;
  std::set<NodeId> fq_nodes_;
  std::unordered_map<std::string, int> node_by_key_;  // -2 = ambiguous
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> readers_;
  std::unordered_map<std::string, int> initializer_;
  std::set<std::string> names_;
  std::set<std::string> graph_outputs_;
  std::set<std::string> dead_nodes_before_, dead_inits_before_;
  std::vector<onnx::NodeProto> pending_;
  std::unordered_map<std::string, size_t> pending_producer_;
  std::unique_ptr<Graph> baseline_;
  std::unordered_map<std::string, NodeId> baseline_by_tensor_;
  std::unordered_map<std::string, NodeId> baseline_const_by_name_;
};

}  // namespace

Result<QdqExportSummary> BuildQdqModel(const onnx::ModelProto& original, const Graph& quantized,
                                       const quant::QuantizationPlan& plan,
                                       const QdqWriterOptions& options, onnx::ModelProto* out) {
  QdqExportSummary summary;
  try {
    QdqBuilder b(original, quantized, plan, options, &summary);
    PTQ_RETURN_IF_ERROR(b.Run(out));
  } catch (const std::exception& e) {
    return Status::Error(std::string("QDQ export failed: ") + e.what());
  }
  return summary;
}

Result<QdqExportSummary> WriteQdqOnnx(const std::filesystem::path& original_onnx,
                                      const Graph& quantized, const quant::QuantizationPlan& plan,
                                      const std::filesystem::path& out,
                                      const QdqWriterOptions& options) {
  onnx::ModelProto m;
  {
    std::ifstream f(original_onnx, std::ios::binary);
    if (!f) return Status::Error(original_onnx.string() + ": cannot open the ONNX model file");
    if (!m.ParseFromIstream(&f)) {
      return Status::Error(original_onnx.string() + ": not a valid ONNX model");
    }
  }
  onnx::ModelProto q;
  auto summary = BuildQdqModel(m, quantized, plan, options, &q);
  if (!summary.ok()) {
    return summary.status().WithContext("QDQ export of " + original_onnx.string() + " to " +
                                        out.string());
  }
  std::string bytes;
  if (!q.SerializeToString(&bytes)) {
    return Status::Error(out.string() + ": cannot serialize the QDQ model (larger than 2 GB?)");
  }
  PTQ_RETURN_IF_ERROR(WriteFileAtomically(out, bytes));
  return summary;
}

}  // namespace ptqflow::io
