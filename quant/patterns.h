// Graph patterns POT excludes from quantization (pot-spec §4.3 step 1), and the small graph
// queries FakeQuantize placement shares with them.
//
// POT matches its patterns on Model Optimizer's graph; ptqflow's graph uses the OpenVINO op set
// names, so every query goes through PotType(), which maps ptqflow types to the names POT's
// tables use:
//
//   Relu -> ReLU, PRelu -> PReLU, Softmax -> SoftMax, Slice -> StridedSlice,
//   GroupConvolution -> Convolution (MO keeps grouped convolutions as Convolution + group),
//   GroupConvolutionBackpropData -> ConvolutionBackpropData.
//
// MarkSkippedBlocks marks every op of every matched pattern `skipped`, except the pattern's
// `input`/`output` ends. Skipped ops get no FakeQuantize and FQs do not move through them.
// Example (operation_with_bias + a fused ReLU/scale-shift tail, CPU):
//
//   Conv ─► Add(bias const) ─► Relu ─► Multiply(const) ─► Add(const)
//   kept     skipped          skipped   skipped            skipped
//
// Patterns (names as POT's): CPU: fused Conv|MatMul [+bias] [+ReLU/PReLU/Sigmoid] +
// scale-shift / + eltwise-with-const (not marked when an intermediate op branches),
// Clamp→Multiply(const), softmax_reshape_transpose_gather_matmul. Generic: swish_activation,
// se_block, se_block_swish_activation, operation_with_bias, scale_shift_add, add_scale_shift,
// mvn_scale_shift, normalize_l2, the input_* preprocessing chains (Parameter [→Convert]
// [→Transpose] [→Split→Concat] → Add/Subtract/Multiply/scale-shift), softmax, softmax_div,
// softmax_reshape_matmul, stable_diffusion, hswish_activation(_without_denominator, _v2),
// fc_bn_hswish_activation, batch_index, the two ExperimentalDetectron+Add patterns,
// equal_logicalnot. Then every ancestor of NonMaxSuppression/TopK up to an op with weights or a
// Const (detection outputs).
//
// Matching is port-agnostic like POT's (MO patterns name no ports); a pattern's "const" input
// is any value-known input (Const or a constant sub-graph).
//
// Thread-safety: pure functions over a const graph.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace ptqflow::quant {

// The op type under POT's naming (see the table above); other types are returned unchanged.
std::string PotType(const graph::Node& n);

// Per NodeId: true if the node's output is known without running the model: Const, ShapeOf,
// and any non-Parameter op all of whose inputs are value-known (shape sub-graphs).
// With `fake_quantize_is_data`, a FakeQuantize counts as computed at run time whatever its inputs
// (POT's FQ outputs carry no value: the ops behind a weight FQ are walked like activations).
std::vector<char> ValueKnownNodes(const graph::Graph& g, bool fake_quantize_is_data = false);

// Consumers of every output of `id` (node ids, in id order, without duplicates).
std::vector<graph::NodeId> ConsumerNodes(const graph::Graph& g, graph::NodeId id);
// Every (node, input index) reading `v`, in id order.
std::vector<std::pair<graph::NodeId, int>> ValueUses(const graph::Graph& g, graph::ValueRef v);

// Marks POT's skipped blocks for `target_device` ("ANY", "CPU", "CPU_SPR", "GPU", "GNA", ...;
// the CPU-specific patterns apply to ANY/CPU/CPU_SPR/GPU, softmax_..._gather_matmul not to
// CPU_SPR). Result indexed by NodeId (size g.size()).
std::vector<char> MarkSkippedBlocks(const graph::Graph& g, const std::string& target_device);

}  // namespace ptqflow::quant
