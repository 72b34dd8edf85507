#include "quant/compress_weights.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <vector>

#include "graph/ops/shape_inference.h"
#include "quant/algorithms_common.h"

namespace ptqflow::quant {

using graph::Graph;
using graph::NodeId;
using graph::ValueRef;

namespace {

float NearbyIntF(float v) {
  const int saved = std::fegetround();
  if (saved != FE_TONEAREST) std::fesetround(FE_TONEAREST);
  float r = std::nearbyint(v);
  if (saved != FE_TONEAREST) std::fesetround(saved);
  return r;
}

// numpy.allclose(a, b) with rtol 1e-5 and the given atol.
bool AllClose(float a, float b, float atol) {
  return std::abs(a - b) <= atol + 1e-5f * std::abs(b);
}

void RemoveIfUnused(Graph* g, NodeId id) {
  if (id == graph::kNoNode || !g->node(id).alive || g->node(id).type == "Parameter") return;
  for (NodeId n : g->LiveNodes()) {
    for (const graph::InputPort& in : g->node(n).inputs) {
      if (in.source.node == id) return;
    }
  }
  std::vector<ValueRef> inputs;
  for (const graph::InputPort& in : g->node(id).inputs) inputs.push_back(in.source);
  g->RemoveNode(id);
  for (const ValueRef& v : inputs) {
    if (g->node(v.node).is_const() || g->node(v.node).type == "Convert") RemoveIfUnused(g, v.node);
  }
}

Status CompressOne(Graph* g, NodeId fq, bool* with_zp) {
  const graph::Node fq_node = g->node(fq);  // copy: nodes are appended below
  const std::string where = graph::Describe(fq_node);
  PTQ_ASSIGN_OR_RETURN(int64_t levels, fq_node.attrs.GetInt("levels"));
  const NodeId wc = ConstSource(*g, fq_node.input(0));
  const std::vector<float> w = ConstValuesF32(*g, wc);
  const graph::Shape wshape = g->node(wc).constant.shape();
  graph::Shape lim_shape[4];
  std::vector<float> lim[4];
  for (int k = 0; k < 4; ++k) {
    const NodeId c = ConstSource(*g, fq_node.input(static_cast<size_t>(k) + 1));
    if (c == graph::kNoNode) {
      return Status::Error(where + ": limit input " + std::to_string(k + 1) + " is not constant");
    }
    lim[k] = ConstValuesF32(*g, c);
    lim_shape[k] = g->node(c).constant.shape();
    if (lim_shape[k].size() > wshape.size()) {
      return Status::Error(where + ": limit of shape " + graph::ShapeToString(lim_shape[k]) +
                           " has a higher rank than the weights " + graph::ShapeToString(wshape));
    }
    for (size_t d = 0; d < lim_shape[k].size(); ++d) {
      const int64_t ld = lim_shape[k][d];
      const int64_t wd = wshape[wshape.size() - lim_shape[k].size() + d];
      if (ld != 1 && ld != wd) {
        return Status::Error(where + ": limit of shape " + graph::ShapeToString(lim_shape[k]) +
                             " does not broadcast to the weights " + graph::ShapeToString(wshape));
      }
    }
  }
  const int64_t q_min = -(levels / 2);
  const int64_t q_max = levels + q_min - 1;
  const float steps = static_cast<float>(levels - 1);

  // Quantized data: the FakeQuantize level index of every weight, shifted by q_min.
  std::vector<int32_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const auto idx = [&](int k) { return lim[k][BroadcastIndex(wshape, lim_shape[k], i)]; };
    const float il = idx(0), ih = idx(1);
    float r;
    if (w[i] <= std::min(il, ih)) {
      r = 0;
    } else if (w[i] > std::max(il, ih)) {
      r = steps;
    } else {
      r = NearbyIntF((w[i] - il) / (ih - il) * steps);
    }
    q[i] = static_cast<int32_t>(r) + static_cast<int32_t>(q_min);
  }

