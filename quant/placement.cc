#include "quant/placement.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "quant/patterns.h"

namespace ptqflow::quant {

using graph::Attributes;
using graph::ElementType;
using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::PartialShape;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

namespace {

const std::set<std::string>& AgnosticTypes() {
  // QUANTIZE_AGNOSTIC_OPERATIONS (graph/special_operations.py); matched only when the hardware
  // config lists the type.
  static const std::set<std::string> k = {
      "MaxPool",      "ReduceMax",       "Reshape",       "Concat", "Flatten",   "Squeeze",
      "Unsqueeze",    "Split",           "VariadicSplit", "Crop",   "Transpose", "Tile",
      "StridedSlice", "ShuffleChannels", "Broadcast",     "Pad",    "Minimum",   "Maximum",
      "ConvertLike",  "Gather",          "DepthToSpace"};
  return k;
}

// FakeQuantizePropagation's jump tables (graph/passes.py). Gather is agnostic in the hardware
// config but missing from POT's table; it is treated as a single-input op (data input 0).
const std::set<std::string>& JumpSingleBranch() {
  static const std::set<std::string> k = {
      "ReduceMax",   "MaxPool",   "Reshape",      "Flatten",       "Squeeze",         "Unsqueeze",
      "Interpolate", "Split",     "Crop",         "ReduceMean",    "AvgPool",         "Result",
      "Tile",        "Transpose", "StridedSlice", "VariadicSplit", "ShuffleChannels", "Broadcast",
      "Minimum",     "Maximum",   "DepthToSpace", "Gather"};
  return k;
}

bool IsFloatValue(const Graph& g, ValueRef v) {
  const ElementType t = g.output(v).type;
  return t == ElementType::kF32 || t == ElementType::kF16 || t == ElementType::kBF16 ||
         t == ElementType::kF64 || t == ElementType::kUndefined;
}

// Transposes the last two axes of a tensor (any element type, byte-wise).
Tensor TransposeLastTwo(const Tensor& t) {
  Shape s = t.shape();
  const size_t r = s.size();
  const int64_t rows = s[r - 2], cols = s[r - 1];
  const int64_t batch = t.size() / std::max<int64_t>(1, rows * cols);
  const size_t es = graph::ByteSize(t.type(), 1);
  std::swap(s[r - 2], s[r - 1]);
  Tensor out = Tensor::Allocate(t.type(), s);
  const uint8_t* src = t.bytes();
  uint8_t* dst = out.mutable_bytes();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        std::memcpy(dst + ((b * cols + j) * rows + i) * es, src + ((b * rows + i) * cols + j) * es,
                    es);
      }
    }
  }
  return out;
}

NodeId AddConstNode(Graph* g, const std::string& name, Tensor t) {
  return g->AddConst(name, std::move(t));
}

// ---- Step 1 ----

Status FoldFp16Converts(Graph* g) {
  for (NodeId id : g->NodesOfType("Convert")) {
    Node& n = g->node(id);
    if (n.inputs.size() != 1) continue;
    const Node& src = g->node(n.inputs[0].source.node);
    if (!src.is_const() || n.outputs.empty() || n.outputs[0].type != ElementType::kF32) continue;
    if (src.constant.type() != ElementType::kF16 && src.constant.type() != ElementType::kBF16) {
      continue;
    }
    const NodeId src_id = n.inputs[0].source.node;
    Tensor f32 = src.constant.ToF32();
    n.type = "Const";
    n.version = "opset1";
    n.attrs = Attributes();
    n.inputs.clear();
    n.constant = std::move(f32);
    n.outputs[0].type = ElementType::kF32;
    n.outputs[0].shape = PartialShape(n.constant.shape());
    if (ConsumerNodes(*g, src_id).empty()) g->RemoveNode(src_id);
  }
  return Status::Ok();
}

Status PreprocessMatMuls(Graph* g) {
  for (NodeId id : g->NodesOfType("MatMul")) {
    Node& mm = g->node(id);
    if (mm.inputs.size() < 2) continue;
    const ValueRef w = mm.inputs[1].source;
    const Node& wn = g->node(w.node);
    if (!wn.is_const() || wn.constant.shape().size() < 2) continue;
    auto tb = mm.attrs.GetBool("transpose_b", false);
    if (!tb.ok()) return Status::Error(Describe(mm) + ": " + tb.status().message());
    if (*tb) continue;
    Tensor t = TransposeLastTwo(wn.constant);
    if (ValueUses(*g, w).size() > 1) {
      const std::string name = wn.name + "/transposed";
      const NodeId c = AddConstNode(g, name, std::move(t));
      g->node(id).inputs[1].source = {c, 0};
    } else {
      Node& wm = g->node(w.node);
      wm.constant = std::move(t);
      wm.outputs[0].shape = PartialShape(wm.constant.shape());
    }
    g->node(id).attrs.SetBool("transpose_b", true);
  }
  return Status::Ok();
}

