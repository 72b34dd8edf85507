#include "io/config/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace ptqflow::io {
namespace {

namespace pb = google::protobuf;

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Where(const std::string& source, const JsonValue& v) {
  if (source.empty()) return "";
  if (v.line() > 0) return source + ":" + std::to_string(v.line()) + ": ";
  return source + ": ";
}

std::vector<std::string> FieldNames(const pb::Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return names;
}

std::string UnknownKey(const pb::Descriptor* d, const std::string& key) {
  std::string msg = "unknown key '" + key + "'";
  std::string near = NearestName(key, FieldNames(d));
  if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  std::vector<std::string> names = FieldNames(d);
  msg += "; valid keys:";
  for (const auto& n : names) msg += " " + n;
  return msg;
}

// What a field holds, for "expected ..." messages.
std::string TypeWord(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return "a boolean";
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return "an integer";
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return "a non-negative integer";
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return "a number";
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      std::string s = "one of";
      const pb::EnumDescriptor* e = f->enum_type();
      for (int i = 0; i < e->value_count(); ++i) s += " '" + e->value(i)->name() + "'";
      return s;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return "an object";
  }
  return "?";
}

// A scalar value in neutral form, from JSON or from flag text.
struct Scalar {
  enum Kind { kBool, kInt, kDouble, kString } kind = kString;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

Status SetScalar(pb::Message* msg, const pb::FieldDescriptor* f, const Scalar& v,
                 const std::string& key_path) {
  const pb::Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&]() {
    return Status::Error("config key '" + key_path + "': expected " + TypeWord(f));
  };
  auto int_in = [&](int64_t lo, int64_t hi, int64_t* out) -> Status {
    int64_t x;
    if (v.kind == Scalar::kInt) {
      x = v.i;
    } else if (v.kind == Scalar::kDouble && std::floor(v.d) == v.d && std::fabs(v.d) < 9e15) {
      x = static_cast<int64_t>(v.d);
    } else {
      return bad();
    }
    if (x < lo || x > hi) {
      return Status::Error("config key '" + key_path + "': " + std::to_string(x) +
                           " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "]");
    }
    *out = x;
    return Status::Ok();
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (v.kind != Scalar::kBool) return bad();
      rep ? r->AddBool(msg, f, v.b) : r->SetBool(msg, f, v.b);
      return Status::Ok();
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int64_t x;
      PTQ_RETURN_IF_ERROR(
          int_in(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), &x));
      rep ? r->AddInt32(msg, f, static_cast<int32_t>(x))
          : r->SetInt32(msg, f, static_cast<int32_t>(x));
      return Status::Ok();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t x;
      PTQ_RETURN_IF_ERROR(
          int_in(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &x));
      rep ? r->AddInt64(msg, f, x) : r->SetInt64(msg, f, x);
      return Status::Ok();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      int64_t x;
      PTQ_RETURN_IF_ERROR(int_in(0, std::numeric_limits<uint32_t>::max(), &x));
      rep ? r->AddUInt32(msg, f, static_cast<uint32_t>(x))
          : r->SetUInt32(msg, f, static_cast<uint32_t>(x));
      return Status::Ok();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      int64_t x;
      PTQ_RETURN_IF_ERROR(int_in(0, std::numeric_limits<int64_t>::max(), &x));
      rep ? r->AddUInt64(msg, f, static_cast<uint64_t>(x))
          : r->SetUInt64(msg, f, static_cast<uint64_t>(x));
      return Status::Ok();
    }
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      double x;
      if (v.kind == Scalar::kDouble) {
        x = v.d;
      } else if (v.kind == Scalar::kInt) {
        x = static_cast<double>(v.i);
      } else {
        return bad();
      }
      if (!std::isfinite(x)) {
        return Status::Error("config key '" + key_path + "': expected a finite number");
      }
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT) {
        if (std::fabs(x) > std::numeric_limits<float>::max()) {
          return Status::Error("config key '" + key_path + "': out of float range");
        }
        rep ? r->AddFloat(msg, f, static_cast<float>(x))
            : r->SetFloat(msg, f, static_cast<float>(x));
      } else {
        rep ? r->AddDouble(msg, f, x) : r->SetDouble(msg, f, x);
      }
      return Status::Ok();
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (v.kind != Scalar::kString) return bad();
      rep ? r->AddString(msg, f, v.s) : r->SetString(msg, f, v.s);
      return Status::Ok();
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      if (v.kind != Scalar::kString) return bad();
      const pb::EnumDescriptor* e = f->enum_type();
      for (int i = 0; i < e->value_count(); ++i) {
        const std::string& name = e->value(i)->name();
        if (name.size() == v.s.size() &&
            std::equal(name.begin(), name.end(), v.s.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          rep ? r->AddEnum(msg, f, e->value(i)) : r->SetEnum(msg, f, e->value(i));
          return Status::Ok();
        }
      }
      return Status::Error("config key '" + key_path + "': '" + v.s + "' is not " + TypeWord(f));
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return bad();
  }
  return bad();
}

