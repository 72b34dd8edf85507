// ActivationChannelAlignment (pot-spec §3.6; POT's channel_alignment/algorithm.py): equalises
// the per-channel ranges of the activations between two linear layers, moving the difference
// into the weights and biases.
//
// Pairs (node_out visited in name order): node_out is a Convolution (not grouped) with zero
// pads, unit strides and unit dilations; its input 0 comes from node_in, optionally through a
// bias Add, and that value feeds node_out only; node_in is a (Group)Convolution or MatMul; both
// have constant weights (input 1, through an optional FakeQuantize); a bias, when present, is a
// Const.
// Statistics (FP32 model, every sample): on node_in's biased output (the Add when node_in has
// a bias), per sample and channel (axis 1) the quantiles q = 1e-4 and 1 - 1e-4 over all other
// axes; then the median over samples (amin, amax). Then
//   amean = (amin + amax) / 2 ; ascale = amax - amin
//   align means (both biases present):  b_in -= amean ; b_out += sum_spatial(W_out) · amean
//   align scales (unless all ascale <= 0):
//     sf = ascale / median(ascale[ascale > 0]) ; sf[ascale <= 0] = 1 ; sf = clip(sf, 1e-2, 1e2)
//     if W_in has C output channels: W_in /= sf (output axis) ; b_in /= sf ; W_out *= sf (axis 1)
// and node_out is marked need_rescale (the saturation fix then applies to its weights).
//
// Thread-safety: immutable object; Apply/Run edit the graph they are given.
#pragma once

#include <set>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/engine.h"

namespace ptqflow::quant {

struct ActivationChannelAlignmentOptions {
  // Quantile of the per-channel range statistics (POT: 1e-4 and 1 - 1e-4; not configurable in
  // POT either).
  double outlier_prob = 1e-4;
};

class ActivationChannelAlignment {
 public:
  explicit ActivationChannelAlignment(ActivationChannelAlignmentOptions options = {})
      : options_(options) {}

  struct Pair {
    graph::NodeId node_in = graph::kNoNode;
    graph::NodeId w_in = graph::kNoNode;  // Const
    graph::NodeId b_in = graph::kNoNode;  // Const or kNoNode
    graph::NodeId node_out = graph::kNoNode;
    graph::NodeId w_out = graph::kNoNode;
    graph::NodeId b_out = graph::kNoNode;
    graph::ValueRef stat_value;  // node_in's biased output
  };
  Result<std::vector<Pair>> FindPairs(const graph::Graph& g) const;
  // Two requests per pair (low quantile, high quantile), in pair order.
  std::vector<StatRequest> Requests(std::span<const Pair> pairs) const;
  // Edits weights and biases; returns the node_out ops (need_rescale).
  Result<std::set<graph::NodeId>> Apply(graph::Graph* g, std::span<const Pair> pairs,
                                        std::span<const StatResult> results) const;
  // FindPairs + one Collect on BypassFakeQuantize(*g) + Apply.
  Result<std::set<graph::NodeId>> Run(graph::Graph* g, Engine* engine) const;

 private:
  ActivationChannelAlignmentOptions options_;
};

}  // namespace ptqflow::quant