Status ReshapeGroupWeights(Graph* g) {
  for (const char* type : {"GroupConvolution", "GroupConvolutionBackpropData"}) {
    for (NodeId id : g->NodesOfType(type)) {
      const ValueRef w = g->node(id).inputs.size() > 1 ? g->node(id).inputs[1].source : ValueRef{};
      if (!w.valid() || !g->node(w.node).is_const()) continue;
      const Tensor t = g->node(w.node).constant;  // a handle: AddConstNode may reallocate nodes
      const Shape s5 = t.shape();
      if (s5.size() < 3) continue;
      Shape s4 = {s5[0] * s5[1]};
      s4.insert(s4.end(), s5.begin() + 2, s5.end());
      const std::string base = g->node(w.node).name;
      const NodeId c4 = AddConstNode(g, base + "/4d", t.Reshaped(s4));
      const NodeId shape =
          AddConstNode(g, base + "/4d/shape",
                       Tensor::FromVector<int64_t>(ElementType::kI64, {int64_t(s5.size())}, s5));
      Attributes a;
      a.SetBool("special_zero", false);
      const NodeId rs = g->AddOp("Reshape", g->node(id).name + "/GroupWeights/Reshape",
                                 {{c4, 0}, {shape, 0}}, a, 1, "opset1");
      g->node(rs).outputs[0].type = t.type();
      g->node(rs).outputs[0].shape = PartialShape(s5);
      g->node(id).inputs[1].source = {rs, 0};
      if (ConsumerNodes(*g, w.node).empty()) g->RemoveNode(w.node);
    }
  }
  return Status::Ok();
}

// nu.get_bias_for_node: the only consumer is an Add with a value-known second operand.
bool HasBias(const Graph& g, NodeId conv, const std::vector<char>& known) {
  auto uses = ValueUses(g, {conv, 0});
  if (uses.size() != 1) return false;
  const Node& add = g.node(uses[0].first);
  if (add.type != "Add" || add.inputs.size() != 2) return false;
  const ValueRef other = add.inputs[1 - uses[0].second].source;
  return other.valid() && other.node < static_cast<NodeId>(known.size()) && known[other.node];
}

Status InsertNullBiases(Graph* g) {
  const std::vector<char> known = ValueKnownNodes(*g);
  for (const char* type : {"Convolution", "GroupConvolution"}) {
    for (NodeId id : g->NodesOfType(type)) {
      if (HasBias(*g, id, known)) continue;
      const graph::OutputPort& out = g->node(id).outputs[0];
      if (!out.shape.rank_known() || out.shape.rank() < 2 || out.shape[1] < 0) continue;
      Shape bs(out.shape.rank(), 1);
      bs[1] = out.shape[1];
      const ElementType et = out.type == ElementType::kUndefined ? ElementType::kF32 : out.type;
      Tensor zeros = Tensor::Allocate(et, bs);
      std::memset(zeros.mutable_bytes(), 0, zeros.nbytes());
      const std::string name = g->node(id).name + "/add_";
      const NodeId c = AddConstNode(g, name + "/bias", std::move(zeros));
      Attributes a;
      a.Set("auto_broadcast", "numpy");
      const NodeId add = g->AddOp("Add", name, {{id, 0}, {c, 0}}, a, 1, "opset1");
      g->ReplaceAllUses({id, 0}, {add, 0});
      Node& addn = g->node(add);
      addn.inputs[0].source = {id, 0};
      graph::OutputPort& src = g->node(id).outputs[0];
      addn.outputs[0].type = src.type;
      addn.outputs[0].shape = src.shape;
      addn.outputs[0].names = std::move(src.names);
      addn.outputs[0].onnx_tensor = std::move(src.onnx_tensor);
      src.names.clear();
      src.onnx_tensor.clear();
    }
  }
  return Status::Ok();
}

// ---- Steps 2-6 ----

bool SameValue(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* ea = nullptr;
  char* eb = nullptr;
  const double da = std::strtod(a.c_str(), &ea);
  const double db = std::strtod(b.c_str(), &eb);
  return !a.empty() && !b.empty() && *ea == '\0' && *eb == '\0' && da == db;
}

class Placer {
 public:
  Placer(Graph* g, const PlacementOptions& o) : g_(*g), o_(o), hw_(*o.hardware) {
    device_ = o.target_device.empty() ? hw_.target_device : o.target_device;
  }

  Result<QuantizationPlan> Run() {
    if (o_.model_type != "" && o_.model_type != "transformer") {
      return Status::Error("model_type: unknown value '" + o_.model_type +
                           "' (expected \"\" or \"transformer\")");
    }
    if (o_.ignored.skip_model) return QuantizationPlan{};
    skipped_ = MarkSkippedBlocks(g_, device_);
    known_ = ValueKnownNodes(g_);
    BuildIgnored();
    PTQ_RETURN_IF_ERROR(Insert());
    Propagate();
    Merge();
    RemoveNonFloat();
    return BuildPlan();
  }

 private:
  bool Skipped(NodeId id) const { return id < NodeId(skipped_.size()) && skipped_[id]; }
  bool Known(NodeId id) const { return id < NodeId(known_.size()) && known_[id]; }

  bool IsAgnostic(const Node& n) const { return IsQuantizeAgnostic(n, hw_); }
  bool IsQuantizable(const Node& n) const { return IsQuantizedOpType(g_, n, hw_); }

  // ---- ignored scope ----
  bool TypeMatches(const Node& n, const std::string& t) const {
    return n.type == t || PotType(n) == t;
  }
  std::optional<std::string> AttrValue(const Node& n, const std::string& key) const {
    if (const std::string* v = n.attrs.Find(key)) return *v;
    if (key == "output" && !n.outputs.empty()) {
      const PartialShape& s = n.outputs[0].shape;
      const std::string t = PotType(n);
      if (s.rank_known() && s.rank() >= 2) {
        const int64_t d = t == "MatMul" ? s[s.rank() - 1] : s[1];
        if (d >= 0) return std::to_string(d);
      }
    }
    if (key == "group" && n.type == "GroupConvolution" && n.inputs.size() > 1) {
      const graph::OutputPort& w = g_.output(n.inputs[1].source);
      if (w.shape.rank_known() && w.shape.rank() > 0 && w.shape[0] >= 0) {
        return std::to_string(w.shape[0]);
      }
    }
    return std::nullopt;
  }
  bool IgnoredByType(const Node& n, const std::vector<std::string>& extra_types) const {
    for (const std::string& t : extra_types) {
      if (TypeMatches(n, t)) return true;
    }
    // POT's is_ignored: the first entry whose type matches decides.
    for (const IgnoredOperation& op : o_.ignored.operations) {
      if (!TypeMatches(n, op.type)) continue;
      for (const auto& [k, v] : op.attributes) {
        auto have = AttrValue(n, k);
        if (!have || !SameValue(*have, v)) return false;
      }
      return true;
    }
    return false;
  }

