// Text dataset for BERT-style models: each sample is one line of a text file (kLines) or the
// whole content of one file (kFiles), tokenized by WordPieceTokenizer into three i64 [1, L]
// inputs: input_ids, attention_mask, token_type_ids (names configurable).
//
// kLines: empty lines are skipped. With pair_separator set (e.g. "\t"), a line "a<sep>b" is
// encoded as a sentence pair. With class_label_column, the last tab-separated field of each line
// is an integer class label (annotation), removed before tokenizing.
// kFiles: source is a folder (.txt files), glob, list file or one file; trailing newlines are
// dropped; annotations come from AnnotationOptions (label files keyed by file).
//
// Thread-safety: immutable after Create; Get() may be called concurrently.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/data/annotations.h"
#include "io/data/dataset.h"
#include "io/data/file_util.h"
#include "io/data/wordpiece_tokenizer.h"

namespace ptqflow::io {

enum class TextUnit { kLines, kFiles };

struct TextDatasetOptions {
  std::string source;
  TextUnit unit = TextUnit::kLines;
  SourceKind source_kind = SourceKind::kAuto;  // kFiles only
  WordPieceOptions tokenizer;
  std::string pair_separator;       // "" = single sentences
  bool class_label_column = false;  // kLines only
  std::string input_ids_name = "input_ids";
  std::string attention_mask_name = "attention_mask";
  std::string token_type_ids_name = "token_type_ids";  // "" = do not produce
  AnnotationOptions annotations;                       // kFiles only
};

class TextDataset : public Dataset {
 public:
  // Reads the texts (kLines: the whole file; kFiles: lists the files, read lazily) and the vocab.
  static Result<std::unique_ptr<TextDataset>> Create(const TextDatasetOptions& options);
  size_t size() const override { return unit_count_; }
  Result<Sample> Get(size_t i) const override;
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }

 private:
  TextDataset(TextDatasetOptions o, WordPieceTokenizer t)
      : options_(std::move(o)), tokenizer_(std::move(t)) {}
  TextDatasetOptions options_;
  WordPieceTokenizer tokenizer_;
  size_t unit_count_ = 0;
  // kLines
  std::vector<std::string> lines_;
  std::vector<int> line_numbers_;  // 1-based, for error messages
  std::vector<int64_t> line_labels_;
  // kFiles
  std::vector<std::filesystem::path> files_;
  FileAnnotations annotations_;
};

}  // namespace ptqflow::io
