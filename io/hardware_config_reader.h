// Reads a POT-style hardware config JSON file (comments allowed, as POT's jstyleson reader)
// into quant::HardwareConfigSpec, the file as written; quant::FlattenHardwareConfig then
// expands it. Only the plain structs of quant/hardware_config.h are used here (header only),
// so this library does not link ptqflow::quant.
//
// Errors name the file, the line:column and the key: missing "operations", an operation
// without "type", a parameter that is not an integer, string or list of those, an attribute
// that is neither a string nor a list of integer lists.
//
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <string>

#include "graph/status.h"
#include "io/json.h"
#include "quant/hardware_config.h"

namespace ptqflow::io {

Result<quant::HardwareConfigSpec> HardwareConfigSpecFromJson(const JsonValue& root,
                                                             const std::string& source);
Result<quant::HardwareConfigSpec> ReadHardwareConfigFile(const std::filesystem::path& path);

}  // namespace ptqflow::io
