#include "io/onnx/onnx_importer.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "graph/ops/shape_inference.h"
#include "io/onnx/onnx_context.h"

namespace ptqflow::io {
namespace onnx_import {
namespace {

using graph::ElementType;
using graph::Tensor;
using graph::ValueRef;

struct TranslatorEntry {
  const char* onnx_type;
  TranslateFn fn;
  const char* target;
};

constexpr TranslatorEntry kTranslators[] = {
#define PTQ_ONNX_OP(onnx_type, fn, target) {#onnx_type, &fn, target},
#include "io/onnx/translators.def"
#undef PTQ_ONNX_OP
};

const TranslatorEntry* FindTranslator(const std::string& type) {
  for (const TranslatorEntry& e : kTranslators) {
    if (type == e.onnx_type) return &e;
  }
  return nullptr;
}

std::string AttrTypeName(int t) {
  return onnx::AttributeProto::AttributeType_Name(
      static_cast<onnx::AttributeProto::AttributeType>(t));
}

template <typename T, typename Field>
Tensor FromField(ElementType type, const graph::Shape& shape, const Field& field) {
  Tensor t = Tensor::Allocate(type, shape);
  T* out = t.mutable_data<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
  return t;
}

}  // namespace

Result<ElementType> ElementTypeFromOnnx(int32_t data_type) {
  using TP = onnx::TensorProto;
  switch (data_type) {
    case TP::FLOAT:
      return ElementType::kF32;
    case TP::UINT8:
      return ElementType::kU8;
    case TP::INT8:
      return ElementType::kI8;
    case TP::UINT16:
      return ElementType::kU16;
    case TP::INT16:
      return ElementType::kI16;
    case TP::INT32:
      return ElementType::kI32;
    case TP::INT64:
      return ElementType::kI64;
    case TP::BOOL:
      return ElementType::kBoolean;
    case TP::FLOAT16:
      return ElementType::kF16;
    case TP::DOUBLE:
      return ElementType::kF64;
    case TP::UINT32:
      return ElementType::kU32;
    case TP::UINT64:
      return ElementType::kU64;
    case TP::BFLOAT16:
      return ElementType::kBF16;
    default:
      break;
  }
  std::string name = TP::DataType_IsValid(data_type)
                         ? TP::DataType_Name(static_cast<TP::DataType>(data_type))
                         : "unknown";
  return Status::Error("ONNX data type " + std::to_string(data_type) + " (" + name +
                       ") is not supported");
}

Result<Tensor> TensorFromProto(const onnx::TensorProto& t) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0) {
    std::string loc;
    for (const auto& kv : t.external_data()) {
      if (kv.key() == "location") loc = kv.value();
    }
    return Status::Error(what + " stores its data in an external file" +
                         (loc.empty() ? std::string() : " ('" + loc + "')") +
                         "; ONNX external data is not supported (re-save the model with the "
                         "weights embedded)");
  }
  auto type_or = ElementTypeFromOnnx(t.data_type());
  if (!type_or.ok()) return type_or.status().WithContext(what);
  const ElementType type = *type_or;
  graph::Shape shape;
  for (int64_t d : t.dims()) {
    if (d < 0) return Status::Error(what + " has a negative dimension " + std::to_string(d));
    shape.push_back(d);
  }
  const int64_t count = graph::ElementCount(shape);
  const size_t nbytes = graph::ByteSize(type, count);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != nbytes) {
      return Status::Error(what + " has " + std::to_string(t.raw_data().size()) +
                           " bytes of raw_data, expected " + std::to_string(nbytes) + " for " +
                           std::string(graph::ElementTypeName(type)) + graph::ShapeToString(shape));
    }
    Tensor out = Tensor::Allocate(type, shape);
    if (nbytes) std::memcpy(out.mutable_bytes(), t.raw_data().data(), nbytes);
    return out;
  }
  auto check = [&](int n) -> Status {
    if (n != count) {
      return Status::Error(what + " has " + std::to_string(n) + " values, expected " +
                           std::to_string(count) + " for shape " + graph::ShapeToString(shape));
    }
    return Status::Ok();
  };
  switch (type) {
    case ElementType::kF32:
      PTQ_RETURN_IF_ERROR(check(t.float_data_size()));
      return FromField<float>(type, shape, t.float_data());
    case ElementType::kF64:
      PTQ_RETURN_IF_ERROR(check(t.double_data_size()));
      return FromField<double>(type, shape, t.double_data());
    case ElementType::kI64:
      PTQ_RETURN_IF_ERROR(check(t.int64_data_size()));
      return FromField<int64_t>(type, shape, t.int64_data());
    case ElementType::kU32:
      PTQ_RETURN_IF_ERROR(check(t.uint64_data_size()));
      return FromField<uint32_t>(type, shape, t.uint64_data());
    case ElementType::kU64:
      PTQ_RETURN_IF_ERROR(check(t.uint64_data_size()));
      return FromField<uint64_t>(type, shape, t.uint64_data());
    case ElementType::kI32:
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      return FromField<int32_t>(type, shape, t.int32_data());
    case ElementType::kI16:
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      return FromField<int16_t>(type, shape, t.int32_data());
    case ElementType::kU16:
    case ElementType::kF16:  // int32_data holds the 16-bit patterns
    case ElementType::kBF16:
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      return FromField<uint16_t>(type, shape, t.int32_data());
    case ElementType::kI8:
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      return FromField<int8_t>(type, shape, t.int32_data());
    case ElementType::kU8:
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      return FromField<uint8_t>(type, shape, t.int32_data());
    case ElementType::kBoolean: {
      PTQ_RETURN_IF_ERROR(check(t.int32_data_size()));
      Tensor out = Tensor::Allocate(type, shape);
      for (int i = 0; i < t.int32_data_size(); ++i) out.mutable_bytes()[i] = t.int32_data(i) != 0;
      return out;
    }
    default:
      break;
  }
  return Status::Error(what + ": element type " + std::string(graph::ElementTypeName(type)) +
                       " is not supported");
}

