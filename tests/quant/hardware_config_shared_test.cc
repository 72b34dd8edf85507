// Hardware-config flattening and preset selection against POT's references in
// ../shared/conformance/pot/hardware_configs (see its README: exact equality, list order
// significant, dict key order not).
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "io/hardware_config_reader.h"
#include "io/json.h"
#include "quant/hardware_config.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

std::filesystem::path HwDir() {
  return testing::SharedDir() / "conformance" / "pot" / "hardware_configs";
}

io::JsonValue LoadJson(const std::filesystem::path& p) {
  auto r = io::ReadJsonFile(p);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : io::JsonValue();
}

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HardwareConfig Flatten(const std::filesystem::path& file, const std::string& device = "") {
  auto spec = io::ReadHardwareConfigFile(file);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  if (!spec.ok()) return {};
  auto hw = FlattenHardwareConfig(*spec, device);
  EXPECT_TRUE(hw.ok()) << hw.status().message();
  return hw.ok() ? *hw : HardwareConfig{};
}

io::JsonValue AsJson(const HardwareConfig& hw) {
  auto r = io::ParseJson(hw.ToJson(), "flattened");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : io::JsonValue();
}

void ExpectSameList(const io::JsonValue& got, const io::JsonValue& want, size_t from) {
  ASSERT_TRUE(got.is_array());
  ASSERT_TRUE(want.is_array());
  ASSERT_EQ(got.items().size(), want.items().size());
  for (size_t i = from; i < want.items().size(); ++i) {
    EXPECT_TRUE(got.items()[i] == want.items()[i])
        << "entry " << i << "\n got:  " << io::ToJson(got.items()[i])
        << "\n want: " << io::ToJson(want.items()[i]);
  }
}

TEST(HardwareConfigSharedTest, OwnCpuJsonFlattensToPotReference) {
  HardwareConfig hw = Flatten(HardwareConfigDir() / "cpu.json");
  io::JsonValue want = LoadJson(HwDir() / "reference" / "cpu_flatten.json");
  ASSERT_EQ(want.items().size(), 50u);
  ExpectSameList(AsJson(hw), want, 0);
  // Serialised as Python's json.dump: byte-identical (our file keeps POT's key order).
  EXPECT_EQ(hw.ToJson(), ReadText(HwDir() / "reference" / "cpu_flatten.json"));
}

TEST(HardwareConfigSharedTest, TemplateWithCommentsFlattensToPotReference) {
  HardwareConfig hw = Flatten(HwDir() / "template.json");
  io::JsonValue want = LoadJson(HwDir() / "reference" / "template_flatten.json");
  ExpectSameList(AsJson(hw), want, 0);
  EXPECT_EQ(hw.ToJson(), ReadText(HwDir() / "reference" / "template_flatten.json"));
}

TEST(HardwareConfigSharedTest, OwnGpuAndGnaMatchPackDerivedFlattening) {
  // The pack's gpu_flatten.json keeps upstream gpu.json's "CPU" device; ours says "GPU", so
  // entry 0 is checked separately.
  HardwareConfig gpu = Flatten(HardwareConfigDir() / "gpu.json");
  EXPECT_EQ(gpu.target_device, "GPU");
  io::JsonValue want_gpu = LoadJson(HwDir() / "derived_by_pack_author" / "gpu_flatten.json");
  ASSERT_EQ(want_gpu.items().size(), 48u);
  ExpectSameList(AsJson(gpu), want_gpu, 1);
  HardwareConfig gna = Flatten(HardwareConfigDir() / "gna.json");
  io::JsonValue want_gna = LoadJson(HwDir() / "derived_by_pack_author" / "gna_flatten.json");
  ASSERT_EQ(want_gna.items().size(), 41u);
  ExpectSameList(AsJson(gna), want_gna, 0);
  EXPECT_EQ(gna.primary_bitwidth, 16);
}

Result<QuantConfig> ConfigFromJson(const io::JsonValue& v) {
  if (!v.is_object()) return Status::Error("config is not an object");
  QuantConfig c;
  for (const auto& [k, val] : v.members()) {
    c.key_order.push_back(k);
    if (k == "bits") {
      c.bits = static_cast<int>(val.integer());
    } else if (k == "mode") {
      PTQ_ASSIGN_OR_RETURN(c.mode, ParseQuantMode(val.str()));
    } else if (k == "granularity") {
      PTQ_ASSIGN_OR_RETURN(c.granularity, ParseGranularity(val.str()));
    } else if (k == "level_low") {
      c.level_low = val.integer();
    } else if (k == "level_high") {
      c.level_high = val.integer();
    } else {
      return Status::Error("unexpected key " + k);
    }
  }
  return c;
}

TEST(HardwareConfigSharedTest, PresetSelectionMatchesPotReference) {
  io::JsonValue input = LoadJson(HwDir() / "preset_selection" / "correct_configuration.json");
  io::JsonValue ref = LoadJson(HwDir() / "preset_selection" / "ref_configuration.json");
  ASSERT_TRUE(input.is_object());
  int checked = 0;
  for (const auto& [preset_name, expected_by_fq] : ref.members()) {
    // Passed directly to the rule (no CPU renaming), as the upstream test does.
    Preset preset = preset_name == "performance" ? Preset::kPerformance
                    : preset_name == "mixed"     ? Preset::kMixed
                                                 : Preset::kAccuracy;
    for (const auto& [fq, groups] : input.members()) {
      for (const auto& [group, consumers_json] : groups.members()) {
        std::vector<ConsumerConfigs> consumers;
        for (const io::JsonValue& entry : consumers_json.items()) {
          ConsumerConfigs cc;
          cc.consumer = entry.items()[0].str();
          for (const io::JsonValue& cj : entry.items()[1].items()) {
            auto c = ConfigFromJson(cj);
            ASSERT_TRUE(c.ok()) << c.status().message();
            cc.configs.push_back(*c);
          }
          consumers.push_back(std::move(cc));
        }
        TensorRole role = group == "weights" ? TensorRole::kWeights : TensorRole::kActivations;
        auto chosen = SelectConfig(fq, role, preset, consumers, 8);
        ASSERT_TRUE(chosen.ok()) << chosen.status().message();
        const io::JsonValue* want = expected_by_fq.Find(fq)->Find(group);
        ASSERT_NE(want, nullptr);
        auto got = io::ParseJson(chosen->ToJson());
        ASSERT_TRUE(got.ok());
        EXPECT_TRUE(*got == *want) << preset_name << " " << fq << ": got " << chosen->ToJson()
                                   << " want " << io::ToJson(*want);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 9);
}

}  // namespace
}  // namespace ptqflow::quant
