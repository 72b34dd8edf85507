// BERT WordPiece tokenizer: basic tokenization, then greedy longest-match-first WordPiece over a
// vocab.txt (one token per line; the id is the 0-based line number).
//
// Basic tokenization (as BERT's BasicTokenizer):
//   1. drop NUL, U+FFFD and control/format characters; map whitespace to ' ';
//   2. put spaces around CJK ideographs;
//   3. split on whitespace;
//   4. with lower_case: lower-case and strip accents (decompose, drop combining marks);
//   5. split every punctuation character into its own token.
// Unicode coverage (no ICU here): lower-casing covers ASCII, Latin-1, Latin Extended-A, Greek
// and basic Cyrillic; accent stripping covers Latin-1 and Latin Extended-A letters plus the
// combining marks U+0300–U+036F; punctuation is ASCII punctuation, Latin-1 punctuation
// (¡ § « ¶ · » ¿), U+2010–U+2027, U+2030–U+205E, CJK and full-width punctuation. Other
// characters pass through unchanged. Invalid UTF-8 is an error.
// WordPiece: a word longer than max_chars_per_word, or one that cannot be covered by vocab
// pieces (continuations prefixed "##"), becomes [UNK].
// Encoding: [CLS] a [SEP] (or [CLS] a [SEP] b [SEP] for pairs, token_type_ids 1 on the b part);
// truncation removes tokens from the end (for pairs, from the longer segment first) so the
// result has at most max_length ids; padding appends [PAD] with attention_mask 0.
//
// Thread-safety: immutable after Create; Tokenize/Encode may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/status.h"

namespace ptqflow::io {

struct WordPieceOptions {
  std::string vocab_file;  // required
  bool lower_case = true;
  int max_length = 128;  // including [CLS] and [SEP]
  bool pad_to_max_length = true;
  bool truncate = true;  // false: a longer text is an error
  int max_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
};

struct Encoding {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> token_type_ids;
};

class WordPieceTokenizer {
 public:
  // Reads the vocab. Errors: no vocab file given, unreadable vocab, special tokens missing.
  static Result<WordPieceTokenizer> Create(const WordPieceOptions& options);

  // Basic tokenization + WordPiece: the word pieces ("un", "##aff", ...).
  Result<std::vector<std::string>> Tokenize(std::string_view text) const;
  // Basic tokenization only (step 1–5 above).
  Result<std::vector<std::string>> BasicTokenize(std::string_view text) const;
  // Full encoding of a text or a text pair.
  Result<Encoding> Encode(std::string_view a,
                          std::optional<std::string_view> b = std::nullopt) const;

  // Id of a token, or -1.
  int64_t IdOf(const std::string& token) const;
  size_t vocab_size() const { return vocab_.size(); }
  const WordPieceOptions& options() const { return options_; }

 private:
  WordPieceOptions options_;
  std::unordered_map<std::string, int64_t> vocab_;
  int64_t unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1;
};

}  // namespace ptqflow::io
