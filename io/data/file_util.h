// Small helpers shared by the dataset loaders: whole-file reads, listing a dataset's files
// (folder / glob / list file), and zlib decompression.
// Thread-safe: no shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace ptqflow::io {

// The whole file. Error names the path and the OS reason.
Result<std::string> ReadFileBytes(const std::filesystem::path& path);

// How a dataset's `source` string is interpreted.
enum class SourceKind {
  kAuto,      // glob if it contains * ? or [; folder if a directory; a single data file if its
              // extension is in `extensions`; otherwise a list file
  kFolder,    // every regular, non-hidden file whose extension is in `extensions`, sorted by name
  kGlob,      // POSIX glob(3) pattern, sorted (hidden files only if the pattern names them)
  kListFile,  // one path per line; relative paths are resolved against the list file's folder;
              // empty lines and lines starting with '#' are ignored
  kFile,      // exactly this one file
};

// The files of a dataset, in dataset order. `extensions` are lower-case with the dot (".png");
// matching is case-insensitive. An empty result is an error naming the source.
Result<std::vector<std::filesystem::path>> ListDataFiles(
    const std::string& source, SourceKind kind, const std::vector<std::string>& extensions);

// Lower-cased extension with the dot ("" if none).
std::string LowerExtension(const std::filesystem::path& p);

// Decompresses a gzip stream (one or more members). `what` names the data in errors.
Result<std::string> Gunzip(std::string_view data, const std::string& what);
// Decompresses a raw DEFLATE stream (as stored in zip entries) of known uncompressed size.
Result<std::string> InflateRaw(std::string_view data, size_t uncompressed_size,
                               const std::string& what);
// True if the bytes start with the gzip magic 1f 8b.
bool IsGzip(std::string_view data);

// Strips trailing '\r' / '\n' and surrounding spaces/tabs.
std::string Trim(std::string_view s);

}  // namespace ptqflow::io