  void BuildIgnored() {
    ignored_.assign(g_.size(), 0);
    std::vector<std::string> extra;
    if (o_.model_type == "transformer") {
      extra = {"Add", "Power", "Squeeze", "Subtract", "ReduceMean", "SquaredDifference", "MVN"};
      if (device_ != "CPU_SPR") extra.push_back("Multiply");
    }
    std::set<std::string> names(o_.ignored.scope.begin(), o_.ignored.scope.end());
    const auto live = g_.LiveNodes();
    for (NodeId id : live) {
      const Node& n = g_.node(id);
      if (names.count(n.name) || IgnoredByType(n, extra)) ignored_[id] = 1;
    }
    // check_agnostic_and_ignored_params: an ignored agnostic op hands the ignore to its first
    // non-agnostic descendants.
    for (NodeId id : live) {
      if (!ignored_[id] || !AgnosticTypes().count(PotType(g_.node(id)))) continue;
      std::deque<NodeId> q = {id};
      std::set<NodeId> seen = {id};
      while (!q.empty()) {
        NodeId cur = q.front();
        q.pop_front();
        for (NodeId c : ConsumerNodes(g_, cur)) {
          if (!seen.insert(c).second) continue;
          if (AgnosticTypes().count(PotType(g_.node(c)))) {
            q.push_back(c);
          } else {
            ignored_[c] = 1;
          }
        }
      }
    }
  }
  bool Ignored(NodeId id) const {
    return Skipped(id) || (id < NodeId(ignored_.size()) && ignored_[id]);
  }

  // ---- FQ creation ----
  NodeId MakeFq(const std::string& name, ValueRef src) {
    const NodeId il = AddConstNode(&g_, name + "/input_low", Tensor::Scalar(0.f));
    const NodeId ih = AddConstNode(&g_, name + "/input_high", Tensor::Scalar(0.f));
    const NodeId ol = AddConstNode(&g_, name + "/output_low", Tensor::Scalar(0.f));
    const NodeId oh = AddConstNode(&g_, name + "/output_high", Tensor::Scalar(0.f));
    Attributes a;
    a.SetInt("levels", 0);
    a.Set("auto_broadcast", "numpy");
    const NodeId fq =
        g_.AddOp("FakeQuantize", name, {src, {il, 0}, {ih, 0}, {ol, 0}, {oh, 0}}, a, 1, "opset1");
    g_.node(fq).outputs[0].type = g_.output(src).type;
    g_.node(fq).outputs[0].shape = g_.output(src).shape;
    return fq;
  }

  // POT's insert_fake_quantize(graph, node, ports): one FQ per listed (or every) connected input.
  std::vector<NodeId> InsertAt(NodeId id, const std::vector<int>* ports) {
    std::vector<NodeId> out;
    const size_t n_in = g_.node(id).inputs.size();
    for (size_t i = 0; i < n_in; ++i) {
      if (ports && std::find(ports->begin(), ports->end(), int(i)) == ports->end()) continue;
      ValueRef src = g_.node(id).inputs[i].source;
      if (!src.valid()) continue;
      // GroupConvolution weights: in front of the 4-D Const → Reshape, as MO's IR has it.
      NodeId target = id;
      int target_port = int(i);
      const Node& srcn = g_.node(src.node);
      if (i == 1 &&
          (g_.node(id).type == "GroupConvolution" ||
           g_.node(id).type == "GroupConvolutionBackpropData") &&
          srcn.type == "Reshape" && g_.node(srcn.inputs[0].source.node).is_const()) {
        target = src.node;
        target_port = 0;
        src = srcn.inputs[0].source;
      }
      const bool is_weights = g_.node(src.node).is_const();
      if (!is_weights && Known(src.node)) continue;  // shape sub-graph data
      if (!IsFloatValue(g_, src)) continue;
      const std::string name =
          g_.node(id).name + (is_weights ? "/fq_weights_" : "/fq_input_") + std::to_string(i);
      const NodeId fq = MakeFq(name, src);
      g_.node(target).inputs[target_port].source = {fq, 0};
      if (fq >= NodeId(known_.size())) {
        known_.resize(g_.size(), 0);
        skipped_.resize(g_.size(), 0);
        ignored_.resize(g_.size(), 0);
      }
      out.push_back(fq);
    }
    return out;
  }

  bool QuantizeOnlyInput(NodeId id) const {
    static const std::set<std::string> k = {"Interpolate", "Power", "ReduceMean", "NormalizeL2",
                                            "Assign",      "PReLU", "ReLU",       "Sigmoid",
                                            "Tanh",        "Clamp", "MVN"};
    const Node& n = g_.node(id);
    if (k.count(PotType(n))) return true;
    if (n.type == "Multiply" && n.inputs.size() > 1 && Known(n.inputs[1].source.node)) {
      auto uses = ValueUses(g_, {id, 0});
      if (!uses.empty()) {
        const Node& next = g_.node(uses[0].first);
        if (next.type == "Add" && next.inputs.size() > 1 && Known(next.inputs[1].source.node)) {
          return true;
        }
      }
    }
    return false;
  }

