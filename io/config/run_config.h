// Loading and validating a run configuration: POT's JSON config file (pot-spec §10.1: `model`,
// `engine`, `compression`; comments allowed) or POT's template for `-q default|accuracy_aware`
// filled from flags, into proto::RunConfig (proto/run_config.proto).
//
// Validation happens before anything runs and reports the first problem with its key path:
//   * unknown keys (with the nearest valid key) and wrong types — by the filler;
//   * algorithm names: POT's names ptqflow implements (DefaultQuantization, MinMaxQuantization,
//     ActivationChannelAlignment, FastBiasCorrection, BiasCorrection,
//     AccuracyAwareQuantization); POT's other names are refused as "not supported by ptqflow";
//     anything else gets the nearest name;
//   * parameters that belong to another algorithm (AccuracyAwareQuantization's keys under
//     DefaultQuantization, ...); AccuracyAwareQuantization accepts every key, since POT passes
//     its params on to the base algorithm;
//   * values: presets, target devices, model types, modes, granularities, estimator types and
//     aggregators, saturation_fix, drop_type, engine type, metric types; ranges (bits >= 2,
//     0 <= outlier_prob < 1, maximal_drop >= 0, 0 < metric_subset_ratio <= 1, subset sizes >= 1,
//     level_low < level_high);
//   * required keys: model.model; engine.data_source for the simplified engine; engine.dataset
//     for the ptqflow engine; at least one algorithm; maximal_drop for
//     AccuracyAwareQuantization is optional (POT's default 0.01).
//
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <string>

#include "graph/status.h"
#include "proto/run_config.pb.h"

namespace ptqflow::io {

// Reads a JSON config file (errors name the file, the line and the key path) and validates it.
Result<proto::RunConfig> ReadRunConfig(const std::filesystem::path& path);

// Parses config text (`source` names it in messages) and validates it.
Result<proto::RunConfig> ParseRunConfig(const std::string& text, const std::string& source);

// POT's templates for `-q default` and `-q accuracy_aware` (pot-spec §10.2): DefaultQuantization
// (or AccuracyAwareQuantization with maximal_drop 0.01 and tune_hyperparams false), preset
// performance, stat_subset_size 300, target_device ANY. `mode` is "default" or "accuracy_aware".
Result<proto::RunConfig> PotTemplate(const std::string& mode);

// The checks listed above, on a config built in code or from flags.
Status ValidateRunConfig(const proto::RunConfig& config);

// The algorithm names ptqflow implements, in POT's spelling.
const std::vector<std::string>& SupportedAlgorithms();

}  // namespace ptqflow::io
