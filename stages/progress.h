// Progress of a statistics pass: a one-line bar on a terminal ("[#####.....] 120/300 samples
// 41.3/s ETA 4s"), redrawn at most 10 times a second, or a log line every `log_interval`
// seconds (and at the end) when stderr is not a terminal.
//
// Thread-safety: Update/Finish are called from the flow graph's serial merge node only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ptqflow::stages {

enum class ProgressMode { kAuto, kBar, kLog, kNone };

// "auto" | "bar" | "log" | "none"; false for anything else.
bool ParseProgressMode(const std::string& s, ProgressMode* mode);

class ProgressReporter {
 public:
  // `done` samples were already processed before this run (a resumed pass); rates count only
  // the ones processed here. Output goes to `out` (default stderr).
  ProgressReporter(std::string name, size_t total, size_t done, ProgressMode mode,
                   double log_interval_seconds = 10.0, std::FILE* out = stderr);
  void Update(size_t done);
  // Final line (bar: newline after the bar; log: a summary line).
  void Finish(size_t done);

 private:
  void Print(size_t done, bool final);
  using Clock = std::chrono::steady_clock;
  std::string name_;
  size_t total_;
  size_t start_done_;
  ProgressMode mode_;
  double interval_;
  std::FILE* out_;
  Clock::time_point start_;
  Clock::time_point last_;
  bool printed_ = false;
};

}  // namespace ptqflow::stages
