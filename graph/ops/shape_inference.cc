#include "graph/ops/shape_inference.h"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

struct OpEntry {
  const char* type;
  const char* version;
  InferFn fn;
};

// The op table (see ops.def).
constexpr OpEntry kOps[] = {
#define PTQ_OP(type, version, fn) {#type, version, &fn},
#include "graph/ops/ops.def"
#undef PTQ_OP
};

const OpEntry* FindOp(const std::string& type) {
  for (const OpEntry& e : kOps) {
    if (type == e.type) return &e;
  }
  return nullptr;
}

std::string FormatDims(const PartialShape& s) {
  if (!s.rank_known()) return "...";
  std::string out;
  for (size_t i = 0; i < s.rank(); ++i) {
    if (i) out += ",";
    out += s[i] < 0 ? std::string("?") : std::to_string(s[i]);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// InferContext

bool IsTrackedValueType(ElementType t, int64_t count) {
  switch (t) {
    case ElementType::kI32:
    case ElementType::kI64:
    case ElementType::kBoolean:
      return count <= kMaxKnownElements;
    case ElementType::kF32:
    case ElementType::kF64:
      return count <= kMaxKnownFloatElements;
    default:
      return false;
  }
}

int InferContext::opset() const {
  const std::string& v = node().version;
  if (v.rfind("opset", 0) != 0) return 0;
  int n = 0;
  for (size_t i = 5; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return 0;
    n = n * 10 + (v[i] - '0');
  }
  return n;
}

const Tensor* InferContext::in_value(size_t i) const {
  auto it = values_.find(node().input(i));
  return it == values_.end() ? nullptr : &it->second;
}

bool InferContext::in_ints(size_t i, std::vector<int64_t>* out) const {
  const Tensor* t = in_value(i);
  if (t == nullptr) return false;
  if (IsFloat(t->type())) {
    out->clear();
    for (double d : t->ToDoubles()) out->push_back(static_cast<int64_t>(d));
  } else {
    *out = t->ToInt64s();
  }
  return true;
}

void InferContext::SetOutput(size_t i, ElementType type, PartialShape shape) {
  Node& n = node();
  if (n.outputs.size() <= i) n.outputs.resize(i + 1);
  n.outputs[i].type = type;
  n.outputs[i].shape = std::move(shape);
}

void InferContext::SetValue(size_t i, Tensor value) {
  const OutputPort& out = node().outputs.at(i);
  CHECK(out.type == value.type() && out.shape == PartialShape(value.shape()))
      << Describe(node()) << ": value " << ElementTypeName(value.type())
      << ShapeToString(value.shape()) << " does not match output " << ElementTypeName(out.type)
      << out.shape.ToString();
  if (!IsTrackedValueType(value.type(), value.size())) return;
  values_[ValueRef{id_, static_cast<int32_t>(i)}] = std::move(value);
}

Status InferContext::Error(const std::string& message) const {
  return Status::Error(Describe(node()) + ": " + message);
}

Status InferContext::ExpectInputs(size_t lo, size_t hi) const {
  const size_t n = num_inputs();
  if (n >= lo && n <= hi) return Status::Ok();
  std::string want =
      lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  return Error("has " + std::to_string(n) + " inputs, expected " + want);
}

Status InferContext::ExpectRank(size_t i, size_t r) const {
  const PartialShape& s = in_shape(i);
  if (s.rank_known() && s.rank() != r) {
    return Error("input " + std::to_string(i) + " has shape " + s.ToString() + ", expected rank " +
                 std::to_string(r));
  }
  return Status::Ok();
}

namespace {
template <typename T>
Result<T> Ctx(const InferContext& ctx, Result<T> r) {
  if (r.ok()) return r;
  return r.status().WithContext(Describe(ctx.node()));
}
}  // namespace

Result<std::string> InferContext::Str(const std::string& name) const {
  return Ctx(*this, node().attrs.GetString(name));
}
Result<std::string> InferContext::Str(const std::string& name, const std::string& def) const {
  return Ctx(*this, node().attrs.GetString(name, def));
}
Result<int64_t> InferContext::Int(const std::string& name) const {
  return Ctx(*this, node().attrs.GetInt(name));
}
Result<int64_t> InferContext::Int(const std::string& name, int64_t def) const {
  return Ctx(*this, node().attrs.GetInt(name, def));
}
Result<std::vector<int64_t>> InferContext::Ints(const std::string& name) const {
  return Ctx(*this, node().attrs.GetInts(name));
}
Result<std::vector<int64_t>> InferContext::Ints(const std::string& name,
                                                const std::vector<int64_t>& def) const {
  return Ctx(*this, node().attrs.GetInts(name, def));
}
Result<double> InferContext::Float(const std::string& name) const {
  return Ctx(*this, node().attrs.GetFloat(name));
}
Result<double> InferContext::Float(const std::string& name, double def) const {
  return Ctx(*this, node().attrs.GetFloat(name, def));
}
Result<std::vector<double>> InferContext::Floats(const std::string& name) const {
  return Ctx(*this, node().attrs.GetFloats(name));
}
Result<bool> InferContext::Bool(const std::string& name, bool def) const {
  return Ctx(*this, node().attrs.GetBool(name, def));
}
Result<ElementType> InferContext::Type(const std::string& name) const {
  PTQ_ASSIGN_OR_RETURN(std::string s, Str(name));
  auto t = ParseElementType(s);
  if (!t.ok()) return Error("attribute '" + name + "': " + t.status().message());
  return t;
}

Result<int64_t> InferContext::NormalizeAxis(int64_t axis, int64_t rank,
                                            const std::string& what) const {
  if (axis < -rank || axis >= rank) {
    return Error(what + " " + std::to_string(axis) + " is out of range for rank " +
                 std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// ---------------------------------------------------------------------------------------------
// Driver

namespace internal {

Status InferShapesWithValues(Graph& g, const InferOptions& options, ValueMap* values) {
  PTQ_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.TopologicalOrder());
  for (NodeId id : order) {
    Node& n = g.node(id);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const ValueRef v = n.inputs[k].source;
      const Node& src = g.node(v.node);
      if (v.port < 0 || size_t(v.port) >= src.outputs.size()) {
        return Status::Error(Describe(n) + ": input " + std::to_string(k) + " reads output port " +
                             std::to_string(v.port) + " of " + Describe(src) + ", which has " +
                             std::to_string(src.outputs.size()) + " outputs");
      }
    }
    const OpEntry* op = FindOp(n.type);
    if (op == nullptr) {
      if (options.require_known_ops) {
        return Status::Error(Describe(n) + ": op type '" + n.type +
                             "' has no shape inference in ptqflow");
      }
      continue;  // keep the ports it came with
    }
    InferContext ctx(g, id, *values);
    PTQ_RETURN_IF_ERROR(op->fn(ctx));
  }
  return Status::Ok();
}

}  // namespace internal

Status InferShapes(Graph& g, const InferOptions& options) {
  ValueMap values;
  return internal::InferShapesWithValues(g, options, &values);
}

Status SetInputShapes(Graph& g, const std::map<std::string, PartialShape>& shapes) {
  const std::vector<NodeId> params = g.parameters();
  for (const auto& [name, shape] : shapes) {
    NodeId found = kNoNode;
    for (NodeId p : params) {
      const Node& n = g.node(p);
      bool match = n.name == name;
      for (const OutputPort& o : n.outputs) {
        match = match || std::find(o.names.begin(), o.names.end(), name) != o.names.end();
      }
      if (match) {
        found = p;
        break;
      }
    }
    if (found == kNoNode) {
      std::string list;
      for (NodeId p : params) {
        if (!list.empty()) list += ", ";
        list += "'" + g.node(p).name + "'";
      }
      return Status::Error("input shape given for '" + name +
                           "', but the model has no such input (its inputs: " + list + ")");
    }
    Node& n = g.node(found);
    CHECK(!n.outputs.empty());
    const PartialShape& declared = n.outputs[0].shape;
    if (declared.rank_known() && shape.rank_known()) {
      if (declared.rank() != shape.rank()) {
        return Status::Error("input '" + name + "': shape " + shape.ToString() + " has rank " +
                             std::to_string(shape.rank()) + ", but the model declares " +
                             declared.ToString());
      }
      for (size_t i = 0; i < shape.rank(); ++i) {
        if (declared[i] >= 0 && shape[i] >= 0 && declared[i] != shape[i]) {
          return Status::Error("input '" + name + "': shape " + shape.ToString() +
                               " contradicts the model's declared shape " + declared.ToString() +
                               " in dimension " + std::to_string(i));
        }
      }
    }
    PartialShape merged = shape;
    if (declared.rank_known() && shape.rank_known()) {
      for (size_t i = 0; i < shape.rank(); ++i) {
        if (merged[i] < 0) merged.mutable_dims()[i] = declared[i];
      }
    } else if (!shape.rank_known()) {
      merged = declared;
    }
    n.attrs.Set("shape", FormatDims(merged));
    n.outputs[0].shape = merged;
  }
  return Status::Ok();
}

Result<std::map<std::string, PartialShape>> ParseInputShapes(const std::string& spec) {
  std::map<std::string, PartialShape> out;
  size_t pos = 0;
  auto bad = [&](const std::string& why) {
    return Status::Error("bad input shape '" + spec + "': " + why);
  };
  auto skip_ws = [&] {
    while (pos < spec.size() && std::isspace(static_cast<unsigned char>(spec[pos]))) ++pos;
  };
  skip_ws();
  if (pos == spec.size()) return bad("empty");
  while (pos < spec.size()) {
    const size_t open = spec.find('[', pos);
    if (open == std::string::npos)
      return bad("expected NAME[d0,d1,...] at '" + spec.substr(pos) + "'");
    std::string name = spec.substr(pos, open - pos);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    if (name.empty()) return bad("missing input name before '['");
    const size_t close = spec.find(']', open);
    if (close == std::string::npos) return bad("missing ']' after '" + name + "['");
    const std::string body = spec.substr(open + 1, close - open - 1);
    Shape dims;
    size_t p = 0;
    std::string trimmed_body = body;
    trimmed_body.erase(std::remove_if(trimmed_body.begin(), trimmed_body.end(),
                                      [](unsigned char c) { return std::isspace(c); }),
                       trimmed_body.end());
    if (!trimmed_body.empty()) {
      while (p <= trimmed_body.size()) {
        size_t comma = trimmed_body.find(',', p);
        if (comma == std::string::npos) comma = trimmed_body.size();
        const std::string d = trimmed_body.substr(p, comma - p);
        if (d == "?" || d == "-1") {
          dims.push_back(kDynamicDim);
        } else {
          if (d.empty() ||
              !std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isdigit(c); }) ||
              d.size() > 15) {
            return bad("dimension '" + d + "' of '" + name + "' is not a number, '?' or -1");
          }
          dims.push_back(std::stoll(d));
        }
        p = comma + 1;
      }
    }
    if (out.count(name)) return bad("input '" + name + "' given twice");
    out[name] = PartialShape(dims);
    pos = close + 1;
    skip_ws();
    if (pos < spec.size()) {
      if (spec[pos] != ',') return bad("expected ',' after '" + spec.substr(0, pos) + "'");
      ++pos;
      skip_ws();
      if (pos == spec.size()) return bad("trailing ','");
    }
  }
  return out;
}

Result<int> FoldKnownValues(Graph& g) {
  ValueMap values;
  PTQ_RETURN_IF_ERROR(internal::InferShapesWithValues(g, InferOptions{}, &values));
  int folded = 0;
  std::vector<NodeId> candidates;
  const size_t count = g.size();
  for (size_t i = 0; i < count; ++i) {
    const NodeId id = static_cast<NodeId>(i);
    Node& n = g.node(id);
    if (!n.alive || n.is_const() || n.type == "Parameter" || n.outputs.empty()) continue;
    bool all_known = true;
    for (size_t p = 0; p < n.outputs.size() && all_known; ++p) {
      all_known = values.count(ValueRef{id, static_cast<int32_t>(p)}) > 0;
    }
    if (!all_known) continue;
    ++folded;
    for (const InputPort& in : n.inputs) candidates.push_back(in.source.node);
    if (n.outputs.size() == 1) {
      // Turn the node into a Const in place: consumers keep reading (id, 0).
      n.type = "Const";
      n.version = "opset1";
      n.attrs = Attributes();
      n.inputs.clear();
      n.constant = values.at(ValueRef{id, 0});
      n.onnx_node.clear();
    } else {
      // AddConst may reallocate the node vector: no references into it across the calls.
      const size_t num_outputs = n.outputs.size();
      for (size_t p = 0; p < num_outputs; ++p) {
        const ValueRef from{id, static_cast<int32_t>(p)};
        const std::string const_name = g.node(id).name + "." + std::to_string(p);
        const NodeId c = g.AddConst(const_name, values.at(from));
        g.node(c).outputs[0] = g.node(id).outputs[p];  // names, onnx_tensor, rt_info
        g.ReplaceAllUses(from, ValueRef{c, 0});
      }
      g.RemoveNode(id);
    }
  }
  // Remove producers left without consumers by the folding (nodes that were already unused
  // before are kept: they may be deliberate, e.g. read from an IR file).
  std::vector<int> uses(g.size(), 0);
  for (NodeId id : g.LiveNodes()) {
    for (const InputPort& in : g.node(id).inputs) ++uses[static_cast<size_t>(in.source.node)];
  }
  while (!candidates.empty()) {
    const NodeId id = candidates.back();
    candidates.pop_back();
    Node& n = g.node(id);
    if (!n.alive || n.type == "Parameter" || n.outputs.empty()) continue;
    if (uses[static_cast<size_t>(id)] > 0) continue;
    for (const InputPort& in : n.inputs) {
      --uses[static_cast<size_t>(in.source.node)];
      candidates.push_back(in.source.node);
    }
    g.RemoveNode(id);
  }
  return folded;
}

bool IsKnownOp(const std::string& type) { return FindOp(type) != nullptr; }

std::vector<std::string> KnownOps() {
  std::vector<std::string> out;
  for (const OpEntry& e : kOps) out.push_back(e.type);
  std::sort(out.begin(), out.end());
  return out;
}

std::string DefaultOpsetVersion(const std::string& type) {
  const OpEntry* e = FindOp(type);
  return e ? e->version : "";
}

}  // namespace ptqflow::graph::ops
