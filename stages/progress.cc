#include "stages/progress.h"

#include <unistd.h>

#include <cmath>

namespace ptqflow::stages {

bool ParseProgressMode(const std::string& s, ProgressMode* mode) {
  if (s == "auto") {
    *mode = ProgressMode::kAuto;
  } else if (s == "bar") {
    *mode = ProgressMode::kBar;
  } else if (s == "log") {
    *mode = ProgressMode::kLog;
  } else if (s == "none") {
    *mode = ProgressMode::kNone;
  } else {
    return false;
  }
  return true;
}

ProgressReporter::ProgressReporter(std::string name, size_t total, size_t done, ProgressMode mode,
                                   double log_interval_seconds, std::FILE* out)
    : name_(std::move(name)),
      total_(total),
      start_done_(done),
      mode_(mode),
      interval_(log_interval_seconds),
      out_(out),
      start_(Clock::now()),
      last_(start_) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = isatty(fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLog;
  }
}

void ProgressReporter::Update(size_t done) {
  if (mode_ == ProgressMode::kNone) return;
  const Clock::time_point now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since < (mode_ == ProgressMode::kBar ? 0.1 : interval_)) return;
  last_ = now;
  Print(done, false);
}

void ProgressReporter::Finish(size_t done) {
  if (mode_ == ProgressMode::kNone) return;
  Print(done, true);
}

void ProgressReporter::Print(size_t done, bool final) {
  const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done - start_done_) / secs : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  char stats[160];
  std::snprintf(stats, sizeof(stats), "%zu/%zu samples  %.1f/s  %s %.0fs", done, total_, rate,
                final ? "took" : "ETA", final ? secs : std::ceil(eta));
  if (mode_ == ProgressMode::kBar) {
    constexpr int kWidth = 30;
    const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(out_, "\r%s [%s] %s\033[K%s", name_.c_str(), bar.c_str(), stats,
                 final ? "\n" : "");
  } else {
    std::fprintf(out_, "%s: %s\n", name_.c_str(), stats);
  }
  std::fflush(out_);
  printed_ = true;
}

}  // namespace ptqflow::stages
