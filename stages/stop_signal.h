// Graceful stop on SIGINT / SIGTERM: the handler only sets a lock-free atomic flag, which the
// flow graph's source checks before feeding each sample; the pass then drains the samples in
// flight, writes its checkpoint and returns an "interrupted" error. A second signal while the
// flag is set restores the default action and re-raises, so a stuck run can still be killed.
//
// Thread-safety: install from the main thread before starting a pass; the flag may be read
// from any thread.
#pragma once

#include <atomic>

namespace ptqflow::stages {

// Installs the handlers (idempotent) and returns the flag they set.
const std::atomic<bool>* InstallStopSignalHandlers();
// The signal that set the flag (0 if none yet).
int StopSignalNumber();

}  // namespace ptqflow::stages
