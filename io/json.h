// A small JSON DOM and parser for configuration files (POT configs, hardware configs, test
// references). Accepts standard JSON (RFC 8259) plus what POT's `jstyleson` reader accepts:
// `//` line comments and `/* */` block comments outside strings, and a trailing comma before
// `]` or `}`. Objects keep their members in file order, because POT's hardware-config
// flattening depends on key order. A repeated key replaces the earlier value in place (as
// Python's json does, the first position is kept).
//
// Errors are values: "<source>:<line>:<column>: <what is wrong>" with 1-based line and column
// (column counts bytes). Nesting deeper than 256 levels is refused rather than recursing.
//
// Ownership: a JsonValue owns its children. Thread-safety: plain value; concurrent reads safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/status.h"

namespace ptqflow::io {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool b);
  static JsonValue Number(double d);
  static JsonValue Integer(int64_t i);
  static JsonValue String(std::string s);
  static JsonValue Array(std::vector<JsonValue> items = {});
  static JsonValue Object(std::vector<Member> members = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  // True for a number written without fraction or exponent that fits in int64.
  bool is_integer() const { return kind_ == Kind::kNumber && is_integer_; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // Accessors CHECK the kind (programmer error); test the kind first.
  bool bool_value() const;
  double number() const;
  int64_t integer() const;  // requires is_integer()
  const std::string& str() const;
  const std::vector<JsonValue>& items() const;
  std::vector<JsonValue>& mutable_items();
  const std::vector<Member>& members() const;
  // Adds or replaces a member (replacement keeps the original position).
  void Set(std::string key, JsonValue value);
  // Member by key, or nullptr (also nullptr when this is not an object).
  const JsonValue* Find(std::string_view key) const;

  // Position of the value's first character in the parsed text (0 if built in code).
  int line() const { return line_; }
  int column() const { return column_; }
  void set_position(int line, int column) {
    line_ = line;
    column_ = column;
  }

  // "null", "boolean", "number", "string", "array", "object".
  static const char* KindName(Kind k);

  // Structural equality: same kind; numbers compare by value; arrays in order; objects as
  // key sets regardless of order (Python dict equality).
  bool operator==(const JsonValue& o) const;
  bool operator!=(const JsonValue& o) const { return !(*this == o); }

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  bool is_integer_ = false;
  double number_ = 0;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
  int line_ = 0;
  int column_ = 0;
};

// Parses `text`; `source_name` (usually the file path) prefixes error messages.
Result<JsonValue> ParseJson(std::string_view text, const std::string& source_name = "<json>");
// Reads and parses a file; errors name the file.
Result<JsonValue> ReadJsonFile(const std::filesystem::path& path);

// Serialises like Python's json.dumps with default separators (", " and ": "), members in
// stored order, non-ASCII bytes and control characters escaped as \uXXXX. Integers print as
// integers; other numbers with the shortest representation that round-trips.
std::string ToJson(const JsonValue& v);

}  // namespace ptqflow::io