  // Dequantization constants on the output-limit shape (ol and oh broadcast; rank >= 1).
  graph::Shape sshape = lim_shape[2].size() >= lim_shape[3].size() ? lim_shape[2] : lim_shape[3];
  if (graph::ElementCount(lim_shape[3]) > graph::ElementCount(sshape)) sshape = lim_shape[3];
  if (sshape.empty()) sshape = {1};
  const size_t scount = static_cast<size_t>(graph::ElementCount(sshape));
  std::vector<float> scale(scount), zp(scount);
  const float qrange = static_cast<float>(q_max - q_min);
  for (size_t j = 0; j < scount; ++j) {
    const float ol = lim[2][lim[2].size() == 1 ? 0 : BroadcastIndex(sshape, lim_shape[2], j)];
    const float oh = lim[3][lim[3].size() == 1 ? 0 : BroadcastIndex(sshape, lim_shape[3], j)];
    scale[j] = (oh - ol) / qrange;
    zp[j] = scale[j] == 0.0f ? 0.0f : static_cast<float>(q_min) - ol / scale[j];
  }

  // ZeroPointOptimizer.
  bool keep_sub = !std::all_of(zp.begin(), zp.end(), [](float z) { return AllClose(z, 0, 1e-8f); });
  if (keep_sub) {
    bool fold = true;
    std::vector<int32_t> folded(q.size());
    for (size_t i = 0; i < q.size() && fold; ++i) {
      const float z = zp[zp.size() == 1 ? 0 : BroadcastIndex(wshape, sshape, i)];
      const int8_t zi = static_cast<int8_t>(static_cast<int32_t>(NearbyIntF(z)));
      const float adj = z - static_cast<float>(zi);
      // numpy int8 arithmetic wraps around.
      const int8_t t = static_cast<int8_t>(static_cast<uint8_t>(q[i] - zi));
      const float original = static_cast<float>(q[i]) - z;
      const float transformed = static_cast<float>(t) - adj;
      if (!AllClose(original, transformed, 1e-8f) || !AllClose(adj, 0, 1e-4f)) fold = false;
      folded[i] = t;
    }
    if (fold) {
      q = std::move(folded);
      keep_sub = false;
    }
  }
  *with_zp = keep_sub;

  std::vector<int8_t> q8(q.size());
  for (size_t i = 0; i < q.size(); ++i) q8[i] = static_cast<int8_t>(q[i]);
  const std::string wname = g->node(wc).name;
  const NodeId qc = g->AddConst(wname + "/quantized",
                                graph::Tensor::FromVector(graph::ElementType::kI8, wshape, q8));
  graph::Attributes cvt_attrs;
  cvt_attrs.Set("destination_type", "f32");
  ValueRef cur{g->AddOp("Convert", wname + "/quantized/to_f32", {{qc, 0}}, cvt_attrs, 1, "opset1"),
               0};
  graph::Attributes bc;
  bc.Set("auto_broadcast", "numpy");
  if (keep_sub) {
    const NodeId zc = g->AddConst(fq_node.name + "/zero_point",
                                  graph::Tensor::FromVector(graph::ElementType::kF32, sshape, zp));
    cur = {g->AddOp("Subtract", fq_node.name + "/minus_zp", {cur, {zc, 0}}, bc, 1, "opset1"), 0};
  }
  const NodeId sc = g->AddConst(fq_node.name + "/scale",
                                graph::Tensor::FromVector(graph::ElementType::kF32, sshape, scale));
  const NodeId mul =
      g->AddOp("Multiply", fq_node.name + "/mulpiply_by_scale", {cur, {sc, 0}}, bc, 1, "opset1");
  g->node(mul).outputs[0].names = fq_node.outputs[0].names;
  g->ReplaceAllUses(ValueRef{fq, 0}, ValueRef{mul, 0});
  std::vector<ValueRef> old_inputs;
  for (const graph::InputPort& in : g->node(fq).inputs) old_inputs.push_back(in.source);
  g->RemoveNode(fq);
  for (const ValueRef& v : old_inputs) RemoveIfUnused(g, v.node);
  return Status::Ok();
}

}  // namespace

Result<CompressWeightsStats> CompressQuantizedWeights(Graph* g) {
  CompressWeightsStats stats;
  for (NodeId fq : g->NodesOfType("FakeQuantize")) {
    if (!IsWeightFakeQuantize(*g, fq)) continue;
    PTQ_ASSIGN_OR_RETURN(int64_t levels, g->node(fq).attrs.GetInt("levels"));
    if (levels <= 2 || levels > 256) continue;
    bool with_zp = false;
    PTQ_RETURN_IF_ERROR(CompressOne(g, fq, &with_zp));
    ++stats.compressed;
    if (with_zp) ++stats.with_zero_point;
  }
  PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(*g));
  return stats;
}

}  // namespace ptqflow::quant
