#include "io/data/npy.h"

#include <gtest/gtest.h>

#include "io/data/tensor_dataset.h"
#include "tests/io/data/data_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using graph::ElementType;
using testing::NpyBytes;
using testing::RawBytes;
using testing::TempDir;
using testing::WriteBytes;

TEST(NpyTest, ParsesFloatAndIntegerArrays) {
  const std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
  auto t = ParseNpy(NpyBytes("<f4", "(2, 3)", RawBytes(f)), "f.npy");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->type(), ElementType::kF32);
  EXPECT_EQ(t->shape(), (graph::Shape{2, 3}));
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(t->data<float>()[i], f[i]);

  const std::vector<int64_t> l = {-5, 1LL << 40, 3};
  auto ti = ParseNpy(NpyBytes("<i8", "(3,)", RawBytes(l)), "l.npy");
  ASSERT_TRUE(ti.ok()) << ti.status().message();
  EXPECT_EQ(ti->shape(), (graph::Shape{3}));
  EXPECT_EQ(ti->ToInt64s(), l);

  auto tb = ParseNpy(NpyBytes("|b1", "(2, 1)", std::string("\x01\x00", 2)), "b.npy");
  ASSERT_TRUE(tb.ok()) << tb.status().message();
  EXPECT_EQ(tb->type(), ElementType::kBoolean);

  // f16 1.0 = 0x3C00, -2.0 = 0xC000.
  auto th = ParseNpy(NpyBytes("<f2", "(2,)", std::string("\x00\x3c\x00\xc0", 4)), "h.npy");
  ASSERT_TRUE(th.ok()) << th.status().message();
  EXPECT_EQ(th->ToF32().data<float>()[0], 1.0f);
  EXPECT_EQ(th->ToF32().data<float>()[1], -2.0f);

  // Scalar, and a version-2 header.
  auto ts = ParseNpy(NpyBytes("<f8", "()", RawBytes(std::vector<double>{2.5}), false, 2), "s");
  ASSERT_TRUE(ts.ok()) << ts.status().message();
  EXPECT_TRUE(ts->shape().empty());
  EXPECT_EQ(ts->data<double>()[0], 2.5);
}

TEST(NpyTest, RejectsBadFiles) {
  const std::string d = RawBytes(std::vector<float>{1, 2, 3, 4});
  auto fortran = ParseNpy(NpyBytes("<f4", "(2, 2)", d, true), "x.npy");
  ASSERT_FALSE(fortran.ok());
  EXPECT_NE(fortran.status().message().find("Fortran"), std::string::npos);
  EXPECT_NE(fortran.status().message().find("x.npy"), std::string::npos);
  auto be = ParseNpy(NpyBytes(">f4", "(4,)", d), "x.npy");
  ASSERT_FALSE(be.ok());
  EXPECT_NE(be.status().message().find("big-endian"), std::string::npos);
  auto trunc = ParseNpy(NpyBytes("<f4", "(5,)", d), "x.npy");
  ASSERT_FALSE(trunc.ok());
  EXPECT_NE(trunc.status().message().find("truncated"), std::string::npos);
  EXPECT_FALSE(ParseNpy("hello", "x.npy").ok());
  EXPECT_FALSE(ParseNpy(NpyBytes("<U4", "(1,)", d), "x.npy").ok());
}

