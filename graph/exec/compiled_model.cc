#include "graph/exec/compiled_model.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_set>

#include <glog/logging.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "graph/exec/fusion.h"
#include "graph/exec/kernel.h"
#include "graph/exec/kernel_table.h"

namespace ptqflow::exec {

struct CompiledModel::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  // Constants the plan reads: graph constants (shared handles) and folded values (owned).
  std::deque<graph::Tensor> tensors;
  std::vector<const graph::Tensor*> value_tensor;  // per value; non-null for kConst
  // Blocked values: layout and the reorder to plain (for taps).
  struct Blocked {
    dnnl::memory::desc blocked, plain;
    dnnl::reorder to_plain;
  };
  std::unordered_map<int, Blocked> blocked;
};

CompiledModel::CompiledModel() : impl_(std::make_unique<Impl>()) {}
CompiledModel::~CompiledModel() = default;

const void* CompiledModel::engine() const { return &impl_->engine; }

void CompiledModel::ReorderToPlain(int value, const void* blocked, void* plain,
                                   void* stream) const {
  const Impl::Blocked& b = impl_->blocked.at(value);
  dnnl::memory src(b.blocked, impl_->engine, const_cast<void*>(blocked));
  dnnl::memory dst(b.plain, impl_->engine, plain);
  dnnl::stream& s = *static_cast<dnnl::stream*>(stream);
  b.to_plain.execute(s, src, dst);
  s.wait();
}

int CompiledModel::ValueIndex(const graph::ValueRef& v) const {
  auto it = index_.find(v);
  return it == index_.end() ? -1 : it->second;
}

std::string CompiledModel::FusedInto(const graph::ValueRef& v) const {
  auto it = fused_.find(v);
  return it == fused_.end() ? std::string() : it->second;
}

namespace {

// B when `d` lays out a dense f32 value of `shape` as [N][ceil(C/B)][spatial...][B] (what
// TensorView::channel_block describes): oneDNN's nChw8c / nChw16c (one inner block of B
// channels) or channels-last nhwc (B = C, no inner block). Else 0.
int ChannelBlock(const dnnl::memory::desc& d, const graph::Shape& shape) {
  const dnnl_memory_desc_t& m = d.data;
  const int rank = static_cast<int>(shape.size());
  if (m.ndims != rank || rank < 3 || m.format_kind != dnnl_blocked || m.offset0 != 0 ||
      m.data_type != dnnl_f32 || shape[1] < 1) {
    return 0;
  }
  for (int i = 0; i < rank; ++i) {
    if (m.dims[i] != shape[static_cast<size_t>(i)] || m.padded_offsets[i] != 0) return 0;
  }
  const dnnl_blocking_desc_t& b = m.format_desc.blocking;
  int64_t block = 0;
  if (b.inner_nblks == 1 && b.inner_idxs[0] == 1 && b.inner_blks[0] >= 1) {
    block = b.inner_blks[0];
  } else if (b.inner_nblks == 0 && b.strides[1] == 1) {
    block = shape[1];  // channels last
  } else {
    return 0;
  }
  const int64_t blocks = (shape[1] + block - 1) / block;
  if (m.padded_dims[1] != blocks * block) return 0;
  for (int i = 0; i < rank; ++i) {
    if (i != 1 && m.padded_dims[i] != shape[static_cast<size_t>(i)]) return 0;
  }
  // Dense strides in the order N, C/B, spatial..., with the block innermost (dims of size 1
  // may have any stride).
  auto stride_ok = [&](int i, int64_t want) {
    return b.strides[i] == want || shape[static_cast<size_t>(i)] == 1;
  };
  int64_t stride = block;
  for (int i = rank - 1; i >= 2; --i) {
    if (!stride_ok(i, stride)) return 0;
    stride *= shape[static_cast<size_t>(i)];
  }
  if (b.inner_nblks == 1 && !stride_ok(1, stride)) return 0;
  stride *= blocks;
  if (!stride_ok(0, stride)) return 0;
  return static_cast<int>(block);
}

constexpr size_t kAlign = 64;
size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Runs one kernel at compile time on constant inputs.
Status RunOnce(const Kernel& k, const dnnl::engine& engine,
               const std::vector<const graph::Tensor*>& ins, std::vector<graph::Tensor>* outs) {
  std::vector<TensorView> in;
  for (const graph::Tensor* t : ins) in.push_back({t->type(), &t->shape(), t->bytes()});
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i]->empty()) in[i].data = nullptr;  // shape-only input (ShapeOf)
  }
  std::vector<OutView> out;
  for (graph::Tensor& t : *outs) out.push_back({t.type(), &t.shape(), t.mutable_bytes()});
  std::unique_ptr<KernelState> state = k.CreateState(engine);
  std::vector<uint8_t> scratch(k.scratch_bytes() + kAlign);
  void* sp = reinterpret_cast<void*>(AlignUp(reinterpret_cast<uintptr_t>(scratch.data())));
  dnnl::stream stream(engine);
  KernelContext ctx{in, out, state.get(), sp, &stream};
  return k.Run(ctx);
}

}  // namespace

