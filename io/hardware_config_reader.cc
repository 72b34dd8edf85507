#include "io/hardware_config_reader.h"

namespace ptqflow::io {

namespace {

Status ErrorAt(const std::string& source, const JsonValue& v, const std::string& what) {
  return Status::Error(source + ":" + std::to_string(v.line()) + ":" + std::to_string(v.column()) +
                       ": " + what);
}

Result<quant::HwScalar> Scalar(const std::string& source, const std::string& key,
                               const JsonValue& v) {
  if (v.is_integer()) return quant::HwScalar(v.integer());
  if (v.is_string()) return quant::HwScalar(v.str());
  return ErrorAt(source, v,
                 "parameter \"" + key + "\" must be an integer or a string, got " +
                     JsonValue::KindName(v.kind()));
}

Result<std::vector<quant::HwParam>> Params(const std::string& source, const JsonValue& obj) {
  if (!obj.is_object()) {
    return ErrorAt(source, obj,
                   std::string("expected a config object, got ") + JsonValue::KindName(obj.kind()));
  }
  std::vector<quant::HwParam> params;
  for (const auto& [key, value] : obj.members()) {
    quant::HwParam p;
    p.key = key;
    if (value.is_array()) {
      for (const JsonValue& item : value.items()) {
        PTQ_ASSIGN_OR_RETURN(quant::HwScalar s, Scalar(source, key, item));
        p.values.push_back(std::move(s));
      }
    } else {
      PTQ_ASSIGN_OR_RETURN(quant::HwScalar s, Scalar(source, key, value));
      p.values.push_back(std::move(s));
    }
    params.push_back(std::move(p));
  }
  return params;
}

Result<quant::HwGroupItem> GroupItem(const std::string& source, const JsonValue& v) {
  quant::HwGroupItem item;
  if (v.is_string()) {
    item.ref = v.str();
    if (item.ref.empty()) return ErrorAt(source, v, "empty config name");
    return item;
  }
  PTQ_ASSIGN_OR_RETURN(item.params, Params(source, v));
  return item;
}

Result<quant::HwAttribute> Attribute(const std::string& source, const std::string& key,
                                     const JsonValue& v) {
  if (v.is_string()) return quant::HwAttribute(v.str());
  if (v.is_array()) {
    std::vector<std::vector<int64_t>> groups;
    for (const JsonValue& g : v.items()) {
      if (!g.is_array()) break;
      std::vector<int64_t> ports;
      for (const JsonValue& p : g.items()) {
        if (!p.is_integer()) {
          return ErrorAt(source, p, "attribute \"" + key + "\": port must be an integer");
        }
        ports.push_back(p.integer());
      }
      groups.push_back(std::move(ports));
    }
    if (groups.size() == v.items().size()) return quant::HwAttribute(std::move(groups));
  }
  return ErrorAt(source, v,
                 "attribute \"" + key + "\" must be a string or a list of integer lists");
}

}  // namespace

Result<quant::HardwareConfigSpec> HardwareConfigSpecFromJson(const JsonValue& root,
                                                             const std::string& source) {
  quant::HardwareConfigSpec spec;
  spec.source = source;
  if (!root.is_object()) return ErrorAt(source, root, "hardware config must be a JSON object");
  if (const JsonValue* td = root.Find("target_device")) {
    if (!td->is_string()) return ErrorAt(source, *td, "\"target_device\" must be a string");
    spec.target_device = td->str();
  }
  if (const JsonValue* pb = root.Find("primary_bitwidth")) {
    if (!pb->is_integer()) return ErrorAt(source, *pb, "\"primary_bitwidth\" must be an integer");
    spec.primary_bitwidth = pb->integer();
  }
  if (const JsonValue* ipt = root.Find("input_priority_types")) {
    if (!ipt->is_array()) {
      return ErrorAt(source, *ipt, "\"input_priority_types\" must be a list of strings");
    }
    for (const JsonValue& t : ipt->items()) {
      if (!t.is_string()) {
        return ErrorAt(source, t, "\"input_priority_types\" must be a list of strings");
      }
      spec.input_priority_types.push_back(t.str());
    }
  }
  std::vector<std::string> sections;
  if (const JsonValue* config = root.Find("config")) {
    if (!config->is_object()) return ErrorAt(source, *config, "\"config\" must be an object");
    for (const auto& [section, named] : config->members()) {
      if (!named.is_object()) {
        return ErrorAt(source, named, "\"config." + section + "\" must be an object");
      }
      std::vector<quant::HwNamedConfig> list;
      for (const auto& [name, body] : named.members()) {
        quant::HwNamedConfig nc;
        nc.name = name;
        auto params = Params(source, body);
        if (!params.ok()) return params.status().WithContext("config \"" + name + "\"");
        nc.params = std::move(params).value();
        list.push_back(std::move(nc));
      }
      spec.config.emplace_back(section, std::move(list));
      sections.push_back(section);
    }
  }
  const JsonValue* ops = root.Find("operations");
  if (ops == nullptr) return Status::Error(source + ": missing \"operations\" list");
  if (!ops->is_array()) return ErrorAt(source, *ops, "\"operations\" must be a list");
  for (const JsonValue& o : ops->items()) {
    if (!o.is_object()) return ErrorAt(source, o, "each operation must be an object");
    const JsonValue* type = o.Find("type");
    if (type == nullptr || !type->is_string()) {
      return ErrorAt(source, o, "operation without a string \"type\"");
    }
    quant::HwOperationSpec op;
    op.type = type->str();
    for (const auto& [key, value] : o.members()) {
      if (key == "type") continue;
      if (key == "attributes") {
        if (!value.is_object()) {
          return ErrorAt(source, value, "\"attributes\" of " + op.type + " must be an object");
        }
        for (const auto& [akey, avalue] : value.members()) {
          PTQ_ASSIGN_OR_RETURN(quant::HwAttribute a, Attribute(source, akey, avalue));
          op.attributes.emplace_back(akey, std::move(a));
        }
        continue;
      }
      bool is_section = false;
      for (const auto& s : sections) is_section = is_section || s == key;
      if (!is_section && key != "quantization") {
        return ErrorAt(source, value, "operation " + op.type + ": unknown key \"" + key + "\"");
      }
      if (!value.is_object()) {
        return ErrorAt(source, value,
                       "operation " + op.type + ": \"" + key + "\" must be an object");
      }
      std::vector<std::pair<std::string, std::vector<quant::HwGroupItem>>> groups;
      for (const auto& [group, items] : value.members()) {
        std::vector<quant::HwGroupItem> list;
        if (items.is_array()) {
          for (const JsonValue& it : items.items()) {
            PTQ_ASSIGN_OR_RETURN(quant::HwGroupItem gi, GroupItem(source, it));
            list.push_back(std::move(gi));
          }
        } else {
          PTQ_ASSIGN_OR_RETURN(quant::HwGroupItem gi, GroupItem(source, items));
          list.push_back(std::move(gi));
        }
        groups.emplace_back(group, std::move(list));
      }
      op.algorithms.emplace_back(key, std::move(groups));
    }
    spec.operations.push_back(std::move(op));
  }
  return spec;
}

Result<quant::HardwareConfigSpec> ReadHardwareConfigFile(const std::filesystem::path& path) {
  PTQ_ASSIGN_OR_RETURN(JsonValue root, ReadJsonFile(path));
  return HardwareConfigSpecFromJson(root, path.string());
}

}  // namespace ptqflow::io
