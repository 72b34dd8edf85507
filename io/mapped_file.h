// MappedFile: a whole file mapped read-only into memory (mmap, MAP_PRIVATE). The mapping lives
// as long as the MappedFile object; tensors that view its bytes hold a shared_ptr to it (see
// graph::Tensor::Wrap), so the usual way to own one is the shared_ptr returned by Open().
// An empty file maps to data() == nullptr, size() == 0.
//
// Thread-safety: immutable after Open(); concurrent reads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "graph/status.h"

namespace ptqflow::io {

class MappedFile {
 public:
  // Maps `path`. Errors (missing file, a directory, mmap failure) name the file and the reason.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::filesystem::path& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ptqflow::io
