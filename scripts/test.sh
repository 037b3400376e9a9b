#!/usr/bin/env bash
# The whole test suite: unit tests of every crate and the end-to-end, fault and
# cross-language tests, which start their own nats-server and redis-server on free
# loopback ports. Installs what is missing first. Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --workspace --bins
# libgomp reads this when libtesseract loads: one OpenMP thread per OCR engine.
export OMP_THREAD_LIMIT=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast -- --test-threads=2 2>&1 | tee "$log" || status=$?
read -r passed failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) }
  } END { print p + 0, f + 0 }' "$log")
echo
echo "Total: ${passed:-0} passed, ${failed:-0} failed"
exit $status
