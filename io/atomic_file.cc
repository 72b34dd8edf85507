#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ptqflow::io {

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  tmp_ = path_;
  tmp_ += ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

Status AtomicFile::Open() {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) {
    return Status::Error("cannot write '" + path_.string() + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

Status AtomicFile::Write(const void* data, size_t n) {
  if (!f_) return Status::Error("'" + path_.string() + "' is not open for writing");
  if (n && std::fwrite(data, 1, n, f_) != n) {
    return Status::Error("cannot write '" + path_.string() + "': " + std::strerror(errno));
  }
  size_ += n;
  return Status::Ok();
}

Status AtomicFile::Commit() {
  if (!f_) return Status::Error("'" + path_.string() + "' is not open for writing");
  auto fail = [&](const char* what) {
    return Status::Error(std::string("cannot ") + what + " '" + path_.string() +
                         "': " + std::strerror(errno));
  };
  if (std::fflush(f_) != 0) return fail("flush");
  if (::fsync(::fileno(f_)) != 0) return fail("fsync");
  if (std::fclose(f_) != 0) {
    f_ = nullptr;
    return fail("close");
  }
  f_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) return fail("rename into place");
  committed_ = true;
  std::filesystem::path dir = path_.parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content) {
  AtomicFile f(path);
  PTQ_RETURN_IF_ERROR(f.Open());
  PTQ_RETURN_IF_ERROR(f.Write(content));
  return f.Commit();
}

}  // namespace ptqflow::io
