#!/usr/bin/env bash
# ONNX Runtime latency, FP32 model vs ptqflow's QDQ export, for each real CNN with a QDQ export.
#
# usage: perf/qdq_bench.sh BUILD_DIR [THREADS] [REPEAT]
#   BUILD_DIR  a build with tests (ptq_io_onnx_shared_tests); the QDQ models are produced by the
#              Fashion-MNIST QDQ test (DefaultQuantization, 300 calibration images) and kept in
#              BUILD_DIR/qdq_models (skip that step by setting QDQ_MODELS=DIR with *_qdq.onnx).
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

if [[ -z "${QDQ_MODELS:-}" ]]; then
  echo "exporting QDQ models with $build/tests/ptq_io_onnx_shared_tests ..." >&2
  PTQFLOW_QDQ_KEEP_DIR="$models" "$build/tests/ptq_io_onnx_shared_tests" \
    --gtest_filter='QdqFmnist.*' >"$models.log" 2>&1 ||
    { echo "the QDQ export test failed; see $models.log" >&2; exit 1; }
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

median_ms() {  # model input.npy
  node "$root/perf/ort_run.js" --model "$1" --input "input=$2" --threads "$threads" \
    --repeat "$repeat" | sed -n 's/.*"median_ms":\([0-9.e+-]*\).*/\1/p'
}

printf "%-32s %12s %12s %10s\n" "model (ONNX Runtime, $threads thr)" "FP32 ms" "QDQ INT8 ms" "FP32/INT8"
for spec in "fmnist_cnn:1 1 28 28" "fmnist_mobilenetv2_w0.5:1 1 32 32"; do
  name="${spec%%:*}"
  dims="${spec#*:}"
  fp32="$shared/models/$name.onnx"
  qdq="$models/${name}_qdq.onnx"
  [[ -f "$qdq" ]] || { echo "missing $qdq" >&2; exit 1; }
  # shellcheck disable=SC2086
  make_npy "$tmp/$name.npy" $dims
  a="$(median_ms "$fp32" "$tmp/$name.npy")"
  b="$(median_ms "$qdq" "$tmp/$name.npy")"
  printf "%-32s %12.4f %12.4f %10.2f\n" "$name" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
