#include "graph/exec/session.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>

#include <glog/logging.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "graph/exec/kernel.h"

namespace ptqflow::exec {

namespace {
struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
std::string ExpectedText(graph::ElementType t, const graph::Shape& s) {
  return TypeName(t) + graph::ShapeToString(s);
}
}  // namespace

struct Session::Impl {
  std::unique_ptr<uint8_t, FreeDeleter> arena;
  std::unique_ptr<uint8_t, FreeDeleter> scratch;
  std::unique_ptr<uint8_t, FreeDeleter> tap_buffer;  // plain copy of a blocked value for taps
  std::vector<const void*> ptr;                      // per value
  std::vector<std::unique_ptr<KernelState>> states;
  std::vector<std::vector<TensorView>> in_views;
  std::vector<std::vector<OutView>> out_views;
  std::vector<int> input_values;  // value index per model input
  std::vector<int> alias_values;
  // Taps resolved for the TapSet with stamp `taps_stamp` (0: none), kept across runs.
  std::vector<uint8_t> tapped;      // per value: kObserved | kKept
  std::vector<int> first_observer;  // per value: its first observer (index into observers), -1
  std::vector<int> next_observer;   // per observer: the next one on the same value, -1
  std::vector<int> tap_values;      // value index of each observer, then of each kept value
  uint64_t taps_stamp = 0;
  size_t taps_observers = 0, taps_keep = 0;
  dnnl::stream stream;

  static constexpr uint8_t kObserved = 1, kKept = 2;

  void ClearTaps() {
    for (int v : tap_values) {
      tapped[v] = 0;
      first_observer[v] = -1;
    }
    tap_values.clear();
    next_observer.clear();
    taps_stamp = 0;
  }
};

Session::Session(std::shared_ptr<const CompiledModel> plan)
    : plan_(std::move(plan)), impl_(std::make_unique<Impl>()) {
  const CompiledModel& p = *plan_;
  const dnnl::engine& engine = *static_cast<const dnnl::engine*>(p.engine());
  auto alloc = [](size_t n) {
    return static_cast<uint8_t*>(std::aligned_alloc(64, std::max<size_t>(64, (n + 63) / 64 * 64)));
  };
  impl_->arena.reset(alloc(p.arena_bytes()));
  impl_->scratch.reset(alloc(p.scratch_bytes()));
  if (p.tap_buffer_bytes() > 0) impl_->tap_buffer.reset(alloc(p.tap_buffer_bytes()));
  CHECK(impl_->arena && impl_->scratch) << "out of memory allocating the session arena";
  const auto& values = p.values();
  impl_->ptr.assign(values.size(), nullptr);
  impl_->tapped.assign(values.size(), 0);
  impl_->first_observer.assign(values.size(), -1);
  impl_->input_values.assign(p.inputs().size(), -1);
  for (size_t v = 0; v < values.size(); ++v) {
    switch (values[v].storage) {
      case CompiledModel::Storage::kConst:
        impl_->ptr[v] = values[v].const_data;
        break;
      case CompiledModel::Storage::kArena:
        impl_->ptr[v] = impl_->arena.get() + values[v].offset;
        break;
      case CompiledModel::Storage::kInput:
        impl_->input_values[values[v].input_index] = static_cast<int>(v);
        break;
      case CompiledModel::Storage::kAlias:
        impl_->alias_values.push_back(static_cast<int>(v));
        break;
    }
  }
  for (const CompiledModel::Step& s : p.steps()) {
    impl_->states.push_back(s.kernel->CreateState(engine));
    std::vector<TensorView> in;
    for (int v : s.in) in.push_back({values[v].type, &values[v].shape, nullptr});
    std::vector<OutView> out;
    for (int v : s.out) out.push_back({values[v].type, &values[v].shape, nullptr});
    impl_->in_views.push_back(std::move(in));
    impl_->out_views.push_back(std::move(out));
  }
  impl_->stream = dnnl::stream(engine);
}

Session::~Session() = default;

Status Session::Run(const std::map<std::string, graph::Tensor>& inputs,
                    std::map<std::string, graph::Tensor>* outputs, TapSet* taps) {
  return RunImpl(inputs, outputs, taps, false);
}

Status Session::RunByResult(const std::map<std::string, graph::Tensor>& inputs,
                            std::map<std::string, graph::Tensor>* outputs, TapSet* taps) {
  return RunImpl(inputs, outputs, taps, true);
}

Status Session::RunImpl(const std::map<std::string, graph::Tensor>& inputs,
                        std::map<std::string, graph::Tensor>* outputs, TapSet* taps,
                        bool key_by_result) {
  const CompiledModel& p = *plan_;
  for (size_t i = 0; i < p.inputs().size(); ++i) {
    const ModelInput& in = p.inputs()[i];
    auto it = inputs.find(in.name);
    if (it == inputs.end()) {
      return Status::Error("missing input '" + in.name + "' (expected " +
                           ExpectedText(in.type, in.shape) + ")");
    }
    const graph::Tensor& t = it->second;
    if (t.type() != in.type || t.shape() != in.shape) {
      return Status::Error("input '" + in.name + "' is " + ExpectedText(t.type(), t.shape()) +
                           " but the model was compiled for " + ExpectedText(in.type, in.shape));
    }
    impl_->ptr[impl_->input_values[i]] = t.bytes();
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const ModelInput& in : p.inputs()) known = known || in.name == name;
    if (!known) {
      std::string names;
      for (const ModelInput& in : p.inputs()) names += (names.empty() ? "" : ", ") + in.name;
      return Status::Error("unknown input '" + name + "'; the model's inputs are: " + names);
    }
  }
  for (int v : impl_->alias_values) impl_->ptr[v] = impl_->ptr[p.values()[v].alias_of];
  for (size_t s = 0; s < p.steps().size(); ++s) {
    const CompiledModel::Step& st = p.steps()[s];
    for (size_t k = 0; k < st.in.size(); ++k) impl_->in_views[s][k].data = impl_->ptr[st.in[k]];
    for (size_t k = 0; k < st.out.size(); ++k) {
      impl_->out_views[s][k].data = const_cast<void*>(impl_->ptr[st.out[k]]);
    }
  }
  // Taps: value refs are resolved on the first run with this TapSet (and again when it changed).
  if (taps) {
    taps->mutable_kept()->clear();
    if (impl_->taps_stamp != taps->stamp() || impl_->taps_observers != taps->observers().size() ||
        impl_->taps_keep != taps->keep().size()) {
      PTQ_RETURN_IF_ERROR(ResolveTaps(*taps));
    }
  }