  Status Insert() {
    const auto live = g_.LiveNodes();
    for (NodeId id : live) {
      const Node& n = g_.node(id);
      if (n.is_const() || n.type == "Parameter" || n.type == "Result") continue;
      if (!IsQuantizable(n) || Ignored(id)) continue;
      const std::string t = PotType(n);
      std::vector<int> ports;
      if (t == "Convolution" || t == "ConvolutionBackpropData" || t == "MatMul") {
        ports = {0, 1};
      } else if (t == "LSTMSequence") {
        ports = {0, 1, 4, 5};
      } else if (t == "GRUSequence") {
        ports = {0, 1, 3, 4};
      } else if (QuantizeOnlyInput(id)) {
        ports = {0};
      }
      InsertAt(id, ports.empty() ? nullptr : &ports);
    }
    return Status::Ok();
  }

  // ---- propagation ----
  using NodeFn = std::function<std::vector<NodeId>(NodeId)>;
  using Pred = std::function<bool(NodeId)>;

  // POT's traverse_graph: breadth-first with `move`; each relative is tested against the
  // criteria, then the stop predicate (true stops the walk and returns true).
  bool Traverse(NodeId start, const NodeFn& move, const Pred& stop,
                const std::vector<Pred>& criteria, std::vector<std::vector<NodeId>>* hits) {
    if (hits) hits->assign(criteria.size(), {});
    std::deque<NodeId> queue = {start};
    std::set<NodeId> visited;
    while (!queue.empty()) {
      NodeId cur = queue.front();
      queue.pop_front();
      if (visited.count(cur)) continue;
      std::vector<NodeId> rel = move(cur);
      visited.insert(cur);
      for (NodeId r : rel) {
        for (size_t c = 0; c < criteria.size(); ++c) {
          if (criteria[c](r)) (*hits)[c].push_back(r);
        }
        if (stop && stop(r)) return true;
      }
      for (NodeId r : rel) queue.push_back(r);
    }
    return false;
  }

  bool SkippableType(NodeId id) const {
    const std::string t = PotType(g_.node(id));
    return JumpSingleBranch().count(t) || t == "Concat" || t == "FakeQuantize" || t == "Pad" ||
           t == "ConvertLike";
  }

  std::vector<NodeId> Sink(NodeId id) const {
    if (g_.node(id).type == "FakeQuantize") return {};
    std::vector<NodeId> out;
    auto it = sink_cache_.find(id);
    const std::vector<NodeId> cons = it != sink_cache_.end() ? it->second : ConsumerNodes(g_, id);
    for (NodeId c : cons) {
      if (g_.node(c).type != "ShapeOf") out.push_back(c);
    }
    return out;
  }

  // FakeQuantizePropagation._create_skip_ascent_map._is_node_skippable.
  bool IsNodeSkippable(NodeId node) {
    const Pred not_skippable = [this](NodeId x) { return !SkippableType(x); };
    const Pred is_concat = [this](NodeId x) { return g_.node(x).type == "Concat"; };
    const Pred is_fq = [this](NodeId x) { return g_.node(x).type == "FakeQuantize"; };
    const NodeFn sink = [this](NodeId x) { return Sink(x); };
    const NodeFn source = [this, node](NodeId x) {
      std::vector<NodeId> out;
      for (const auto& in : g_.node(x).inputs) {
        if (!in.source.valid()) continue;
        const Node& p = g_.node(in.source.node);
        if (p.type != "FakeQuantize" && !p.is_const() && in.source.node != node) {
          out.push_back(in.source.node);
        }
      }
      return out;
    };
    auto descendants = [this](const std::vector<NodeId>& concats) {
      bool any = false;
      for (NodeId c : concats) {
        auto it = skip_ascent_.find(c);
        bool v;
        if (it != skip_ascent_.end()) {
          v = it->second;
        } else {
          v = IsNodeSkippable(c);
          skip_ascent_[c] = v;
        }
        any = any || v;
      }
      return any;
    };
    const Pred stop = [&](NodeId op) -> bool {
      if (!SkippableType(op)) return true;
      if (op == node) return false;
      std::vector<std::vector<NodeId>> hits;
      if (g_.node(op).type == "Concat") {
        if (!Traverse(op, source, not_skippable, {}, nullptr)) return false;
        const bool res = Traverse(op, sink, not_skippable, {is_concat, is_fq}, &hits);
        if (res || hits[1].empty()) return true;
        if (!hits[0].empty()) return descendants(hits[0]);
        return false;
      }
      const bool res = Traverse(op, sink, not_skippable, {is_concat}, &hits);
      if (!hits[0].empty()) return descendants(hits[0]);
      return res;
    };
    return Traverse(node, sink, stop, {}, nullptr);
  }

  void BuildSkipAscent() {
    // The graph does not change while the map is built: cache every node's consumers.
    sink_cache_.clear();
    for (NodeId id : g_.LiveNodes()) {
      std::set<NodeId> seen;
      for (const auto& in : g_.node(id).inputs) {
        if (in.source.valid() && seen.insert(in.source.node).second) {
          sink_cache_[in.source.node].push_back(id);
        }
      }
    }
    for (NodeId id : g_.LiveNodes()) sink_cache_.try_emplace(id);
    for (NodeId id : g_.LiveNodes()) {
      if (Skipped(id)) skip_ascent_[id] = true;
    }
    for (NodeId id : g_.LiveNodes()) {
      if (g_.node(id).is_const()) continue;
      if (!skip_ascent_.count(id)) skip_ascent_[id] = IsNodeSkippable(id);
    }
    sink_cache_.clear();
  }
  bool SkipAscent(NodeId id) const {
    auto it = skip_ascent_.find(id);
    return it != skip_ascent_.end() && it->second;
  }

