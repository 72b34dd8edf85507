#include "io/json.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <glog/logging.h>

namespace ptqflow::io {

JsonValue JsonValue::Bool(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}
JsonValue JsonValue::Number(double d) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.number_ = d;
  return v;
}
JsonValue JsonValue::Integer(int64_t i) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.is_integer_ = true;
  v.integer_ = i;
  v.number_ = static_cast<double>(i);
  return v;
}
JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.str_ = std::move(s);
  return v;
}
JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}
JsonValue JsonValue::Object(std::vector<Member> members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  for (auto& m : members) v.Set(std::move(m.first), std::move(m.second));
  return v;
}

bool JsonValue::bool_value() const {
  CHECK(is_bool());
  return bool_;
}
double JsonValue::number() const {
  CHECK(is_number());
  return number_;
}
int64_t JsonValue::integer() const {
  CHECK(is_integer());
  return integer_;
}
const std::string& JsonValue::str() const {
  CHECK(is_string());
  return str_;
}
const std::vector<JsonValue>& JsonValue::items() const {
  CHECK(is_array());
  return items_;
}
std::vector<JsonValue>& JsonValue::mutable_items() {
  CHECK(is_array());
  return items_;
}
const std::vector<JsonValue::Member>& JsonValue::members() const {
  CHECK(is_object());
  return members_;
}
void JsonValue::Set(std::string key, JsonValue value) {
  CHECK(is_object());
  for (auto& m : members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return;
    }
  }
  members_.emplace_back(std::move(key), std::move(value));
}
const JsonValue* JsonValue::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

const char* JsonValue::KindName(Kind k) {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "boolean";
    case Kind::kNumber:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return "array";
    case Kind::kObject:
      return "object";
  }
  return "?";
}

