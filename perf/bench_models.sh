#!/bin/sh
# Median latency of ptqflow's executor vs ONNX Runtime on every real model (1 and 2 threads,
# same inputs), with the ratio ptqflow/ORT. Needs the fetched models (scripts/fetch_models.sh),
# node and onnxruntime-node in $PTQFLOW_ORT_DIR (default <repo>/.cache/ort).
# usage: perf/bench_models.sh [build-dir] [extra exec_bench args, e.g. --repeat 30]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-perf}
[ $# -gt 0 ] && shift
export PTQFLOW_ORT_DIR=${PTQFLOW_ORT_DIR:-$ROOT/.cache/ort}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPTQFLOW_BUILD_PERF=ON >/dev/null
cmake --build "$BUILD" -j2 --target exec_bench >/dev/null
"$BUILD/perf/exec_bench" --source-dir "$ROOT" "$@"