  // Removes `fq`: its consumers read its input again.
  void Bypass(NodeId fq) {
    const ValueRef in = g_.node(fq).inputs[0].source;
    g_.ReplaceAllUses({fq, 0}, in);
    for (size_t i = 1; i < g_.node(fq).inputs.size(); ++i) {
      const NodeId c = g_.node(fq).inputs[i].source.node;
      g_.RemoveNode(c);
    }
    g_.RemoveNode(fq);
  }

  void Propagate() {
    std::vector<NodeId> fqs = g_.NodesOfType("FakeQuantize");
    std::stable_sort(fqs.begin(), fqs.end(),
                     [&](NodeId a, NodeId b) { return g_.node(a).name < g_.node(b).name; });
    std::deque<NodeId> queue(fqs.begin(), fqs.end());
    BuildSkipAscent();
    while (!queue.empty()) {
      const NodeId fq = queue.front();
      queue.pop_front();
      if (!g_.node(fq).alive) continue;
      const ValueRef in = g_.node(fq).inputs[0].source;
      const NodeId input = in.node;
      const Node& inn = g_.node(input);
      const std::string in_type = PotType(inn);
      auto uses = ValueUses(g_, {fq, 0});
      bool is_scaleshift = false;
      if (!uses.empty() && g_.node(uses[0].first).type == "Multiply") {
        auto next = ValueUses(g_, {uses[0].first, 0});
        is_scaleshift = !next.empty() && g_.node(next[0].first).type == "Add";
      }
      if (in_type != "FakeQuantize" && in_type != "Parameter" && SkipAscent(input)) continue;
      const bool agnostic = IsAgnostic(inn);
      if (!(agnostic || in_type == "FakeQuantize" ||
            (in_type == "Parameter" && is_scaleshift && !o_.quantize_inputs))) {
        continue;
      }
      std::vector<NodeId> created;
      if (in_type == "FakeQuantize" || in_type == "Parameter") {
        Bypass(fq);  // remove_duplication
      } else if (CheckSplitConcat(input) && !SkipAscent(g_.node(input).inputs[0].source.node)) {
        const NodeId upper = g_.node(input).inputs[0].source.node;
        Bypass(fq);
        std::vector<int> p0 = {0};
        created = InsertAt(upper, &p0);
      } else if (in_type == "Concat") {
        Bypass(fq);
        created = InsertAt(input, nullptr);
      } else if (in_type == "Pad" || in_type == "ConvertLike") {
        std::vector<int> ports;
        for (size_t i = 0; i < inn.inputs.size(); ++i) {
          if (inn.inputs[i].source.valid() && !g_.node(inn.inputs[i].source.node).is_const()) {
            ports.push_back(int(i));
          }
        }
        Bypass(fq);
        created = InsertAt(input, &ports);
      } else {
        Bypass(fq);
        std::vector<int> p0 = {0};
        created = InsertAt(input, &p0);
      }
      for (NodeId f : created) queue.push_front(f);
    }
  }

  // POT's check_split_concat (kept as written there: the producer must NOT be a Split).
  bool CheckSplitConcat(NodeId id) const {
    const Node& n = g_.node(id);
    if (n.type != "Concat" || n.inputs.empty()) return false;
    const NodeId first = n.inputs[0].source.node;
    const std::string t = g_.node(first).type;
    if (t == "Split" || t == "VariadicSplit") return false;
    for (const auto& in : n.inputs) {
      if (in.source.node != first) return false;
    }
    return ConsumerNodes(g_, first).size() == 1;
  }

  // FakeQuantizeOptimization: FQs reading the same output port collapse into the first by name.
  void Merge() {
    std::map<ValueRef, std::vector<NodeId>> by_value;
    for (NodeId fq : g_.NodesOfType("FakeQuantize")) {
      by_value[g_.node(fq).inputs[0].source].push_back(fq);
    }
    for (auto& [v, list] : by_value) {
      if (list.size() < 2) continue;
      std::stable_sort(list.begin(), list.end(),
                       [&](NodeId a, NodeId b) { return g_.node(a).name < g_.node(b).name; });
      for (size_t i = 1; i < list.size(); ++i) {
        g_.ReplaceAllUses({list[i], 0}, {list[0], 0});
        for (size_t k = 1; k < g_.node(list[i]).inputs.size(); ++k) {
          g_.RemoveNode(g_.node(list[i]).inputs[k].source.node);
        }
        g_.RemoveNode(list[i]);
      }
    }
  }

  void RemoveNonFloat() {
    for (NodeId fq : g_.NodesOfType("FakeQuantize")) {
      if (!IsFloatValue(g_, g_.node(fq).inputs[0].source)) Bypass(fq);
    }
  }

  // ---- configuration ----
  struct Descendant {
    NodeId node;
    int port;
    std::string hw_type;
  };
  // _fake_quantize_to_types._get_node_valuable_descendant: first non-agnostic ops below `fq`.
  std::vector<Descendant> QuantizedDescendants(NodeId fq) const {
    std::vector<Descendant> out;
    std::deque<NodeId> q = {fq};
    std::set<NodeId> seen = {fq};
    while (!q.empty()) {
      const NodeId cur = q.front();
      q.pop_front();
      for (size_t p = 0; p < g_.node(cur).outputs.size(); ++p) {
        for (auto [c, port] : ValueUses(g_, {cur, int32_t(p)})) {
          const Node& cn = g_.node(c);
          if (IsAgnostic(cn)) {
            if (seen.insert(c).second) q.push_back(c);
          } else {
            out.push_back({c, port, HardwareOpType(g_, cn, hw_)});
          }
        }
      }
    }
    return out;
  }

