#include "quant/hardware_config.h"

#include <algorithm>
#include <cstdlib>

#include <glog/logging.h>

namespace ptqflow::quant {

namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string ScalarToString(const HwScalar& v) {
  if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
  return Quote(std::get<std::string>(v));
}

Status SetKey(const HwParam& param, const HwScalar& value, QuantConfig* c) {
  const std::string& key = param.key;
  const bool is_int = std::holds_alternative<int64_t>(value);
  if (key == "bits" || key == "level_low" || key == "level_high") {
    if (!is_int)
      return Status::Error("\"" + key + "\" must be an integer, got " + ScalarToString(value));
    int64_t v = std::get<int64_t>(value);
    if (key == "bits") {
      if (v < 2 || v > 32)
        return Status::Error("\"bits\" must be in [2, 32], got " + std::to_string(v));
      c->bits = static_cast<int>(v);
    } else if (key == "level_low") {
      c->level_low = v;
    } else {
      c->level_high = v;
    }
  } else if (key == "mode" || key == "granularity") {
    if (is_int)
      return Status::Error("\"" + key + "\" must be a string, got " + ScalarToString(value));
    const std::string& s = std::get<std::string>(value);
    if (key == "mode") {
      PTQ_ASSIGN_OR_RETURN(c->mode, ParseQuantMode(s));
    } else {
      PTQ_ASSIGN_OR_RETURN(c->granularity, ParseGranularity(s));
    }
  } else {
    return Status::Error("unknown quantization parameter \"" + key +
                         "\" (expected bits, mode, granularity, level_low, level_high)");
  }
  return Status::Ok();
}

// itertools.product over the parameter lists, last key varying fastest.
Result<std::vector<QuantConfig>> Expand(const std::vector<HwParam>& params) {
  std::vector<QuantConfig> out;
  for (const auto& p : params) {
    if (p.values.empty()) return Status::Error("parameter \"" + p.key + "\" has an empty list");
  }
  std::vector<size_t> idx(params.size(), 0);
  while (true) {
    QuantConfig c;
    for (size_t k = 0; k < params.size(); ++k) {
      PTQ_RETURN_IF_ERROR(SetKey(params[k], params[k].values[idx[k]], &c));
      c.key_order.push_back(params[k].key);
    }
    out.push_back(std::move(c));
    // Odometer increment from the last key.
    size_t k = params.size();
    while (k > 0) {
      --k;
      if (++idx[k] < params[k].values.size()) break;
      idx[k] = 0;
      if (k == 0) return out;
    }
    if (params.empty()) return out;
  }
}

std::string AttributeToJson(const HwAttribute& a) {
  if (std::holds_alternative<std::string>(a)) return Quote(std::get<std::string>(a));
  std::string s = "[";
  const auto& groups = std::get<std::vector<std::vector<int64_t>>>(a);
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i) s += ", ";
    s += "[";
    for (size_t j = 0; j < groups[i].size(); ++j) {
      if (j) s += ", ";
      s += std::to_string(groups[i][j]);
    }
    s += "]";
  }
  return s + "]";
}

bool Matches(const QuantConfig& a, const QuantConfig& b) {
  return a.mode == b.mode && a.granularity == b.granularity;
}

std::vector<QuantConfig> IntersectOnce(const std::vector<QuantConfig>& left,
                                       const std::vector<QuantConfig>& right,
                                       int64_t primary_bitwidth) {
  std::vector<QuantConfig> result;
  size_t offset = 0;
  for (const QuantConfig& l : left) {
    for (size_t idx = 0; offset + idx < right.size(); ++idx) {
      const QuantConfig& r = right[offset + idx];
      if (!Matches(l, r)) continue;
      if (primary_bitwidth > 0 && l.bits == primary_bitwidth) {
        result.push_back(l);
      } else if (primary_bitwidth > 0 && r.bits == primary_bitwidth) {
        result.push_back(r);
      } else {
        result.push_back(l.bits <= r.bits ? l : r);
      }
      // POT advances the offset by the index within the remaining slice (not past the match).
      offset += idx;
      break;
    }
  }
  return result;
}

