#include "io/json.h"

#include <gtest/gtest.h>

namespace ptqflow::io {
namespace {

TEST(JsonTest, ParsesNestedValuesInOrder) {
  auto r = ParseJson(R"({"b": [1, -2.5, 3e2, true, false, null], "a": {"x": "y"}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const JsonValue& v = *r;
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.members().size(), 2u);
  EXPECT_EQ(v.members()[0].first, "b");  // file order kept
  EXPECT_EQ(v.members()[1].first, "a");
  const auto& b = v.Find("b")->items();
  ASSERT_EQ(b.size(), 6u);
  EXPECT_TRUE(b[0].is_integer());
  EXPECT_EQ(b[0].integer(), 1);
  EXPECT_FALSE(b[1].is_integer());
  EXPECT_DOUBLE_EQ(b[1].number(), -2.5);
  EXPECT_FALSE(b[2].is_integer());
  EXPECT_DOUBLE_EQ(b[2].number(), 300.0);
  EXPECT_TRUE(b[3].bool_value());
  EXPECT_FALSE(b[4].bool_value());
  EXPECT_TRUE(b[5].is_null());
  EXPECT_EQ(v.Find("a")->Find("x")->str(), "y");
  EXPECT_EQ(v.Find("missing"), nullptr);
}

TEST(JsonTest, DecodesEscapesAndUnicode) {
  auto r = ParseJson(R"(["a\"b\\c\/d\n\t", "\u00e9", "\ud83d\ude00", "\u20ac"])");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& items = r->items();
  EXPECT_EQ(items[0].str(), "a\"b\\c/d\n\t");
  EXPECT_EQ(items[1].str(), "\xC3\xA9");          // U+00E9 in UTF-8
  EXPECT_EQ(items[2].str(), "\xF0\x9F\x98\x80");  // U+1F600 from a surrogate pair
  EXPECT_EQ(items[3].str(), "\xE2\x82\xAC");      // U+20AC
}

TEST(JsonTest, SkipsCommentsAndTrailingCommas) {
  auto r = ParseJson(
      "// header\n{ /* block\n comment */ \"k\": [1, 2,], // tail\n \"s\": \"// not a "
      "comment\",}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Find("k")->items().size(), 2u);
  EXPECT_EQ(r->Find("s")->str(), "// not a comment");
}

TEST(JsonTest, ErrorsCarryLineAndColumn) {
  auto r = ParseJson("{\n  \"a\": 1,\n  \"b\" 2\n}", "cfg.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cfg.json:3:7"), std::string::npos) << r.status().message();
  auto u = ParseJson("[1, /* never closed", "x.json");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("x.json:1:5"), std::string::npos) << u.status().message();
  auto s = ParseJson("\"abc", "s.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("s.json:1:1: unterminated string"), std::string::npos)
      << s.status().message();
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"", "[1 2]", "{\"a\":}", "01", "1.", "[\"\\x\"]", "tru", "[1]x",
                          "\"\\ud800\"", "{1: 2}", "\"a\nb\""}) {
    EXPECT_FALSE(ParseJson(bad).ok()) << "accepted: " << bad;
  }
}

TEST(JsonTest, RefusesDeepNesting) {
  std::string deep(1000, '[');
  auto r = ParseJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting"), std::string::npos);
}

TEST(JsonTest, SerialisesLikePythonJsonDumps) {
  auto r = ParseJson(R"({"a": [1, 2.5, "x\u00e9"], "b": {}, "c": null, "d": 1.0})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToJson(*r), R"({"a": [1, 2.5, "x\u00e9"], "b": {}, "c": null, "d": 1.0})");
}

TEST(JsonTest, ObjectEqualityIgnoresKeyOrder) {
  auto a = ParseJson(R"({"x": 1, "y": [1, 2]})");
  auto b = ParseJson(R"({"y": [1, 2], "x": 1})");
  auto c = ParseJson(R"({"y": [2, 1], "x": 1})");
  EXPECT_TRUE(*a == *b);
  EXPECT_FALSE(*a == *c);
}

TEST(JsonTest, ReadFileNamesMissingFile) {
  auto r = ReadJsonFile("/nonexistent/dir/file.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/dir/file.json"), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::io
