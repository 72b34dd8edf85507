// Helpers shared by the test suites: where the shared material, the fetched real models and the
// ptqflow binary are, and small builders. A test that needs a missing resource FAILS with a
// message saying what is missing and how to get it; it never passes silently.
#pragma once

#include <filesystem>
#include <string>

#include "graph/graph.h"

namespace ptqflow::testing {

// $PTQFLOW_SHARED_DIR, else <source>/../shared. Fails the current test if absent.
std::filesystem::path SharedDir();
// $PTQFLOW_MODELS_DIR, else <source>/.cache/models (filled by scripts/fetch_models.sh).
std::filesystem::path ModelsDir();
// Path of a fetched model file (e.g. "ch_PP-OCRv4_rec_infer.onnx"); fails the test if absent.
std::filesystem::path ModelPath(const std::string& file);
// The ptqflow executable built with the tests.
std::filesystem::path PtqflowBinary();
// A fresh empty directory under the test temp dir, unique per test.
std::filesystem::path TempDir();
// Runs a shell command; returns its exit code and puts stdout+stderr in *output.
int RunCommand(const std::string& cmd, std::string* output);

}  // namespace ptqflow::testing
