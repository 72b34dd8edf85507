// ptqflow quantize (also `ptqflow -c CONFIG` / `ptqflow -q default -m MODEL ...` without a
// subcommand, as POT is invoked): see quantize.cc and `ptqflow --help`.
#pragma once

namespace ptqflow::cli {

// True when the command line asks for a quantization run without naming the subcommand.
bool QuantizeRequested();
int Quantize(int argc, char** argv);

}  // namespace ptqflow::cli
