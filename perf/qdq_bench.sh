#!/usr/bin/env bash
# ONNX Runtime latency, FP32 model vs ptqflow's QDQ export, for each real CNN with a QDQ export.
#
# usage: perf/qdq_bench.sh BUILD_DIR [THREADS] [REPEAT]
#   BUILD_DIR  a build of ptqflow; the QDQ models are exported with `BUILD_DIR/cli/ptqflow
#              --output-format onnx` (Fashion-MNIST CNN and MobileNetV2 from ../shared/models on
#              Debian's Fashion-MNIST, PP-OCRv4 rec with samples/configs/pp_ocrv4_rec.json on
#              ../shared/data/ocr-lines) into BUILD_DIR/qdq_models (skip that step by setting
#              QDQ_MODELS=DIR with <model>_qdq.onnx files).
#   THREADS    ONNX Runtime intra-op threads (default 1)
#   REPEAT     timed runs after one warm-up; the median is reported (default 200)
# Needs node and npm onnxruntime-node in $PTQFLOW_ORT_DIR (default <repo>/.cache/ort).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: perf/qdq_bench.sh BUILD_DIR [THREADS] [REPEAT]}"
threads="${2:-1}"
repeat="${3:-200}"
shared="${PTQFLOW_SHARED_DIR:-$root/../shared}"
models="${QDQ_MODELS:-$build/qdq_models}"

cache="${PTQFLOW_MODELS_DIR:-$root/.cache/models}"
fmnist=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [[ -z "${QDQ_MODELS:-}" ]]; then
  # The QDQ models exactly as users get them: `ptqflow --output-format onnx` (DefaultQuantization,
  # performance preset, 300 calibration samples).
  echo "exporting QDQ models with $build/cli/ptqflow into $models ..." >&2
  mkdir -p "$models"
  export_qdq() {  # name, then ptqflow arguments
    local name="$1"
    shift
    "$build/cli/ptqflow" "$@" -d --output-dir "$models/$name" --output-format onnx \
      --progress-bar=false >"$models/$name.log" 2>&1 ||
      { echo "export of $name failed; see $models/$name.log" >&2; exit 1; }
    cp "$models/$name/optimized/"*.onnx "$models/${name}_qdq.onnx"
  }
  opts=normalize=true,mean=0.2860,std=0.3530
  export_qdq fmnist_cnn -q default -m "$shared/models/fmnist_cnn.onnx" --data-type idx \
    --data-source "$fmnist" --data-option "$opts"
  export_qdq fmnist_mobilenetv2_w0.5 -q default -m "$shared/models/fmnist_mobilenetv2_w0.5.onnx" \
    --data-type idx --data-source "$fmnist" --data-option "$opts,border=2"
  sed -e "s#\.\./shared/#$shared/#g" -e "s#\.cache/models/#$cache/#g" \
    "$root/samples/configs/pp_ocrv4_rec.json" >"$models/pp_ocrv4_rec.json"
  export_qdq ch_PP-OCRv4_rec_infer -c "$models/pp_ocrv4_rec.json"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A float32 .npy of the given shape filled with a fixed pattern (batch 1 inference).
make_npy() {  # file dims...
  python3 - "$@" <<'EOF'
import struct, sys
f, dims = sys.argv[1], [int(d) for d in sys.argv[2:]]
n = 1
for d in dims: n *= d
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in dims)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(f, "wb") as o:
    o.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
    o.write(struct.pack("<%df" % n, *[((i * 37) % 101) / 50.0 - 1.0 for i in range(n)]))
EOF
}

median_ms() {  # model input.npy input-name
  node "$root/perf/ort_run.js" --model "$1" --input "$3=$2" --threads "$threads" \
    --repeat "$repeat" | sed -n 's/.*"median_ms":\([0-9.e+-]*\).*/\1/p'
}

printf "%-32s %12s %12s %10s\n" "model (ONNX Runtime, $threads thr)" "FP32 ms" "QDQ INT8 ms" "FP32/INT8"
for spec in "fmnist_cnn:$shared/models:input:1 1 28 28" \
  "fmnist_mobilenetv2_w0.5:$shared/models:input:1 1 32 32" \
  "ch_PP-OCRv4_rec_infer:$cache:x:1 3 48 320"; do
  IFS=: read -r name dir input dims <<<"$spec"
  fp32="$dir/$name.onnx"
  qdq="$models/${name}_qdq.onnx"
  [[ -f "$qdq" ]] || { echo "missing $qdq" >&2; exit 1; }
  # shellcheck disable=SC2086
  make_npy "$tmp/$name.npy" $dims
  a="$(median_ms "$fp32" "$tmp/$name.npy" "$input")"
  b="$(median_ms "$qdq" "$tmp/$name.npy" "$input")"
  printf "%-32s %12.4f %12.4f %10.2f\n" "$name" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
