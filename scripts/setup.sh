#!/usr/bin/env bash
# One-time set-up on a fresh Debian 12 machine (idempotent): installs every Debian package
# ptqflow builds, tests and demos with, then fetches the real models (scripts/fetch_models.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git ca-certificates clang-format nodejs npm
  libtbb-dev libpugixml-dev libeigen3-dev libopencv-dev libsndfile1-dev
  libprotobuf-dev protobuf-compiler libgflags-dev libgoogle-glog-dev libdnnl-dev libonnx-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # real data: Fashion-MNIST, speech WAVs, ONNX backend node tests; words and fonts for the
  # generated OCR text lines (samples/make_text_lines.cc)
  dataset-fashion-mnist pocketsphinx-testdata libonnx-testdata wamerican fonts-dejavu-core
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (e.g. nodesource): accept any working npm.
if command -v npm > /dev/null && command -v node > /dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: apt-get install ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" > /dev/null
fi
"$repo/scripts/fetch_models.sh"
