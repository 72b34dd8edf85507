#include "io/data/wordpiece_tokenizer.h"

#include <sstream>

#include "io/data/file_util.h"

namespace ptqflow::io {

namespace {

// Decodes UTF-8; error names the byte offset.
Result<std::u32string> DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len;
    char32_t cp;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return Status::Error("invalid UTF-8 at byte " + std::to_string(i));
    }
    if (i + len > s.size()) return Status::Error("truncated UTF-8 at byte " + std::to_string(i));
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return Status::Error("invalid UTF-8 at byte " + std::to_string(i));
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Status::Error("invalid UTF-8 at byte " + std::to_string(i));
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string ToUtf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) AppendUtf8(c, &out);
  return out;
}

bool IsWhitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF;
}

bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool IsPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126)) {
    return true;
  }
  switch (c) {
    case 0xA1:
    case 0xA7:
    case 0xAB:
    case 0xB6:
    case 0xB7:
    case 0xBB:
    case 0xBF:
      return true;
    default:
      break;
  }
  return (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) ||
         (c >= 0x3001 && c <= 0x3003) || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0x3014 && c <= 0x301F) || (c >= 0xFF01 && c <= 0xFF03) ||
         (c >= 0xFF05 && c <= 0xFF0A) || (c >= 0xFF0C && c <= 0xFF0F) || c == 0xFF1A ||
         c == 0xFF1B || c == 0xFF1F || c == 0xFF20 || (c >= 0xFF3B && c <= 0xFF3D) || c == 0xFF3F ||
         c == 0xFF5B || c == 0xFF5D;
}

char32_t ToLower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x130) return 'i';
  if (c >= 0x100 && c <= 0x137) return (c % 2 == 0) ? c + 1 : c;
  if (c >= 0x139 && c <= 0x148) return (c % 2 == 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return (c % 2 == 0) ? c + 1 : c;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c % 2 == 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Greek
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

// Base letter of a precomposed Latin letter, or 0 if it has no canonical decomposition.
char32_t BaseLetter(char32_t c) {
  // U+00C0..U+00FF and U+0100..U+017F; '.' = none.
  static constexpr std::string_view kLatin1 =
      "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y";
  static constexpr std::string_view kExtA =
      "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl....NnNnNn...OoOoOo..RrRrRrSs"
      "SsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz.";
  char ch = '.';
  if (c >= 0xC0 && c <= 0xFF) ch = kLatin1[c - 0xC0];
  if (c >= 0x100 && c <= 0x17F) ch = kExtA[c - 0x100];
  return ch == '.' ? 0 : static_cast<char32_t>(ch);
}

bool IsCombiningMark(char32_t c) { return c >= 0x300 && c <= 0x36F; }

}  // namespace

Result<WordPieceTokenizer> WordPieceTokenizer::Create(const WordPieceOptions& options) {
  if (options.vocab_file.empty()) {
    return Status::Error("WordPiece tokenizer: no vocab file given (set the vocab.txt path)");
  }
  if (options.max_length < 2) {
    return Status::Error(
        "WordPiece tokenizer: max_length must be >= 2 (room for [CLS] and "
        "[SEP]), got " +
        std::to_string(options.max_length));
  }
  auto text = ReadFileBytes(options.vocab_file);
  if (!text.ok()) return text.status().WithContext("WordPiece vocab");
  WordPieceTokenizer t;
  t.options_ = options;
  std::istringstream in(*text);
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // The first occurrence wins when a vocab repeats a token.
    t.vocab_.emplace(line, id++);
  }
  if (t.vocab_.empty()) return Status::Error(options.vocab_file + ": vocab is empty");
  auto need = [&](const std::string& tok, int64_t* out) -> Status {
    *out = t.IdOf(tok);
    if (*out < 0) {
      return Status::Error(options.vocab_file + ": vocab has no special token '" + tok + "'");
    }
    return Status::Ok();
  };
  PTQ_RETURN_IF_ERROR(need(options.unk_token, &t.unk_));
  PTQ_RETURN_IF_ERROR(need(options.cls_token, &t.cls_));
  PTQ_RETURN_IF_ERROR(need(options.sep_token, &t.sep_));
  if (options.pad_to_max_length) PTQ_RETURN_IF_ERROR(need(options.pad_token, &t.pad_));
  return t;
}