// ---- ImportState ----

const ValueRef* ImportState::Lookup(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

Result<graph::PartialShape> ImportState::ShapeOf(ValueRef v) {
  if (!shapes_fresh_) {
    last_infer_ = graph::ops::InferShapes(g_);
    shapes_fresh_ = true;
  }
  const graph::OutputPort& p = g_.output(v);
  if (!p.shape.rank_known() && !last_infer_.ok()) {
    return Status::Error("shape inference of the graph so far failed: " + last_infer_.message());
  }
  return p.shape;
}

// ---- NodeContext ----

std::string NodeContext::name() const {
  if (!node_.name().empty()) return node_.name();
  if (node_.output_size() > 0 && !node_.output(0).empty()) return node_.output(0);
  return node_.op_type();
}

Status NodeContext::Error(const std::string& message) const {
  return Status::Error("ONNX node '" + node_.name() + "' (" + node_.op_type() + "): " + message);
}

Result<ValueRef> NodeContext::input(size_t i) const {
  if (!has_input(i)) return Error("required input " + std::to_string(i) + " is missing");
  const std::string& n = node_.input(int(i));
  const ValueRef* v = st_.Lookup(n);
  if (!v) return Error("input " + std::to_string(i) + " '" + n + "' is not produced by any node");
  return *v;
}

const Tensor* NodeContext::const_input(size_t i) const {
  if (!has_input(i)) return nullptr;
  const ValueRef* v = st_.Lookup(node_.input(int(i)));
  if (!v) return nullptr;
  const graph::Node& n = st_.graph().node(v->node);
  return n.is_const() ? &n.constant : nullptr;
}

Result<std::vector<int64_t>> NodeContext::const_ints(size_t i, const std::string& what) const {
  const Tensor* t = const_input(i);
  if (!t) {
    return Error(what + " (input " + std::to_string(i) +
                 ") must be a constant for ptqflow to translate this node");
  }
  if (!graph::IsInteger(t->type())) {
    return Error(what + " must be an integer tensor, got " +
                 std::string(graph::ElementTypeName(t->type())));
  }
  return t->ToInt64s();
}

const onnx::AttributeProto* NodeContext::attr(const std::string& name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

namespace {
Status WrongAttrType(const NodeContext& c, const onnx::AttributeProto& a, const char* expected) {
  return c.Error("attribute '" + a.name() + "' has type " + AttrTypeName(a.type()) + ", expected " +
                 expected);
}
}  // namespace

Result<int64_t> NodeContext::attr_int(const std::string& name, int64_t def) const {
  const auto* a = attr(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::INT) return WrongAttrType(*this, *a, "INT");
  return a->i();
}

Result<float> NodeContext::attr_float(const std::string& name, float def) const {
  const auto* a = attr(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::FLOAT) return WrongAttrType(*this, *a, "FLOAT");
  return a->f();
}

Result<std::string> NodeContext::attr_string(const std::string& name,
                                             const std::string& def) const {
  const auto* a = attr(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::STRING) return WrongAttrType(*this, *a, "STRING");
  return a->s();
}

Result<std::vector<int64_t>> NodeContext::attr_ints(const std::string& name,
                                                    const std::vector<int64_t>& def) const {
  const auto* a = attr(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::INTS) return WrongAttrType(*this, *a, "INTS");
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

Result<std::vector<float>> NodeContext::attr_floats(const std::string& name,
                                                    const std::vector<float>& def) const {
  const auto* a = attr(name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::FLOATS) return WrongAttrType(*this, *a, "FLOATS");
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

Result<Tensor> NodeContext::attr_tensor(const std::string& name) const {
  const auto* a = attr(name);
  if (!a) return Error("attribute '" + name + "' is missing");
  if (a->type() != onnx::AttributeProto::TENSOR) return WrongAttrType(*this, *a, "TENSOR");
  auto t = TensorFromProto(a->t());
  if (!t.ok()) return Error("attribute '" + name + "': " + t.status().message());
  return t;
}

graph::NodeId NodeContext::AddOp(const std::string& type, const std::string& version,
                                 std::vector<ValueRef> inputs, graph::Attributes attrs,
                                 const std::string& suffix, int num_outputs) {
  graph::NodeId id = graph().AddOp(type, name() + suffix, std::move(inputs), std::move(attrs),
                                   num_outputs, version);
  graph().node(id).onnx_node = name();  // node name, or its first output when unnamed
  st_.Touch();
  return id;
}

ValueRef NodeContext::Const(const std::string& suffix, Tensor t) {
  graph::NodeId id = graph().AddConst(name() + suffix, std::move(t));
  graph().node(id).onnx_node = name();  // node name, or its first output when unnamed
  st_.Touch();
  return {id, 0};
}

ValueRef NodeContext::ConstI64(const std::string& suffix, const std::vector<int64_t>& v,
                               bool scalar) {
  CHECK(!scalar || v.size() == 1);
  graph::Shape shape = scalar ? graph::Shape{} : graph::Shape{int64_t(v.size())};
  return Const(suffix, Tensor::FromVector<int64_t>(ElementType::kI64, shape, v));
}

ValueRef NodeContext::ConstF32(const std::string& suffix, float v, graph::Shape shape) {
  CHECK_EQ(graph::ElementCount(shape), 1);
  return Const(suffix, Tensor::FromVector<float>(ElementType::kF32, shape, {v}));
}

void NodeContext::SetOutput(size_t i, ValueRef v) {
  if (!has_output(i)) return;
  const std::string& n = node_.output(int(i));
  st_.Bind(n, v);
  graph::OutputPort& p = graph().output(v);
  if (std::find(p.names.begin(), p.names.end(), n) == p.names.end()) p.names.push_back(n);
  if (p.onnx_tensor.empty()) p.onnx_tensor = n;
}

Result<graph::PartialShape> NodeContext::ShapeOf(ValueRef v) {
  auto s = st_.ShapeOf(v);
  if (!s.ok()) return Error(s.status().message());
  return s;
}

Result<int64_t> NodeContext::InputRank(size_t i) {
  PTQ_ASSIGN_OR_RETURN(ValueRef v, input(i));
  PTQ_ASSIGN_OR_RETURN(graph::PartialShape s, ShapeOf(v));
  if (!s.rank_known()) {
    return Error("the rank of input " + std::to_string(i) + " '" + node_.input(int(i)) +
                 "' is unknown; fix the model input shapes");
  }
  return static_cast<int64_t>(s.rank());
}

std::string JoinInts(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s;
}

// ---- graph bodies ----

namespace {

Status AddInitializers(ImportState& st, const onnx::GraphProto& g) {
  for (const onnx::TensorProto& t : g.initializer()) {
    auto tensor = TensorFromProto(t);
    if (!tensor.ok()) return tensor.status().WithContext("initializer '" + t.name() + "'");
    graph::NodeId id = st.graph().AddConst(t.name(), std::move(tensor).value());
    graph::OutputPort& p = st.graph().node(id).outputs[0];
    p.names = {t.name()};
    p.onnx_tensor = t.name();
    st.Bind(t.name(), {id, 0});
  }
  if (g.sparse_initializer_size() > 0) {
    return Status::Error("graph '" + g.name() +
                         "' has sparse initializers, which are not supported");
  }
  return Status::Ok();
}

Status TranslateNodes(ImportState& st, const onnx::GraphProto& g) {
  for (const onnx::NodeProto& node : g.node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      return Status::Error("ONNX node '" + node.name() + "' (" + node.op_type() + "): domain '" +
                           node.domain() + "' is not supported (only the default ONNX domain)");
    }
    const TranslatorEntry* e = FindTranslator(node.op_type());
    if (!e) {
      return Status::Error("ONNX node '" + node.name() + "' (" + node.op_type() + "): op type '" +
                           node.op_type() + "' is not supported by ptqflow's ONNX importer");
    }
    NodeContext ctx(st, node, e->target);
    PTQ_RETURN_IF_ERROR(e->fn(ctx));
    for (int i = 0; i < node.output_size(); ++i) {
      if (!node.output(i).empty() && !st.Lookup(node.output(i))) {
        return ctx.Error("output " + std::to_string(i) + " '" + node.output(i) +
                         "' is not supported");
      }
    }
  }
  return Status::Ok();
}

// Removes nodes that no Result depends on (Parameters stay: they are the model's interface).
void RemoveDeadNodes(graph::Graph& g) {
  std::vector<char> live(g.size(), 0);
  std::vector<graph::NodeId> stack = g.results();
  for (graph::NodeId p : g.parameters()) live[size_t(p)] = 1;
  while (!stack.empty()) {
    graph::NodeId id = stack.back();
    stack.pop_back();
    if (live[size_t(id)] == 2) continue;
    live[size_t(id)] = 2;
    for (const graph::InputPort& in : g.node(id).inputs) {
      if (live[size_t(in.source.node)] != 2) stack.push_back(in.source.node);
    }
  }
  for (graph::NodeId id : g.LiveNodes()) {
    if (!live[size_t(id)]) g.RemoveNode(id);
  }
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s;
}

Status AddInputs(ImportState& st, const onnx::GraphProto& g) {
  std::unordered_set<std::string> inits;
  for (const auto& t : g.initializer()) inits.insert(t.name());
  const OnnxImportOptions& opt = st.options();
  std::vector<std::string> names;
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (inits.count(in.name())) continue;  // an initializer with a default: a constant
    names.push_back(in.name());
    auto fz = opt.frozen_inputs.find(in.name());
    if (fz != opt.frozen_inputs.end()) {
      const int32_t declared =
          in.type().has_tensor_type() ? in.type().tensor_type().elem_type() : 0;
      auto dt = ElementTypeFromOnnx(declared);
      if (declared != 0 && dt.ok() && *dt != fz->second.type()) {
        return Status::Error("frozen value for model input '" + in.name() + "' has type " +
                             std::string(graph::ElementTypeName(fz->second.type())) +
                             ", but the input is declared as " +
                             std::string(graph::ElementTypeName(*dt)));
      }
      graph::NodeId id = st.graph().AddConst(in.name(), fz->second);
      graph::OutputPort& p = st.graph().node(id).outputs[0];
      p.names = {in.name()};
      p.onnx_tensor = in.name();
      st.Bind(in.name(), {id, 0});
      continue;
    }
    const std::string what = "model input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) return Status::Error(what + " is not a tensor");
    const auto& tt = in.type().tensor_type();
    ElementType type = ElementType::kUndefined;
    if (tt.elem_type() != 0) {
      auto t = ElementTypeFromOnnx(tt.elem_type());
      if (!t.ok()) return t.status().WithContext(what);
      type = *t;
    }
    graph::PartialShape shape;
    if (tt.has_shape()) {
      graph::Shape dims;
      for (const auto& d : tt.shape().dim()) {
        dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value()
                                                               : graph::kDynamicDim);
      }
      shape = graph::PartialShape(dims);
    }
    auto fix = opt.input_shapes.find(in.name());
    if (fix != opt.input_shapes.end()) {
      const graph::PartialShape& want = fix->second;
      if (shape.rank_known() && want.rank_known()) {
        if (want.rank() != shape.rank()) {
          return Status::Error(what + " has rank " + std::to_string(shape.rank()) + " " +
                               shape.ToString() + ", but the requested shape " + want.ToString() +
                               " has rank " + std::to_string(want.rank()));
        }
        for (size_t i = 0; i < shape.rank(); ++i) {
          if (shape[i] != graph::kDynamicDim && want[i] != graph::kDynamicDim &&
              shape[i] != want[i]) {
            return Status::Error(what + " has shape " + shape.ToString() +
                                 ", which contradicts the requested shape " + want.ToString());
          }
        }
      }
      shape = want;
    }
    graph::NodeId id = st.graph().AddParameter(in.name(), type, shape);
    st.graph().node(id).outputs[0].onnx_tensor = in.name();
    st.Bind(in.name(), {id, 0});
  }
  for (const auto& [n, s] : opt.input_shapes) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      return Status::Error("input_shapes names '" + n +
                           "', which is not a model input (inputs: " + JoinNames(names) + ")");
    }
  }
  for (const auto& [n, t] : opt.frozen_inputs) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      return Status::Error("frozen_inputs names '" + n +
                           "', which is not a model input (inputs: " + JoinNames(names) + ")");
    }
    if (opt.input_shapes.count(n)) {
      return Status::Error("input '" + n + "' is both frozen and given an input shape");
    }
  }
  return Status::Ok();
}

