#include "quant/patterns.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>
#include <unordered_map>

namespace ptqflow::quant {

using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::ValueRef;

std::string PotType(const Node& n) {
  static const std::unordered_map<std::string, std::string> kMap = {
      {"Relu", "ReLU"},
      {"PRelu", "PReLU"},
      {"Softmax", "SoftMax"},
      {"Slice", "StridedSlice"},
      {"GroupConvolution", "Convolution"},
      {"GroupConvolutionBackpropData", "ConvolutionBackpropData"},
  };
  auto it = kMap.find(n.type);
  return it == kMap.end() ? n.type : it->second;
}

std::vector<char> ValueKnownNodes(const Graph& g, bool fake_quantize_is_data) {
  std::vector<char> known(g.size(), 0);
  auto order = g.TopologicalOrder();
  if (!order.ok()) return known;
  for (NodeId id : *order) {
    const Node& n = g.node(id);
    if (n.is_const() || n.type == "ShapeOf") {
      known[id] = 1;
      continue;
    }
    if (n.type == "Parameter" || n.inputs.empty()) continue;
    if (fake_quantize_is_data && n.type == "FakeQuantize") continue;
    bool all = true;
    for (const auto& in : n.inputs) {
      if (in.source.valid() && !known[in.source.node]) all = false;
    }
    known[id] = all ? 1 : 0;
  }
  return known;
}

std::vector<NodeId> ConsumerNodes(const Graph& g, NodeId id) {
  std::vector<NodeId> out;
  for (NodeId c : g.LiveNodes()) {
    for (const auto& in : g.node(c).inputs) {
      if (in.source.node == id) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

std::vector<std::pair<NodeId, int>> ValueUses(const Graph& g, ValueRef v) {
  std::vector<std::pair<NodeId, int>> out;
  for (NodeId c : g.LiveNodes()) {
    const Node& n = g.node(c);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].source == v) out.emplace_back(c, static_cast<int>(i));
    }
  }
  return out;
}

namespace {

// One pattern node, matched backwards from the pattern's root (its last op). `inputs` are
// indices of pattern nodes that must feed this op (on distinct input ports, any order); a
// pattern node referenced twice must bind to the same graph node (DAG patterns such as hswish).
struct PNode {
  std::function<bool(const std::string&)> type;
  bool need_const = false;  // one more input (not a pattern input) must be value-known
  bool keep = false;        // POT's `input` / `output` ends: matched but not marked
  std::vector<int> inputs;
};

struct Pattern {
  std::string name;
  std::vector<PNode> nodes;  // root = last
  // POT's check functions: a match for which this returns true is not marked.
  std::function<bool(const Graph&, const std::vector<NodeId>&, const std::vector<PNode>&)> veto;
};

std::function<bool(const std::string&)> Is(std::string t) {
  return [t](const std::string& x) { return x == t; };
}
std::function<bool(const std::string&)> IsAny(std::vector<std::string> ts) {
  return [ts](const std::string& x) { return std::find(ts.begin(), ts.end(), x) != ts.end(); };
}

const std::vector<std::string>& EltwiseTypes() {
  static const std::vector<std::string> k = {"Add",        "Multiply",   "Subtract", "Divide",
                                             "Less",       "LessEqual",  "Greater",  "GreaterEqual",
                                             "Equal",      "NotEqual",   "FloorMod", "LogicalOr",
                                             "LogicalXor", "LogicalAnd", "Maximum",  "Minimum"};
  return k;
}

// Builds chain patterns: each appended op consumes the previous one.
class Builder {
 public:
  explicit Builder(std::string name) { p_.name = std::move(name); }
  // Appends an op fed by the current tail (or by `from` when >= 0; -2 = no predecessor).
  int Op(std::function<bool(const std::string&)> type, bool need_const = false, bool keep = false,
         int from = -1) {
    PNode n;
    n.type = std::move(type);
    n.need_const = need_const;
    n.keep = keep;
    if (from == -1 && !p_.nodes.empty()) n.inputs.push_back(tail_);
    if (from >= 0) n.inputs.push_back(from);
    p_.nodes.push_back(std::move(n));
    tail_ = static_cast<int>(p_.nodes.size()) - 1;
    return tail_;
  }
  // Starts a new branch (no predecessor).
  int Start(std::function<bool(const std::string&)> type, bool need_const = false,
            bool keep = false) {
    return Op(std::move(type), need_const, keep, -2);
  }
  // An op fed by several pattern nodes.
  int Join(std::function<bool(const std::string&)> type, std::vector<int> from,
           bool need_const = false, bool keep = false) {
    PNode n;
    n.type = std::move(type);
    n.need_const = need_const;
    n.keep = keep;
    n.inputs = std::move(from);
    p_.nodes.push_back(std::move(n));
    tail_ = static_cast<int>(p_.nodes.size()) - 1;
    return tail_;
  }
  Builder& Veto(decltype(Pattern::veto) v) {
    p_.veto = std::move(v);
    return *this;
  }
  Pattern Build() { return std::move(p_); }

