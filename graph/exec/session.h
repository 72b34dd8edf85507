// Session: runs a CompiledModel. Owns its activation arena, kernel states, oneDNN stream; borrows
// the plan (kept alive by shared_ptr). Create one session per worker;
// many sessions may run the same plan concurrently.
//
// Run() takes inputs by model input name (Parameter name); each must have exactly the type and
// shape the plan was compiled for (errors name the input and the expected shape). Outputs are
// returned keyed by tensor name (ModelOutput::tensor_name); RunByResult() keys them by the
// Result node name instead. Inputs are used in place (zero-copy) and must stay unchanged
// during Run. Taps (see tap_set.h) observe values as they are produced.
//
// Intra-op parallelism is OpenMP with plan().threads() threads (Debian's oneDNN uses the OpenMP
// runtime; one pool for oneDNN and our kernels), set on the calling thread for each Run.
// Thread-safety: a Session is not thread-safe; use one per thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/exec/compiled_model.h"
#include "graph/exec/tap_set.h"

namespace ptqflow::exec {

class Session {
 public:
  explicit Session(std::shared_ptr<const CompiledModel> plan);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Status Run(const std::map<std::string, graph::Tensor>& inputs,
             std::map<std::string, graph::Tensor>* outputs, TapSet* taps = nullptr);
  Status RunByResult(const std::map<std::string, graph::Tensor>& inputs,
                     std::map<std::string, graph::Tensor>* outputs, TapSet* taps = nullptr);

  const CompiledModel& plan() const { return *plan_; }

 private:
  Status RunImpl(const std::map<std::string, graph::Tensor>& inputs,
                 std::map<std::string, graph::Tensor>* outputs, TapSet* taps, bool key_by_result);
  Status Execute(TapSet* taps);
  // Value indices and observers per value of `taps` (kept for the next Run with the same set).
  Status ResolveTaps(const TapSet& taps);

  std::shared_ptr<const CompiledModel> plan_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptqflow::exec
