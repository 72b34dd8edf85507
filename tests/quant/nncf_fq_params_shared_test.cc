// NNCF's quantizer-parameter maths against its own reference results
// (../shared/conformance/pot/nncf_fq_params: cases.json, data/*.npy, fq_params.json).
// Tolerance as upstream: levels exact; limits allclose(rtol 1e-5, atol 1e-8) against the
// reference cast to float32; per-tensor results are scalars, per-channel have 2 values.
#include <cmath>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "io/json.h"
#include "quant/fake_quantize.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

// Minimal .npy (format 1.0, little-endian '<f8' or '<f4', C order) reader for the test data.
Result<std::vector<float>> ReadNpyAsF32(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path.string() + ": cannot open");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    return Status::Error(path.string() + ": not a .npy file");
  }
  uint8_t len_bytes[2];
  in.read(reinterpret_cast<char*>(len_bytes), 2);
  size_t header_len = len_bytes[0] | (len_bytes[1] << 8);
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) return Status::Error(path.string() + ": truncated header");
  bool f8 = header.find("'<f8'") != std::string::npos;
  bool f4 = header.find("'<f4'") != std::string::npos;
  if (!f8 && !f4) return Status::Error(path.string() + ": unsupported dtype in " + header);
  if (header.find("'fortran_order': False") == std::string::npos) {
    return Status::Error(path.string() + ": Fortran order not supported");
  }
  size_t open = header.find("'shape': (");
  size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) {
    return Status::Error(path.string() + ": no shape in header");
  }
  std::string dims = header.substr(open + 10, close - open - 10);
  size_t count = 1;
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_of("0123456789") != std::string::npos) count *= std::stoul(d);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    if (f8) {
      double d;
      in.read(reinterpret_cast<char*>(&d), 8);
      out[i] = static_cast<float>(d);  // NNCF casts statistics to float32 first
    } else {
      in.read(reinterpret_cast<char*>(&out[i]), 4);
    }
  }
  if (!in) return Status::Error(path.string() + ": truncated data");
  return out;
}

// Flattens a number or nested list of numbers.
void Flatten(const io::JsonValue& v, std::vector<double>* out) {
  if (v.is_number()) {
    out->push_back(v.number());
  } else {
    for (const auto& item : v.items()) Flatten(item, out);
  }
}

void ExpectAllClose(const std::vector<float>& got, const io::JsonValue& ref, bool per_channel,
                    const std::string& what) {
  std::vector<double> want;
  Flatten(ref, &want);
  EXPECT_EQ(ref.is_number(), !per_channel) << what << ": shape kind differs";
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    double w = static_cast<float>(want[i]);
    EXPECT_LE(std::fabs(got[i] - w), 1e-8 + 1e-5 * std::fabs(w))
        << what << "[" << i << "]: got " << got[i] << " want " << w;
  }
}

TEST(NncfFqParamsSharedTest, AllCasesMatchReference) {
  const auto dir = testing::SharedDir() / "conformance" / "pot" / "nncf_fq_params";
  auto cases = io::ReadJsonFile(dir / "cases.json");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  auto ref = io::ReadJsonFile(dir / "fq_params.json");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  int passed = 0, failed_as_expected = 0;
  for (const io::JsonValue& c : cases->items()) {
    const std::string key = c.Find("key")->str();
    SCOPED_TRACE(key);
    auto mins = ReadNpyAsF32(dir / c.Find("min_values")->str());
    auto maxs = ReadNpyAsF32(dir / c.Find("max_values")->str());
    ASSERT_TRUE(mins.ok()) << mins.status().message();
    ASSERT_TRUE(maxs.ok()) << maxs.status().message();
    NncfQuantizerConfig cfg;
    cfg.num_bits = static_cast<int>(c.Find("num_bits")->integer());
    auto mode = ParseQuantMode(c.Find("mode")->str());
    ASSERT_TRUE(mode.ok());
    cfg.mode = *mode;
    const io::JsonValue* sign = c.Find("signedness_to_force");
    if (sign != nullptr && sign->is_bool()) cfg.signedness_to_force = sign->bool_value();
    cfg.per_channel = c.Find("per_channel")->bool_value();
    QuantizerGroup group = c.Find("quantizer_group")->str() == "weights"
                               ? QuantizerGroup::kWeights
                               : QuantizerGroup::kActivations;
    auto params = NncfCalculateQuantizerParameters(*mins, *maxs, cfg, group,
                                                   c.Find("narrow_range")->bool_value(),
                                                   c.Find("half_range")->bool_value());
    if (c.Find("should_fail")->bool_value()) {
      EXPECT_FALSE(params.ok()) << "expected an error";
      ++failed_as_expected;
      continue;
    }
    ASSERT_TRUE(params.ok()) << params.status().message();
    const io::JsonValue* want = ref->Find(key);
    ASSERT_NE(want, nullptr) << "no reference for " << key;
    EXPECT_EQ(params->levels, want->Find("levels")->integer());
    EXPECT_EQ(params->levels, c.Find("levels")->integer());
    ExpectAllClose(params->input_low, *want->Find("input_low"), cfg.per_channel, "input_low");
    ExpectAllClose(params->input_high, *want->Find("input_high"), cfg.per_channel, "input_high");
    ExpectAllClose(params->output_low, *want->Find("output_low"), cfg.per_channel, "output_low");
    ExpectAllClose(params->output_high, *want->Find("output_high"), cfg.per_channel, "output_high");
    ++passed;
  }
  EXPECT_EQ(passed, 11);
  EXPECT_EQ(failed_as_expected, 2);
}

}  // namespace
}  // namespace ptqflow::quant