Result<graph::Graph> Import(const onnx::ModelProto& m, const OnnxImportOptions& options) {
  int opset = -1;
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  }
  if (opset < 0) {
    if (m.opset_import_size() > 0) {
      return Status::Error("the model imports no opset of the default ONNX domain (only '" +
                           m.opset_import(0).domain() + "')");
    }
    return Status::Error("the model declares no opset_import");
  }
  if (opset < 7 || opset > 18) {
    return Status::Error("ONNX opset " + std::to_string(opset) +
                         " of the default domain is not supported (supported: 7 to 18)");
  }
  if (!m.has_graph()) return Status::Error("the model has no graph");
  const onnx::GraphProto& g = m.graph();
  ImportState st(options, opset);
  st.graph().name = g.name();
  PTQ_RETURN_IF_ERROR(AddInputs(st, g));
  PTQ_RETURN_IF_ERROR(AddInitializers(st, g));
  PTQ_RETURN_IF_ERROR(TranslateNodes(st, g));
  if (g.output_size() == 0) return Status::Error("the model graph has no outputs");
  for (const onnx::ValueInfoProto& out : g.output()) {
    const ValueRef* v = st.Lookup(out.name());
    if (!v) {
      return Status::Error("model output '" + out.name() + "' is not produced by any node");
    }
    graph::OutputPort& p = st.graph().output(*v);
    if (std::find(p.names.begin(), p.names.end(), out.name()) == p.names.end()) {
      p.names.push_back(out.name());
    }
    st.graph().AddResult(out.name(), *v);
  }
  RemoveDeadNodes(st.graph());
  if (options.infer_shapes) {
    PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(st.graph()));
  }
  return std::move(st.graph());
}

}  // namespace

