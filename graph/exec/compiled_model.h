// CompiledModel: an immutable execution plan for one graph with static shapes.
//
// Compile() checks that every model input has a static shape, prunes nodes no output needs,
// creates one kernel per remaining layer from the single kernel table
// (kernels/kernel_list.def), folds every layer whose inputs are all known at compile time
// (constants, ShapeOf of static shapes, shape arithmetic, compressed-weight decompression
// Const i8 -> Convert -> Subtract -> Multiply) into a constant, turns Reshape-like layers into
// zero-copy aliases, fuses followers of Convolution/MatMul layers into them (bias, BatchNorm,
// activations; see fusion.h and CompileOptions::fuse / observable), keeps activations in
// oneDNN's blocked layout between consecutive oneDNN layers that use the same layout (also when
// tapped: taps get a plain copy, or the blocked bytes if they accept them, so observing a value
// does not change how the layers around it run), and plans activation memory:
// every intermediate value gets an offset in one per-session arena, and values whose lifetimes do
// not overlap share bytes. Layers without a kernel are all listed in one compile error (name, id
// and type of each).
//
// The plan borrows nothing from the graph after Compile (constants are shared Tensor handles).
// Thread-safety: immutable after Compile; any number of Sessions may run it concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::exec {

class Kernel;

struct CompileOptions {
  // Intra-op threads of each session (OpenMP: oneDNN and our kernels); 0 = all cores. Layers
  // with less work than about 0.2 ms of one core run on the calling thread only.
  int threads = 0;
  // Fold layers whose inputs are all compile-time constants.
  bool fold_constants = true;
  // Activation layout around oneDNN convolutions: "auto" (blocked when oneDNN has a faster
  // kernel for it, reordering in and out inside the layer), "plain" (always NCHW), "blocked".
  std::string conv_layout = "auto";
  // Fuse the layers that follow a Convolution / GroupConvolution / MatMul (bias Add,
  // BatchNormInference, activations, scalar or per-channel Add / Multiply by constants; see
  // fusion.h) into its oneDNN primitive. A fused-away intermediate value is not computed, so it
  // cannot be tapped; list values a caller will tap in `observable`, or turn fusion off to observe
  // every layer.
  bool fuse = true;
  // Values that must stay observable by taps: fusion never absorbs the layer producing them
  // into another (their consumers may still be fused with each other). Their layout is chosen
  // as for any other value.
  std::vector<graph::ValueRef> observable;
};

struct ModelInput {
  std::string name;  // Parameter node name (also its tensor name)
  graph::ElementType type;
  graph::Shape shape;
};

struct ModelOutput {
  std::string tensor_name;  // first tensor name of the Result's source port, else result_name
  std::string result_name;  // the Result node's name
  graph::ValueRef source;
  graph::ElementType type;
  graph::Shape shape;
};

class CompiledModel {
 public:
  static Result<std::shared_ptr<const CompiledModel>> Compile(const graph::Graph& g,
                                                              const CompileOptions& opts = {});
  ~CompiledModel();

  const std::vector<ModelInput>& inputs() const { return inputs_; }
  const std::vector<ModelOutput>& outputs() const { return outputs_; }
  const CompileOptions& options() const { return opts_; }
  int threads() const { return threads_; }
  // Bytes of activation memory one session needs (after liveness-based reuse), and the sum of
  // all intermediate sizes without reuse (for reporting).
  size_t arena_bytes() const { return arena_bytes_; }
  size_t unshared_bytes() const { return unshared_bytes_; }
  size_t num_steps() const { return steps_.size(); }

  // --- Plan internals, used by Session. ---
  enum class Storage { kConst, kInput, kArena, kAlias };
  struct Value {
    graph::ValueRef ref;
    graph::ElementType type;
    graph::Shape shape;
    Storage storage = Storage::kArena;
    const void* const_data = nullptr;  // kConst
    int input_index = -1;              // kInput
    size_t offset = 0;                 // kArena
    int alias_of = -1;                 // kAlias: value index whose bytes this value reuses
    // kArena only: the bytes are in oneDNN's blocked layout (written by one oneDNN layer and
    // read only by oneDNN layers using the same layout); taps see it via ReorderToPlain, or as
    // it is when they accept blocked views and the layout is a plain channel blocking.
    bool blocked = false;
    // For a blocked value whose layout is [N][ceil(C/B)][spatial...][B]: B (see
    // TensorView::channel_block); 0 for any other blocking.
    int channel_block = 0;
  };
  struct Step {
    graph::NodeId node;
    std::string where;  // Describe(node)
    std::unique_ptr<Kernel> kernel;
    std::vector<int> in;   // value indices
    std::vector<int> out;  // value indices
    // OpenMP threads for this layer: the plan's count, or 1 for layers too small to gain from
    // a parallel region (waking a second thread costs more than they take).
    int threads = 1;
  };
  const std::vector<Value>& values() const { return values_; }
  const std::vector<Step>& steps() const { return steps_; }
  size_t scratch_bytes() const { return scratch_bytes_; }
  // Value index of a graph value, or -1 if the plan does not have it.
  int ValueIndex(const graph::ValueRef& v) const;
  // For a value fused away (not computed), Describe() of the layer it was fused into; else "".
  std::string FusedInto(const graph::ValueRef& v) const;
  // Number of layers fused into other layers' kernels.
  size_t num_fused_layers() const { return fused_.size(); }
  // Indices of values folded to constants (reported to taps at the start of a run).
  const std::vector<int>& const_values() const { return const_values_; }
  const void* engine() const;  // dnnl::engine*, opaque here
  // For a blocked value: converts its bytes to plain NCHW in `plain` (tap_buffer_bytes() bytes)
  // on `stream` (a dnnl::stream*).
  void ReorderToPlain(int value, const void* blocked, void* plain, void* stream) const;
  size_t tap_buffer_bytes() const { return tap_buffer_bytes_; }

 private:
  CompiledModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CompileOptions opts_;
  int threads_ = 1;
  std::vector<ModelInput> inputs_;
  std::vector<ModelOutput> outputs_;
  std::vector<Value> values_;
  std::vector<Step> steps_;
  std::unordered_map<graph::ValueRef, int, graph::ValueRefHash> index_;
  std::vector<int> const_values_;
  // Fused-away values -> the layer (Describe) whose kernel computes past them.
  std::unordered_map<graph::ValueRef, std::string, graph::ValueRefHash> fused_;
  std::vector<int> output_values_;
  size_t arena_bytes_ = 0;
  size_t unshared_bytes_ = 0;
  size_t scratch_bytes_ = 0;
  size_t tap_buffer_bytes_ = 0;
  friend class Session;
  friend struct CompileHelper;
};

}  // namespace ptqflow::exec
