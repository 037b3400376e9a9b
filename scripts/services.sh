#!/usr/bin/env bash
# Make sure a NATS server (JetStream) and a Redis server are reachable for the demo.
# Reuses servers already listening on the configured ports; otherwise starts private
# ones on loopback with the project's nats.conf, in $DAA_RUN_DIR (default .daa-run/).
#   scripts/services.sh up     start what is missing, print the URLs as env lines
#   scripts/services.sh down   stop what this script started
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${DAA_RUN_DIR:-$PWD/.daa-run}
NATS_PORT=${DAA_DEMO_NATS_PORT:-4222}
REDIS_PORT=${DAA_DEMO_REDIS_PORT:-6379}
mkdir -p "$RUN_DIR"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done
  echo "services: nothing listens on port $1 after 10 s" >&2; return 1
}

up() {
  if listening "$NATS_PORT"; then
    echo "services: using the NATS server on 127.0.0.1:$NATS_PORT" >&2
  else
    echo "services: starting nats-server on 127.0.0.1:$NATS_PORT (store $RUN_DIR/jetstream)" >&2
    nats-server -c nats.conf -a 127.0.0.1 -p "$NATS_PORT" -m 0 -sd "$RUN_DIR/jetstream" \
      -l "$RUN_DIR/nats.log" </dev/null >/dev/null 2>&1 &
    echo $! > "$RUN_DIR/nats.pid"
    wait_port "$NATS_PORT"
  fi
  if listening "$REDIS_PORT"; then
    echo "services: using the Redis server on 127.0.0.1:$REDIS_PORT" >&2
  else
    echo "services: starting redis-server on 127.0.0.1:$REDIS_PORT (dir $RUN_DIR)" >&2
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR" --save "" \
      --appendonly yes --daemonize yes --pidfile "$RUN_DIR/redis.pid" \
      --logfile "$RUN_DIR/redis.log" </dev/null >/dev/null 2>&1
    wait_port "$REDIS_PORT"
  fi
  echo "DAA_NATS_URL=nats://127.0.0.1:$NATS_PORT"
  echo "DAA_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
}

down() {
  for f in nats redis; do
    if [ -f "$RUN_DIR/$f.pid" ]; then
      kill "$(cat "$RUN_DIR/$f.pid")" 2>/dev/null || true
      rm -f "$RUN_DIR/$f.pid"
    fi
  done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
