// Internal to graph/ops: what one op's shape-inference function sees. An InferContext borrows
// the graph, the node being inferred and the side table of compile-time-known values; the op
// function reads input ports / attributes / known input values and writes output ports (and,
// when it can evaluate the op, known output values).
//
// Every error produced through the context is prefixed with Describe(node), so op functions only
// say what is wrong ("input 1 has rank 3, expected 4").
//
// Thread-safety: none; used by one InferShapes call at a time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"

namespace ptqflow::graph::ops {

// Values known at compile time, keyed by output port. Only small tensors (see kMaxKnownElements)
// of types for which IsTrackedValueType() holds are kept.
using ValueMap = std::unordered_map<ValueRef, Tensor, ValueRefHash>;

inline constexpr int64_t kMaxKnownElements = 1024;
inline constexpr int64_t kMaxKnownFloatElements = 64;

// Integer and boolean types the value propagation evaluates; f32/f64 only for small tensors.
bool IsTrackedValueType(ElementType t, int64_t count);

class InferContext {
 public:
  InferContext(Graph& g, NodeId id, ValueMap& values) : g_(g), id_(id), values_(values) {}

  Graph& graph() { return g_; }
  Node& node() { return g_.node(id_); }
  const Node& node() const { return g_.node(id_); }
  NodeId id() const { return id_; }
  // Opset number from node.version ("opset8" -> 8); 0 when unknown.
  int opset() const;

  size_t num_inputs() const { return node().inputs.size(); }
  const OutputPort& in(size_t i) const { return g_.output(node().input(i)); }
  const PartialShape& in_shape(size_t i) const { return in(i).shape; }
  ElementType in_type(size_t i) const { return in(i).type; }
  // Known value of input i, or nullptr.
  const Tensor* in_value(size_t i) const;
  // Known value of input i as int64s (nullptr-like empty optional when unknown).
  bool in_ints(size_t i, std::vector<int64_t>* out) const;

  // Writes output port i (grows the port list if needed).
  void SetOutput(size_t i, ElementType type, PartialShape shape);
  // Records a known value for output i (dropped unless small and of a tracked type). The
  // tensor's type/shape must match what SetOutput wrote.
  void SetValue(size_t i, Tensor value);

  // Error prefixed with the layer description.
  Status Error(const std::string& message) const;
  // Error unless num_inputs() is in [lo, hi].
  Status ExpectInputs(size_t lo, size_t hi) const;
  Status ExpectInputs(size_t n) const { return ExpectInputs(n, n); }
  // Error unless input i has a known rank equal to r (passes when the rank is unknown).
  Status ExpectRank(size_t i, size_t r) const;

  // Attribute getters whose errors name the layer.
  Result<std::string> Str(const std::string& name) const;
  Result<std::string> Str(const std::string& name, const std::string& def) const;
  Result<int64_t> Int(const std::string& name) const;
  Result<int64_t> Int(const std::string& name, int64_t def) const;
  Result<std::vector<int64_t>> Ints(const std::string& name) const;
  Result<std::vector<int64_t>> Ints(const std::string& name, const std::vector<int64_t>& def) const;
  Result<double> Float(const std::string& name) const;
  Result<double> Float(const std::string& name, double def) const;
  Result<std::vector<double>> Floats(const std::string& name) const;
  Result<bool> Bool(const std::string& name, bool def) const;
  Result<ElementType> Type(const std::string& name) const;

  // Normalizes a possibly negative axis against `rank`; error names `what`.
  Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) const;

 private:
  Graph& g_;
  NodeId id_;
  ValueMap& values_;
};

// One op's shape inference.
using InferFn = Status (*)(InferContext&);

// ---- value helpers (graph/ops/values.cc) ----
// Builds a tensor of `type` from int64 values (booleans: non-zero -> 1).
Tensor MakeIntTensor(ElementType type, const Shape& shape, const std::vector<int64_t>& v);
// Builds a tensor of `type` from doubles (integer types truncate toward zero).
Tensor MakeTensor(ElementType type, const Shape& shape, const std::vector<double>& v);
// For each element of a tensor of shape `out`, the flat index of the element of a tensor of
// shape `in` it reads under numpy broadcasting (`in` right-aligned against `out`).
std::vector<int64_t> BroadcastIndex(const Shape& in, const Shape& out);
// Dynamic-aware dimension helpers: any dynamic operand gives kDynamicDim.
inline bool IsDyn(int64_t d) { return d < 0; }
// Merges two dims that must be equal; false if both static and different.
bool MergeDim(int64_t a, int64_t b, int64_t* out);
// Element type of an output that must match both inputs (undefined adopts the other); error
// names both types.
Result<ElementType> MergeTypes(const InferContext& ctx, ElementType a, ElementType b);

// ---- op families; each file defines the functions the table (ops.def) names ----
#define PTQ_OP(type, version, fn) Status fn(InferContext& ctx);
#include "graph/ops/ops.def"
#undef PTQ_OP

}  // namespace ptqflow::graph::ops
