// TapSet: what a caller wants to observe during one Session::Run.
//
//   Observe(v, cb)  — cb(v, view) is called right after the layer producing value v ran; the
//                     view is zero-copy and valid only during the callback. A value the plan
//                     keeps in oneDNN's blocked layout is converted to plain C order first,
//                     unless the observer accepts blocked views (Observe(v, cb, true)): it then
//                     gets the bytes as they are, described by TensorView::channel_block.
//   Keep(v)         — a copy of v is stored in kept() when v is produced.
//   ObserveAll(cb)  — per-layer mode: cb is called for every value the plan computes, in
//                     execution order (constants folded at compile time are not reported).
//
// Values folded into constants at compile time are reported (Observe/Keep) at the start of
// Run. Tapping a value the plan never computes (not needed for any output) is an error from
// Session::Run naming the value.
//
// The TapSet is owned by the caller and must outlive the Run it is passed to. Callbacks run on
// the thread that called Run. Not thread-safe: use one TapSet per concurrent Run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "graph/exec/tensor_view.h"
#include "graph/graph.h"

namespace ptqflow::exec {

class TapSet {
 public:
  using Callback = std::function<void(const graph::ValueRef&, const TensorView&)>;

  void Observe(graph::ValueRef v, Callback cb, bool accepts_blocked = false) {
    observers_.push_back({v, std::move(cb), accepts_blocked});
    stamp_ = NextStamp();
  }
  void Keep(graph::ValueRef v) {
    keep_.push_back(v);
    stamp_ = NextStamp();
  }
  void ObserveAll(Callback cb) {
    all_ = std::move(cb);
    stamp_ = NextStamp();
  }

  // Copies of the kept values after Run (cleared at the start of each Run).
  const std::map<graph::ValueRef, graph::Tensor>& kept() const { return kept_; }

  struct Observer {
    graph::ValueRef value;
    Callback cb;
    bool accepts_blocked = false;
  };
  const std::vector<Observer>& observers() const { return observers_; }
  const std::vector<graph::ValueRef>& keep() const { return keep_; }
  const Callback& all() const { return all_; }
  std::map<graph::ValueRef, graph::Tensor>* mutable_kept() { return &kept_; }
  // Changes with every Observe / Keep / ObserveAll and is unique across all TapSets of the
  // process: a Session reuses what it resolved for the set on its previous Run (value indices,
  // observers per value) while the stamp, and the observer and kept counts, are unchanged.
  uint64_t stamp() const { return stamp_; }

 private:
  static uint64_t NextStamp() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t stamp_ = NextStamp();
  std::vector<Observer> observers_;
  std::vector<graph::ValueRef> keep_;
  Callback all_;
  std::map<graph::ValueRef, graph::Tensor> kept_;
};

}  // namespace ptqflow::exec
