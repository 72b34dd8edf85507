#include "io/data/tensor_dataset.h"

#include <algorithm>

#include "io/data/npy.h"

namespace ptqflow::io {

namespace fs = std::filesystem;

Result<std::unique_ptr<TensorDataset>> TensorDataset::Create(const TensorDatasetOptions& options) {
  std::unique_ptr<TensorDataset> d(new TensorDataset(options));
  PTQ_ASSIGN_OR_RETURN(d->files_, ListDataFiles(options.source, options.source_kind,
                                                {".npy", ".npz", ".bin", ".raw"}));
  for (const auto& f : d->files_) {
    const std::string ext = LowerExtension(f);
    if (ext != ".npy" && ext != ".npz") {
      if (options.raw_type == graph::ElementType::kUndefined) {
        return Status::Error(f.string() +
                             ": raw tensor file but no raw element type/shape was given");
      }
      if (options.input_names.size() > 1) {
        return Status::Error(f.string() + ": a raw tensor file feeds one input, but " +
                             std::to_string(options.input_names.size()) + " were named");
      }
    } else if (ext == ".npy" && options.input_names.size() > 1) {
      return Status::Error(f.string() + ": a .npy file feeds one input, but " +
                           std::to_string(options.input_names.size()) +
                           " were named (use .npz for several inputs)");
    }
  }
  PTQ_ASSIGN_OR_RETURN(d->annotations_, FileAnnotations::Load(options.annotations, d->files_));
  return d;
}

Result<Sample> TensorDataset::Get(size_t i) const {
  if (i >= files_.size()) {
    return Status::Error("sample " + std::to_string(i) + " out of range (dataset " +
                         options_.source + " has " + std::to_string(files_.size()) + " files)");
  }
  const fs::path& f = files_[i];
  const std::string ctx = SampleContext(i, f.string());
  const std::string ext = LowerExtension(f);
  const std::string single = options_.input_names.empty() ? "" : options_.input_names[0];
  Sample s;
  if (ext == ".npy") {
    Result<graph::Tensor> t = ReadNpy(f);
    if (!t.ok()) return t.status().WithContext(ctx);
    s.inputs.emplace(single, std::move(t).value());
  } else if (ext == ".npz") {
    auto arrays = ReadNpz(f);
    if (!arrays.ok()) return arrays.status().WithContext(ctx);
    if (options_.input_names.empty()) {
      for (auto& [k, t] : *arrays) s.inputs.emplace(k, std::move(t));
    } else {
      for (const std::string& name : options_.input_names) {
        auto it = std::find_if(arrays->begin(), arrays->end(),
                               [&](const auto& kv) { return kv.first == name; });
        if (it == arrays->end()) {
          std::string have;
          for (const auto& kv : *arrays) have += (have.empty() ? "" : ", ") + kv.first;
          return Status::Error(ctx + ": .npz has no array for model input '" + name +
                               "' (arrays: " + have + ")");
        }
        s.inputs.emplace(name, it->second);
      }
    }
  } else {
    Result<graph::Tensor> t = ReadRawTensor(f, options_.raw_type, options_.raw_shape);
    if (!t.ok()) return t.status().WithContext(ctx);
    s.inputs.emplace(single, std::move(t).value());
  }
  s.annotation = annotations_.For(f);
  s.source = f.string();
  return s;
}

}  // namespace ptqflow::io