// Rough single-thread work of a layer (multiply-adds for compute layers, elements touched
// otherwise), to decide whether it is worth a parallel region.
double LayerWork(const graph::Node& n, const std::vector<ValueInfo>& ins,
                 const std::vector<ValueInfo>& outs) {
  double out_elems = 0;
  for (const ValueInfo& o : outs) out_elems += static_cast<double>(graph::ElementCount(o.shape));
  const std::string& t = n.type;
  if ((t == "Convolution" || t == "GroupConvolution") && ins.size() >= 2) {
    const graph::Shape& w = ins[1].shape;
    const size_t skip = t == "GroupConvolution" ? 3 : 2;  // [G,] OC, IC per group, k...
    double per_out = 1;
    for (size_t i = skip - 1; i < w.size(); ++i) per_out *= static_cast<double>(w[i]);
    return out_elems * per_out;
  }
  if ((t == "ConvolutionBackpropData" || t == "GroupConvolutionBackpropData") && ins.size() >= 2) {
    return static_cast<double>(graph::ElementCount(ins[0].shape)) *
           static_cast<double>(graph::ElementCount(ins[1].shape)) /
           std::max<double>(1, static_cast<double>(ins[0].shape.size() > 1 ? ins[0].shape[1] : 1));
  }
  if (t == "MatMul" && ins.size() == 2 && !ins[0].shape.empty()) {
    Result<bool> tr = n.attrs.GetBool("transpose_a", false);
    const bool ta = tr.ok() && *tr;
    const graph::Shape& a = ins[0].shape;
    const int64_t k = ta && a.size() >= 2 ? a[a.size() - 2] : a.back();
    return out_elems * static_cast<double>(k);
  }
  if (t == "LSTMSequence") return 1e12;  // parallel inside per time step
  double in_elems = 0;
  for (const ValueInfo& i : ins) in_elems += static_cast<double>(graph::ElementCount(i.shape));
  return in_elems + out_elems;
}

// Kernels holding oneDNN primitives (which fix their thread count when created).
bool UsesDnnl(const std::string& t) {
  return t == "Convolution" || t == "GroupConvolution" || t == "ConvolutionBackpropData" ||
         t == "GroupConvolutionBackpropData" || t == "MatMul" || t == "MaxPool" || t == "AvgPool";
}

// Layers below these amounts run single-threaded (~0.2 ms of one core): on a busy machine
// waking a sleeping OpenMP thread can cost more than that (measured with exec_bench).
constexpr double kParallelMinMacs = 1e7;
constexpr double kParallelMinElements = 5e5;

struct CompileHelper {
  static Result<std::shared_ptr<const CompiledModel>> Compile(const graph::Graph& g,
                                                              const CompileOptions& opts);
};