  Status status;
  // Intra-op threads: OpenMP (oneDNN's CPU runtime here) for oneDNN and for our kernels. The
  // thread count is per calling thread, so concurrent sessions do not interfere.
  omp_set_num_threads(p.threads());
  try {
    status = Execute(taps);
  } catch (const dnnl::error& e) {
    status = Status::Error(std::string("oneDNN error: ") + e.what());
  } catch (const std::exception& e) {
    status = Status::Error(std::string("error during inference: ") + e.what());
  }
  omp_set_num_threads(p.threads());
  PTQ_RETURN_IF_ERROR(status);

  if (outputs) {
    outputs->clear();
    for (size_t i = 0; i < p.outputs().size(); ++i) {
      const ModelOutput& o = p.outputs()[i];
      int v = p.ValueIndex(o.source);
      const CompiledModel::Value& val = p.values()[v];
      TensorView view{val.type, &val.shape, impl_->ptr[v]};
      (*outputs)[key_by_result ? o.result_name : o.tensor_name] = view.Copy();
    }
  }
  return Status::Ok();
}

Status Session::ResolveTaps(const TapSet& taps) {
  const CompiledModel& p = *plan_;
  impl_->ClearTaps();
  auto index = [&](const graph::ValueRef& ref) -> Result<int> {
    int v = p.ValueIndex(ref);
    if (v < 0 && !p.FusedInto(ref).empty()) {
      return Status::Error("tapped value (node " + std::to_string(ref.node) + ", port " +
                           std::to_string(ref.port) +
                           ") is not computed: its layer is fused into " + p.FusedInto(ref) +
                           "; list it in CompileOptions::observable or compile with fuse = false");
    }
    if (v < 0) {
      return Status::Error("tapped value (node " + std::to_string(ref.node) + ", port " +
                           std::to_string(ref.port) +
                           ") is not computed by the compiled plan (no output needs it)");
    }
    return v;
  };
  const auto& observers = taps.observers();
  impl_->next_observer.assign(observers.size(), -1);
  for (const TapSet::Observer& o : observers) {
    Result<int> v = index(o.value);
    if (!v.ok()) {
      impl_->ClearTaps();
      return v.status();
    }
    impl_->tap_values.push_back(*v);
  }
  // Chains in reverse, so each value's observers are called in the order they were added.
  for (size_t i = observers.size(); i-- > 0;) {
    const int v = impl_->tap_values[i];
    impl_->next_observer[i] = impl_->first_observer[v];
    impl_->first_observer[v] = static_cast<int>(i);
    impl_->tapped[v] |= Impl::kObserved;
  }
  for (const graph::ValueRef& k : taps.keep()) {
    Result<int> v = index(k);
    if (!v.ok()) {
      impl_->ClearTaps();
      return v.status();
    }
    impl_->tap_values.push_back(*v);
    impl_->tapped[*v] |= Impl::kKept;
  }
  impl_->taps_stamp = taps.stamp();
  impl_->taps_observers = observers.size();
  impl_->taps_keep = taps.keep().size();
  return Status::Ok();
}

