// A human-readable summary of a model graph: inputs and outputs with shapes, op type counts,
// parameter count and constant bytes.
#pragma once

#include <string>

#include "graph/graph.h"

namespace ptqflow::cli {

std::string SummarizeGraph(const graph::Graph& g);

}  // namespace ptqflow::cli