Result<std::shared_ptr<const CompiledModel>> CompiledModel::Compile(const graph::Graph& g,
                                                                    const CompileOptions& opts) {
  // oneDNN (OpenMP runtime) fixes a primitive's thread count when it is created: create the
  // primitives with the session thread count, on this thread only, then restore it.
  struct OmpThreads {
    int prev = omp_get_max_threads();
    explicit OmpThreads(int n) { omp_set_num_threads(n); }
    ~OmpThreads() { omp_set_num_threads(prev); }
  } omp_guard(opts.threads > 0
                  ? opts.threads
                  : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  try {
    return CompileHelper::Compile(g, opts);
  } catch (const dnnl::error& e) {
    return Status::Error(std::string("oneDNN error while compiling the model: ") + e.what());
  } catch (const std::exception& e) {
    return Status::Error(std::string("error while compiling the model: ") + e.what());
  }
}

Result<std::shared_ptr<const CompiledModel>> CompileHelper::Compile(const graph::Graph& g,
                                                                    const CompileOptions& opts) {
  using graph::NodeId;
  std::shared_ptr<CompiledModel> plan(new CompiledModel());
  CompiledModel::Impl& impl = *plan->impl_;
  plan->opts_ = opts;
  plan->threads_ = opts.threads > 0
                       ? opts.threads
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  PTQ_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.TopologicalOrder());
  std::vector<NodeId> results = g.results();
  if (results.empty()) return Status::Error("the model has no outputs (Result layers)");

  // Only nodes some output needs are compiled.
  std::vector<char> needed(g.size(), 0);
  std::vector<NodeId> stack(results.begin(), results.end());
  while (!stack.empty()) {
    NodeId id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = 1;
    for (const graph::InputPort& p : g.node(id).inputs) {
      if (g.contains(p.source.node) && !needed[p.source.node]) stack.push_back(p.source.node);
    }
  }

  auto add_value = [&](graph::ValueRef ref, graph::ElementType type, graph::Shape shape) {
    CompiledModel::Value v;
    v.ref = ref;
    v.type = type;
    v.shape = std::move(shape);
    plan->values_.push_back(std::move(v));
    impl.value_tensor.push_back(nullptr);
    int idx = static_cast<int>(plan->values_.size() - 1);
    plan->index_[ref] = idx;
    return idx;
  };
  auto make_const = [&](int idx, graph::Tensor t) {
    impl.tensors.push_back(std::move(t));
    CompiledModel::Value& v = plan->values_[idx];
    v.storage = CompiledModel::Storage::kConst;
    v.const_data = impl.tensors.back().bytes();
    impl.value_tensor[idx] = &impl.tensors.back();
  };

  // Fusion (fusion.h): layers absorbed into an earlier compute layer get no step.
  std::vector<char> absorbed(g.size(), 0);
  std::unordered_map<graph::ValueRef, std::vector<graph::Graph::Use>, graph::ValueRefHash>
      consumers;
  consumers = g.BuildConsumers();
  std::unordered_set<graph::ValueRef, graph::ValueRefHash> observable(opts.observable.begin(),
                                                                      opts.observable.end());
  // The compiled layers (and Results) reading v, once per reading input.
  auto uses = [&](graph::ValueRef v) {
    std::vector<NodeId> out;
    auto it = consumers.find(v);
    if (it == consumers.end()) return out;
    for (const graph::Graph::Use& u : it->second) {
      if (needed[u.node]) out.push_back(u.node);
    }
    return out;
  };
  auto constant_of = [&](graph::ValueRef v) -> const graph::Tensor* {
    // Const nodes may come later in the order than the layer being fused; folded values
    // are known only once their producer has been compiled.
    const graph::Node& src = g.node(v.node);
    if (src.is_const()) return src.constant.empty() ? nullptr : &src.constant;
    const int idx = plan->ValueIndex(v);
    return idx >= 0 ? impl.value_tensor[idx] : nullptr;
  };
  auto is_observable = [&](graph::ValueRef v) { return observable.count(v) > 0; };

  std::vector<std::string> unsupported;
  for (NodeId id : order) {
    if (!needed[id] || absorbed[id]) continue;
    const graph::Node& n = g.node(id);
    if (n.is_const()) {
      if (n.outputs.size() != 1 || n.constant.empty()) {
        return Status::Error(graph::Describe(n) + ": constant has no data");
      }
      int idx = add_value({id, 0}, n.constant.type(), n.constant.shape());
      make_const(idx, n.constant);
      continue;
    }
    if (n.type == "Parameter") {
      const graph::OutputPort& p = n.outputs.at(0);
      if (!p.shape.is_static()) {
        return Status::Error("input '" + n.name + "' (" + graph::Describe(n) +
                             ") has a dynamic shape " + p.shape.ToString() +
                             "; fix it with --input-shape " + n.name + "[...] (e.g. " + n.name +
                             "[1,3,224,224])");
      }
      int idx = add_value({id, 0}, p.type, p.shape.to_shape());
      plan->values_[idx].storage = CompiledModel::Storage::kInput;
      plan->values_[idx].input_index = static_cast<int>(plan->inputs_.size());
      plan->inputs_.push_back({n.name, p.type, p.shape.to_shape()});
      continue;
    }
    if (n.type == "Result") {
      if (n.inputs.size() != 1) return Status::Error(graph::Describe(n) + ": expects 1 input");
      int src = plan->ValueIndex(n.input(0));
      if (src < 0) continue;  // producer unsupported: reported below
      const graph::OutputPort& sp = g.output(n.input(0));
      ModelOutput o;
      o.tensor_name = sp.names.empty() ? n.name : sp.names.front();
      o.result_name = n.name;
      o.source = n.input(0);
      o.type = plan->values_[src].type;
      o.shape = plan->values_[src].shape;
      plan->outputs_.push_back(o);
      plan->output_values_.push_back(src);
      continue;
    }
    KernelFactory factory = FindKernel(n.type);
    if (!factory) {
      unsupported.push_back(graph::Describe(n));
      continue;
    }
    KernelInit init{n, {}, impl.engine, opts, nullptr, {}};
    if (n.outputs.size() > 1) {
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        const graph::ValueRef v{id, static_cast<int32_t>(k)};
        init.unused_outputs.push_back(uses(v).empty() && !observable.count(v));
      }
    }
    std::vector<int> in_idx;
    bool inputs_known = true;
    for (const graph::InputPort& p : n.inputs) {
      int vi = plan->ValueIndex(p.source);
      if (vi < 0) {
        inputs_known = false;
        break;
      }
      in_idx.push_back(vi);
      const CompiledModel::Value& v = plan->values_[vi];
      init.inputs.push_back({v.type, v.shape, impl.value_tensor[vi]});
    }
    if (!inputs_known) continue;  // an upstream layer is unsupported
    if (!unsupported.empty()) {
      // Keep scanning for unsupported layers, but do not build kernels we will not use.
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        const graph::OutputPort& p = n.outputs[k];
        add_value({id, static_cast<int32_t>(k)}, p.type,
                  p.shape.is_static() ? p.shape.to_shape() : graph::Shape{});
      }
      continue;
    }
    std::vector<ValueInfo> outs;
    PTQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, factory(init, &outs));
    CHECK(kernel) << n.type;
    kernel->where = graph::Describe(n);
    if (outs.size() != n.outputs.size()) {
      return Status::Error(graph::Describe(n) + ": the kernel produces " +
                           std::to_string(outs.size()) + " outputs, the layer has " +
                           std::to_string(n.outputs.size()));
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      // A value this large is a bad model or bad input shape, not something to allocate.
      constexpr double kMaxBytes = 64.0 * (1ull << 30);
      double bytes = graph::BitWidth(outs[k].type) / 8.0;
      for (int64_t d : outs[k].shape) {
        if (d < 0) {
          return Status::Error(graph::Describe(n) + ": output " + std::to_string(k) +
                               " has a negative dimension " + graph::ShapeToString(outs[k].shape));
        }
        bytes *= static_cast<double>(d);
      }
      if (bytes > kMaxBytes) {
        return Status::Error(graph::Describe(n) + ": output " + std::to_string(k) + " of shape " +
                             graph::ShapeToString(outs[k].shape) + " would need " +
                             std::to_string(static_cast<int64_t>(bytes / (1 << 20))) + " MiB");
      }
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      const graph::OutputPort& p = n.outputs[k];
      if (p.shape.rank_known() && !p.shape.Accepts(outs[k].shape)) {
        return Status::Error(graph::Describe(n) + ": output " + std::to_string(k) +
                             " computes to shape " + graph::ShapeToString(outs[k].shape) +
                             " but the model declares " + p.shape.ToString());
      }
      if (p.type != graph::ElementType::kUndefined && p.type != outs[k].type) {
        return Status::Error(graph::Describe(n) + ": output " + std::to_string(k) +
                             " computes to element type " + TypeName(outs[k].type) +
                             " but the model declares " + TypeName(p.type));
      }
    }
    bool all_const = opts.fold_constants && kernel->foldable();
    for (int vi : in_idx) {
      all_const = all_const && (plan->values_[vi].storage == CompiledModel::Storage::kConst ||
                                !kernel->depends_on_values());
    }
    // Fusion: extend a chain of followers this kernel can apply as post-ops, then rebuild the
    // kernel with them (if it declines, the layers stay separate).
    graph::ValueRef out0{id, 0};
    std::vector<PostOp> fused_ops;
    if (!all_const && opts.fuse && AcceptsPostOps(n.type) && outs.size() == 1 &&
        outs[0].type == graph::ElementType::kF32 && !outs[0].shape.empty()) {
      const int axis = n.type == "MatMul" ? static_cast<int>(outs[0].shape.size()) - 1 : 1;
      std::vector<PostOp>& ops = fused_ops;
      // Convolutions with constant weights fold leading affine post-ops (dnnl_ops.cc).
      const bool folds =
          n.type != "MatMul" && init.inputs.size() > 1 && init.inputs[1].constant != nullptr;
      std::vector<NodeId> chain;
      graph::ValueRef cur = out0;
      while (!observable.count(cur)) {
        const std::vector<NodeId> next = uses(cur);
        if (next.size() == 1) {
          std::optional<std::vector<PostOp>> m =
              MatchPostOp(g, g.node(next[0]), cur, outs[0].shape, axis, constant_of);
          if (!m || !AppendPostOps(&ops, *m, folds)) break;
          chain.push_back(next[0]);
          cur = {next[0], 0};
          continue;
        }
        std::vector<NodeId> hswish =
            MatchDecomposedHSwish(g, cur, uses, constant_of, is_observable);
        if (hswish.empty()) break;
        PostOp hs;
        hs.alg = dnnl::algorithm::eltwise_hardswish;
        if (!AppendPostOps(&ops, {hs}, folds)) break;
        chain.insert(chain.end(), hswish.begin(), hswish.end());
        cur = {hswish.back(), 0};
      }
      if (!chain.empty()) {
        KernelInit fused_init{n, init.inputs, impl.engine, opts, &ops, init.unused_outputs};
        std::vector<ValueInfo> fused_outs;
        Result<std::unique_ptr<Kernel>> fk = factory(fused_init, &fused_outs);
        if (fk.ok() && fused_outs.size() == 1 && fused_outs[0].shape == outs[0].shape) {
          kernel = std::move(*fk);
          std::string where = graph::Describe(n) + " + fused";
          for (NodeId c : chain) where += " " + g.node(c).type;
          kernel->where = where;
          plan->fused_[out0] = where;
          for (NodeId c : chain) {
            absorbed[c] = 1;
            if (graph::ValueRef{c, 0} != cur) plan->fused_[{c, 0}] = where;
          }
          out0 = cur;
        }
      }
    }
    // Small layers: single-threaded (oneDNN fixes a primitive's thread count at creation).
    int step_threads = plan->threads_;
    if (!all_const && plan->threads_ > 1) {
      const double work = LayerWork(n, init.inputs, outs);
      const bool macs = UsesDnnl(n.type) && n.type != "MaxPool" && n.type != "AvgPool";
      if (work < (macs ? kParallelMinMacs : kParallelMinElements)) {
        step_threads = 1;
        if (UsesDnnl(n.type)) {
          const int prev = omp_get_max_threads();
          omp_set_num_threads(1);
          KernelInit one{n,
                         init.inputs,
                         impl.engine,
                         opts,
                         plan->fused_.count({id, 0}) ? &fused_ops : nullptr,
                         init.unused_outputs};
          std::vector<ValueInfo> one_outs;
          Result<std::unique_ptr<Kernel>> k1 = factory(one, &one_outs);
          omp_set_num_threads(prev);
          if (k1.ok()) {
            std::string where = kernel->where;
            kernel = std::move(*k1);
            kernel->where = where;
          } else {
            step_threads = plan->threads_;
          }
        }
      }
    }
    std::vector<int> out_idx;
    for (size_t k = 0; k < outs.size(); ++k) {
      out_idx.push_back(add_value(k == 0 ? out0 : graph::ValueRef{id, static_cast<int32_t>(k)},
                                  outs[k].type, outs[k].shape));
    }
    const int alias = kernel->alias_input();
    if (all_const) {
      std::vector<graph::Tensor> results_t;
      if (alias >= 0) {
        results_t.push_back(impl.value_tensor[in_idx[alias]]->Reshaped(outs[0].shape));
      } else {
        for (const ValueInfo& o : outs)
          results_t.push_back(graph::Tensor::Allocate(o.type, o.shape));
        std::vector<const graph::Tensor*> ins;
        std::deque<graph::Tensor> shape_only;  // placeholders for non-constant inputs
        for (int vi : in_idx) {
          if (impl.value_tensor[vi]) {
            ins.push_back(impl.value_tensor[vi]);
          } else {
            shape_only.emplace_back();
            ins.push_back(&shape_only.back());
          }
        }
        Status st = RunOnce(*kernel, impl.engine, ins, &results_t);
        if (!st.ok()) return st.WithContext(graph::Describe(n) + " (folding constants)");
      }
      for (size_t k = 0; k < out_idx.size(); ++k) {
        make_const(out_idx[k], results_t[k]);
        plan->const_values_.push_back(out_idx[k]);
      }
      continue;
    }
    if (alias >= 0) {
      CHECK_EQ(out_idx.size(), 1u);
      int root = in_idx[alias];
      const CompiledModel::Value& rv = plan->values_[root];
      if (rv.storage == CompiledModel::Storage::kAlias) root = rv.alias_of;
      plan->values_[out_idx[0]].storage = CompiledModel::Storage::kAlias;
      plan->values_[out_idx[0]].alias_of = root;
      continue;  // no step: the output is the input's bytes
    }
    CompiledModel::Step step;
    step.node = id;
    step.where = kernel->where;
    step.kernel = std::move(kernel);
    step.in = in_idx;
    step.out = out_idx;
    step.threads = step_threads;
    plan->scratch_bytes_ = std::max(plan->scratch_bytes_, AlignUp(step.kernel->scratch_bytes()));
    plan->steps_.push_back(std::move(step));
  }
  if (!unsupported.empty()) {
    std::string msg =
        std::to_string(unsupported.size()) + " layer(s) have no CPU kernel in ptqflow's executor: ";
    for (size_t i = 0; i < unsupported.size(); ++i) msg += (i ? "; " : "") + unsupported[i];
    return Status::Error(msg);
  }

  // Blocked layout between oneDNN layers: a value written by one layer that computes it in a
  // blocked layout and read (as input 0) only by layers that would convert it to that same
  // layout stays blocked; model outputs and values with aliases stay plain. Observable values
  // are not special: taps convert or read the blocked bytes (Session), so a calibration plan
  // runs its layers exactly as the inference plan does.
  if (opts.conv_layout != "plain") {
    const size_t nv = plan->values_.size();
    std::vector<int> producer(nv, -1);
    std::vector<std::vector<int>> readers(nv);
    std::vector<char> excluded(nv, 0);
    for (int v : plan->output_values_) excluded[v] = 1;
    for (const CompiledModel::Value& val : plan->values_) {
      if (val.storage == CompiledModel::Storage::kAlias) excluded[val.alias_of] = 1;
    }
    for (size_t s = 0; s < plan->steps_.size(); ++s) {
      const CompiledModel::Step& st = plan->steps_[s];
      if (st.out.size() == 1) producer[st.out[0]] = static_cast<int>(s);
      for (size_t k = 0; k < st.in.size(); ++k) {
        const int v = st.in[k];
        if (k != 0) excluded[v] = 1;  // only input 0 may be blocked
        readers[v].push_back(static_cast<int>(s));
      }
    }
    std::vector<char> in_blocked(plan->steps_.size(), 0), out_blocked(plan->steps_.size(), 0);
    for (size_t v = 0; v < nv; ++v) {
      CompiledModel::Value& val = plan->values_[v];
      if (val.storage != CompiledModel::Storage::kArena || excluded[v] || producer[v] < 0 ||
          readers[v].empty()) {
        continue;
      }
      const dnnl::memory::desc* layout = plan->steps_[producer[v]].kernel->blocked_output();
      if (!layout) continue;
      bool ok = true;
      for (int r : readers[v]) {
        const dnnl::memory::desc* want = plan->steps_[r].kernel->blocked_input();
        ok = ok && want && *want == *layout;
      }
      if (!ok) continue;
      val.blocked = true;
      val.channel_block = ChannelBlock(*layout, val.shape);
      out_blocked[producer[v]] = 1;
      for (int r : readers[v]) in_blocked[r] = 1;
      CompiledModel::Impl::Blocked b;
      b.blocked = *layout;
      std::vector<int64_t> st = ContiguousStrides(val.shape);
      b.plain = dnnl::memory::desc(dnnl::memory::dims(val.shape.begin(), val.shape.end()),
                                   dnnl::memory::data_type::f32,
                                   dnnl::memory::dims(st.begin(), st.end()));
      b.to_plain = dnnl::reorder(
          dnnl::reorder::primitive_desc(impl.engine, b.blocked, impl.engine, b.plain));
      plan->tap_buffer_bytes_ = std::max(plan->tap_buffer_bytes_, b.plain.get_size());
      impl.blocked.emplace(static_cast<int>(v), std::move(b));
    }
    for (size_t s = 0; s < plan->steps_.size(); ++s) {
      if (in_blocked[s] || out_blocked[s]) {
        plan->steps_[s].kernel->UseBlocked(in_blocked[s] != 0, out_blocked[s] != 0);
      }
    }
  }

  // Liveness: a value's bytes are busy from its producing step to the last step reading it
  // (directly or through an alias); outputs stay live to the end of the run.
  const size_t nv = plan->values_.size();
  const int kEnd = static_cast<int>(plan->steps_.size());
  std::vector<int> def(nv, -1), last(nv, -1);
  auto root_of = [&](int v) {
    const CompiledModel::Value& val = plan->values_[v];
    return val.storage == CompiledModel::Storage::kAlias ? val.alias_of : v;
  };
  for (int s = 0; s < kEnd; ++s) {
    for (int v : plan->steps_[s].out) def[v] = s;
    for (int v : plan->steps_[s].in) last[root_of(v)] = std::max(last[root_of(v)], s);
  }
  for (int v : plan->output_values_) last[root_of(v)] = kEnd;
  struct Block {
    int value;
    size_t size;
    int begin, end;
  };
  std::vector<Block> blocks;
  for (size_t v = 0; v < nv; ++v) {
    const CompiledModel::Value& val = plan->values_[v];
    if (val.storage != CompiledModel::Storage::kArena) continue;
    CHECK_GE(def[v], 0);
    size_t bytes = std::max<size_t>(1, graph::ByteSize(val.type, graph::ElementCount(val.shape)));
    if (val.blocked)
      bytes = std::max(bytes, impl.blocked.at(static_cast<int>(v)).blocked.get_size());
    bytes = AlignUp(bytes);
    blocks.push_back({static_cast<int>(v), bytes, def[v], std::max(def[v], last[v])});
    plan->unshared_bytes_ += bytes;
  }
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const Block& a, const Block& b) { return a.size > b.size; });
  struct Placed {
    size_t offset, size;
    int begin, end;
  };
  std::vector<Placed> placed;
  for (const Block& b : blocks) {
    std::vector<std::pair<size_t, size_t>> busy;  // [offset, offset+size) overlapping in time
    for (const Placed& p : placed) {
      if (p.begin <= b.end && b.begin <= p.end) busy.push_back({p.offset, p.offset + p.size});
    }
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [lo, hi] : busy) {
      if (off + b.size <= lo) break;
      off = std::max(off, hi);
    }
    placed.push_back({off, b.size, b.begin, b.end});
    plan->values_[b.value].offset = off;
    plan->arena_bytes_ = std::max(plan->arena_bytes_, off + b.size);
  }
  return std::shared_ptr<const CompiledModel>(std::move(plan));
}

}  // namespace ptqflow::exec
