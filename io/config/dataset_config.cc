#include "io/config/dataset_config.h"

#include "io/config/proto_json.h"
#include "io/data/audio_dataset.h"
#include "io/data/idx_dataset.h"
#include "io/data/image_dataset.h"
#include "io/data/tensor_dataset.h"
#include "io/data/text_dataset.h"

namespace ptqflow::io {
namespace {

// Prefixes a parser's message with the key path.
template <typename T>
Result<T> Keyed(Result<T> r, const std::string& key) {
  if (r.ok()) return r;
  return Status::Error("config key '" + key + "': " + r.status().message());
}

Result<SourceKind> ParseSourceKind(const std::string& s, const std::string& key) {
  if (s.empty() || s == "auto") return SourceKind::kAuto;
  if (s == "folder") return SourceKind::kFolder;
  if (s == "glob") return SourceKind::kGlob;
  if (s == "list") return SourceKind::kListFile;
  if (s == "file") return SourceKind::kFile;
  return Status::Error("config key '" + key + "': unknown source kind '" + s +
                       "' (expected auto, folder, glob, list or file)");
}

Result<graph::ElementType> ParseOutputType(const std::string& s, const std::string& key) {
  if (s.empty() || s == "f32") return graph::ElementType::kF32;
  if (s == "u8") return graph::ElementType::kU8;
  return Status::Error("config key '" + key + "': unknown output type '" + s +
                       "' (expected f32 or u8)");
}

AnnotationOptions Annotations(const proto::AnnotationsConfig& a) {
  AnnotationOptions o;
  o.class_labels_file = a.class_labels_file();
  o.text_labels_file = a.text_labels_file();
  return o;
}

Status RequireSource(const std::string& source, const std::string& key) {
  if (source.empty()) {
    return Status::Error("config key '" + key + "' is required (the data to read)");
  }
  return Status::Ok();
}

Result<std::shared_ptr<const Dataset>> OpenImage(const proto::ImageLoaderConfig& c,
                                                 const std::string& p) {
  ImageDatasetOptions o;
  PTQ_RETURN_IF_ERROR(RequireSource(c.source(), p + ".source"));
  o.source = c.source();
  PTQ_ASSIGN_OR_RETURN(o.source_kind, ParseSourceKind(c.source_kind(), p + ".source_kind"));
  o.input_name = c.input_name();
  if (!c.color().empty()) {
    PTQ_ASSIGN_OR_RETURN(o.color, Keyed(ParseColorOrder(c.color()), p + ".color"));
  }
  if (c.has_height()) o.height = c.height();
  if (c.has_width()) o.width = c.width();
  if (!c.resize_mode().empty()) {
    PTQ_ASSIGN_OR_RETURN(o.resize_mode,
                         Keyed(ParseResizeMode(c.resize_mode()), p + ".resize_mode"));
  }
  if (!c.interpolation().empty()) {
    PTQ_ASSIGN_OR_RETURN(o.interpolation,
                         Keyed(ParseInterpolation(c.interpolation()), p + ".interpolation"));
  }
  if (c.has_pad_value()) o.pad_value = c.pad_value();
  if (!c.pad_align().empty()) {
    if (c.pad_align() == "center") {
      o.pad_align = PadAlign::kCenter;
    } else if (c.pad_align() == "top_left") {
      o.pad_align = PadAlign::kTopLeft;
    } else {
      return Status::Error("config key '" + p + ".pad_align': unknown value '" + c.pad_align() +
                           "' (expected center or top_left)");
    }
  }
  if (c.has_central_fraction()) o.central_fraction = c.central_fraction();
  if (c.has_border()) o.border = c.border();
  if (c.has_border_value()) o.border_value = c.border_value();
  o.mean.assign(c.mean().begin(), c.mean().end());
  o.scale.assign(c.scale().begin(), c.scale().end());
  if (!c.layout().empty()) {
    PTQ_ASSIGN_OR_RETURN(o.layout, Keyed(ParseLayout(c.layout()), p + ".layout"));
  }
  PTQ_ASSIGN_OR_RETURN(o.output_type, ParseOutputType(c.output_type(), p + ".output_type"));
  o.annotations = Annotations(c.annotations());
  PTQ_ASSIGN_OR_RETURN(auto ds, ImageDataset::Create(o));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

Result<std::shared_ptr<const Dataset>> OpenAudio(const proto::AudioLoaderConfig& c,
                                                 const std::string& p) {
  AudioDatasetOptions o;
  PTQ_RETURN_IF_ERROR(RequireSource(c.source(), p + ".source"));
  o.source = c.source();
  PTQ_ASSIGN_OR_RETURN(o.source_kind, ParseSourceKind(c.source_kind(), p + ".source_kind"));
  o.input_name = c.input_name();
  if (c.has_sample_rate()) o.sample_rate = c.sample_rate();
  if (c.has_resample()) o.resample = c.resample();
  if (c.has_mixdown()) o.mixdown = c.mixdown();
  if (c.has_window()) o.window = c.window();
  if (c.has_hop()) o.hop = c.hop();
  if (c.has_pad_tail()) o.pad_tail = c.pad_tail();
  if (c.has_batch_dim()) o.batch_dim = c.batch_dim();
  o.annotations = Annotations(c.annotations());
  PTQ_ASSIGN_OR_RETURN(auto ds, AudioDataset::Create(o));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

Result<std::shared_ptr<const Dataset>> OpenText(const proto::TextLoaderConfig& c,
                                                const std::string& p) {
  TextDatasetOptions o;
  PTQ_RETURN_IF_ERROR(RequireSource(c.source(), p + ".source"));
  o.source = c.source();
  PTQ_ASSIGN_OR_RETURN(o.source_kind, ParseSourceKind(c.source_kind(), p + ".source_kind"));
  if (c.unit().empty() || c.unit() == "lines") {
    o.unit = TextUnit::kLines;
  } else if (c.unit() == "files") {
    o.unit = TextUnit::kFiles;
  } else {
    return Status::Error("config key '" + p + ".unit': unknown value '" + c.unit() +
                         "' (expected lines or files)");
  }
  if (c.vocab_file().empty()) {
    return Status::Error("config key '" + p +
                         ".vocab_file' is required (the WordPiece vocab.txt of the model)");
  }
  o.tokenizer.vocab_file = c.vocab_file();
  if (c.has_lower_case()) o.tokenizer.lower_case = c.lower_case();
  if (c.has_max_length()) o.tokenizer.max_length = c.max_length();
  if (c.has_pad_to_max_length()) o.tokenizer.pad_to_max_length = c.pad_to_max_length();
  if (c.has_truncate()) o.tokenizer.truncate = c.truncate();
  o.pair_separator = c.pair_separator();
  if (c.has_class_label_column()) o.class_label_column = c.class_label_column();
  if (c.has_input_ids_name()) o.input_ids_name = c.input_ids_name();
  if (c.has_attention_mask_name()) o.attention_mask_name = c.attention_mask_name();
  if (c.has_token_type_ids_name()) o.token_type_ids_name = c.token_type_ids_name();
  o.annotations = Annotations(c.annotations());
  PTQ_ASSIGN_OR_RETURN(auto ds, TextDataset::Create(o));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

Result<std::shared_ptr<const Dataset>> OpenTensor(const proto::TensorLoaderConfig& c,
                                                  const std::string& p) {
  TensorDatasetOptions o;
  PTQ_RETURN_IF_ERROR(RequireSource(c.source(), p + ".source"));
  o.source = c.source();
  PTQ_ASSIGN_OR_RETURN(o.source_kind, ParseSourceKind(c.source_kind(), p + ".source_kind"));
  o.input_names.assign(c.input_names().begin(), c.input_names().end());
  if (!c.raw_type().empty()) {
    PTQ_ASSIGN_OR_RETURN(o.raw_type, Keyed(graph::ParseElementType(c.raw_type()), p + ".raw_type"));
  }
  o.raw_shape = graph::Shape(std::vector<int64_t>(c.raw_shape().begin(), c.raw_shape().end()));
  o.annotations = Annotations(c.annotations());
  PTQ_ASSIGN_OR_RETURN(auto ds, TensorDataset::Create(o));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

Result<std::shared_ptr<const Dataset>> OpenIdx(const proto::IdxLoaderConfig& c,
                                               const std::string& p) {
  IdxDatasetOptions o;
  PTQ_RETURN_IF_ERROR(RequireSource(c.images_file(), p + ".images_file"));
  o.images_file = c.images_file();
  o.labels_file = c.labels_file();
  o.input_name = c.input_name();
  if (c.has_normalize()) o.normalize = c.normalize();
  if (c.has_mean()) o.mean = c.mean();
  if (c.has_std()) o.std = c.std();
  if (c.has_border()) o.border = c.border();
  if (c.has_border_value()) o.border_value = c.border_value();
  PTQ_ASSIGN_OR_RETURN(o.output_type, ParseOutputType(c.output_type(), p + ".output_type"));
  PTQ_ASSIGN_OR_RETURN(auto ds, IdxDataset::Create(o));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

}  // namespace

Result<proto::DatasetConfig> DatasetConfigFromJson(const JsonValue& json, const std::string& path,
                                                   const std::string& source) {
  proto::DatasetConfig config;
  PTQ_RETURN_IF_ERROR(JsonToMessage(json, &config, path, source));
  return config;
}

Result<proto::DatasetConfig> DatasetConfigFromFlags(const std::string& type,
                                                    const std::string& source,
                                                    const std::string& options) {
  proto::DatasetConfig config;
  const google::protobuf::FieldDescriptor* f =
      config.GetDescriptor()->FindFieldByName(type.empty() ? "<none>" : type);
  if (type.empty() || f == nullptr || f->message_type() == nullptr) {
    std::vector<std::string> loaders;
    const auto* oneof = config.GetDescriptor()->FindOneofByName("loader");
    for (int i = 0; i < oneof->field_count(); ++i) loaders.push_back(oneof->field(i)->name());
    std::string msg = type.empty() ? std::string("--data-type is required")
                                   : "--data-type: unknown loader '" + type + "'";
    const std::string near = NearestName(type, loaders);
    if (!type.empty() && !near.empty()) msg += " (did you mean '" + near + "'?)";
    msg += "; expected one of:";
    for (const auto& l : loaders) msg += " " + l;
    return Status::Error(msg);
  }
  config.GetReflection()->MutableMessage(&config, f);  // selects the loader even with no keys
  if (!source.empty()) {
    const std::string key = type == "idx" ? "images_file" : "source";
    PTQ_RETURN_IF_ERROR(SetFieldFromString(&config, type + "." + key, source, "--data-source"));
  }
  PTQ_ASSIGN_OR_RETURN(auto items, SplitOptionList(options, "--data-option"));
  for (const auto& [key, value] : items) {
    PTQ_RETURN_IF_ERROR(SetFieldFromString(&config, type + "." + key, value, "--data-option"));
  }
  return config;
}

Result<std::shared_ptr<const Dataset>> OpenDataset(const proto::DatasetConfig& config,
                                                   const std::string& path) {
  switch (config.loader_case()) {
    case proto::DatasetConfig::kImage:
      return OpenImage(config.image(), path + ".image");
    case proto::DatasetConfig::kAudio:
      return OpenAudio(config.audio(), path + ".audio");
    case proto::DatasetConfig::kText:
      return OpenText(config.text(), path + ".text");
    case proto::DatasetConfig::kTensor:
      return OpenTensor(config.tensor(), path + ".tensor");
    case proto::DatasetConfig::kIdx:
      return OpenIdx(config.idx(), path + ".idx");
    case proto::DatasetConfig::LOADER_NOT_SET:
      break;
  }
  return Status::Error("config key '" + path +
                       "': no loader chosen (set one of image, audio, text, tensor, idx)");
}

}  // namespace ptqflow::io