  Result<std::vector<QuantConfig>> Candidates(NodeId fq, TensorRole role,
                                              const std::vector<Descendant>& ds) const {
    const std::string group = role == TensorRole::kWeights ? "weights" : "activations";
    const QuantConfigOverride& ov = role == TensorRole::kWeights ? o_.weights : o_.activations;
    std::vector<QuantConfig> res;
    bool have = false;
    std::string names;
    for (const Descendant& d : ds) {
      names += (names.empty() ? "" : ", ") + g_.node(d.node).name;
      const HwOperation* op = hw_.Find(d.hw_type);
      if (!op || !op->Group(group)) continue;
      bool mismatch = false;
      std::vector<QuantConfig> confs = FilterByOverride(*op->Group(group), ov, &mismatch);
      res = have ? IntersectConfigs(res, confs, hw_.primary_bitwidth) : confs;
      have = true;
      if (res.empty()) break;
    }
    if (res.empty()) {
      return Status::Error("FakeQuantize '" + g_.node(fq).name + "': no " + group +
                           " configuration fits all its consumers (" + names + ")");
    }
    return res;
  }

  bool MatMulWithoutConstWeights(NodeId id) const {
    const Node& n = g_.node(id);
    if (PotType(n) != "MatMul" || n.inputs.size() < 2) return false;
    NodeId w = n.inputs[1].source.node;
    if (g_.node(w).type == "FakeQuantize") w = g_.node(w).inputs[0].source.node;
    return !g_.node(w).is_const();
  }

  // find_fqs_to_unify: Concat groups (and recurrent port groups).
  std::vector<std::vector<NodeId>> UnifyGroups() {
    std::vector<std::vector<NodeId>> groups;
    const HwOperation* concat_hw = hw_.Find("Concat");
    bool concat_unified = false;
    if (concat_hw) {
      for (const auto& [k, v] : concat_hw->attributes) {
        if (k == "unified_scales" && std::holds_alternative<std::string>(v) &&
            std::get<std::string>(v) == "all") {
          concat_unified = true;
        }
      }
    }
    std::set<std::string> per_channel_ops;
    for (const HwOperation& op : hw_.operations) {
      const auto* acts = op.Group("activations");
      if (!acts || acts->empty()) continue;
      bool all = true;
      for (const QuantConfig& c : *acts) all = all && c.granularity == Granularity::kPerChannel;
      if (all) per_channel_ops.insert(op.type);
    }
    auto followed_by = [&](NodeId concat, const std::function<bool(const Node&)>& hit) {
      std::vector<NodeId> stack = {concat};
      std::set<NodeId> seen;
      while (!stack.empty()) {
        NodeId cur = stack.back();
        stack.pop_back();
        if (!seen.insert(cur).second) continue;
        const Node& n = g_.node(cur);
        if (IsAgnostic(n)) {
          for (NodeId c : ConsumerNodes(g_, cur)) stack.push_back(c);
        } else if (hit(n)) {
          return true;
        }
      }
      return false;
    };
    auto unified_op = [&](NodeId id) {
      const Node& n = g_.node(id);
      if (!concat_unified || n.type != "Concat") return false;
      // Inputs lead (through non-Const producers) to FQs or Concats.
      std::vector<std::vector<NodeId>> hits;
      const Pred crit = [this](NodeId x) {
        return g_.node(x).type == "FakeQuantize" || g_.node(x).type == "Concat";
      };
      const NodeFn up = [this](NodeId x) {
        std::vector<NodeId> out;
        for (const auto& in : g_.node(x).inputs) {
          if (in.source.valid() && !g_.node(in.source.node).is_const()) {
            out.push_back(in.source.node);
          }
        }
        return out;
      };
      Traverse(id, up, crit, {crit}, &hits);
      if (hits[0].empty()) return false;
      if (!followed_by(id, [](const Node& x) {
            const std::string t = PotType(x);
            return t == "Convolution" || t == "ConvolutionBackpropData" || t == "MatMul";
          })) {
        return false;
      }
      return !followed_by(
          id, [&](const Node& x) { return per_channel_ops.count(HardwareOpType(g_, x, hw_)) > 0; });
    };
    auto has_const_input = [&](NodeId id) {
      for (const auto& in : g_.node(id).inputs) {
        if (in.source.valid() && g_.node(in.source.node).is_const()) return true;
      }
      return false;
    };
    auto quantizable_type = [&](NodeId id) {
      const auto& outs = g_.node(id).outputs;
      return outs.empty() || IsFloatValue(g_, {id, 0});
    };

    std::set<NodeId> visited;
    std::vector<NodeId> fqs = g_.NodesOfType("FakeQuantize");
    for (NodeId fq : fqs) {
      if (visited.count(fq) || g_.node(g_.node(fq).inputs[0].source.node).is_const()) continue;
      std::vector<NodeId> stack = {fq};
      std::vector<NodeId> bridges, members;
      while (!stack.empty()) {
        const NodeId n = stack.back();
        stack.pop_back();
        if (visited.count(n)) continue;
        visited.insert(n);
        const Node& nn = g_.node(n);
        if (unified_op(n) || nn.type == "Concat") {
          if (!has_const_input(n)) bridges.push_back(n);
        } else if (nn.type == "FakeQuantize" && !g_.node(nn.inputs[0].source.node).is_const()) {
          members.push_back(n);
        }
        if (nn.type == "FakeQuantize" || IsAgnostic(nn)) {
          for (NodeId c : ConsumerNodes(g_, n)) {
            if (!visited.count(c) && quantizable_type(c) &&
                (IsAgnostic(g_.node(c)) || unified_op(c))) {
              stack.push_back(c);
            }
          }
        }
        if (nn.type != "FakeQuantize") {
          for (const auto& in : nn.inputs) {
            if (!in.source.valid()) continue;
            const NodeId p = in.source.node;
            if (!visited.count(p) && quantizable_type(p) &&
                (g_.node(p).type == "FakeQuantize" || IsAgnostic(g_.node(p)))) {
              stack.push_back(p);
            }
          }
        }
      }
      bool any_unified = false;
      for (NodeId b : bridges) any_unified = any_unified || unified_op(b);
      if (any_unified && members.size() > 1) groups.push_back(members);
    }
    // Recurrent ops: FQs on each unified port group.
    for (const HwOperation& op : hw_.operations) {
      for (const auto& [k, v] : op.attributes) {
        if (k != "unified_scales" ||
            !std::holds_alternative<std::vector<std::vector<int64_t>>>(v)) {
          continue;
        }
        for (NodeId id : g_.NodesOfType(op.type)) {
          for (const auto& ports : std::get<std::vector<std::vector<int64_t>>>(v)) {
            std::set<NodeId> members;
            bool all_act = true;
            for (int64_t p : ports) {
              if (p >= int64_t(g_.node(id).inputs.size())) continue;
              const NodeId src = g_.node(id).inputs[size_t(p)].source.node;
              if (g_.node(src).type == "FakeQuantize") {
                members.insert(src);
                all_act = all_act && !g_.node(g_.node(src).inputs[0].source.node).is_const();
              }
            }
            if (members.size() >= 2 && all_act) {
              groups.emplace_back(members.begin(), members.end());
            }
          }
        }
      }
    }
    return groups;
  }

