#!/usr/bin/env bash
# Three nodes of one lineage (elder <- middle <- young), each in its own process, and a hub.
# A task from the shell goes to young/relay, which asks middle/relay, which asks elder/sage: three
# processes, four hops through the hub, every frame signed. Then everything stops cleanly.
#
#   Examples/hub/run.sh [path/to/loom]      (default: .build/release/loom, built if missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
loom="${1:-$root/.build/release/loom}"
if [ ! -x "$loom" ]; then (cd "$root" && swift build -c release --product loom); fi
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Each node needs a key to sign with (kept in NODE/.loom/identity, never committed).
for n in elder middle young; do
  [ -f "$here/$n/.loom/identity/node.key" ] || "$loom" keys init "$here/$n" >/dev/null
done
"$loom" hub serve --listen 127.0.0.1:7420 --data "$work/hub" > "$work/hub.out" 2> "$work/hub.err" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening" "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
cat "$work/hub.out"
for n in elder middle young; do
  "$loom" run "$here/$n" --serve 2> "$work/$n.err" &
  pids+=($!)
done
# Until all three are connected.
for _ in $(seq 100); do
  [ "$("$loom" hub nodes | grep -c ' connected')" -ge 3 ] && break
  sleep 0.1
done
"$loom" hub nodes
echo "asking young/relay through the hub:"
"$loom" ask young/relay "a question" --as "$here/young" --timeout 20