// Adds weaker variants in front, keeping POT's order (built from the back, inserting at front).
std::vector<QuantConfig> Extend(const std::vector<QuantConfig>& configs) {
  std::vector<QuantConfig> ext;
  auto insert_front = [&](const QuantConfig& c) {
    for (const auto& e : ext) {
      if (e == c) return;
    }
    ext.insert(ext.begin(), c);
  };
  for (auto it = configs.rbegin(); it != configs.rend(); ++it) {
    insert_front(*it);
    const bool asym = it->mode == QuantMode::kAsymmetric;
    const bool perch = it->granularity == Granularity::kPerChannel;
    if (perch) {
      QuantConfig c = *it;
      c.granularity = Granularity::kPerTensor;
      insert_front(c);
    }
    if (asym) {
      QuantConfig c = *it;
      c.mode = QuantMode::kSymmetric;
      insert_front(c);
    }
    if (asym && perch) {
      QuantConfig c = *it;
      c.mode = QuantMode::kSymmetric;
      c.granularity = Granularity::kPerTensor;
      insert_front(c);
    }
  }
  return ext;
}

}  // namespace

std::string QuantConfig::ToJson() const {
  std::string s = "{";
  bool first = true;
  for (const std::string& k : key_order) {
    if (!first) s += ", ";
    first = false;
    s += Quote(k) + ": ";
    if (k == "bits") {
      s += std::to_string(bits);
    } else if (k == "mode") {
      s += Quote(QuantModeName(mode));
    } else if (k == "granularity") {
      s += Quote(GranularityName(granularity));
    } else if (k == "level_low") {
      s += std::to_string(level_low.value_or(0));
    } else if (k == "level_high") {
      s += std::to_string(level_high.value_or(0));
    }
  }
  return s + "}";
}

const std::vector<QuantConfig>* HwOperation::Group(const std::string& name) const {
  for (const auto& [g, configs] : groups) {
    if (g == name) return &configs;
  }
  return nullptr;
}

const HwOperation* HardwareConfig::Find(const std::string& type) const {
  for (const auto& op : operations) {
    if (op.type == type) return &op;
  }
  return nullptr;
}

std::string HardwareConfig::ToJson() const {
  std::string s = "[{\"target_device\": " + Quote(target_device) +
                  "}, {\"primary_bitwidth\": " + std::to_string(primary_bitwidth) +
                  ", \"input_priority_types\": [";
  for (size_t i = 0; i < input_priority_types.size(); ++i) {
    if (i) s += ", ";
    s += Quote(input_priority_types[i]);
  }
  s += "]}";
  for (const auto& op : operations) {
    s += ", {\"type\": " + Quote(op.type);
    if (op.has_quantization) {
      s += ", \"quantization\": {";
      for (size_t g = 0; g < op.groups.size(); ++g) {
        if (g) s += ", ";
        s += Quote(op.groups[g].first) + ": [";
        for (size_t i = 0; i < op.groups[g].second.size(); ++i) {
          if (i) s += ", ";
          s += op.groups[g].second[i].ToJson();
        }
        s += "]";
      }
      s += "}";
    }
    if (!op.attributes.empty()) {
      s += ", \"attributes\": {";
      for (size_t i = 0; i < op.attributes.size(); ++i) {
        if (i) s += ", ";
        s += Quote(op.attributes[i].first) + ": " + AttributeToJson(op.attributes[i].second);
      }
      s += "}";
    }
    s += "}";
  }
  return s + "]";
}

