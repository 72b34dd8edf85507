// Filling protobuf config messages from JSON config files and from command-line flags, with
// the errors a user needs: every message names the key path ("dataset.image.heigth") and the
// fact, and an unknown key suggests the nearest valid one ("did you mean 'height'?").
//
// One filler serves every config message (ARCHITECTURE rule 9: configs are protobuf at the
// edges), driven by the message descriptor:
//   * JSON keys are the proto field names (snake_case, as POT's config keys are);
//   * bool <- true/false; integers <- integral numbers in the field's range; float/double <-
//     numbers; string <- strings; repeated <- arrays (a scalar is refused: write [x]);
//     message <- object; enum <- the value's name, case-insensitively;
//   * a oneof may have at most one member set (error names both);
//   * null is refused (write nothing to keep the default).
// Flags set single fields by path: SetFieldFromString(msg, "image.height", "224"). Repeated
// fields take "[a,b,c]" or "a" (one element); booleans take true/false/1/0/yes/no.
//
// Thread-safety: pure functions over caller-owned messages.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "io/json.h"

namespace google::protobuf {
class Message;
}

namespace ptqflow::io {

// Merges `json` (an object) into `msg`. `path` is the key path of `json` in the whole config
// ("" at the top), used in messages; `source` (the file name) prefixes them when non-empty,
// with the line of the offending value.
Status JsonToMessage(const JsonValue& json, google::protobuf::Message* msg,
                     const std::string& path = "", const std::string& source = "");

// Sets the field at `path` (dot-separated field names, through nested messages, which are
// created) from its text form. `what` names the origin in errors (e.g. "--data-option").
Status SetFieldFromString(google::protobuf::Message* msg, std::string_view path,
                          std::string_view value, const std::string& what);

// Splits "k=v,k=[a,b],k=v" at top-level commas (commas inside [...] belong to the value).
// Errors: an item without '=', an empty key, unbalanced brackets, a repeated key.
Result<std::vector<std::pair<std::string, std::string>>> SplitOptionList(std::string_view spec,
                                                                         const std::string& what);

// The message as JSON (proto field names, fields in declaration order, unset optional fields
// omitted), e.g. to print the effective config.
std::string MessageToJson(const google::protobuf::Message& msg);

// The candidate closest to `key` by edit distance, or "" if none is close enough (distance
// more than max(2, |key|/2)).
std::string NearestName(std::string_view key, const std::vector<std::string>& candidates);

}  // namespace ptqflow::io