Status Session::Execute(TapSet* taps) {
  const CompiledModel& p = *plan_;
  const auto& values = p.values();
  auto report = [&](int v) {
    const CompiledModel::Value& val = values[v];
    const bool wanted =
        (taps->all() && val.storage != CompiledModel::Storage::kConst) || impl_->tapped[v];
    if (!wanted) return;
    // A blocked value is converted to plain once, and only if some observer needs it plain.
    TensorView as_is{val.type, &val.shape, impl_->ptr[v]};
    TensorView plain = as_is;
    bool have_plain = !val.blocked;
    auto plain_view = [&]() -> const TensorView& {
      if (!have_plain) {
        p.ReorderToPlain(v, impl_->ptr[v], impl_->tap_buffer.get(), &impl_->stream);
        plain.data = impl_->tap_buffer.get();
        have_plain = true;
      }
      return plain;
    };
    as_is.channel_block = val.blocked ? val.channel_block : 0;
    if (taps->all() && val.storage != CompiledModel::Storage::kConst) {
      taps->all()(val.ref, plain_view());
    }
    const auto& observers = taps->observers();
    for (int o = impl_->first_observer[v]; o >= 0; o = impl_->next_observer[o]) {
      const TapSet::Observer& ob = observers[o];
      ob.cb(val.ref,
            ob.accepts_blocked && (!val.blocked || as_is.channel_block > 0) ? as_is : plain_view());
    }
    if (impl_->tapped[v] & Impl::kKept) {
      (*taps->mutable_kept())[val.ref] = plain_view().Copy();
    }
  };
  if (taps) {
    for (int v : p.const_values()) {
      if (impl_->tapped[v]) report(v);
    }
    // Aliases of inputs/constants that no step produces.
    for (int v : impl_->alias_values) {
      int root = values[v].alias_of;
      if (values[root].storage != CompiledModel::Storage::kArena) report(v);
    }
  }
  int threads = p.threads();
  for (size_t s = 0; s < p.steps().size(); ++s) {
    const CompiledModel::Step& st = p.steps()[s];
    if (st.threads != threads) {
      threads = st.threads;
      omp_set_num_threads(threads);
    }
    KernelContext ctx{impl_->in_views[s], impl_->out_views[s], impl_->states[s].get(),
                      impl_->scratch.get(), &impl_->stream};
    Status status = st.kernel->Run(ctx);
    if (!status.ok()) return status.WithContext(st.where);
    if (taps) {
      for (int v : st.out) report(v);
      // Aliases (Reshape, ...) of this step's outputs are produced at the same moment.
      for (int v : impl_->alias_values) {
        int root = values[v].alias_of;
        for (int o : st.out) {
          if (o == root) report(v);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace ptqflow::exec
