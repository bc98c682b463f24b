#!/usr/bin/env bash
# Schemathesis against a live `waypost serve`: every response must be documented by the
# OpenAPI document the server itself publishes (status codes, content types, schemas,
# headers) and no request may cause a 5xx.
#
# Usage: scripts/schemathesis.sh            (from anywhere; works from the repo root)
# Env:   ST_MAX_EXAMPLES (default 100)  examples per operation
#        ST_SEED         (default 20261126) random seed, for reproducible runs
#        ST_TIMEOUT      (default 300)  wall-clock bound in seconds for the schemathesis run
#        ST_WORKERS      (default 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ST_VERSION_SPEC='schemathesis>=4,<5'
VENV="$ROOT/target/venv-st"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
SEED="${ST_SEED:-20261126}"
TIMEOUT="${ST_TIMEOUT:-300}"
WORKERS="${ST_WORKERS:-2}"

log() { printf '[schemathesis.sh] %s\n' "$*" >&2; }

# 1. Schemathesis, in a venv under target/ (kept between runs, never committed).
if [[ ! -x "$VENV/bin/st" ]]; then
    log "installing $ST_VERSION_SPEC into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$ST_VERSION_SPEC"
fi
log "$("$VENV/bin/st" --version)"

# 2. The server binary. Under ST_USE_TEST_BUILD=1 (set by .ci/run, right after
# `cargo test --workspace`) take the `waypost` binary that the test build made for the
# integration tests: `cargo build -p waypost` resolves dependency features without the
# dev-dependencies and would rebuild a dozen crates. Cargo's own artifact list names it, so it
# is never a stale file.
BIN=""
if [[ "${ST_USE_TEST_BUILD:-0}" == 1 ]]; then
    BIN="$(cargo test --workspace --no-run --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") == "waypost" \
            and "bin" in t.get("kind", []) and not m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])
        break
' || true)"
fi
if [[ -z "$BIN" || ! -x "$BIN" ]]; then
    cargo build -p waypost
    BIN="$ROOT/target/debug/waypost"
fi
log "server binary: $BIN"

# The binary reads every WAYPOST_* variable as configuration and refuses unknown keys, so keep
# CI's WAYPOST_TEST_* service URLs away from it.
SCRUB=()
for v in $(compgen -e); do
    if [[ "$v" == WAYPOST_TEST_* ]]; then SCRUB+=(-u "$v"); fi
done

# 3. A fresh store with one key of every scope.
WORK="$(mktemp -d -t waypost-st.XXXXXX)"
DATA="$WORK/data"
SERVER_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -s "$WORK/server.log" ]]; then
        log "server log (last 40 lines):"
        tail -n 40 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$DATA"
# Exception rules, so the seeded orders raise alerts (a delay, a missed promise) and the alert
# routes answer with real alerts, and so POST /v1/admin/reload has a file to read.
cat >"$WORK/waypost.toml" <<'TOML'
[[rules]]
name = "delayed"
kind = "event"
statuses = ["delayed", "exception"]
severity = "high"

[[rules]]
name = "promise-missed"
kind = "promise"
severity = "critical"

[[rules]]
name = "pending-4h"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "4h"
TOML
KEY="$(env "${SCRUB[@]}" "$BIN" keys create --tenant st --scopes ingest,read,admin --data-dir "$DATA")"
[[ "$KEY" == wp_* ]] || { log "keys create printed no key"; exit 1; }

# 4. The server, on a free loopback port.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
env "${SCRUB[@]}" WAYPOST_LOG__LEVEL="${WAYPOST_LOG__LEVEL:-warn}" "$BIN" serve --config "$WORK/waypost.toml" --data-dir "$DATA" --listen "127.0.0.1:$PORT" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
log "server pid $SERVER_PID on $BASE"

ready=""
for _ in $(seq 1 100); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "the server exited before it was ready"
        exit 1
    fi
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true)" == "200" ]]; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ -n "$ready" ]] || { log "the server was not ready within 20 s"; exit 1; }

