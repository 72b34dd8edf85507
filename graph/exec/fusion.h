// Layer fusion at compile time: which layers that follow a Convolution, GroupConvolution or
// MatMul can run inside that layer's oneDNN primitive.
//
//   Conv ─► Add(const per-channel) ─► Relu ─► Multiply(const scalar) ─► ...     (graph)
//   Conv[bias, post-ops: relu, linear] ─►                                       (plan)
//
// A follower is fused when it reads the chain's current value as its only consumer, that value
// is neither a model output nor listed in CompileOptions::observable, and MatchPostOp can express
// the follower as a oneDNN post-op: per-channel or scalar Add / Subtract / Multiply with a
// constant, BatchNormInference, Relu, PRelu with one slope, Clamp, Sigmoid, Tanh, Swish, HSwish,
// HSigmoid, HardSigmoid, Gelu, Elu, Exp, Abs, Sqrt, Log, Mish. The fused-away intermediate
// values are not computed by the plan (taps on them are an error naming the fused layer).
//
// Thread-safety: plain functions and values.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "graph/graph.h"

namespace ptqflow::exec {

// One fused operation applied to the compute layer's output, in order.
struct PostOp {
  enum class Kind {
    kEltwise,  // y = alg(y; alpha, beta)
    kAdd,      // y = y + values[c] (c = index along the channel axis)
    kMul,      // y = y * values[c]
  };
  Kind kind = Kind::kEltwise;
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0.f, beta = 0.f;
  std::vector<float> values;  // kAdd / kMul: one value per channel
};

// The post-ops equivalent to layer `n` applied to `from` (one of n's inputs), where `from` has
// shape `shape` (f32) with channels along `channel_axis`; nullopt when `n` cannot be fused (its
// output would differ in shape or type, an operand is not constant, or the op has no post-op
// form). Constants are read from the graph's Const nodes.
// `constant_of(v)` returns the value of v when it is known at compile time (a Const node or a
// folded value), else nullptr.
using ConstantLookup = std::function<const graph::Tensor*(graph::ValueRef)>;
std::optional<std::vector<PostOp>> MatchPostOp(const graph::Graph& g, const graph::Node& n,
                                               graph::ValueRef from, const graph::Shape& shape,
                                               int channel_axis, const ConstantLookup& constant_of);

// Appends the post-ops `more` to `ops`, merging an eltwise_linear that directly follows another
// into one (a2 * (a1 * y + b1) + b2). Returns false and leaves `ops` unchanged when the result
// would hold one eltwise algorithm twice with different alpha/beta: oneDNN 2.6's brgemm-based
// convolutions (brgconv, brdgmm_dw) apply one parameter set to every post-op of an algorithm
// (measured: Relu(0.1) then Relu(0), or two different Clamps, compute wrong outputs), so the
// fused chain stops before such a layer. With `folds_leading_affine` (convolutions with constant
// weights) the leading per-channel/scalar affine ops fold into the weights and bias instead of
// becoming post-ops, so they are not counted.
bool AppendPostOps(std::vector<PostOp>* ops, const std::vector<PostOp>& more,
                   bool folds_leading_affine);

// HSwish decomposed into four layers that read x twice,
//   x ─► Add(3) ─► Clamp(0, 6) ─► Multiply(x, ·) ─► Divide(6) | Multiply(1/6)
//   x ─► Add(3) ─► Clamp(0, 6) ─► Divide(6) | Multiply(1/6) ─► Multiply(x, ·)
// (as exported from PyTorch / Paddle). Returns the four layers in order (the last one's output
// equals HSwish(x)) or an empty list. `uses(v)` lists the compiled layers reading v, once per
// input that reads it; every value in between must have one use and not be in `observable`.
std::vector<graph::NodeId> MatchDecomposedHSwish(
    const graph::Graph& g, graph::ValueRef x,
    const std::function<std::vector<graph::NodeId>(graph::ValueRef)>& uses,
    const ConstantLookup& constant_of, const std::function<bool(graph::ValueRef)>& observable);

// True for the op types whose kernels accept post-ops.
bool AcceptsPostOps(const std::string& op_type);

}  // namespace ptqflow::exec
