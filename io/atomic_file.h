// AtomicFile: writes a file so that readers see either the old content or the complete new
// content, never a half-written file. Data goes to "<path>.tmp.<pid>" in the same directory;
// Commit() flushes, fsyncs, renames over <path> and fsyncs the directory. Destroying an
// uncommitted AtomicFile removes the temporary file (so a failed run leaves nothing behind).
//
// Thread-safety: one writer per object.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "graph/status.h"

namespace ptqflow::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Opens the temporary file. Error names the path.
  Status Open();
  Status Write(const void* data, size_t n);
  Status Write(std::string_view s) { return Write(s.data(), s.size()); }
  // Bytes written so far.
  size_t size() const { return size_; }
  Status Commit();

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  std::FILE* f_ = nullptr;
  size_t size_ = 0;
  bool committed_ = false;
};

// Writes a whole file atomically.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace ptqflow::io
