// The dataset factory: a DatasetConfig (proto/dataset.proto, from the JSON config or from CLI
// flags) becomes one of the built-in loaders (io/data/*_dataset.h). Unset fields keep the
// loaders' documented defaults; every error names the config key ("dataset.image.layout") and
// the accepted values.
//
// From flags: --data-type image|audio|text|tensor|idx, --data-source PATH (the loader's
// `source`, or `images_file` for idx), --data-option "key=value,key=[a,b],..." (keys of that
// loader's message, e.g. height=224,width=224,layout=nchw,mean=[123.7,116.3,103.5]).
//
// Thread-safety: pure functions; the returned dataset is safe for concurrent Get().
#pragma once

#include <memory>
#include <string>

#include "graph/status.h"
#include "io/data/dataset.h"
#include "io/json.h"
#include "proto/dataset.pb.h"

namespace ptqflow::io {

// Fills a DatasetConfig from the "dataset" object of a JSON config (`path` is its key path in
// the file, e.g. "dataset", for messages; `source` the file name).
Result<proto::DatasetConfig> DatasetConfigFromJson(const JsonValue& json, const std::string& path,
                                                   const std::string& source);

// Fills a DatasetConfig from the three flags above. `type` must be set; `source` may be empty
// when the options name it.
Result<proto::DatasetConfig> DatasetConfigFromFlags(const std::string& type,
                                                    const std::string& source,
                                                    const std::string& options);

// Opens the configured loader (it lists and checks its files now: a missing folder, an empty
// file list or a missing vocab fails here, before any run). `path` prefixes key paths in
// messages ("dataset").
Result<std::shared_ptr<const Dataset>> OpenDataset(const proto::DatasetConfig& config,
                                                   const std::string& path = "dataset");

}  // namespace ptqflow::io
