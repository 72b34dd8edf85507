#include "stages/run_options.h"

#include <algorithm>
#include <fstream>

#include "io/config/dataset_config.h"
#include "io/data/image_dataset.h"
#include "io/hardware_config_reader.h"

namespace ptqflow::stages {
namespace {

// Prefixes a parse error with the config key it came from.
template <typename T>
Result<T> Keyed(Result<T> r, const std::string& key) {
  if (r.ok()) return r;
  return Status::Error("config key '" + key + "': " + r.status().message());
}

Status SideFromProto(const proto::EstimatorSide& p, const std::string& key,
                     quant::EstimatorSideConfig* side) {
  if (!p.type().empty()) {
    PTQ_ASSIGN_OR_RETURN(side->type, Keyed(quant::ParseStatType(p.type()), key + ".type"));
  }
  if (!p.aggregator().empty()) {
    PTQ_ASSIGN_OR_RETURN(side->aggregator,
                         Keyed(quant::ParseAggregator(p.aggregator()), key + ".aggregator"));
  }
  if (p.has_outlier_prob()) side->outlier_prob = p.outlier_prob();
  if (p.has_clipping_value()) side->clipping_value = p.clipping_value();
  if (!p.granularity().empty()) {
    PTQ_ASSIGN_OR_RETURN(side->granularity,
                         Keyed(quant::ParseGranularity(p.granularity()), key + ".granularity"));
  }
  return Status::Ok();
}

// Applies the keys set in `p` on top of `*config`.
Status EstimatorFromProto(const proto::RangeEstimator& p, const std::string& key,
                          quant::RangeEstimatorConfig* config) {
  if (!p.preset().empty()) config->preset = p.preset();
  PTQ_RETURN_IF_ERROR(SideFromProto(p.min(), key + ".min", &config->min));
  return SideFromProto(p.max(), key + ".max", &config->max);
}

Status OverrideFromProto(const proto::QuantizerOverride& p, const std::string& key,
                         quant::QuantConfigOverride* o) {
  if (p.has_bits()) o->bits = p.bits();
  if (!p.mode().empty()) {
    PTQ_ASSIGN_OR_RETURN(o->mode, Keyed(quant::ParseQuantMode(p.mode()), key + ".mode"));
  }
  if (!p.granularity().empty()) {
    PTQ_ASSIGN_OR_RETURN(o->granularity,
                         Keyed(quant::ParseGranularity(p.granularity()), key + ".granularity"));
  }
  if (p.has_level_low()) o->level_low = p.level_low();
  if (p.has_level_high()) o->level_high = p.level_high();
  return Status::Ok();
}

Result<std::vector<std::string>> ReadDictionary(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) return Status::Error("config key '" + key + "': cannot read dictionary '" + path + "'");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (lines.empty())
    return Status::Error("config key '" + key + "': dictionary '" + path + "' is empty");
  return lines;
}

// AccuracyAwareQuantization's params and metrics (after o->metrics is filled).
Status AccuracyAwareFromProto(const proto::RunConfig& config, const std::string& pk,
                              RunOptions* o) {
  const proto::AlgorithmParams& p = config.compression().algorithms(0).params();
  quant::AccuracyAwareOptions& a = o->accuracy_aware_options;
  if (p.has_maximal_drop()) a.maximal_drop = p.maximal_drop();
  PTQ_ASSIGN_OR_RETURN(a.drop_type, Keyed(quant::ParseDropType(p.drop_type()), pk + ".drop_type"));
  if (p.has_max_iter_num()) a.max_iter_num = p.max_iter_num();
  if (p.has_ranking_subset_size()) a.ranking_subset_size = p.ranking_subset_size();
  if (p.has_metric_subset_ratio()) a.metric_subset_ratio = p.metric_subset_ratio();
  if (p.has_use_prev_if_drop_increase())
    a.use_prev_if_drop_increase = p.use_prev_if_drop_increase();
  if (p.has_tune_hyperparams()) a.tune_hyperparams = p.tune_hyperparams();
  if (p.has_convert_to_mixed_preset()) a.convert_to_mixed_preset = p.convert_to_mixed_preset();
  if (p.has_seed()) a.seed = p.seed();
  if (p.has_annotation_free() && p.annotation_free()) {
    return Status::Error("config key '" + pk +
                         ".annotation_free': not supported by ptqflow; use an annotation-free "
                         "metric in engine.metrics instead (top1_agreement, sqnr or cosine "
                         "compare with the FP32 model)");
  }
  if (o->metrics.empty()) {
    return Status::Error(
        "config key 'engine.metrics': AccuracyAwareQuantization needs at least one metric "
        "(e.g. {\"name\": \"accuracy\", \"type\": \"accuracy\"}, or top1_agreement without "
        "labels); with -q accuracy_aware use a config file (-c) that lists them");
  }
  auto metric_name = [&](size_t i) {
    return o->metrics[i].name.empty() ? o->metrics[i].type : o->metrics[i].name;
  };
  if (p.metrics_size() == 0) {
    for (int i = 0; i < config.engine().metrics_size(); ++i) {
      RunOptions::AaqMetricChoice c;
      c.metric = static_cast<size_t>(i);
      if (config.engine().metrics(i).has_baseline_value()) {
        c.baseline = config.engine().metrics(i).baseline_value();
      }
      o->accuracy_aware_metrics.push_back(c);
    }
    return Status::Ok();
  }
  for (int j = 0; j < p.metrics_size(); ++j) {
    const proto::MetricConfig& mc = p.metrics(j);
    const std::string key = pk + ".metrics[" + std::to_string(j) + "].name";
    size_t found = o->metrics.size();
    for (size_t i = 0; i < o->metrics.size(); ++i) {
      if (metric_name(i) == mc.name()) found = i;
    }
    if (found == o->metrics.size()) {
      std::string names;
      for (size_t i = 0; i < o->metrics.size(); ++i) names += " " + metric_name(i);
      return Status::Error("config key '" + key + "': no metric named '" + mc.name() +
                           "' in engine.metrics (names:" + names + ")");
    }
    RunOptions::AaqMetricChoice c;
    c.metric = found;
    if (mc.has_baseline_value()) {
      c.baseline = mc.baseline_value();
    } else if (config.engine().metrics(static_cast<int>(found)).has_baseline_value()) {
      c.baseline = config.engine().metrics(static_cast<int>(found)).baseline_value();
    }
    o->accuracy_aware_metrics.push_back(c);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RunOptions>> MakeRunOptions(const proto::RunConfig& config) {
  auto o = std::make_unique<RunOptions>();
  const proto::ModelSection& m = config.model();
  o->model = m.model();
  o->weights = m.weights();
  o->model_name = m.model_name().empty() ? o->model.stem().string() : m.model_name();
  o->input_shapes.assign(m.input_shape().begin(), m.input_shape().end());
  o->freeze_inputs.assign(m.freeze_input().begin(), m.freeze_input().end());

  const proto::CompressionSection& cs = config.compression();
  if (cs.algorithms_size() == 0) {
    return Status::Error("config key 'compression.algorithms': no algorithm");
  }
  for (const proto::Algorithm& a : cs.algorithms()) {
    if (a.name() == "AccuracyAwareQuantization" && cs.algorithms_size() > 1) {
      return Status::Error(
          "config key 'compression.algorithms': AccuracyAwareQuantization must be the only "
          "algorithm (it runs DefaultQuantization itself)");
    }
    o->algorithms.push_back(a.name());
  }
  o->accuracy_aware = o->algorithms[0] == "AccuracyAwareQuantization";
  // One set of params drives the run: POT's configs list either DefaultQuantization or
  // AccuracyAwareQuantization (whose params go to its base algorithm), or the parts of
  // DefaultQuantization that share the same params.
  const proto::AlgorithmParams& p = cs.algorithms(0).params();
  const std::string pk = "compression.algorithms[0].params";
  if (p.has_stat_subset_size()) o->selection.subset_size = p.stat_subset_size();
  if (p.has_shuffle_data()) o->selection.shuffle = p.shuffle_data();
  if (p.has_seed()) o->selection.seed = p.seed();

  o->target_device = !p.target_device().empty()    ? p.target_device()
                     : !cs.target_device().empty() ? cs.target_device()
                                                   : "ANY";
  std::string model_type = !p.model_type().empty() ? p.model_type() : cs.model_type();
  if (model_type == "None") model_type.clear();

  PTQ_ASSIGN_OR_RETURN(std::string hw_file, Keyed(quant::HardwareConfigFileName(o->target_device),
                                                  "compression.target_device"));
  PTQ_ASSIGN_OR_RETURN(quant::HardwareConfigSpec spec,
                       io::ReadHardwareConfigFile(quant::HardwareConfigDir() / hw_file));
  PTQ_ASSIGN_OR_RETURN(quant::HardwareConfig hw,
                       quant::FlattenHardwareConfig(spec, o->target_device));
  o->hardware = std::make_unique<quant::HardwareConfig>(std::move(hw));

  quant::PlacementOptions& pl = o->placement;
  pl.hardware = o->hardware.get();
  pl.target_device = o->target_device;
  PTQ_ASSIGN_OR_RETURN(
      pl.preset,
      Keyed(quant::ResolvePreset(p.preset().empty() ? "performance" : p.preset(), o->target_device),
            pk + ".preset"));
  PTQ_RETURN_IF_ERROR(OverrideFromProto(p.weights(), pk + ".weights", &pl.weights));
  PTQ_RETURN_IF_ERROR(OverrideFromProto(p.activations(), pk + ".activations", &pl.activations));
  pl.ignored.scope.assign(p.ignored().scope().begin(), p.ignored().scope().end());
  for (const proto::IgnoredOperation& op : p.ignored().operations()) {
    quant::IgnoredOperation io;
    io.type = op.type();
    for (const auto& [k, v] : op.attributes()) io.attributes.emplace_back(k, v);
    std::sort(io.attributes.begin(), io.attributes.end());
    pl.ignored.operations.push_back(std::move(io));
  }
  pl.ignored.skip_model = p.ignored().skip_model();
  pl.model_type = model_type;

  quant::DefaultQuantizationOptions& d = o->algorithm_options;
  d.minmax.target_device = o->target_device;
  if (!p.saturation_fix().empty()) {
    PTQ_ASSIGN_OR_RETURN(
        d.minmax.saturation_fix,
        Keyed(quant::ParseSaturationFix(p.saturation_fix()), pk + ".saturation_fix"));
  }
  PTQ_RETURN_IF_ERROR(EstimatorFromProto(p.range_estimator(), pk + ".range_estimator",
                                         &d.minmax.activations_range_estimator));
  PTQ_RETURN_IF_ERROR(EstimatorFromProto(p.activations().range_estimator(),
                                         pk + ".activations.range_estimator",
                                         &d.minmax.activations_range_estimator));
  PTQ_RETURN_IF_ERROR(EstimatorFromProto(p.weights().range_estimator(),
                                         pk + ".weights.range_estimator",
                                         &d.minmax.weights_range_estimator));
  if (p.has_use_fast_bias()) d.use_fast_bias = p.use_fast_bias();
  if (p.has_threshold()) {
    d.fast_bias.threshold = static_cast<float>(p.threshold());
    d.bias_correction.threshold = static_cast<float>(p.threshold());
  }
  if (p.has_apply_for_all_nodes()) {
    d.fast_bias.apply_for_all_nodes = p.apply_for_all_nodes();
    d.bias_correction.apply_for_all_nodes = p.apply_for_all_nodes();
  }
  d.bias_correction.stat_subset_size = o->selection.subset_size;

  for (int i = 0; i < config.engine().metrics_size(); ++i) {
    const proto::MetricConfig& mc = config.engine().metrics(i);
    const std::string key = "engine.metrics[" + std::to_string(i) + "]";
    quant::MetricSpec spec;
    spec.name = mc.name();
    spec.type = mc.type();
    if (mc.has_top_k()) spec.top_k = mc.top_k();
    if (mc.has_threshold()) spec.threshold = mc.threshold();
    spec.output = mc.output();
    if (!mc.dictionary().empty()) {
      PTQ_ASSIGN_OR_RETURN(spec.dictionary, ReadDictionary(mc.dictionary(), key + ".dictionary"));
      if (!mc.has_use_space_char() || mc.use_space_char()) spec.dictionary.push_back(" ");
    }
    Status st = quant::Metric::Create(spec).status();
    if (!st.ok()) return Status::Error("config key '" + key + "': " + st.message());
    o->metrics.push_back(std::move(spec));
  }
  if (o->accuracy_aware) PTQ_RETURN_IF_ERROR(AccuracyAwareFromProto(config, pk, o.get()));
  return o;
}

Result<std::shared_ptr<const io::Dataset>> OpenRunDataset(const proto::RunConfig& config,
                                                          const graph::Graph& model) {
  const proto::EngineSection& e = config.engine();
  if (e.type() != "simplified") return io::OpenDataset(e.dataset(), "engine.dataset");
  const auto params = model.parameters();
  if (params.size() != 1) {
    return Status::Error("engine 'simplified' needs a model with one image input; this one has " +
                         std::to_string(params.size()) +
                         " inputs (describe them in "
                         "engine.dataset instead)");
  }
  const graph::Node& in = model.node(params[0]);
  const graph::PartialShape& shape = in.outputs[0].shape;
  if (!shape.rank_known() || shape.rank() != 4) {
    return Status::Error("engine 'simplified': input " + graph::Describe(in) +
                         " is not a 4-D image tensor (shape " + shape.ToString() + ")");
  }
  io::ImageDatasetOptions o;
  o.source = e.data_source();
  o.input_name = in.name;
  std::string layout = e.layout();
  if (layout.empty()) {
    const int64_t last = shape[3];
    layout = (last == 1 || last == 3) && shape[1] != 1 && shape[1] != 3 ? "NHWC" : "NCHW";
  }
  const bool nhwc = layout == "NHWC" || layout == "HWC";
  o.layout = nhwc ? io::Layout::kNhwc : io::Layout::kNchw;
  const int64_t c = nhwc ? shape[3] : shape[1], h = nhwc ? shape[1] : shape[2],
                w = nhwc ? shape[2] : shape[3];
  if (h <= 0 || w <= 0) {
    return Status::Error("engine 'simplified': input " + graph::Describe(in) +
                         " has a dynamic height or width; fix it with --input-shape");
  }
  o.height = static_cast<int>(h);
  o.width = static_cast<int>(w);
  o.color = c == 1 ? io::ColorOrder::kGray : io::ColorOrder::kBgr;
  PTQ_ASSIGN_OR_RETURN(auto ds, io::ImageDataset::Create(o));
  return std::shared_ptr<const io::Dataset>(std::move(ds));
}

}  // namespace ptqflow::stages
