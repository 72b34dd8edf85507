#include "io/config/run_config.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <vector>

#include "io/config/proto_json.h"
#include "io/json.h"

namespace ptqflow::io {
namespace {

namespace pb = google::protobuf;
using Names = std::vector<std::string>;

bool Contains(const Names& names, const std::string& v) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

std::string List(const Names& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    s += (i == 0 ? "" : ", ") + (names[i].empty() ? std::string("\"\"") : names[i]);
  }
  return s;
}

// An enum-like string key: empty means "not set" (the default applies).
Status OneOf(const std::string& value, const Names& allowed, const std::string& key) {
  if (value.empty() || Contains(allowed, value)) return Status::Ok();
  std::string msg = "config key '" + key + "': unknown value '" + value + "'";
  const std::string near = NearestName(value, allowed);
  if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  return Status::Error(msg + "; expected one of: " + List(allowed));
}

const Names kPresets = {"performance", "mixed", "accuracy", "symmetric", "asymmetric"};
const Names kDevices = {"ANY", "CPU", "CPU_SPR", "GPU", "GNA"};
const Names kUnsupportedDevices = {"GNA3", "GNA3.5", "NPU", "VPU"};
const Names kModelTypes = {"None", "transformer"};
const Names kModes = {"symmetric", "asymmetric"};
const Names kGranularities = {"pertensor", "perchannel"};
const Names kStatTypes = {"min", "max", "abs_max", "quantile", "abs_quantile"};
const Names kAggregators = {
    "mean", "max", "min", "median", "mean_no_outliers", "median_no_outliers", "hl_estimator"};
const Names kEstimatorPresets = {"default", "quantile"};
const Names kSaturationFix = {"first_layer", "all", "no"};
const Names kDropTypes = {"absolute", "relative"};
const Names kEngineTypes = {"ptqflow", "simplified"};
const Names kLayouts = {"NCHW", "NHWC", "CHW", "HWC"};
const Names kMetricTypes = {
    "accuracy",       "top_k", "ctc_exact_match", "character_error_rate", "binary_accuracy",
    "top1_agreement", "sqnr",  "cosine"};
const Names kUnsupportedAlgorithms = {"DataFreeQuantization",    "RangeSupervision",
                                      "OutlierChannelSplitting", "Ranger",
                                      "MagnitudeSparsity",       "WeightSparsity",
                                      "TunableQuantization",     "QuantizeModelFinetuning",
                                      "OverflowCorrection"};
constexpr int kFirstAaqField = 20;  // AlgorithmParams fields >= 20 are AccuracyAware's

Status CheckEstimatorSide(const proto::EstimatorSide& s, const std::string& key) {
  PTQ_RETURN_IF_ERROR(OneOf(s.type(), kStatTypes, key + ".type"));
  PTQ_RETURN_IF_ERROR(OneOf(s.granularity(), kGranularities, key + ".granularity"));
  PTQ_RETURN_IF_ERROR(OneOf(s.aggregator(), kAggregators, key + ".aggregator"));
  if (s.has_outlier_prob() && !(s.outlier_prob() >= 0.0 && s.outlier_prob() < 1.0)) {
    return Status::Error("config key '" + key + ".outlier_prob': must be in [0, 1)");
  }
  return Status::Ok();
}

Status CheckEstimator(const proto::RangeEstimator& e, const std::string& key) {
  PTQ_RETURN_IF_ERROR(OneOf(e.preset(), kEstimatorPresets, key + ".preset"));
  PTQ_RETURN_IF_ERROR(CheckEstimatorSide(e.min(), key + ".min"));
  return CheckEstimatorSide(e.max(), key + ".max");
}

Status CheckOverride(const proto::QuantizerOverride& o, const std::string& key) {
  if (o.has_bits() && o.bits() < 2) {
    return Status::Error("config key '" + key + ".bits': must be >= 2, got " +
                         std::to_string(o.bits()));
  }
  if (o.has_bits() && o.bits() > 32) {
    return Status::Error("config key '" + key + ".bits': must be <= 32, got " +
                         std::to_string(o.bits()));
  }
  PTQ_RETURN_IF_ERROR(OneOf(o.mode(), kModes, key + ".mode"));
  PTQ_RETURN_IF_ERROR(OneOf(o.granularity(), kGranularities, key + ".granularity"));
  if (o.has_level_low() && o.has_level_high() && o.level_low() >= o.level_high()) {
    return Status::Error("config key '" + key + ".level_low': must be below level_high");
  }
  return CheckEstimator(o.range_estimator(), key + ".range_estimator");
}

Status CheckMetric(const proto::MetricConfig& m, const std::string& key) {
  if (m.type().empty()) {
    return Status::Error("config key '" + key +
                         ".type' is required; expected one of: " + List(kMetricTypes));
  }
  PTQ_RETURN_IF_ERROR(OneOf(m.type(), kMetricTypes, key + ".type"));
  if (m.type() == "top_k" && (!m.has_top_k() || m.top_k() < 1)) {
    return Status::Error("config key '" + key + ".top_k': required (>= 1) for type top_k");
  }
  if ((m.type() == "ctc_exact_match" || m.type() == "character_error_rate") &&
      m.dictionary().empty()) {
    return Status::Error("config key '" + key + ".dictionary': required for type " + m.type());
  }
  return Status::Ok();
}

Status CheckAlgorithm(const proto::Algorithm& a, const std::string& key) {
  const std::string& name = a.name();
  if (name.empty()) {
    return Status::Error("config key '" + key +
                         ".name' is required; expected one of: " + List(SupportedAlgorithms()));
  }
  if (Contains(kUnsupportedAlgorithms, name)) {
    return Status::Error("config key '" + key + ".name': POT's " + name +
                         " is not supported by ptqflow; supported: " + List(SupportedAlgorithms()));
  }
  PTQ_RETURN_IF_ERROR(OneOf(name, SupportedAlgorithms(), key + ".name"));
  const proto::AlgorithmParams& p = a.params();
  const std::string pk = key + ".params";
  const bool aaq = name == "AccuracyAwareQuantization";
  if (!aaq) {
    std::vector<const pb::FieldDescriptor*> set;
    p.GetReflection()->ListFields(p, &set);
    for (const pb::FieldDescriptor* f : set) {
      if (f->number() >= kFirstAaqField) {
        return Status::Error("config key '" + pk + "." + f->name() + "': not a parameter of " +
                             name + " (it belongs to AccuracyAwareQuantization)");
      }
    }
  }
  PTQ_RETURN_IF_ERROR(OneOf(p.preset(), kPresets, pk + ".preset"));
  if (p.has_stat_subset_size() && p.stat_subset_size() < 1) {
    return Status::Error("config key '" + pk + ".stat_subset_size': must be >= 1");
  }
  if (p.has_stat_batch_size() && p.stat_batch_size() != 1) {
    return Status::Error("config key '" + pk +
                         ".stat_batch_size': ptqflow collects statistics per sample; only 1 is "
                         "supported (POT's default)");
  }
  if (p.has_use_layerwise_tuning() && p.use_layerwise_tuning()) {
    return Status::Error("config key '" + pk +
                         ".use_layerwise_tuning': layer-wise fine-tuning (QuantizeModelFinetuning,"
                         " torch in POT) is not supported by ptqflow");
  }
  PTQ_RETURN_IF_ERROR(OneOf(p.saturation_fix(), kSaturationFix, pk + ".saturation_fix"));
  PTQ_RETURN_IF_ERROR(OneOf(p.model_type(), kModelTypes, pk + ".model_type"));
  if (Contains(kUnsupportedDevices, p.target_device())) {
    return Status::Error("config key '" + pk + ".target_device': " + p.target_device() +
                         " has no hardware config in ptqflow; supported: " + List(kDevices));
  }
  PTQ_RETURN_IF_ERROR(OneOf(p.target_device(), kDevices, pk + ".target_device"));
  PTQ_RETURN_IF_ERROR(CheckEstimator(p.range_estimator(), pk + ".range_estimator"));
  PTQ_RETURN_IF_ERROR(CheckOverride(p.weights(), pk + ".weights"));
  PTQ_RETURN_IF_ERROR(CheckOverride(p.activations(), pk + ".activations"));
  for (int i = 0; i < p.ignored().operations_size(); ++i) {
    if (p.ignored().operations(i).type().empty()) {
      return Status::Error("config key '" + pk + ".ignored.operations[" + std::to_string(i) +
                           "].type' is required");
    }
  }
  if (aaq) {
    if (p.has_maximal_drop() && p.maximal_drop() < 0) {
      return Status::Error("config key '" + pk + ".maximal_drop': must be >= 0");
    }
    PTQ_RETURN_IF_ERROR(OneOf(p.drop_type(), kDropTypes, pk + ".drop_type"));
    if (p.has_metric_subset_ratio() &&
        !(p.metric_subset_ratio() > 0 && p.metric_subset_ratio() <= 1)) {
      return Status::Error("config key '" + pk + ".metric_subset_ratio': must be in (0, 1]");
    }
    if (p.has_ranking_subset_size() && p.ranking_subset_size() < 1) {
      return Status::Error("config key '" + pk + ".ranking_subset_size': must be >= 1");
    }
    if (!p.base_algorithm().empty() && p.base_algorithm() != "DefaultQuantization") {
      return Status::Error("config key '" + pk +
                           ".base_algorithm': only DefaultQuantization is supported");
    }
    for (int i = 0; i < p.metrics_size(); ++i) {
      if (p.metrics(i).name().empty()) {
        return Status::Error("config key '" + pk + ".metrics[" + std::to_string(i) +
                             "].name' is required");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& SupportedAlgorithms() {
  static const Names* names =
      new Names{"DefaultQuantization", "MinMaxQuantization", "ActivationChannelAlignment",
                "FastBiasCorrection",  "BiasCorrection",     "AccuracyAwareQuantization"};
  return *names;
}

Status ValidateRunConfig(const proto::RunConfig& c) {
  if (c.model().model().empty()) {
    return Status::Error("config key 'model.model' is required (the .xml or .onnx model)");
  }
  const proto::EngineSection& e = c.engine();
  if (e.type() == "accuracy_checker" || !e.config().empty()) {
    return Status::Error(
        "config key 'engine.type': the Accuracy Checker engine is not supported by ptqflow; "
        "use \"type\": \"simplified\" with \"data_source\", or describe the data in "
        "\"engine.dataset\" (image, audio, text, tensor or idx loader) with \"metrics\"");
  }
  if (e.type() == "data_free") {
    return Status::Error("config key 'engine.type': data-free quantization is not supported");
  }
  PTQ_RETURN_IF_ERROR(OneOf(e.type(), kEngineTypes, "engine.type"));
  const bool simplified = e.type() == "simplified";
  if (simplified && e.data_source().empty()) {
    return Status::Error("config key 'engine.data_source' is required with the simplified engine");
  }
  if (simplified && e.has_dataset()) {
    return Status::Error(
        "config keys 'engine.dataset' and the simplified engine exclude each other (the "
        "simplified engine reads engine.data_source)");
  }
  if (!simplified && !e.has_dataset()) {
    return Status::Error(
        "config key 'engine.dataset' is required (or \"type\": \"simplified\" with "
        "\"data_source\")");
  }
  PTQ_RETURN_IF_ERROR(OneOf(e.layout(), kLayouts, "engine.layout"));
  if (e.has_stat_requests_number() && e.stat_requests_number() < 1) {
    return Status::Error("config key 'engine.stat_requests_number': must be >= 1");
  }
  for (int i = 0; i < e.metrics_size(); ++i) {
    PTQ_RETURN_IF_ERROR(CheckMetric(e.metrics(i), "engine.metrics[" + std::to_string(i) + "]"));
  }
  const proto::CompressionSection& cs = c.compression();
  if (Contains(kUnsupportedDevices, cs.target_device())) {
    return Status::Error("config key 'compression.target_device': " + cs.target_device() +
                         " has no hardware config in ptqflow; supported: " + List(kDevices));
  }
  PTQ_RETURN_IF_ERROR(OneOf(cs.target_device(), kDevices, "compression.target_device"));
  PTQ_RETURN_IF_ERROR(OneOf(cs.model_type(), kModelTypes, "compression.model_type"));
  if (cs.algorithms_size() == 0) {
    return Status::Error(
        "config key 'compression.algorithms': at least one algorithm is "
        "required, e.g. [{\"name\": \"DefaultQuantization\"}]");
  }
  for (int i = 0; i < cs.algorithms_size(); ++i) {
    PTQ_RETURN_IF_ERROR(
        CheckAlgorithm(cs.algorithms(i), "compression.algorithms[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Result<proto::RunConfig> ParseRunConfig(const std::string& text, const std::string& source) {
  PTQ_ASSIGN_OR_RETURN(JsonValue json, ParseJson(text, source));
  proto::RunConfig config;
  PTQ_RETURN_IF_ERROR(JsonToMessage(json, &config, "", source));
  Status st = ValidateRunConfig(config);
  if (!st.ok()) return Status::Error(source + ": " + st.message());
  return config;
}

Result<proto::RunConfig> ReadRunConfig(const std::filesystem::path& path) {
  PTQ_ASSIGN_OR_RETURN(JsonValue json, ReadJsonFile(path));
  proto::RunConfig config;
  PTQ_RETURN_IF_ERROR(JsonToMessage(json, &config, "", path.string()));
  Status st = ValidateRunConfig(config);
  if (!st.ok()) return Status::Error(path.string() + ": " + st.message());
  return config;
}

Result<proto::RunConfig> PotTemplate(const std::string& mode) {
  if (mode != "default" && mode != "accuracy_aware") {
    return Status::Error("-q: unknown mode '" + mode + "' (expected default or accuracy_aware)");
  }
  proto::RunConfig c;
  c.mutable_compression()->set_target_device("ANY");
  proto::Algorithm* a = c.mutable_compression()->add_algorithms();
  proto::AlgorithmParams* p = a->mutable_params();
  p->set_preset("performance");
  p->set_stat_subset_size(300);
  if (mode == "default") {
    a->set_name("DefaultQuantization");
  } else {
    a->set_name("AccuracyAwareQuantization");
    p->set_maximal_drop(0.01);
    p->set_tune_hyperparams(false);
  }
  return c;
}

}  // namespace ptqflow::io