Status TranslateSubgraph(ImportState& st, const onnx::GraphProto& g) {
  PTQ_RETURN_IF_ERROR(AddInitializers(st, g));
  return TranslateNodes(st, g);
}

// If: the condition must be known at import time; the taken branch is inlined.
Status TranslateIf(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef cond, ctx.input(0));
  std::string why;
  Tensor c = EvaluateValue(ctx.state(), cond, &why);
  if (c.empty()) {
    return ctx.Error("the condition '" + ctx.proto().input(0) + "' is not known at import time (" +
                     why +
                     "); ptqflow only imports If nodes with a constant condition: freeze the "
                     "input it depends on (frozen_inputs) or fix the input shapes");
  }
  if (c.size() != 1) {
    return ctx.Error("the condition has " + std::to_string(c.size()) +
                     " elements, expected exactly 1");
  }
  const bool taken = c.ToInt64s()[0] != 0;
  const char* branch = taken ? "then_branch" : "else_branch";
  const onnx::AttributeProto* a = ctx.attr(branch);
  if (!a || a->type() != onnx::AttributeProto::GRAPH) {
    return ctx.Error(std::string("attribute '") + branch + "' is missing or not a graph");
  }
  const onnx::GraphProto& body = a->g();
  PTQ_RETURN_IF_ERROR(TranslateSubgraph(ctx.state(), body));
  if (static_cast<size_t>(body.output_size()) != ctx.num_outputs()) {
    return ctx.Error(std::string(branch) + " has " + std::to_string(body.output_size()) +
                     " outputs, the node has " + std::to_string(ctx.num_outputs()));
  }
  for (int i = 0; i < body.output_size(); ++i) {
    const ValueRef* v = ctx.state().Lookup(body.output(i).name());
    if (!v) {
      return ctx.Error(std::string(branch) + " output '" + body.output(i).name() +
                       "' is not produced by any node");
    }
    ctx.SetOutput(size_t(i), *v);
  }
  return Status::Ok();
}

}  // namespace onnx_import

