#include "io/data/file_util.h"

#include <glob.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

namespace ptqflow::io {

namespace fs = std::filesystem;

Result<std::string> ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error(path.string() + ": cannot open for reading: " + std::strerror(errno));
  }
  // One read of the whole file when its size is known (a regular file with a size: files like
  // those of /proc say 0); else stream it.
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > 0 && fs::is_regular_file(path, ec)) {
    std::string bytes(static_cast<size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (in.bad() || static_cast<uintmax_t>(in.gcount()) != size) {
      return Status::Error(path.string() + ": read error (" + std::to_string(in.gcount()) + " of " +
                           std::to_string(size) + " bytes)");
    }
    return bytes;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Error(path.string() + ": read error");
  return ss.str();
}

std::string LowerExtension(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

namespace {

bool HasExtension(const fs::path& p, const std::vector<std::string>& exts) {
  const std::string e = LowerExtension(p);
  return std::find(exts.begin(), exts.end(), e) != exts.end();
}

Result<std::vector<fs::path>> ListFolder(const fs::path& dir,
                                         const std::vector<std::string>& exts) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::Error(dir.string() + ": cannot list folder: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Error(dir.string() + ": cannot list folder: " + ec.message());
    const fs::path& p = it->path();
    if (p.filename().string().starts_with(".")) continue;
    if (!it->is_regular_file(ec)) continue;
    if (HasExtension(p, exts)) out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return out;
}

Result<std::vector<fs::path>> ListGlob(const std::string& pattern) {
  glob_t g;
  std::memset(&g, 0, sizeof(g));
  const int rc = glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<fs::path> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::error_code ec;
      if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return Status::Error("glob '" + pattern + "': read error while matching");
  }
  return out;
}

Result<std::vector<fs::path>> ListFromFile(const fs::path& list) {
  PTQ_ASSIGN_OR_RETURN(std::string text, ReadFileBytes(list));
  std::vector<fs::path> out;
  const fs::path base = list.parent_path();
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    fs::path p(t);
    if (p.is_relative()) p = base / p;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      return Status::Error(list.string() + ":" + std::to_string(line_no) + ": '" + t +
                           "' is not a readable file (looked for " + p.string() + ")");
    }
    out.push_back(p.lexically_normal());
  }
  return out;
}

}  // namespace

Result<std::vector<fs::path>> ListDataFiles(const std::string& source, SourceKind kind,
                                            const std::vector<std::string>& extensions) {
  if (source.empty()) return Status::Error("dataset source is empty");
  std::error_code ec;
  if (kind == SourceKind::kAuto) {
    if (source.find_first_of("*?[") != std::string::npos) {
      kind = SourceKind::kGlob;
    } else if (fs::is_directory(source, ec)) {
      kind = SourceKind::kFolder;
    } else if (!fs::exists(source, ec)) {
      return Status::Error(source + ": no such file or folder");
    } else if (HasExtension(source, extensions)) {
      kind = SourceKind::kFile;
    } else {
      kind = SourceKind::kListFile;
    }
  }
  std::vector<fs::path> files;
  switch (kind) {
    case SourceKind::kFolder: {
      PTQ_ASSIGN_OR_RETURN(files, ListFolder(source, extensions));
      break;
    }
    case SourceKind::kGlob: {
      PTQ_ASSIGN_OR_RETURN(files, ListGlob(source));
      break;
    }
    case SourceKind::kListFile: {
      PTQ_ASSIGN_OR_RETURN(files, ListFromFile(source));
      break;
    }
    case SourceKind::kFile:
      if (!fs::is_regular_file(source, ec)) return Status::Error(source + ": not a readable file");
      files.emplace_back(source);
      break;
    case SourceKind::kAuto:
      break;
  }
  if (files.empty()) {
    std::string exts;
    for (const auto& e : extensions) exts += (exts.empty() ? "" : " ") + e;
    return Status::Error(source + ": no data files found (accepted extensions: " + exts + ")");
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// zlib decompression.

namespace {

// window_bits: 15+32 = zlib or gzip header auto-detected; -15 = raw deflate.
Result<std::string> Decompress(std::string_view data, int window_bits, size_t size_hint,
                               bool multi_member, const std::string& what) {
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  if (inflateInit2(&s, window_bits) != Z_OK) {
    return Status::Error(what + ": zlib inflateInit failed");
  }
  std::string out;
  out.resize(size_hint > 0 ? size_hint : std::max<size_t>(data.size() * 4, 1024));
  size_t produced = 0;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    const size_t room = out.size() - produced;
    s.avail_out = static_cast<uInt>(std::min<size_t>(room, 1u << 30));
    const uInt before = s.avail_out;
    rc = inflate(&s, Z_NO_FLUSH);
    produced += before - s.avail_out;
    if (rc == Z_STREAM_END) {
      if (multi_member && s.avail_in > 0) {
        inflateReset(&s);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && s.avail_out != 0 && s.avail_in == 0) {
      inflateEnd(&s);
      return Status::Error(what + ": compressed data is truncated");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = s.msg ? s.msg : ("zlib error " + std::to_string(rc));
      inflateEnd(&s);
      return Status::Error(what + ": corrupt compressed data: " + msg);
    }
  }
  inflateEnd(&s);
  out.resize(produced);
  return out;
}

}  // namespace

bool IsGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0x1f &&
         static_cast<uint8_t>(data[1]) == 0x8b;
}

Result<std::string> Gunzip(std::string_view data, const std::string& what) {
  // A gzip stream ends with its uncompressed size mod 2^32 (ISIZE): with one member, the exact
  // size of the output, so it is allocated once. Only a hint (the output still grows if it is
  // short; zlib rejects a trailer that does not match), and capped at 64 x the input + 1 MiB so
  // a bad trailer cannot make it allocate much more than the data can hold.
  size_t hint = 0;
  if (IsGzip(data) && data.size() >= 18) {
    const auto* t = reinterpret_cast<const uint8_t*>(data.data() + data.size() - 4);
    const size_t isize =
        uint32_t(t[0]) | uint32_t(t[1]) << 8 | uint32_t(t[2]) << 16 | uint32_t(t[3]) << 24;
    hint = std::min(isize, data.size() * 64 + (size_t{1} << 20));
    if (hint == isize && hint > 0) ++hint;  // room to see the end without growing
  }
  return Decompress(data, 15 + 32, hint, /*multi_member=*/true, what);
}

Result<std::string> InflateRaw(std::string_view data, size_t uncompressed_size,
                               const std::string& what) {
  PTQ_ASSIGN_OR_RETURN(std::string out,
                       Decompress(data, -15, uncompressed_size, /*multi_member=*/false, what));
  if (out.size() != uncompressed_size) {
    return Status::Error(what + ": inflated to " + std::to_string(out.size()) +
                         " bytes, expected " + std::to_string(uncompressed_size));
  }
  return out;
}

}  // namespace ptqflow::io