 private:
  Pattern p_;
  int tail_ = -1;
};

// POT's check_for_branching: walk up input 0 from `id` until a Convolution/MatMul or a Const;
// true if any op on the way (including that last one) feeds more than one consumer.
bool Branches(const Graph& g, NodeId id) {
  std::string parent_type;
  NodeId cur = id;
  while (parent_type != "Convolution" && parent_type != "MatMul" && parent_type != "Const") {
    const Node& n = g.node(cur);
    if (n.inputs.empty() || !n.inputs[0].source.valid()) return false;
    NodeId parent = n.inputs[0].source.node;
    parent_type = PotType(g.node(parent));
    if (ConsumerNodes(g, parent).size() > 1) return true;
    cur = parent;
  }
  return false;
}

std::vector<Pattern> FusedBasePatterns(bool scale_shift) {
  // Conv|MatMul [+ bias Add(const)] [+ ReLU/PReLU/Activation/Sigmoid], then the tail.
  std::vector<Pattern> out;
  const auto conv_fc = IsAny({"Convolution", "MatMul"});
  const auto act = IsAny({"ReLU", "PReLU", "Activation", "Sigmoid"});
  for (int variant = 0; variant < 4; ++variant) {
    Builder b(scale_shift ? "fused_scale_shift" : "fused_op_const");
    b.Op(conv_fc, false, /*keep=*/true);
    if (variant == 1 || variant == 3) b.Op(Is("Add"), true);
    if (variant == 2 || variant == 3) b.Op(act);
    if (scale_shift) {
      b.Op(Is("Multiply"), true);
      b.Op(Is("Add"), true);
      b.Veto([](const Graph& g, const std::vector<NodeId>& m, const std::vector<PNode>&) {
        for (NodeId id : m) {
          if (PotType(g.node(id)) == "Multiply") return Branches(g, id);
        }
        return false;
      });
    } else {
      b.Op(IsAny(EltwiseTypes()), true);
      b.Veto([](const Graph& g, const std::vector<NodeId>& m, const std::vector<PNode>&) {
        const auto& el = EltwiseTypes();
        for (NodeId id : m) {
          const std::string t = PotType(g.node(id));
          if (std::find(el.begin(), el.end(), t) != el.end() && Branches(g, id)) return true;
        }
        return false;
      });
    }
    out.push_back(b.Build());
  }
  return out;
}

std::vector<Pattern> CpuPatterns(bool with_attention) {
  std::vector<Pattern> out = FusedBasePatterns(true);
  for (Pattern& p : FusedBasePatterns(false)) out.push_back(std::move(p));
  if (with_attention) {
    Builder b("softmax_reshape_transpose_gather_matmul");
    int sm = b.Start(Is("SoftMax"));
    b.Start(Is("Add"));
    b.Op(Is("Reshape"), true);
    b.Op(Is("Transpose"));
    int gather = b.Op(Is("Gather"));
    b.Join(Is("MatMul"), {sm, gather});
    out.push_back(b.Build());
  }
  {
    Builder b("hswish_activation_clamp_multiply");
    b.Op(Is("Clamp"));
    b.Op(Is("Multiply"), true);
    out.push_back(b.Build());
  }
  return out;
}

std::vector<Pattern> GenericPatterns() {
  std::vector<Pattern> out;
  const auto conv_fc = IsAny({"Convolution", "MatMul"});
  const auto with_weights = IsAny({"Convolution", "ConvolutionBackpropData", "GroupConvolution",
                                   "GroupConvolutionBackpropData", "MatMul"});
  {
    Builder b("swish_activation");
    b.Op(conv_fc, false, true);
    b.Op(Is("Add"), true);
    b.Op(Is("Swish"));
    out.push_back(b.Build());
  }
  for (bool swish : {false, true}) {
    Builder b(swish ? "se_block_swish_activation" : "se_block");
    b.Op(Is("ReduceMean"), false, true);
    b.Op(conv_fc);
    b.Op(Is("Add"), true);
    b.Op(swish ? Is("Swish") : IsAny({"ReLU", "PReLU"}));
    b.Op(conv_fc);
    b.Op(Is("Add"), true);
    b.Op(Is("Sigmoid"));
    b.Op(Is("Multiply"), false, true);
    out.push_back(b.Build());
  }
  {
    Builder b("operation_with_bias");
    b.Op(with_weights, false, true);
    b.Op(Is("Add"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("scale_shift_add");
    b.Op(Is("Multiply"), false, true);
    b.Op(Is("Add"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("add_scale_shift");
    b.Op(Is("Add"), false, true);
    b.Op(Is("Multiply"), true);
    b.Op(Is("Add"), true);
    b.Op(Is("Result"));
    out.push_back(b.Build());
  }
  {
    Builder b("mvn_scale_shift");
    b.Op(Is("MVN"), false, true);
    b.Op(Is("Multiply"), true);
    b.Op(Is("Add"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("normalize_l2");
    b.Op(Is("NormalizeL2"), false, true);
    b.Op(Is("Multiply"));
    out.push_back(b.Build());
  }
  // input_* chains: Parameter [-> Convert -> Transpose | -> Transpose] [-> Split(const) -> Concat]
  // -> tail, tails: scale-shift, Add(const), Subtract, Multiply (the last two only without the
  // Split/Concat part).
  for (int prefix = 0; prefix < 3; ++prefix) {
    for (bool ric : {false, true}) {
      for (int tail = 0; tail < 4; ++tail) {
        if (ric && tail >= 2) continue;
        if (!ric && tail == 2 && prefix != 0) continue;  // input_subtract has no prefix forms
        Builder b("input_preprocessing");
        b.Op(Is("Parameter"), false, true);
        if (prefix == 2) b.Op(Is("Convert"));
        if (prefix >= 1) b.Op(Is("Transpose"));
        if (ric) {
          b.Op(Is("Split"), true);
          b.Op(Is("Concat"));
        }
        if (tail == 0) {
          b.Op(Is("Multiply"), true);
          b.Op(Is("Add"), true);
        } else if (tail == 1) {
          b.Op(Is("Add"), true);
        } else if (tail == 2) {
          b.Op(Is("Subtract"));
        } else {
          b.Op(Is("Multiply"));
        }
        out.push_back(b.Build());
      }
    }
  }
  {
    Builder b("softmax");
    int exp = b.Op(Is("Exp"));
    b.Op(Is("ReduceSum"), true);
    int pw = b.Op(Is("Power"), true);
    b.Join(Is("Multiply"), {exp, pw});
    out.push_back(b.Build());
  }
  {
    Builder b("softmax_div");
    int exp = b.Op(Is("Exp"));
    int red = b.Op(Is("ReduceSum"), true);
    b.Join(Is("Divide"), {exp, red});
    out.push_back(b.Build());
  }
  {
    Builder b("softmax_reshape_matmul");
    b.Start(Is("SoftMax"));
    int rs = b.Op(Is("Reshape"), true);
    b.Start(Is("Add"));
    b.Op(Is("Reshape"), true);
    int tr = b.Op(Is("Transpose"));
    b.Join(Is("MatMul"), {tr, rs});
    out.push_back(b.Build());
  }
  {
    Builder b("stable_diffusion");
    int sm = b.Start(Is("SoftMax"));
    b.Start(Is("Reshape"));
    b.Op(Is("Transpose"));
    int r2 = b.Op(Is("Reshape"));
    b.Join(Is("MatMul"), {r2, sm});
    out.push_back(b.Build());
  }
  for (bool denominator : {false, true}) {
    Builder b(denominator ? "hswish_activation" : "hswish_activation_without_denominator");
    b.Op(conv_fc, false, true);
    int h = b.Op(Is("Add"), true);
    b.Op(Is("Add"), true);
    int clamp = b.Op(Is("Clamp"));
    b.Join(Is("Multiply"), {h, clamp});
    if (denominator) b.Op(Is("Multiply"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("hswish_activation_v2");
    int x = b.Op(IsAny({"Add", "Multiply", "ReduceMean", "Squeeze"}), false, true);
    b.Op(Is("Add"), true);
    b.Op(Is("Clamp"));
    int c = b.Op(Is("Multiply"), true);
    b.Join(Is("Multiply"), {x, c});
    out.push_back(b.Build());
  }
  {
    Builder b("fc_bn_hswish_activation");
    b.Op(Is("Unsqueeze"), true);
    b.Op(Is("Multiply"), true);
    b.Op(Is("Add"), true);
    b.Op(Is("Squeeze"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("batch_index");
    b.Op(Is("Subtract"));
    b.Op(Is("Multiply"));
    b.Op(Is("Multiply"), true);
    b.Op(Is("Add"));
    b.Op(Is("Unsqueeze"));
    b.Op(Is("Concat"));
    b.Op(Is("Concat"), true);
    b.Op(Is("Reshape"));
    b.Op(Is("Convolution"));
    out.push_back(b.Build());
  }
  for (const char* t :
       {"ExperimentalDetectronDetectionOutput", "ExperimentalDetectronROIFeatureExtractor"}) {
    Builder b(std::string(t) + "_add");
    b.Op(Is(t));
    b.Op(Is("Add"), true);
    out.push_back(b.Build());
  }
  {
    Builder b("equal_logicalnot");
    b.Op(Is("Equal"));
    b.Op(Is("LogicalNot"));
    out.push_back(b.Build());
  }
  return out;
}

class Matcher {
 public:
  Matcher(const Graph& g, const std::vector<char>& known) : g_(g), known_(known) {}

  // Calls `on_match` with the bound node per pattern node for every match rooted at `root`.
  void MatchAt(const Pattern& p, NodeId root,
               const std::function<void(const std::vector<NodeId>&)>& on_match) {
    std::vector<NodeId> bind(p.nodes.size(), graph::kNoNode);
    const int r = static_cast<int>(p.nodes.size()) - 1;
    Match(p, r, root, &bind, [&](std::vector<NodeId>* b) {
      // Every pattern node must be bound (branches that start with no predecessor are reached
      // from the join that consumes them).
      for (NodeId id : *b) {
        if (id == graph::kNoNode) return;
      }
      on_match(*b);
    });
  }

 private:
  using Cont = std::function<void(std::vector<NodeId>*)>;

  void Match(const Pattern& p, int pi, NodeId id, std::vector<NodeId>* bind, const Cont& k) {
    if ((*bind)[pi] != graph::kNoNode) {
      if ((*bind)[pi] == id) k(bind);
      return;
    }
    // A node may be bound to one pattern node only.
    for (NodeId b : *bind) {
      if (b == id) return;
    }
    const Node& n = g_.node(id);
    const PNode& pn = p.nodes[pi];
    if (!n.alive || !pn.type(PotType(n))) return;
    (*bind)[pi] = id;
    std::vector<char> used(n.inputs.size(), 0);
    AssignInputs(p, pi, 0, id, &used, bind, k);
    (*bind)[pi] = graph::kNoNode;
  }

  // Assigns pattern input j of pattern node pi to a distinct input port of `id`.
  void AssignInputs(const Pattern& p, int pi, size_t j, NodeId id, std::vector<char>* used,
                    std::vector<NodeId>* bind, const Cont& k) {
    const PNode& pn = p.nodes[pi];
    const Node& n = g_.node(id);
    if (j == pn.inputs.size()) {
      if (pn.need_const) {
        bool found = false;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          if (!(*used)[i] && n.inputs[i].source.valid() && known_[n.inputs[i].source.node]) {
            found = true;
          }
        }
        if (!found) return;
      }
      k(bind);
      return;
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if ((*used)[i] || !n.inputs[i].source.valid()) continue;
      (*used)[i] = 1;
      Match(p, pn.inputs[j], n.inputs[i].source.node, bind,
            [&](std::vector<NodeId>* b) { AssignInputs(p, pi, j + 1, id, used, b, k); });
      (*used)[i] = 0;
    }
  }

  const Graph& g_;
  const std::vector<char>& known_;
};

}  // namespace

std::vector<char> MarkSkippedBlocks(const Graph& g, const std::string& target_device) {
  std::vector<char> skipped(g.size(), 0);
  const std::vector<char> known = ValueKnownNodes(g);
  std::vector<Pattern> patterns;
  if (target_device == "ANY" || target_device == "CPU" || target_device == "GPU" ||
      target_device == "CPU_SPR") {
    patterns = CpuPatterns(target_device != "CPU_SPR");
  }
  for (Pattern& p : GenericPatterns()) patterns.push_back(std::move(p));

  Matcher m(g, known);
  const std::vector<NodeId> live = g.LiveNodes();
  for (const Pattern& p : patterns) {
    for (NodeId root : live) {
      m.MatchAt(p, root, [&](const std::vector<NodeId>& bind) {
        if (p.veto && p.veto(g, bind, p.nodes)) return;
        for (size_t i = 0; i < bind.size(); ++i) {
          if (!p.nodes[i].keep) skipped[bind[i]] = 1;
        }
      });
    }
  }

  // Detection outputs: every ancestor of NonMaxSuppression / TopK, walking up until an op with
  // weights or a Const (those are not marked).
  static const std::set<std::string> kStop = {"Convolution", "ConvolutionBackpropData", "MatMul",
                                              "Const"};
  for (NodeId id : live) {
    const std::string t = PotType(g.node(id));
    if (t != "NonMaxSuppression" && t != "TopK") continue;
    std::deque<NodeId> queue = {id};
    std::set<NodeId> seen = {id};
    while (!queue.empty()) {
      NodeId cur = queue.front();
      queue.pop_front();
      for (const auto& in : g.node(cur).inputs) {
        if (!in.source.valid()) continue;
        NodeId p = in.source.node;
        if (kStop.count(PotType(g.node(p))) || g.node(p).type == "GroupConvolutionBackpropData") {
          continue;
        }
        skipped[p] = 1;
        if (seen.insert(p).second) queue.push_back(p);
      }
    }
  }
  return skipped;
}

}  // namespace ptqflow::quant