Result<graph::Graph> ImportOnnxFromBytes(const std::string& bytes, const std::string& source_name,
                                         const OnnxImportOptions& options) {
  try {
    onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) {
      return Status::Error(source_name +
                           ": not a valid ONNX model (protobuf parsing failed: the file is "
                           "malformed or truncated)");
    }
    auto g = onnx_import::Import(m, options);
    if (!g.ok()) return g.status().WithContext(source_name);
    return g;
  } catch (const std::exception& e) {
    return Status::Error(source_name + ": ONNX import failed: " + e.what());
  }
}

Result<graph::Graph> ImportOnnx(const std::filesystem::path& file,
                                const OnnxImportOptions& options) {
  std::string bytes;
  {
    std::ifstream f(file, std::ios::binary);
    if (!f) return Status::Error(file.string() + ": cannot open the ONNX model file");
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) return Status::Error(file.string() + ": error while reading the file");
    bytes = std::move(ss).str();
  }
  if (bytes.empty()) return Status::Error(file.string() + ": the ONNX model file is empty");
  return ImportOnnxFromBytes(bytes, file.string(), options);
}

std::vector<std::string> SupportedOnnxOps() {
  std::vector<std::string> out;
  for (const auto& e : onnx_import::kTranslators) out.push_back(e.onnx_type);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ptqflow::io
