// Annotation files: class labels from a list file ("name label" per line, POT's format) and text
// labels from a TSV file ("file<TAB>text" per line, e.g. ocr-lines/labels.tsv). IDX label files
// are read by idx_dataset.h.
//
// A LabelTable maps a sample's file to its label. Lookup tries, in order: the file's path
// relative to the annotation file's folder, then the file's name alone.
//
// Thread-safety: immutable after loading; concurrent lookups are safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "graph/status.h"
#include "io/data/dataset.h"

namespace ptqflow::io {

class LabelTable {
 public:
  // "name label" per line (name = everything before the last run of spaces/tabs; label an
  // integer). Empty lines and lines starting with '#' are skipped. Errors name file and line.
  static Result<LabelTable> ReadClassLabels(const std::filesystem::path& path);
  // "file<TAB>text" per line; the text is kept exactly (no trimming except the line ending).
  static Result<LabelTable> ReadTextLabels(const std::filesystem::path& path);

  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  std::optional<int64_t> ClassOf(const std::filesystem::path& file) const;
  std::optional<std::string> TextOf(const std::filesystem::path& file) const;

 private:
  std::optional<std::string> Find(const std::filesystem::path& file) const;
  std::filesystem::path path_;
  size_t size_ = 0;
  std::map<std::string, std::string> by_relpath_;
  std::map<std::string, std::string> by_name_;
};

// Annotation files a file-based dataset may attach to its samples ("" = none).
struct AnnotationOptions {
  std::string class_labels_file;  // "name label" per line
  std::string text_labels_file;   // "file<TAB>text" per line
};

// Loaded annotation tables for a file-based dataset.
class FileAnnotations {
 public:
  // Loads the tables and checks that every file in `files` has a label in each given table
  // (error names the first unlabelled file and the annotation file).
  static Result<FileAnnotations> Load(const AnnotationOptions& options,
                                      const std::vector<std::filesystem::path>& files);
  bool empty() const { return !classes_ && !texts_; }
  // The annotation of `file`, or nullopt if no tables were given.
  std::optional<Annotation> For(const std::filesystem::path& file) const;

 private:
  std::optional<LabelTable> classes_;
  std::optional<LabelTable> texts_;
};

}  // namespace ptqflow::io