Result<HardwareConfig> FlattenHardwareConfig(const HardwareConfigSpec& spec,
                                             const std::string& device) {
  const std::string where = spec.source.empty() ? "hardware config" : spec.source;
  HardwareConfig hw;
  hw.target_device = device.empty() ? spec.target_device : device;
  hw.primary_bitwidth = spec.primary_bitwidth.value_or(8);
  hw.input_priority_types = spec.input_priority_types;

  // Expand the named configs of every algorithm section.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<QuantConfig>>>>>
      named;
  for (const auto& [section, configs] : spec.config) {
    if (section != "quantization") {
      return Status::Error(where + ": unsupported algorithm section \"" + section +
                           "\" in \"config\" (only \"quantization\")");
    }
    std::vector<std::pair<std::string, std::vector<QuantConfig>>> expanded;
    for (const auto& nc : configs) {
      auto r = Expand(nc.params);
      if (!r.ok()) {
        return r.status().WithContext(where + ": config \"" + section + "." + nc.name + "\"");
      }
      expanded.emplace_back(nc.name, std::move(r).value());
    }
    named.emplace_back(section, std::move(expanded));
  }
  auto find_named = [&](const std::string& section,
                        const std::string& name) -> const std::vector<QuantConfig>* {
    for (const auto& [s, list] : named) {
      if (s != section) continue;
      for (const auto& [n, configs] : list) {
        if (n == name) return &configs;
      }
    }
    return nullptr;
  };

  for (size_t i = 0; i < spec.operations.size(); ++i) {
    const HwOperationSpec& os = spec.operations[i];
    const std::string op_where =
        where + ": operation #" + std::to_string(i) + " (type \"" + os.type + "\")";
    HwOperation op;
    op.type = os.type;
    op.attributes = os.attributes;
    for (const auto& [section, groups] : os.algorithms) {
      if (section != "quantization") {
        return Status::Error(op_where + ": unsupported algorithm section \"" + section + "\"");
      }
      op.has_quantization = true;
      for (const auto& [group, items] : groups) {
        std::vector<QuantConfig> flat;
        for (const HwGroupItem& item : items) {
          if (!item.ref.empty()) {
            const auto* configs = find_named(section, item.ref);
            if (configs == nullptr) {
              return Status::Error(op_where + ": group \"" + group +
                                   "\" refers to unknown config \"" + item.ref + "\"");
            }
            flat.insert(flat.end(), configs->begin(), configs->end());
          } else {
            auto r = Expand(item.params);
            if (!r.ok()) {
              return r.status().WithContext(op_where + ": group \"" + group + "\"");
            }
            flat.insert(flat.end(), r->begin(), r->end());
          }
        }
        op.groups.emplace_back(group, std::move(flat));
      }
    }
    hw.operations.push_back(std::move(op));
  }
  return hw;
}

Result<std::string> HardwareConfigFileName(const std::string& device) {
  if (device == "ANY" || device == "CPU" || device == "CPU_SPR") return std::string("cpu.json");
  if (device == "GPU") return std::string("gpu.json");
  if (device == "GNA") return std::string("gna.json");
  return Status::Error("unsupported target_device \"" + device +
                       "\" (supported: ANY, CPU, CPU_SPR, GPU, GNA)");
}