  Result<QuantizationPlan> BuildPlan() {
    auto order = g_.TopologicalOrder();
    if (!order.ok()) return order.status();
    QuantizationPlan plan;
    std::map<NodeId, int> index;
    std::vector<std::vector<QuantConfig>> cands;
    std::vector<std::vector<Descendant>> descs;
    const std::vector<std::string> first = FindFirstConvolutions(g_);
    const std::set<std::string> first_set(first.begin(), first.end());
    for (NodeId id : *order) {
      const Node& n = g_.node(id);
      if (n.type != "FakeQuantize") continue;
      FqInfo info;
      info.fq = id;
      info.input = n.inputs[0].source;
      info.role =
          g_.node(info.input.node).is_const() ? TensorRole::kWeights : TensorRole::kActivations;
      auto ds = QuantizedDescendants(id);
      PTQ_ASSIGN_OR_RETURN(auto c, Candidates(id, info.role, ds));
      for (const Descendant& d : ds) info.consumers.emplace_back(d.node, d.port);
      index[id] = static_cast<int>(plan.fqs.size());
      plan.fqs.push_back(std::move(info));
      cands.push_back(std::move(c));
      descs.push_back(std::move(ds));
    }
    // Per-FQ choice, then unification groups (per-tensor only, one config per group).
    for (size_t i = 0; i < plan.fqs.size(); ++i) {
      plan.fqs[i].config = ApplyPresetRule(o_.preset, plan.fqs[i].role, cands[i]);
    }
    for (const auto& members : UnifyGroups()) {
      std::vector<int> idx;
      for (NodeId m : members) {
        auto it = index.find(m);
        if (it != index.end()) idx.push_back(it->second);
      }
      if (idx.size() < 2) continue;
      std::sort(idx.begin(), idx.end());
      std::vector<QuantConfig> res;
      std::string names;
      for (size_t k = 0; k < idx.size(); ++k) {
        std::vector<QuantConfig> pt;
        for (const QuantConfig& c : cands[size_t(idx[k])]) {
          if (c.granularity == Granularity::kPerTensor) pt.push_back(c);
        }
        res = k == 0 ? pt : IntersectConfigs(res, pt, hw_.primary_bitwidth);
        names += (k ? ", " : "") + g_.node(plan.fqs[size_t(idx[k])].fq).name;
      }
      if (res.empty()) {
        return Status::Error("FakeQuantize nodes " + names + " cannot be unified: no common " +
                             "per-tensor configuration");
      }
      const QuantConfig chosen = ApplyPresetRule(o_.preset, TensorRole::kActivations, res);
      for (int k : idx) plan.fqs[size_t(k)].config = chosen;
      plan.unified_groups.push_back(idx);
    }
    // model_type transformer: symmetric activations in front of activation x activation MatMuls.
    if (o_.model_type == "transformer" &&
        (device_ == "ANY" || device_ == "CPU" || device_ == "CPU_SPR" || device_ == "GPU" ||
         device_ == "VPU")) {
      for (size_t i = 0; i < plan.fqs.size(); ++i) {
        if (plan.fqs[i].role != TensorRole::kActivations) continue;
        NodeId mm = graph::kNoNode;
        for (const Descendant& d : descs[i]) {
          if (d.hw_type == "MatMul") mm = d.node;
        }
        if (mm != graph::kNoNode && MatMulWithoutConstWeights(mm)) {
          plan.fqs[i].config.mode = QuantMode::kSymmetric;
        }
      }
    }
    // Levels, limit shapes, saturation-fix candidates.
    for (FqInfo& info : plan.fqs) {
      Node& fqn = g_.node(info.fq);
      const bool w = info.role == TensorRole::kWeights;
      info.levels = ComputeLevels(info.config.bits, info.config.mode, w, info.config.level_low,
                                  info.config.level_high);
      fqn.attrs.SetInt("levels", info.levels.levels);
      const PartialShape& xs = g_.output(info.input).shape;
      Shape limit_shape;  // scalar
      if (info.config.granularity == Granularity::kPerChannel) {
        if (w) {
          bool deconv = false;
          for (const auto& [c, port] : info.consumers) {
            const Node& cn = g_.node(c);
            if (cn.type == "ConvolutionBackpropData") deconv = true;
            if (cn.type == "GroupConvolutionBackpropData") {
              // The channel layout of grouped deconvolution weights is not POT's; per tensor.
              info.config.granularity = Granularity::kPerTensor;
            }
          }
          info.channel_axis = deconv ? 1 : 0;
        } else {
          info.channel_axis = 1;
        }
        if (info.config.granularity == Granularity::kPerChannel && xs.rank_known() &&
            xs.rank() > size_t(info.channel_axis)) {
          if (xs[size_t(info.channel_axis)] < 0) {
            return Status::Error(Describe(fqn) + ": per-channel quantization needs a static " +
                                 "channel dimension (axis " + std::to_string(info.channel_axis) +
                                 ")");
          }
          limit_shape.assign(xs.rank(), 1);
          limit_shape[size_t(info.channel_axis)] = xs[size_t(info.channel_axis)];
        } else {
          info.config.granularity = Granularity::kPerTensor;
        }
        if (info.config.granularity == Granularity::kPerTensor) info.channel_axis = 0;
      }
      for (size_t k = 1; k <= 4; ++k) {
        Node& c = g_.node(fqn.inputs[k].source.node);
        Tensor t = Tensor::Allocate(ElementType::kF32, limit_shape);
        std::memset(t.mutable_bytes(), 0, t.nbytes());
        c.constant = std::move(t);
        c.outputs[0].type = ElementType::kF32;
        c.outputs[0].shape = PartialShape(limit_shape);
      }
      if (w) {
        for (const auto& [c, port] : info.consumers) {
          if (port == 1 && first_set.count(g_.node(c).name)) info.saturation_fix_candidate = true;
          // Group weights: FQ → Reshape → GroupConvolution.
          if (g_.node(c).type == "Reshape") {
            for (auto [cc, p2] : ValueUses(g_, {c, 0})) {
              if (p2 == 1 && first_set.count(g_.node(cc).name)) {
                info.saturation_fix_candidate = true;
              }
            }
          }
        }
      }
    }
    return plan;
  }

