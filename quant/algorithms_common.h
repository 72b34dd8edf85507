// Graph helpers shared by POT's algorithms (MinMaxQuantization, ActivationChannelAlignment,
// FastBiasCorrection, BiasCorrection, weight compression): finding an op's constant weights and
// bias as POT's node_utils does, reading and rewriting constants as float32, bypassing
// FakeQuantize layers to get the FP32 view of a quantized graph, and small tensor reductions.
//
// POT's rules reproduced here (tools/pot/.../graph/node_utils.py, special_operations.py):
//   * bias of an op (get_bias_for_node): output 0 has exactly one consumer, an Add with more
//     than one input, one of which is a Const -> that Const;
//   * quantized weights (node_with_quantized_weights): input 1 is a FakeQuantize whose input 0
//     is a Const (here also through Convert, the FP16-compressed form POT reads back as f32);
//   * const weights (check_const_input): input 1 is a Const, or a FakeQuantize of one;
//   * ops with bias: Convolution and MatMul (channel axis 1 and -1). MO's internal graph shows a
//     GroupConvolution as a Convolution with `group`, so POT treats grouped convolutions like
//     Convolution; so does ptqflow (IsConvolution).
//
// Thread-safety: free functions; the Graph arguments are not synchronised.
#pragma once

#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::quant {

using ConsumerMap =
    std::unordered_map<graph::ValueRef, std::vector<graph::Graph::Use>, graph::ValueRefHash>;

// Convolution or GroupConvolution (POT's 'Convolution' type, grouped or not).
bool IsConvolution(const std::string& type);
// POT's OPERATIONS_WITH_WEIGHTS: (Group)Convolution, (Group)ConvolutionBackpropData, MatMul.
bool IsOpWithWeights(const std::string& type);
// POT's OPERATIONS_WITH_BIAS: (Group)Convolution and MatMul.
bool IsOpWithBias(const std::string& type);
// POT's OPERATIONS_CHANNEL_AXIS: 1 for convolutions, -1 for MatMul.
int OpChannelAxis(const std::string& type);

// The Const node `v` reads, directly or through Convert nodes; kNoNode otherwise.
graph::NodeId ConstSource(const graph::Graph& g, graph::ValueRef v);
// A FakeQuantize whose input 0 is a (converted) constant: a weights FQ.
bool IsWeightFakeQuantize(const graph::Graph& g, graph::NodeId fq);

// Input 1 of `op` is a FakeQuantize of a constant (also when a Reshape with a constant shape
// sits between them: grouped-convolution weights): that FQ, else kNoNode.
graph::NodeId WeightFakeQuantize(const graph::Graph& g, graph::NodeId op);
// The Const holding the weights of `op` (input 1, through an optional FakeQuantize and
// Converts), else kNoNode.
graph::NodeId WeightConst(const graph::Graph& g, graph::NodeId op);

struct BiasInfo {
  graph::NodeId add = graph::kNoNode;         // the bias Add
  graph::NodeId bias_const = graph::kNoNode;  // its Const input
  bool found() const { return add != graph::kNoNode; }
};
BiasInfo FindBias(const graph::Graph& g, const ConsumerMap& consumers, graph::NodeId op);

// Data of a Const as float32 (any numeric element type).
std::vector<float> ConstValuesF32(const graph::Graph& g, graph::NodeId c);
// Replaces the data of Const `c` (same shape) with `values`, stored in the Const's floating
// element type (f32, f16, bf16 or f64). Error naming the layer for a non-float constant.
Status SetConstValuesF32(graph::Graph* g, graph::NodeId c, std::span<const float> values);

// A copy of `g` in which every FakeQuantize (only activation FQs when `activations_only`) is
// bypassed and removed: its consumers read its input 0. Node ids do not change, so values of
// `g` name the same values in the copy. This is the FP32 model POT collects statistics on.
graph::Graph BypassFakeQuantize(const graph::Graph& g, bool activations_only);

// Removes every live node that no Result depends on (Parameters included). Returns how many.
int RemoveDeadNodes(graph::Graph* g);

// Axis of the output channels in the weight tensor of `op` of rank `rank`: 0 for
// (Group)Convolution, 1 for ConvolutionBackpropData (POT's TRANSPOSED_OPERATIONS), and for
// MatMul the last axis unless transpose_b (then rank-2).
Result<int> WeightOutputChannelAxis(const graph::Graph& g, graph::NodeId op, size_t rank);

// Moves `axis` of a C-ordered tensor of `shape` to the front: result is [shape[axis], rest].
std::vector<float> MoveAxisToFront(std::span<const float> data, const graph::Shape& shape,
                                   int axis);

// Index of the element of a tensor of `small` shape that numpy broadcasting pairs with flat
// index `i` of a tensor of `big` shape (`small` right-aligned, dims 1 or equal).
int64_t BroadcastIndex(const graph::Shape& big, const graph::Shape& small, int64_t i);

}  // namespace ptqflow::quant