bool JsonValue::operator==(const JsonValue& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return bool_ == o.bool_;
    case Kind::kNumber:
      if (is_integer_ && o.is_integer_) return integer_ == o.integer_;
      return number_ == o.number_;
    case Kind::kString:
      return str_ == o.str_;
    case Kind::kArray:
      return items_ == o.items_;
    case Kind::kObject: {
      if (members_.size() != o.members_.size()) return false;
      for (const auto& m : members_) {
        const JsonValue* other = o.Find(m.first);
        if (other == nullptr || !(m.second == *other)) return false;
      }
      return true;
    }
  }
  return false;
}

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Result<JsonValue> ParseDocument() {
    PTQ_RETURN_IF_ERROR(SkipSpace());
    if (AtEnd()) return Error("empty document: expected a JSON value");
    JsonValue v;
    PTQ_RETURN_IF_ERROR(ParseValue(&v, 0));
    PTQ_RETURN_IF_ERROR(SkipSpace());
    if (!AtEnd()) return Error("unexpected text after the JSON value");
    return v;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  Status ErrorAt(int line, int col, const std::string& what) const {
    return Status::Error(source_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " +
                         what);
  }
  Status Error(const std::string& what) const { return ErrorAt(line_, col_, what); }

  // Skips whitespace and comments.
  Status SkipSpace() {
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (!AtEnd() && Peek() != '\n') Advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        int line = line_, col = col_;
        Advance();
        Advance();
        bool closed = false;
        while (!AtEnd()) {
          if (Peek() == '*' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
            Advance();
            Advance();
            closed = true;
            break;
          }
          Advance();
        }
        if (!closed) return ErrorAt(line, col, "unterminated /* comment");
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status ParseValue(JsonValue* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting deeper than 256 levels");
    if (AtEnd()) return Error("unexpected end of input: expected a value");
    int line = line_, col = col_;
    char c = Peek();
    Status st;
    if (c == '{') {
      st = ParseObject(out, depth);
    } else if (c == '[') {
      st = ParseArray(out, depth);
    } else if (c == '"') {
      std::string s;
      st = ParseString(&s);
      if (st.ok()) *out = JsonValue::String(std::move(s));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      st = ParseNumber(out);
    } else if (Literal("true")) {
      *out = JsonValue::Bool(true);
    } else if (Literal("false")) {
      *out = JsonValue::Bool(false);
    } else if (Literal("null")) {
      *out = JsonValue::Null();
    } else {
      return Error(std::string("unexpected character '") + c + "': expected a value");
    }
    if (st.ok()) out->set_position(line, col);
    return st;
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    size_t end = pos_ + word.size();
    if (end < text_.size()) {
      char n = text_[end];
      if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9') || n == '_')
        return false;
    }
    for (size_t i = 0; i < word.size(); ++i) Advance();
    return true;
  }

  Status ParseObject(JsonValue* out, int depth) {
    Advance();  // '{'
    *out = JsonValue::Object();
    PTQ_RETURN_IF_ERROR(SkipSpace());
    if (!AtEnd() && Peek() == '}') {
      Advance();
      return Status::Ok();
    }
    while (true) {
      PTQ_RETURN_IF_ERROR(SkipSpace());
      if (AtEnd()) return Error("unexpected end of input inside an object");
      if (Peek() == '}') {  // trailing comma (jstyleson accepts it)
        Advance();
        return Status::Ok();
      }
      if (Peek() != '"') return Error("expected a string key in object");
      std::string key;
      PTQ_RETURN_IF_ERROR(ParseString(&key));
      PTQ_RETURN_IF_ERROR(SkipSpace());
      if (AtEnd() || Peek() != ':') return Error("expected ':' after object key \"" + key + "\"");
      Advance();
      PTQ_RETURN_IF_ERROR(SkipSpace());
      JsonValue value;
      PTQ_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
      out->Set(std::move(key), std::move(value));
      PTQ_RETURN_IF_ERROR(SkipSpace());
      if (AtEnd()) return Error("unexpected end of input inside an object: expected ',' or '}'");
      if (Peek() == ',') {
        Advance();
        continue;
      }
      if (Peek() == '}') {
        Advance();
        return Status::Ok();
      }
      return Error(std::string("unexpected character '") + Peek() +
                   "' in object: expected ',' or '}'");
    }
  }

  Status ParseArray(JsonValue* out, int depth) {
    Advance();  // '['
    *out = JsonValue::Array();
    PTQ_RETURN_IF_ERROR(SkipSpace());
    if (!AtEnd() && Peek() == ']') {
      Advance();
      return Status::Ok();
    }
    while (true) {
      PTQ_RETURN_IF_ERROR(SkipSpace());
      if (AtEnd()) return Error("unexpected end of input inside an array");
      if (Peek() == ']') {  // trailing comma
        Advance();
        return Status::Ok();
      }
      JsonValue item;
      PTQ_RETURN_IF_ERROR(ParseValue(&item, depth + 1));
      out->mutable_items().push_back(std::move(item));
      PTQ_RETURN_IF_ERROR(SkipSpace());
      if (AtEnd()) return Error("unexpected end of input inside an array: expected ',' or ']'");
      if (Peek() == ',') {
        Advance();
        continue;
      }
      if (Peek() == ']') {
        Advance();
        return Status::Ok();
      }
      return Error(std::string("unexpected character '") + Peek() +
                   "' in array: expected ',' or ']'");
    }
  }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status ParseHex4(uint32_t* out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (AtEnd()) return Error("unexpected end of input in \\u escape");
      char c = Peek();
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return Error("invalid hex digit in \\u escape");
      }
      v = v * 16 + d;
      Advance();
    }
    *out = v;
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    int line = line_, col = col_;
    Advance();  // opening quote
    out->clear();
    while (true) {
      if (AtEnd()) return ErrorAt(line, col, "unterminated string");
      char c = Peek();
      if (c == '"') {
        Advance();
        return Status::Ok();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string (escape it)");
      }
      if (c != '\\') {
        out->push_back(c);
        Advance();
        continue;
      }
      Advance();
      if (AtEnd()) return ErrorAt(line, col, "unterminated string");
      char e = Peek();
      int esc_line = line_, esc_col = col_ - 1;
      Advance();
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          PTQ_RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") {
              return ErrorAt(esc_line, esc_col, "high surrogate \\u escape without a low one");
            }
            Advance();
            Advance();
            uint32_t lo = 0;
            PTQ_RETURN_IF_ERROR(ParseHex4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return ErrorAt(esc_line, esc_col, "invalid low surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return ErrorAt(esc_line, esc_col, "lone low surrogate in \\u escape");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return ErrorAt(esc_line, esc_col, std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  Status ParseNumber(JsonValue* out) {
    size_t start = pos_;
    int line = line_, col = col_;
    bool integral = true;
    if (Peek() == '-') Advance();
    if (AtEnd() || !(Peek() >= '0' && Peek() <= '9')) return Error("invalid number");
    if (Peek() == '0') {
      Advance();
      if (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
        return ErrorAt(line, col, "invalid number: leading zero");
      }
    } else {
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') Advance();
    }
    if (!AtEnd() && Peek() == '.') {
      integral = false;
      Advance();
      if (AtEnd() || !(Peek() >= '0' && Peek() <= '9')) {
        return Error("invalid number: expected a digit after '.'");
      }
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') Advance();
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      integral = false;
      Advance();
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) Advance();
      if (AtEnd() || !(Peek() >= '0' && Peek() <= '9')) {
        return Error("invalid number: expected a digit in the exponent");
      }
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') Advance();
    }
    std::string_view tok = text_.substr(start, pos_ - start);
    if (integral) {
      int64_t i = 0;
      auto r = std::from_chars(tok.data(), tok.data() + tok.size(), i);
      if (r.ec == std::errc() && r.ptr == tok.data() + tok.size()) {
        *out = JsonValue::Integer(i);
        return Status::Ok();
      }
    }
    double d = 0;
    auto r = std::from_chars(tok.data(), tok.data() + tok.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
      return ErrorAt(line, col, "number out of range: " + std::string(tok));
    }
    if (r.ec != std::errc() || r.ptr != tok.data() + tok.size()) {
      return ErrorAt(line, col, "invalid number: " + std::string(tok));
    }
    *out = JsonValue::Number(d);
    return Status::Ok();
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

void AppendEscaped(const std::string& s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  auto u_escape = [&](uint32_t v) {
    out->append("\\u");
    for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(v >> shift) & 0xF]);
  };
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out->append("\\\"");
    } else if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\b') {
      out->append("\\b");
    } else if (c == '\f') {
      out->append("\\f");
    } else if (c < 0x20) {
      u_escape(c);
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else {
      // Decode one UTF-8 sequence; invalid bytes are escaped one by one.
      int len = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC0) ? 2 : 0;
      uint32_t cp = 0;
      bool valid = len > 0 && i + len <= s.size();
      if (valid) {
        cp = c & (0xFF >> (len + 1));
        for (int k = 1; k < len; ++k) {
          unsigned char cc = static_cast<unsigned char>(s[i + k]);
          if ((cc & 0xC0) != 0x80) valid = false;
          cp = (cp << 6) | (cc & 0x3F);
        }
      }
      if (!valid) {
        u_escape(c);
        ++i;
        continue;
      }
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        u_escape(0xD800 + (v >> 10));
        u_escape(0xDC00 + (v & 0x3FF));
      } else {
        u_escape(cp);
      }
      i += len;
      continue;
    }
    ++i;
  }
  out->push_back('"');
}

void AppendNumber(const JsonValue& v, std::string* out) {
  if (v.is_integer()) {
    out->append(std::to_string(v.integer()));
    return;
  }
  double d = v.number();
  if (std::isnan(d)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  out->append(s);
}

void AppendJson(const JsonValue& v, std::string* out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out->append("null");
      return;
    case JsonValue::Kind::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case JsonValue::Kind::kNumber:
      AppendNumber(v, out);
      return;
    case JsonValue::Kind::kString:
      AppendEscaped(v.str(), out);
      return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out->append(", ");
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.members()) {
        if (!first) out->append(", ");
        first = false;
        AppendEscaped(key, out);
        out->append(": ");
        AppendJson(value, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

Result<JsonValue> ParseJson(std::string_view text, const std::string& source_name) {
  Parser p(text, source_name);
  return p.ParseDocument();
}

Result<JsonValue> ReadJsonFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path.string() + ": cannot open JSON file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Error(path.string() + ": read error");
  return ParseJson(ss.str(), path.string());
}

std::string ToJson(const JsonValue& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

}  // namespace ptqflow::io