Result<Scalar> JsonScalar(const JsonValue& v, const std::string& key_path,
                          const pb::FieldDescriptor* f) {
  Scalar s;
  switch (v.kind()) {
    case JsonValue::Kind::kBool:
      s.kind = Scalar::kBool;
      s.b = v.bool_value();
      return s;
    case JsonValue::Kind::kNumber:
      if (v.is_integer()) {
        s.kind = Scalar::kInt;
        s.i = v.integer();
      } else {
        s.kind = Scalar::kDouble;
        s.d = v.number();
      }
      return s;
    case JsonValue::Kind::kString:
      s.kind = Scalar::kString;
      s.s = v.str();
      return s;
    default:
      return Status::Error("config key '" + key_path + "': expected " + TypeWord(f) + ", got " +
                           JsonValue::KindName(v.kind()));
  }
}

// Checks that setting `f` does not conflict with another member of its oneof already set.
Status CheckOneof(const pb::Message& msg, const pb::FieldDescriptor* f, const std::string& path) {
  const pb::OneofDescriptor* o = f->real_containing_oneof();
  if (o == nullptr) return Status::Ok();
  const pb::FieldDescriptor* set = msg.GetReflection()->GetOneofFieldDescriptor(msg, o);
  if (set != nullptr && set != f) {
    return Status::Error("config keys '" + Join(path, set->name()) + "' and '" +
                         Join(path, f->name()) + "' exclude each other (choose one)");
  }
  return Status::Ok();
}

Status FromJson(const JsonValue& json, pb::Message* msg, const std::string& path);

// A JSON object into a map field. String values of a map<..., string> take any JSON scalar as
// its JSON text (so {"output": 1280} keeps "1280").
Status MapFromJson(const JsonValue& value, pb::Message* msg, const pb::FieldDescriptor* f,
                   const std::string& key_path) {
  if (!value.is_object()) {
    return Status::Error("config key '" + key_path + "': expected an object, got " +
                         JsonValue::KindName(value.kind()));
  }
  const pb::Reflection* r = msg->GetReflection();
  r->ClearField(msg, f);
  const pb::FieldDescriptor* kf = f->message_type()->map_key();
  const pb::FieldDescriptor* vf = f->message_type()->map_value();
  for (const auto& [k, v] : value.members()) {
    const std::string item_path = key_path + "." + k;
    pb::Message* entry = r->AddMessage(msg, f);
    Scalar key;
    key.s = k;
    PTQ_RETURN_IF_ERROR(SetScalar(entry, kf, key, item_path));
    if (vf->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && (v.is_number() || v.is_bool())) {
      Scalar text;
      text.s = ToJson(v);
      PTQ_RETURN_IF_ERROR(SetScalar(entry, vf, text, item_path));
    } else if (vf->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      PTQ_RETURN_IF_ERROR(
          FromJson(v, entry->GetReflection()->MutableMessage(entry, vf), item_path));
    } else {
      PTQ_ASSIGN_OR_RETURN(Scalar sv, JsonScalar(v, item_path, vf));
      PTQ_RETURN_IF_ERROR(SetScalar(entry, vf, sv, item_path));
    }
  }
  return Status::Ok();
}

Status FromJson(const JsonValue& json, pb::Message* msg, const std::string& path) {
  const pb::Descriptor* d = msg->GetDescriptor();
  if (!json.is_object()) {
    return Status::Error("config key '" + (path.empty() ? std::string("<top>") : path) +
                         "': expected an object, got " + JsonValue::KindName(json.kind()));
  }
  const pb::Reflection* r = msg->GetReflection();
  for (const auto& [key, value] : json.members()) {
    const std::string key_path = Join(path, key);
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      return Status::Error((path.empty() ? std::string("config") : "config key '" + path + "'") +
                           ": " + UnknownKey(d, key));
    }
    if (value.is_null()) {
      return Status::Error("config key '" + key_path +
                           "': null is not a value (leave the key out to keep the default)");
    }
    PTQ_RETURN_IF_ERROR(CheckOneof(*msg, f, path));
    if (f->is_map()) {
      PTQ_RETURN_IF_ERROR(MapFromJson(value, msg, f, key_path));
    } else if (f->is_repeated()) {
      if (!value.is_array()) {
        return Status::Error("config key '" + key_path + "': expected an array, got " +
                             JsonValue::KindName(value.kind()));
      }
      r->ClearField(msg, f);
      for (size_t i = 0; i < value.items().size(); ++i) {
        const std::string item_path = key_path + "[" + std::to_string(i) + "]";
        const JsonValue& item = value.items()[i];
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          PTQ_RETURN_IF_ERROR(FromJson(item, r->AddMessage(msg, f), item_path));
        } else {
          PTQ_ASSIGN_OR_RETURN(Scalar s, JsonScalar(item, item_path, f));
          PTQ_RETURN_IF_ERROR(SetScalar(msg, f, s, item_path));
        }
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      PTQ_RETURN_IF_ERROR(FromJson(value, r->MutableMessage(msg, f), key_path));
    } else {
      PTQ_ASSIGN_OR_RETURN(Scalar s, JsonScalar(value, key_path, f));
      PTQ_RETURN_IF_ERROR(SetScalar(msg, f, s, key_path));
    }
  }
  return Status::Ok();
}

