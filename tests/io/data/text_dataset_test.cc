#include "io/data/text_dataset.h"

#include <gtest/gtest.h>

#include "io/data/wordpiece_tokenizer.h"
#include "tests/io/data/data_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteBytes;

// id = line number (0-based).
const char* kVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nun\n##aff\n##able\nhello\n,\n!\nworld\ncafe\n##s\n"
    "\xe4\xb8\xad\n";  // 14: U+4E2D

fs::path WriteVocab() {
  const fs::path p = TempDir() / "vocab.txt";
  WriteBytes(p, kVocab);
  return p;
}

TEST(WordPieceTest, HandTokenizedSentence) {
  WordPieceOptions o;
  o.vocab_file = WriteVocab().string();
  o.max_length = 14;
  auto tok = WordPieceTokenizer::Create(o);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  // "Hello, World!  unaffable CAF\u00c9S" -> hello , world ! un ##aff ##able cafe ##s
  const std::string text = "Hello, World!\t unaffable CAF\xc3\x89S";
  auto pieces = tok->Tokenize(text);
  ASSERT_TRUE(pieces.ok()) << pieces.status().message();
  EXPECT_EQ(*pieces, (std::vector<std::string>{"hello", ",", "world", "!", "un", "##aff", "##able",
                                               "cafe", "##s"}));
  auto e = tok->Encode(text);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->input_ids, (std::vector<int64_t>{2, 8, 9, 11, 10, 5, 6, 7, 12, 13, 3, 0, 0, 0}));
  EXPECT_EQ(e->attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(e->token_type_ids, std::vector<int64_t>(14, 0));
}

TEST(WordPieceTest, UnknownCjkAndTruncation) {
  WordPieceOptions o;
  o.vocab_file = WriteVocab().string();
  o.max_length = 6;
  auto tok = WordPieceTokenizer::Create(o);
  ASSERT_TRUE(tok.ok());
  // "xyz" has no pieces -> [UNK]; "unx" -> un + (x missing) -> whole word [UNK]; CJK split.
  auto p = tok->Tokenize("xyz unx the\xe4\xb8\xadthe");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::string>{"[UNK]", "[UNK]", "the", "\xe4\xb8\xad", "the"}));
  auto e = tok->Encode("hello world hello world the");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->input_ids, (std::vector<int64_t>{2, 8, 11, 8, 11, 3}));
  o.truncate = false;
  auto strict = WordPieceTokenizer::Create(o);
  ASSERT_TRUE(strict.ok());
  auto err = strict->Encode("hello world hello world the");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("max_length 6"), std::string::npos);
}

TEST(WordPieceTest, PairsAndCaseSensitivity) {
  WordPieceOptions o;
  o.vocab_file = WriteVocab().string();
  o.max_length = 8;
  auto tok = WordPieceTokenizer::Create(o);
  ASSERT_TRUE(tok.ok());
  auto e = tok->Encode("hello", std::string_view("world !"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->input_ids, (std::vector<int64_t>{2, 8, 3, 11, 10, 3, 0, 0}));
  EXPECT_EQ(e->token_type_ids, (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 0, 0}));
  EXPECT_EQ(e->attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0}));
  o.lower_case = false;
  o.pad_to_max_length = false;
  auto cased = WordPieceTokenizer::Create(o);
  ASSERT_TRUE(cased.ok());
  auto c = cased->Encode("Hello hello");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->input_ids, (std::vector<int64_t>{2, 1, 8, 3}));
}

TEST(WordPieceTest, MissingVocabIsAnError) {
  WordPieceOptions o;
  auto r = WordPieceTokenizer::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no vocab"), std::string::npos);
  o.vocab_file = "/nonexistent/vocab.txt";
  r = WordPieceTokenizer::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/vocab.txt"), std::string::npos);
  const fs::path p = TempDir() / "v.txt";
  WriteBytes(p, "[PAD]\n[UNK]\nthe\n");
  o.vocab_file = p.string();
  r = WordPieceTokenizer::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[CLS]"), std::string::npos);
}

TEST(TextDatasetTest, LinesWithLabels) {
  const fs::path dir = TempDir();
  WriteBytes(dir / "vocab.txt", kVocab);
  WriteBytes(dir / "data.tsv", "hello world\t1\n\nthe cafe\t0\nbad \xff utf8\t1\n");
  TextDatasetOptions o;
  o.source = (dir / "data.tsv").string();
  o.tokenizer.vocab_file = (dir / "vocab.txt").string();
  o.tokenizer.max_length = 5;
  o.class_label_column = true;
  auto d = TextDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 3u);
  auto s = (*d)->Get(1);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->inputs.at("input_ids").ToInt64s(), (std::vector<int64_t>{2, 4, 12, 3, 0}));
  EXPECT_EQ(s->inputs.at("input_ids").shape(), (graph::Shape{1, 5}));
  EXPECT_EQ(s->inputs.at("input_ids").type(), graph::ElementType::kI64);
  EXPECT_EQ(s->inputs.at("attention_mask").ToInt64s(), (std::vector<int64_t>{1, 1, 1, 1, 0}));
  EXPECT_EQ(s->inputs.at("token_type_ids").ToInt64s(), (std::vector<int64_t>(5, 0)));
  ASSERT_TRUE(s->annotation.has_value());
  EXPECT_EQ(s->annotation->class_label, 0);
  auto bad = (*d)->Get(2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sample 2"), std::string::npos);
  EXPECT_NE(bad.status().message().find("data.tsv:4"), std::string::npos) << bad.status().message();
  // No vocab: error names the dataset.
  o.tokenizer.vocab_file = "";
  auto nv = TextDataset::Create(o);
  ASSERT_FALSE(nv.ok());
  EXPECT_NE(nv.status().message().find("no vocab"), std::string::npos);
}

TEST(TextDatasetTest, OneSamplePerFile) {
  const fs::path dir = TempDir();
  fs::create_directories(dir / "docs");
  WriteBytes(dir / "vocab.txt", kVocab);
  WriteBytes(dir / "docs" / "b.txt", "world\n");
  WriteBytes(dir / "docs" / "a.txt", "hello\nworld\n");
  TextDatasetOptions o;
  o.unit = TextUnit::kFiles;
  o.source = (dir / "docs").string();
  o.tokenizer.vocab_file = (dir / "vocab.txt").string();
  o.tokenizer.pad_to_max_length = false;
  o.token_type_ids_name = "";
  auto d = TextDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 2u);
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->inputs.at("input_ids").ToInt64s(), (std::vector<int64_t>{2, 8, 11, 3}));
  EXPECT_EQ(s->inputs.count("token_type_ids"), 0u);
}

}  // namespace
}  // namespace ptqflow::io
