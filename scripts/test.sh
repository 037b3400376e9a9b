#!/usr/bin/env bash
# The whole test suite: unit tests of every crate and the end-to-end, fault and
# cross-language tests, which start their own nats-server and redis-server on free
# loopback ports. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --workspace --bins
cargo test --workspace --no-fail-fast -- --test-threads=2
