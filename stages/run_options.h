// From a validated run config (proto::RunConfig, io/config/run_config.h) to the plain option
// structs of every part of a quantization run: model reading, the calibration dataset and its
// selection, FQ placement, the algorithms, the statistics engine and the metrics.
//
// Decisions where POT's config is silent or ptqflow differs (documented for users in README):
//   * target_device: the algorithm's `target_device`, else compression.target_device, else ANY;
//     model_type likewise ("None" means none);
//   * the params-level `range_estimator` applies to activations; `activations.range_estimator`
//     overrides it key by key; weights use only `weights.range_estimator`;
//   * stat_subset_size absent = the whole dataset (POT); shuffle_data with `seed` (default 0);
//   * ignored-operation attributes are matched in name order (proto maps have no order);
//   * AccuracyAwareQuantization must be the only algorithm and needs engine.metrics; its
//     `metrics` param selects them by name (baseline_value from there or from the engine
//     metric); annotation_free is refused (use an annotation-free metric: top1_agreement, sqnr,
//     cosine); the diff subset is drawn with `seed`;
//   * engine `simplified`: the image loader with POT's simplified-engine behaviour (imread
//     BGR, or gray for a 1-channel input, resize to the model's H x W, no normalisation),
//     layout from engine.layout, else NCHW unless the model input's last dimension is 1 or 3.
//
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "io/data/dataset.h"
#include "proto/run_config.pb.h"
#include "quant/accuracy_aware.h"
#include "quant/default_quantization.h"
#include "quant/hardware_config.h"
#include "quant/metrics.h"
#include "quant/placement.h"

namespace ptqflow::stages {

struct RunOptions {
  std::string model_name;  // model.model_name, else the model file's stem
  std::filesystem::path model;
  std::filesystem::path weights;
  std::vector<std::string> input_shapes;   // "x[1,3,48,320]"
  std::vector<std::string> freeze_inputs;  // "sr=16000"

  io::SelectionOptions selection;  // stat_subset_size / shuffle_data / seed of the first algorithm
  std::vector<std::string> algorithms;  // names, in config order
  std::string target_device = "ANY";
  // Owned here: placement.hardware points at it (do not copy RunOptions; move it or keep it in
  // a unique_ptr).
  std::unique_ptr<quant::HardwareConfig> hardware;
  quant::PlacementOptions placement;
  quant::DefaultQuantizationOptions algorithm_options;
  std::vector<quant::MetricSpec> metrics;  // engine.metrics (dictionaries loaded)

  // AccuracyAwareQuantization (then the only algorithm; its params also drive the base
  // DefaultQuantization above). The metrics it optimises: indices into `metrics` (all of them,
  // or those its `metrics` param names) with their baseline_value when given.
  bool accuracy_aware = false;
  quant::AccuracyAwareOptions accuracy_aware_options;
  struct AaqMetricChoice {
    size_t metric = 0;
    std::optional<double> baseline;
  };
  std::vector<AaqMetricChoice> accuracy_aware_metrics;
};

// Converts and loads what the config names (hardware config of the device, CTC dictionaries).
// Relative paths are relative to the current directory, as in POT. Errors name the config key.
Result<std::unique_ptr<RunOptions>> MakeRunOptions(const proto::RunConfig& config);

// The calibration dataset of the run: engine.dataset through io::OpenDataset, or the
// simplified engine's image folder sized for `model`'s (single) image input.
Result<std::shared_ptr<const io::Dataset>> OpenRunDataset(const proto::RunConfig& config,
                                                          const graph::Graph& model);

}  // namespace ptqflow::stages
