// Running POT's algorithms by name, as the `algorithms` list of POT's config allows:
// "DefaultQuantization" (the whole pipeline, quant/default_quantization.h) or each part on its
// own: "ActivationChannelAlignment", "MinMaxQuantization", "FastBiasCorrection",
// "BiasCorrection". The names run in list order on the same graph; need_rescale marks from an
// ActivationChannelAlignment earlier in the list reach a later MinMaxQuantization. (Running a
// bias corrector before the FQs are filled corrects against placeholder ranges, as POT would.)
//
// Every algorithm takes its own options struct with POT's defaults (see the headers); the
// JSON config is parsed elsewhere (io/) into these structs.
//
// Thread-safety: RunAlgorithms edits the graph it is given.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/default_quantization.h"

namespace ptqflow::quant {

// The names RunAlgorithms accepts, in POT's spelling.
const std::vector<std::string>& KnownAlgorithmNames();

// Runs `names` in order. An unknown name is an error naming `algorithms[i].name` before
// anything runs. `options` carries every algorithm's options (DefaultQuantizationOptions holds
// them all).
Result<QuantizationReport> RunAlgorithms(const std::vector<std::string>& names, graph::Graph* g,
                                         const QuantizationPlan& plan, Engine* engine,
                                         const DefaultQuantizationOptions& options);

}  // namespace ptqflow::quant