// Flag text -> scalar of the field's kind.
Result<Scalar> TextScalar(std::string_view text, const pb::FieldDescriptor* f,
                          const std::string& key_path) {
  Scalar s;
  const std::string t(text);
  auto bad = [&]() {
    return Status::Error("config key '" + key_path + "': '" + t + "' is not " + TypeWord(f));
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      s.kind = Scalar::kBool;
      if (t == "true" || t == "1" || t == "yes") {
        s.b = true;
      } else if (t == "false" || t == "0" || t == "no") {
        s.b = false;
      } else {
        return bad();
      }
      return s;
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      if (t.empty()) return bad();
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(t.c_str(), &end, 10);
      if (errno != 0 || *end != '\0') return bad();
      s.kind = Scalar::kInt;
      s.i = v;
      return s;
    }
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      if (t.empty()) return bad();
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(t.c_str(), &end);
      if (errno != 0 || *end != '\0') return bad();
      s.kind = Scalar::kDouble;
      s.d = v;
      return s;
    }
    default:
      s.kind = Scalar::kString;
      s.s = t;
      return s;
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Status JsonToMessage(const JsonValue& json, google::protobuf::Message* msg, const std::string& path,
                     const std::string& source) {
  Status st = FromJson(json, msg, path);
  if (!st.ok() && !source.empty()) return Status::Error(Where(source, json) + st.message());
  return st;
}

Status SetFieldFromString(google::protobuf::Message* msg, std::string_view path,
                          std::string_view value, const std::string& what) {
  auto err = [&](const std::string& m) { return Status::Error(what + ": " + m); };
  std::string done;
  pb::Message* cur = msg;
  std::string_view rest = path;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string key(rest.substr(0, dot));
    const pb::Descriptor* d = cur->GetDescriptor();
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      return err((done.empty() ? std::string("config") : "config key '" + done + "'") + ": " +
                 UnknownKey(d, key));
    }
    Status one = CheckOneof(*cur, f, done);
    if (!one.ok()) return err(one.message());
    const std::string key_path = Join(done, key);
    const pb::Reflection* r = cur->GetReflection();
    if (dot != std::string_view::npos) {
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
        return err("config key '" + key_path + "' has no sub-keys");
      }
      cur = r->MutableMessage(cur, f);
      done = key_path;
      rest = rest.substr(dot + 1);
      continue;
    }
    if (f->is_map()) {
      return err("config key '" + key_path + "' is a map: set it in the JSON config");
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return err("config key '" + key_path + "' is a section; set one of its keys (" + key_path +
                 ".<key>=...)");
    }
    if (f->is_repeated()) {
      r->ClearField(cur, f);
      std::string_view items = value;
      if (!items.empty() && items.front() == '[') {
        if (items.back() != ']') return err("config key '" + key_path + "': missing ']'");
        items = items.substr(1, items.size() - 2);
      }
      size_t start = 0;
      while (start <= items.size() && !items.empty()) {
        const size_t comma = items.find(',', start);
        std::string_view item = items.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        auto s = TextScalar(item, f, key_path);
        if (!s.ok()) return err(s.status().message());
        Status set = SetScalar(cur, f, *s, key_path);
        if (!set.ok()) return err(set.message());
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      return Status::Ok();
    }
    auto s = TextScalar(value, f, key_path);
    if (!s.ok()) return err(s.status().message());
    Status set = SetScalar(cur, f, *s, key_path);
    if (!set.ok()) return err(set.message());
    return Status::Ok();
  }
}

Result<std::vector<std::pair<std::string, std::string>>> SplitOptionList(std::string_view spec,
                                                                         const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> items;
  int depth = 0;
  std::string cur;
  for (char c : spec) {
    if (c == '[') ++depth;
    if (c == ']') {
      if (--depth < 0)
        return Status::Error(what + ": unbalanced ']' in '" + std::string(spec) + "'");
    }
    if (c == ',' && depth == 0) {
      items.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) return Status::Error(what + ": unbalanced '[' in '" + std::string(spec) + "'");
  items.push_back(cur);
  for (const std::string& item : items) {
    if (item.empty() && items.size() == 1) break;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Error(what + ": expected key=value, got '" + item + "'");
    }
    std::string key = item.substr(0, eq);
    for (const auto& kv : out) {
      if (kv.first == key) return Status::Error(what + ": key '" + key + "' given twice");
    }
    out.emplace_back(std::move(key), item.substr(eq + 1));
  }
  return out;
}

std::string MessageToJson(const google::protobuf::Message& msg) {
  pb::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  std::string out;
  // Printing a valid in-memory message cannot fail.
  (void)pb::util::MessageToJsonString(msg, &out, opts);
  return out;
}

std::string NearestName(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    const size_t dist = EditDistance(key, c);
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, key.size() / 2);
  return best_d <= limit ? best : "";
}

}  // namespace ptqflow::io