int64_t WordPieceTokenizer::IdOf(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

Result<std::vector<std::string>> WordPieceTokenizer::BasicTokenize(std::string_view text) const {
  PTQ_ASSIGN_OR_RETURN(std::u32string cps, DecodeUtf8(text));
  // Steps 1-2.
  std::u32string cleaned;
  for (char32_t c : cps) {
    if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
    if (IsWhitespace(c)) {
      cleaned.push_back(' ');
    } else if (IsCjk(c)) {
      cleaned.push_back(' ');
      cleaned.push_back(c);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(c);
    }
  }
  // Steps 3-5.
  std::vector<std::string> out;
  std::u32string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(ToUtf8(cur));
    cur.clear();
  };
  for (char32_t c : cleaned) {
    if (c == ' ') {
      flush();
      continue;
    }
    if (options_.lower_case) {
      c = ToLower(c);
      if (IsCombiningMark(c)) continue;
      if (char32_t b = BaseLetter(c)) c = b;
    }
    if (IsPunctuation(c)) {
      flush();
      cur.push_back(c);
      flush();
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

Result<std::vector<std::string>> WordPieceTokenizer::Tokenize(std::string_view text) const {
  PTQ_ASSIGN_OR_RETURN(std::vector<std::string> words, BasicTokenize(text));
  std::vector<std::string> pieces;
  for (const std::string& w : words) {
    PTQ_ASSIGN_OR_RETURN(std::u32string cps, DecodeUtf8(w));
    if (static_cast<int>(cps.size()) > options_.max_chars_per_word) {
      pieces.push_back(options_.unk_token);
      continue;
    }
    std::vector<std::string> sub;
    bool bad = false;
    size_t start = 0;
    while (start < cps.size()) {
      size_t end = cps.size();
      std::string found;
      while (start < end) {
        std::string piece = (start > 0 ? "##" : "") + ToUtf8(cps.substr(start, end - start));
        if (vocab_.count(piece)) {
          found = std::move(piece);
          break;
        }
        --end;
      }
      if (found.empty()) {
        bad = true;
        break;
      }
      sub.push_back(std::move(found));
      start = end;
    }
    if (bad) {
      pieces.push_back(options_.unk_token);
    } else {
      for (auto& s : sub) pieces.push_back(std::move(s));
    }
  }
  return pieces;
}

Result<Encoding> WordPieceTokenizer::Encode(std::string_view a,
                                            std::optional<std::string_view> b) const {
  PTQ_ASSIGN_OR_RETURN(std::vector<std::string> ta, Tokenize(a));
  std::vector<std::string> tb;
  if (b) {
    PTQ_ASSIGN_OR_RETURN(tb, Tokenize(*b));
  }
  const size_t special = b ? 3 : 2;
  const size_t limit = static_cast<size_t>(options_.max_length);
  if (ta.size() + tb.size() + special > limit) {
    if (!options_.truncate) {
      return Status::Error("text has " + std::to_string(ta.size() + tb.size() + special) +
                           " tokens, more than max_length " + std::to_string(limit) +
                           " (truncation is off)");
    }
    while (ta.size() + tb.size() + special > limit) {
      if (tb.size() > ta.size()) {
        tb.pop_back();
      } else if (!ta.empty()) {
        ta.pop_back();
      } else {
        tb.pop_back();
      }
    }
  }
  Encoding e;
  auto push = [&](int64_t id, int64_t type) {
    e.input_ids.push_back(id);
    e.attention_mask.push_back(1);
    e.token_type_ids.push_back(type);
  };
  push(cls_, 0);
  for (const auto& t : ta) push(IdOf(t), 0);
  push(sep_, 0);
  if (b) {
    for (const auto& t : tb) push(IdOf(t), 1);
    push(sep_, 1);
  }
  if (options_.pad_to_max_length) {
    while (e.input_ids.size() < limit) {
      e.input_ids.push_back(pad_);
      e.attention_mask.push_back(0);
      e.token_type_ids.push_back(0);
    }
  }
  return e;
}

}  // namespace ptqflow::io