TEST(NpyTest, WriteNpyLayoutAndRoundTrip) {
  const fs::path dir = TempDir();
  const std::vector<int32_t> v = {1, -2, 3, 4, 5, 6};
  auto t = graph::Tensor::FromVector<int32_t>(ElementType::kI32, {3, 2}, v);
  ASSERT_TRUE(WriteNpy(dir / "a.npy", t).ok());
  const std::string bytes = testing::ReadAll(dir / "a.npy");
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const std::string header = bytes.substr(10, hlen);
  EXPECT_NE(header.find("'descr': '<i4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (3, 2)"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(bytes.substr(10 + hlen), RawBytes(v));
  auto back = ReadNpy(dir / "a.npy");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->BytesEqual(t));
  // 1-D shapes are written as "(n,)".
  ASSERT_TRUE(WriteNpy(dir / "b.npy",
                       graph::Tensor::FromVector<float>(ElementType::kF32, {2}, {1.0f, 2.0f}))
                  .ok());
  EXPECT_NE(testing::ReadAll(dir / "b.npy").find("'shape': (2,)"), std::string::npos);
  EXPECT_FALSE(WriteNpy(dir / "c.npy", graph::Tensor::Allocate(ElementType::kBF16, {1})).ok());
}

// .npz archives made by the system `zip` tool from .npy files written byte by byte.
TEST(NpzTest, StoredAndDeflated) {
  const fs::path dir = TempDir();
  std::vector<float> big(5000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 17);
  WriteBytes(dir / "x.npy", NpyBytes("<f4", "(1, 5000)", RawBytes(big)));
  WriteBytes(dir / "mask.npy", NpyBytes("<i8", "(1, 2)", RawBytes(std::vector<int64_t>{1, 0})));
  for (const char* level : {"-0", "-9"}) {
    const fs::path npz = dir / (std::string("a") + level + ".npz");
    std::string out;
    ASSERT_EQ(testing::RunCommand("cd " + dir.string() + " && zip -q " + level + " " +
                                      npz.string() + " x.npy mask.npy",
                                  &out),
              0)
        << "the system zip tool is needed for this test: " << out;
    auto arrays = ReadNpz(npz);
    ASSERT_TRUE(arrays.ok()) << arrays.status().message();
    ASSERT_EQ(arrays->size(), 2u);
    EXPECT_EQ((*arrays)[0].first, "x");
    EXPECT_EQ((*arrays)[1].first, "mask");
    const graph::Tensor& x = (*arrays)[0].second;
    ASSERT_EQ(x.shape(), (graph::Shape{1, 5000}));
    for (size_t i = 0; i < big.size(); ++i) ASSERT_EQ(x.data<float>()[i], big[i]);
    EXPECT_EQ((*arrays)[1].second.ToInt64s(), (std::vector<int64_t>{1, 0}));
  }
  // Corruption in the deflated data is detected.
  std::string z = testing::ReadAll(dir / "a-9.npz");
  // First entry's data starts after the 30-byte local header, its name and its extra field.
  const size_t name_len = uint8_t(z[26]) | uint8_t(z[27]) << 8;
  const size_t extra_len = uint8_t(z[28]) | uint8_t(z[29]) << 8;
  z[30 + name_len + extra_len + 10] ^= 0x55;
  WriteBytes(dir / "bad.npz", z);
  EXPECT_FALSE(ReadNpz(dir / "bad.npz").ok());
  WriteBytes(dir / "text.npz", "not a zip");
  auto r = ReadNpz(dir / "text.npz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("text.npz"), std::string::npos);
}

TEST(TensorDatasetTest, NpyNpzAndRaw) {
  const fs::path dir = TempDir();
  fs::create_directories(dir / "npz");
  WriteBytes(dir / "ids.npy", NpyBytes("<i8", "(1, 2)", RawBytes(std::vector<int64_t>{7, 8})));
  WriteBytes(dir / "mask.npy", NpyBytes("<i8", "(1, 2)", RawBytes(std::vector<int64_t>{1, 1})));
  std::string out;
  ASSERT_EQ(testing::RunCommand("cd " + dir.string() + " && zip -q -0 npz/s0.npz ids.npy mask.npy" +
                                    " && zip -q -0 npz/s1.npz ids.npy",
                                &out),
            0)
      << out;
  TensorDatasetOptions o;
  o.source = (dir / "npz").string();
  o.input_names = {"ids", "mask"};
  auto d = TensorDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 2u);
  auto s0 = (*d)->Get(0);
  ASSERT_TRUE(s0.ok()) << s0.status().message();
  EXPECT_EQ(s0->inputs.at("ids").ToInt64s(), (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(s0->inputs.at("mask").ToInt64s(), (std::vector<int64_t>{1, 1}));
  auto s1 = (*d)->Get(1);
  ASSERT_FALSE(s1.ok());
  const std::string m = s1.status().message();
  EXPECT_NE(m.find("sample 1"), std::string::npos) << m;
  EXPECT_NE(m.find("s1.npz"), std::string::npos) << m;
  EXPECT_NE(m.find("'mask'"), std::string::npos) << m;

  // Raw binary with a given type and shape.
  fs::create_directories(dir / "raw");
  WriteBytes(dir / "raw" / "a.bin", RawBytes(std::vector<int16_t>{1, -2, 3, -4, 5, -6}));
  WriteBytes(dir / "raw" / "b.bin", RawBytes(std::vector<int16_t>{1, 2}));
  TensorDatasetOptions r;
  r.source = (dir / "raw").string();
  EXPECT_FALSE(TensorDataset::Create(r).ok());  // no raw type given
  r.raw_type = ElementType::kI16;
  r.raw_shape = {2, 3};
  auto rd = TensorDataset::Create(r);
  ASSERT_TRUE(rd.ok()) << rd.status().message();
  auto a = (*rd)->Get(0);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->inputs.at("").shape(), (graph::Shape{2, 3}));
  EXPECT_EQ(a->inputs.at("").ToInt64s(), (std::vector<int64_t>{1, -2, 3, -4, 5, -6}));
  auto b = (*rd)->Get(1);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("b.bin"), std::string::npos);
  EXPECT_NE(b.status().message().find("4 bytes, expected 12"), std::string::npos)
      << b.status().message();
}

}  // namespace
}  // namespace ptqflow::io
