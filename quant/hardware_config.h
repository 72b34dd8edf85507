// Hardware configs (pot-spec §3.2, §4.1): which ops are quantizable on a device, with which
// ordered lists of quantization configs, and POT's rules for choosing one of them (presets,
// explicit overrides, intersection across consumers).
//
// Two layers:
//  * HardwareConfigSpec: the file as written (named configs with list-or-scalar parameters,
//    operations referring to named configs or giving inline configs). Plain structs, header
//    only, so io/hardware_config_reader.cc can fill them from JSON without linking quant.
//  * HardwareConfig: POT's flattening of the spec — scalars become 1-element lists, each named
//    or inline config is the Cartesian product of its parameter lists (keys in file order, the
//    last key varying fastest), group items are concatenated in listed order.
//
// The project's own data files live in quant/hardware/{cpu,gpu,gna}.json (ANY/CPU/CPU_SPR ->
// cpu.json, GPU -> gpu.json, GNA -> gna.json).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "graph/status.h"
#include "quant/fake_quantize.h"

namespace ptqflow::quant {

// ---- The file as written ----

// A parameter value in a hardware config: an integer or a string.
using HwScalar = std::variant<int64_t, std::string>;

struct HwParam {
  std::string key;
  std::vector<HwScalar> values;  // a scalar in the file becomes a 1-element list
};

// One item of an operation's group list: a reference to a named config, or an inline config.
struct HwGroupItem {
  std::string ref;              // non-empty: name of a config in the algorithm section
  std::vector<HwParam> params;  // inline config (when ref is empty)
};

// Attribute values: "all" (Concat's unified_scales) or a list of port groups (LSTM's).
using HwAttribute = std::variant<std::string, std::vector<std::vector<int64_t>>>;

struct HwOperationSpec {
  std::string type;
  // Algorithm section name ("quantization") -> group ("activations", "weights", "outputs") ->
  // items; all in file order. Empty for quantize-agnostic ops.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<HwGroupItem>>>>>
      algorithms;
  std::vector<std::pair<std::string, HwAttribute>> attributes;
};

struct HwNamedConfig {
  std::string name;
  std::vector<HwParam> params;
};

struct HardwareConfigSpec {
  std::string source;  // file path, for error messages
  std::string target_device;
  std::optional<int64_t> primary_bitwidth;
  std::vector<std::string> input_priority_types;
  // Algorithm section name -> named configs, in file order.
  std::vector<std::pair<std::string, std::vector<HwNamedConfig>>> config;
  std::vector<HwOperationSpec> operations;
};

// ---- Flattened ----

// One concrete quantization config. `key_order` keeps the keys present, in file order.
struct QuantConfig {
  int bits = 8;
  QuantMode mode = QuantMode::kSymmetric;
  Granularity granularity = Granularity::kPerTensor;
  std::optional<int64_t> level_low;
  std::optional<int64_t> level_high;
  std::vector<std::string> key_order;

  // Equality ignores key_order (POT compares dicts).
  bool operator==(const QuantConfig& o) const {
    return bits == o.bits && mode == o.mode && granularity == o.granularity &&
           level_low == o.level_low && level_high == o.level_high;
  }
  // {"bits": 8, "mode": "symmetric", ...} in key_order (Python json.dumps style).
  std::string ToJson() const;
};

struct HwOperation {
  std::string type;
  bool has_quantization = false;  // false: quantize-agnostic
  // Group name ("activations", "weights", "outputs") -> ordered candidate configs.
  std::vector<std::pair<std::string, std::vector<QuantConfig>>> groups;
  std::vector<std::pair<std::string, HwAttribute>> attributes;

  const std::vector<QuantConfig>* Group(const std::string& name) const;
};

struct HardwareConfig {
  std::string target_device;
  int64_t primary_bitwidth = 8;
  std::vector<std::string> input_priority_types;
  std::vector<HwOperation> operations;

  const HwOperation* Find(const std::string& type) const;  // first entry of that type
  // POT's flattened list serialised as Python's json.dumps would (entries 0 and 1 are the
  // device and the bitwidth record), for comparison with reference files.
  std::string ToJson() const;
};

// Flattens a spec. `device` replaces the file's target_device when non-empty. Errors name the
// file and the op/config: unknown named config, unknown parameter key, bad mode/granularity
// string, non-integer bits/levels, bits < 2.
Result<HardwareConfig> FlattenHardwareConfig(const HardwareConfigSpec& spec,
                                             const std::string& device = "");

// ANY/CPU/CPU_SPR -> "cpu.json", GPU -> "gpu.json", GNA -> "gna.json"; error otherwise.
Result<std::string> HardwareConfigFileName(const std::string& device);
// Directory of the project's hardware config files (quant/hardware in the source tree, or
// $PTQFLOW_HARDWARE_DIR when set).
std::filesystem::path HardwareConfigDir();

// ---- Choosing configs (pot-spec §3.2) ----

enum class Preset { kPerformance, kMixed, kAccuracy };
// Resolves a user preset name for a device: "performance", "mixed", "accuracy",
// "symmetric" (-> performance), "asymmetric" (-> accuracy); then on CPU/GPU/ANY (and CPU_SPR)
// accuracy becomes mixed, on GNA mixed becomes accuracy. Errors on unknown names.
Result<Preset> ResolvePreset(const std::string& name, const std::string& device);
const char* PresetName(Preset p);

// POT's _apply_preset_rule: weights take the last config for accuracy, else the first;
// activations take the first for performance, else the last. CHECKs non-empty.
const QuantConfig& ApplyPresetRule(Preset preset, TensorRole role,
                                   const std::vector<QuantConfig>& configs);

// POT's intersect_configs: pairs matching on (mode, granularity), scanning `right` from a
// moving offset; per pair the config with primary_bitwidth bits wins if any (when
// primary_bitwidth > 0), else the smaller bits. If empty, both sides are extended with their
// weaker variants (perchannel -> pertensor, asymmetric -> symmetric) and intersected again.
std::vector<QuantConfig> IntersectConfigs(const std::vector<QuantConfig>& left,
                                          const std::vector<QuantConfig>& right,
                                          int64_t primary_bitwidth = 0);

// Explicit user keys for weights or activations (bits, mode, granularity, level_low,
// level_high); unset keys match anything.
struct QuantConfigOverride {
  std::optional<int> bits;
  std::optional<QuantMode> mode;
  std::optional<Granularity> granularity;
  std::optional<int64_t> level_low;
  std::optional<int64_t> level_high;
  bool empty() const { return !bits && !mode && !granularity && !level_low && !level_high; }
};

// Keeps the candidates that match every set override key (a subset match). When none match,
// POT warns and uses the user config itself: *mismatch is set and the result is each candidate
// with the override's keys applied (duplicates removed), so the preset still picks the unset
// keys; a candidate whose bit width changes loses its explicit level_low/level_high, so the
// levels follow the new bit width.
std::vector<QuantConfig> FilterByOverride(const std::vector<QuantConfig>& candidates,
                                          const QuantConfigOverride& override_keys, bool* mismatch);

// One consumer's candidate list for an FQ.
struct ConsumerConfigs {
  std::string consumer;  // node name, for messages
  std::vector<QuantConfig> configs;
};
// Intersects the lists of all consumers of one FQ, then applies the preset rule. Error naming
// `fq_name` and the consumers if the intersection is empty.
Result<QuantConfig> SelectConfig(const std::string& fq_name, TensorRole role, Preset preset,
                                 const std::vector<ConsumerConfigs>& consumers,
                                 int64_t primary_bitwidth = 0);

}  // namespace ptqflow::quant