  Graph& g_;
  const PlacementOptions& o_;
  const HardwareConfig& hw_;
  std::string device_;
  std::vector<char> skipped_, known_, ignored_;
  std::unordered_map<NodeId, bool> skip_ascent_;
  std::unordered_map<NodeId, std::vector<NodeId>> sink_cache_;
};

}  // namespace

std::string HardwareOpType(const Graph& g, const Node& n, const HardwareConfig& hw) {
  if (n.type == "GroupConvolution" && hw.Find("DepthWiseConvolution") && n.inputs.size() > 1) {
    const PartialShape& ws = g.output(n.inputs[1].source).shape;
    const PartialShape& xs = g.output(n.inputs[0].source).shape;
    const PartialShape& ys = n.outputs.empty() ? PartialShape() : n.outputs[0].shape;
    int64_t group = -1;
    if (ws.rank_known() && ws.rank() > 2) group = ws[0];
    // Weights may already sit behind the Reshape of step 1 (5-D shape as its output).
    if (ys.rank_known() && ys.rank() > 1 && xs.rank_known() && xs.rank() > 1 && group > 0 &&
        ys[1] == group && xs[1] == group) {
      return "DepthWiseConvolution";
    }
  }
  return PotType(n);
}

bool IsQuantizeAgnostic(const Node& n, const HardwareConfig& hw) {
  const std::string t = PotType(n);
  return AgnosticTypes().count(t) && hw.Find(t) != nullptr;
}

bool IsQuantizedOpType(const Graph& g, const Node& n, const HardwareConfig& hw) {
  if (IsQuantizeAgnostic(n, hw)) return false;
  const HwOperation* op = hw.Find(HardwareOpType(g, n, hw));
  return op != nullptr && op->has_quantization;
}

std::vector<std::string> FindFirstConvolutions(const Graph& g) {
  std::set<std::string> found;
  std::vector<NodeId> frontier = g.parameters();
  std::set<NodeId> seen(frontier.begin(), frontier.end());
  while (!frontier.empty()) {
    std::vector<NodeId> next;
    for (NodeId id : frontier) {
      if (PotType(g.node(id)) == "Convolution") {
        found.insert(g.node(id).name);
        continue;
      }
      for (NodeId c : ConsumerNodes(g, id)) {
        if (seen.insert(c).second) next.push_back(c);
      }
    }
    frontier = std::move(next);
  }
  return {found.begin(), found.end()};
}

Status PrepareGraphForQuantization(Graph* g, const PlacementOptions& options) {
  PTQ_RETURN_IF_ERROR(FoldFp16Converts(g));
  PTQ_RETURN_IF_ERROR(PreprocessMatMuls(g));
  PTQ_RETURN_IF_ERROR(ReshapeGroupWeights(g));
  if (options.insert_null_biases) PTQ_RETURN_IF_ERROR(InsertNullBiases(g));
  return Status::Ok();
}

Result<QuantizationPlan> PlaceFakeQuantize(Graph* g, const PlacementOptions& options) {
  if (options.hardware == nullptr) {
    return Status::Error("PlaceFakeQuantize: no hardware config given (PlacementOptions.hardware)");
  }
  if (options.ignored.skip_model) return QuantizationPlan{};
  PTQ_RETURN_IF_ERROR(PrepareGraphForQuantization(g, options));
  Placer p(g, options);
  return p.Run();
}

}  // namespace ptqflow::quant
