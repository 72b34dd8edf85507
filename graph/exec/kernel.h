// Kernel: the compiled form of one layer. A kernel is created once per plan by its factory
// (listed in kernels/kernel_list.def), which parses the node's attributes, checks input types
// and shapes (all static at compile time), computes the output types and shapes, and pre-packs
// constant inputs (weights). Run() is const and neither allocates nor locks, so one kernel
// serves many concurrent sessions; per-session mutable things (oneDNN memory handles) live in
// a KernelState created once per session by CreateState().
//
// Ownership: the CompiledModel owns kernels; a Session owns the states. Input/output views in
// a KernelContext are borrowed for the duration of Run. Kernels never write their inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "graph/exec/compiled_model.h"
#include "graph/exec/fusion.h"
#include "graph/exec/tensor_view.h"
#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::exec {

// Type and static shape of a value at compile time; `constant` is set when its value is known
// (a Const node or a value folded at compile time).
struct ValueInfo {
  graph::ElementType type = graph::ElementType::kUndefined;
  graph::Shape shape;
  const graph::Tensor* constant = nullptr;
};

struct OutView {
  graph::ElementType type = graph::ElementType::kUndefined;
  const graph::Shape* shape = nullptr;
  void* data = nullptr;
  int64_t size() const { return graph::ElementCount(*shape); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

class KernelState {
 public:
  virtual ~KernelState() = default;
};

struct KernelContext {
  std::span<const TensorView> in;
  std::span<const OutView> out;
  KernelState* state = nullptr;
  void* scratch = nullptr;  // Kernel::scratch_bytes() bytes, 64-byte aligned, per session
  dnnl::stream* stream = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Run(const KernelContext& ctx) const = 0;
  virtual std::unique_ptr<KernelState> CreateState(const dnnl::engine& /*engine*/) const {
    return nullptr;
  }
  virtual size_t scratch_bytes() const { return 0; }
  // >= 0: output 0 is the bytes of that input unchanged (Reshape, Squeeze, ...): the plan makes
  // it an alias instead of running the kernel.
  virtual int alias_input() const { return -1; }
  // False for kernels whose result must not be computed at compile time even with constant
  // inputs (none today).
  virtual bool foldable() const { return true; }
  // False when the outputs depend only on input shapes (ShapeOf): the plan always folds them.
  virtual bool depends_on_values() const { return true; }

  // Blocked activations between oneDNN layers (compile time only). The layout this kernel
  // converts input 0 into before computing / computes output 0 in before converting it to plain
  // NCHW, or nullptr when it reads / writes plain data directly.
  virtual const dnnl::memory::desc* blocked_input() const { return nullptr; }
  virtual const dnnl::memory::desc* blocked_output() const { return nullptr; }
  // Called by the plan before it is shared: read input 0 / write output 0 in that blocked layout
  // directly (the neighbour layer uses the same layout), skipping the conversion.
  virtual void UseBlocked(bool /*input*/, bool /*output*/) {}

  // Filled by the plan for error messages: Describe(node).
  std::string where;
};

// What a factory sees: the node and its inputs' compile-time info.
struct KernelInit {
  const graph::Node& node;
  std::vector<ValueInfo> inputs;
  const dnnl::engine& engine;
  const CompileOptions& options;
  // Layers fused into this one (fusion.h), applied to output 0 in order; only kernels of op
  // types with AcceptsPostOps() are given any, and may return an error when they cannot apply
  // them (the plan then keeps the layers separate).
  const std::vector<PostOp>* post_ops = nullptr;
  // Per output port: 1 when no layer, model output or CompileOptions::observable value reads
  // it. A kernel may then skip computing it (filling it with zeros instead, as the plan still
  // reports it to ObserveAll taps). Empty = all used.
  std::vector<char> unused_outputs;

  Status Error(const std::string& what) const {
    return Status::Error(graph::Describe(node) + ": " + what);
  }
  // Checks the input count is within [lo, hi].
  Status ExpectInputs(size_t lo, size_t hi) const;
  // Constant input `i` as int64 values, or an error naming the input.
  Result<std::vector<int64_t>> ConstInts(size_t i) const;
};

// A factory fills `outputs` (one ValueInfo per output port, constant == nullptr) and returns
// the kernel.
using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(const KernelInit& init,
                                                          std::vector<ValueInfo>* outputs);

// Helpers shared by kernels.
std::vector<int64_t> ContiguousStrides(const graph::Shape& s);  // in elements
// Normalizes a possibly negative axis; error if out of range.
Result<int64_t> NormalizeAxis(const KernelInit& init, int64_t axis, int64_t rank);
std::string TypeName(graph::ElementType t);

// Runs f(begin, end) over [0, n), split over the session's threads when n * cost_per_item is
// large enough. Uses OpenMP, the CPU runtime Debian's oneDNN is built with, so kernels and oneDNN
// primitives share one thread pool (two spinning pools on the same cores fight each other).
template <typename F>
void ParallelFor(int64_t n, int64_t cost_per_item, F&& f) {
  constexpr int64_t kMinWork = 1 << 17;  // ~50 µs of one core: less is not worth a region
  const int64_t max_threads = omp_get_max_threads();
  if (n <= 1 || max_threads <= 1 || n * cost_per_item < kMinWork || omp_in_parallel()) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  const int64_t by_work = std::max<int64_t>(1, n * cost_per_item / kMinWork);
  const int nt = static_cast<int>(std::min({max_threads, n, by_work}));
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t b = n * t / k, e = n * (t + 1) / k;
    if (b < e) f(b, e);
  }
}

}  // namespace ptqflow::exec