std::filesystem::path HardwareConfigDir() {
  if (const char* env = std::getenv("PTQFLOW_HARDWARE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return PTQFLOW_HARDWARE_DIR;
}

Result<Preset> ResolvePreset(const std::string& name, const std::string& device) {
  Preset p;
  if (name == "performance" || name == "symmetric") {
    p = Preset::kPerformance;
  } else if (name == "mixed") {
    p = Preset::kMixed;
  } else if (name == "accuracy" || name == "asymmetric") {
    p = Preset::kAccuracy;
  } else {
    return Status::Error("unknown preset \"" + name +
                         "\" (expected performance, mixed, accuracy, symmetric or asymmetric)");
  }
  if (device == "GNA") {
    if (p == Preset::kMixed) p = Preset::kAccuracy;
  } else if (device == "CPU" || device == "GPU" || device == "ANY" || device == "CPU_SPR") {
    if (p == Preset::kAccuracy) p = Preset::kMixed;
  }
  return p;
}

const char* PresetName(Preset p) {
  switch (p) {
    case Preset::kPerformance:
      return "performance";
    case Preset::kMixed:
      return "mixed";
    case Preset::kAccuracy:
      return "accuracy";
  }
  return "?";
}

const QuantConfig& ApplyPresetRule(Preset preset, TensorRole role,
                                   const std::vector<QuantConfig>& configs) {
  CHECK(!configs.empty());
  if (role == TensorRole::kWeights) {
    return preset == Preset::kAccuracy ? configs.back() : configs.front();
  }
  return preset == Preset::kPerformance ? configs.front() : configs.back();
}

std::vector<QuantConfig> IntersectConfigs(const std::vector<QuantConfig>& left,
                                          const std::vector<QuantConfig>& right,
                                          int64_t primary_bitwidth) {
  std::vector<QuantConfig> res = IntersectOnce(left, right, primary_bitwidth);
  if (res.empty()) res = IntersectOnce(Extend(left), Extend(right), primary_bitwidth);
  return res;
}

std::vector<QuantConfig> FilterByOverride(const std::vector<QuantConfig>& candidates,
                                          const QuantConfigOverride& o, bool* mismatch) {
  *mismatch = false;
  if (o.empty()) return candidates;
  std::vector<QuantConfig> out;
  for (const QuantConfig& c : candidates) {
    if (o.bits && c.bits != *o.bits) continue;
    if (o.mode && c.mode != *o.mode) continue;
    if (o.granularity && c.granularity != *o.granularity) continue;
    if (o.level_low && c.level_low != o.level_low) continue;
    if (o.level_high && c.level_high != o.level_high) continue;
    out.push_back(c);
  }
  if (!out.empty()) return out;
  // No match: the user's keys win. Each candidate with them applied stays a candidate, so the
  // preset still chooses among the remaining differences (performance: symmetric activations,
  // mixed: asymmetric). A changed bit width drops the candidate's explicit level limits (CPU's
  // weights say -127..127 for 8 bits), so levels follow the bits (`bits: 4` -> 15 weight levels).
  *mismatch = true;
  std::vector<QuantConfig> base = candidates;
  if (base.empty()) base.push_back(QuantConfig{});
  for (QuantConfig user : base) {
    user.key_order = {"bits", "mode", "granularity"};
    if (o.bits && *o.bits != user.bits) {
      user.level_low.reset();
      user.level_high.reset();
    }
    if (o.bits) user.bits = *o.bits;
    if (o.mode) user.mode = *o.mode;
    if (o.granularity) user.granularity = *o.granularity;
    if (o.level_low) user.level_low = o.level_low;
    if (o.level_high) user.level_high = o.level_high;
    if (user.level_low) user.key_order.push_back("level_low");
    if (user.level_high) user.key_order.push_back("level_high");
    if (std::find(out.begin(), out.end(), user) == out.end()) out.push_back(user);
  }
  return out;
}

Result<QuantConfig> SelectConfig(const std::string& fq_name, TensorRole role, Preset preset,
                                 const std::vector<ConsumerConfigs>& consumers,
                                 int64_t primary_bitwidth) {
  std::vector<QuantConfig> res;
  bool first = true;
  for (const auto& c : consumers) {
    res = first ? c.configs : IntersectConfigs(res, c.configs, primary_bitwidth);
    first = false;
  }
  if (res.empty()) {
    std::string names;
    for (const auto& c : consumers) names += (names.empty() ? "" : ", ") + c.consumer;
    return Status::Error("FakeQuantize '" + fq_name +
                         "' has no quantization config common to its consumers [" + names + "]");
  }
  return ApplyPresetRule(preset, role, res);
}

}  // namespace ptqflow::quant