# 5. Some data, so GETs can find orders and shipments.
seed() {
    local body="$1" code
    code="$(curl -s -o "$WORK/seed.out" -w '%{http_code}' -X POST "$BASE/v1/events" \
        -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data "$body")"
    if [[ "$code" != "202" ]]; then
        log "seeding failed with $code: $(cat "$WORK/seed.out")"
        exit 1
    fi
}
seed '{"source":"wms-east","event_id":"st-1","order_id":"ORD-1","status":"pending","occurred_at":"2026-11-20T09:00:00-05:00","attributes":{"channel":"web"}}'
seed '[
  {"source":"wms-east","event_id":"st-2","order_id":"ORD-1","status":"packed","occurred_at":"2026-11-20T12:00:00-05:00"},
  {"source":"ups","event_id":"st-3","order_id":"ORD-1","status":"in_transit","occurred_at":"2026-11-21T08:15:00-05:00",
   "tracking_number":"1Z999AA10123456784","carrier":"ups","service":"ground","raw_code":"I","raw_description":"In transit",
   "location":{"city":"Columbus","region":"OH","postal_code":"43215","country":"US","lat":39.96,"lon":-83.0},
   "origin":{"city":"Newark","country":"US"},"destination":{"city":"Chicago","region":"IL","country":"US"},
   "promised_at":"2026-11-24T20:00:00-05:00"},
  {"source":"fedex","event_id":"st-4","order_id":"ORD-2","status":"delayed","reason":"weather","occurred_at":"2026-11-22T10:00:00Z",
   "tracking_number":"794698123456","carrier":"fedex"},
  {"source":"ups","event_id":"st-5","order_id":"ORD-3","status":"delivered","occurred_at":"2026-11-23T16:40:00+01:00",
   "tracking_number":"1Z999AA10123456785","carrier":"ups"}
]'
# Give the pipeline a moment to apply them (ingest is durable on 202, applied asynchronously),
# and the detector to raise their alerts.
for _ in $(seq 1 50); do
    if curl -sf -H "Authorization: Bearer $KEY" "$BASE/v1/orders/ORD-3" >/dev/null \
        && curl -sf -H "Authorization: Bearer $KEY" "$BASE/v1/alerts" | grep -q '"order_id"'; then
        break
    fi
    sleep 0.1
done

# 6. Schemathesis. GET /v1/stream is an endless SSE response: not testable this way.
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
log "st run: checks=$CHECKS max-examples=$MAX_EXAMPLES seed=$SEED timeout=${TIMEOUT}s"
# From the temp dir: schemathesis and hypothesis write caches (.schemathesis/, .hypothesis/)
# into the working directory, and those must not land in the repository.
cd "$WORK"
run_st() {
    timeout --signal=INT --kill-after=30 "$TIMEOUT" \
        "$VENV/bin/st" run "$BASE/openapi.json" \
        --header "Authorization: Bearer $KEY" \
        --checks "$CHECKS" \
        --exclude-path /v1/stream \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --generation-database none \
        --workers "$WORKERS" \
        --request-timeout 10 \
        --continue-on-failure \
        --no-color \
        --report junit --report-dir "$ROOT/target/schemathesis-report" 2>&1 | tee "$WORK/st.out"
    return "${PIPESTATUS[0]}"
}
set +e
run_st
rc=$?
# Schemathesis itself sometimes stops on an error of its own while generating (seen: CPython's
# "AST constructor recursion depth mismatch" under Hypothesis), with every check passing. That
# says nothing of the server: run it once more. A failed check is never retried.
if [[ $rc -ne 0 && $rc -ne 124 && $rc -ne 130 && $rc -ne 137 ]] \
    && grep -q "Runtime Error" "$WORK/st.out" \
    && ! grep -Eq "FAILURES|[0-9]+ failed" "$WORK/st.out"; then
    log "schemathesis stopped on an internal error with no failed check; running it once more"
    run_st
    rc=$?
fi
set -e
if [[ $rc -eq 124 || $rc -eq 130 || $rc -eq 137 ]]; then
    log "schemathesis did not finish within ${TIMEOUT}s (exit $rc)"
    exit 1
fi
if [[ $rc -ne 0 ]]; then
    log "schemathesis found failures (exit $rc)"
    exit "$rc"
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "the server died during the run"
    exit 1
fi
log "schemathesis passed"
