#!/usr/bin/env bash
# The main job end to end: install what is missing, start NATS and Redis if none is
# reachable, build, start the fleet (coordinator + workers), submit the sample
# documents through NATS, print their results, stop the fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
RUN_DIR=${DAA_RUN_DIR:-$PWD/.daa-run}
mkdir -p "$RUN_DIR/logs"

scripts/deps.sh
echo "demo: building (cargo build --workspace --bins)"
cargo build --quiet --workspace --bins
BIN="$CARGO_TARGET_DIR/debug"

eval "$(scripts/services.sh up | sed 's/^/export /')"
# nats.conf's client roles (a server without authentication ignores them).
export DAA_NATS_USER=admin DAA_NATS_PASSWORD=daa-admin
export DAA_COORDINATOR_HTTP_ADDR=""

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/services.sh down
}
trap cleanup EXIT

"$BIN/daa-coordinator" 2> "$RUN_DIR/logs/coordinator.log" & pids+=($!)
"$BIN/daa-structured-worker" 2> "$RUN_DIR/logs/structured.log" & pids+=($!)
"$BIN/daa-quality-worker" 2> "$RUN_DIR/logs/quality.log" & pids+=($!)
"$BIN/daa-web-worker" 2> "$RUN_DIR/logs/web.log" & pids+=($!)
"$BIN/daa-pdf-worker" 2> "$RUN_DIR/logs/pdf.log" & pids+=($!)
OMP_THREAD_LIMIT=1 "$BIN/daa-image-worker" 2> "$RUN_DIR/logs/image.log" & pids+=($!)
"$BIN/daa-neural-worker" 2> "$RUN_DIR/logs/neural.log" & pids+=($!)

echo "demo: waiting for the workers' heartbeats"
for _ in $(seq 1 100); do
  n=$("$BIN/daa" inspect agents --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
  [ "$n" -ge 6 ] && break
  sleep 0.2
done
"$BIN/daa" inspect agents

echo
echo "demo: submitting samples/* through NATS and waiting for the results"
"$BIN/daa" submit --wait samples/* || true
echo
echo "demo: samples/notes.txt with classification, entities and embeddings (neural worker)"
"$BIN/daa" submit --wait --require text,classify,entities,embeddings --json samples/notes.txt \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("  class:", d["classification"] and d["classification"]["label"], "| language:", d["language"], "| chunks:", len(d["chunks"]), "| entities:", [(e["kind"], e["text"]) for e in d["entities"]])'
echo
echo "demo: the result document of samples/inventory.csv (JSON, as any client gets it):"
"$BIN/daa" submit --wait --json samples/inventory.csv > "$RUN_DIR/inventory.json"
python3 -m json.tool "$RUN_DIR/inventory.json" | sed -n '1,40p'
echo "  ... (whole document in $RUN_DIR/inventory.json)"
echo
echo "demo: done (logs in $RUN_DIR/logs)"
