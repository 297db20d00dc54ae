#!/usr/bin/env bash
# tocsin's benchmark suite: ingest throughput, memory per active alert and notification latency,
# measured for tocsin and for Alertmanager one after the other in the same run.
# See bench/README.md for the method. Usage:
#   bench/run.sh [--only alertmanager|tocsin] [--duration N] [--tocsin PATH]
#                [--alertmanager PATH] [--conns N] [--repeat N] [--no-build] [--no-latency]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ONLY=""
DURATION=5 # seconds per ingest window
WARMUP=2
CONNS=8
REPEAT=3 # ingest windows per server and batch size; the best one is kept
TOCSIN=""
AM_BIN=/usr/bin/prometheus-alertmanager
BUILD=1
LATENCY=1
MEM_ALERTS=100000
LAT_PROBES=200
SERVER_CPU=0 # the server's core; the load generator gets the other one
GEN_CPU=1

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --tocsin) TOCSIN="${2:?}"; BUILD=0; shift 2 ;;
    --alertmanager) AM_BIN="${2:?}"; shift 2 ;;
    --conns) CONNS="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-latency) LATENCY=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown option $1" >&2; usage 2 ;;
  esac
done
case "$ONLY" in ""|alertmanager|tocsin) ;; *) echo "bench: --only alertmanager|tocsin" >&2; exit 2 ;; esac
case "$DURATION" in ''|*[!0-9]*) echo "bench: --duration takes whole seconds" >&2; exit 2 ;; esac
case "$REPEAT" in ''|*[!0-9]*|0) echo "bench: --repeat takes a count" >&2; exit 2 ;; esac

log() { printf 'bench: %s\n' "$*" >&2; }

# ---- tools ----
for t in cc curl taskset; do
  command -v "$t" >/dev/null || { log "needs $t (bash scripts/setup.sh installs it)"; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then log "needs 2 CPUs (server and load generator each get one)"; exit 1; fi

WORK="$(mktemp -d /tmp/tocsin-bench.XXXXXX)"
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -std=c11 -Wall -Wextra -o "$WORK/loadgen" "$ROOT/bench/loadgen.c"
LG="$WORK/loadgen"

# ---- which servers ----
SERVERS=()
if [ "$ONLY" != tocsin ]; then
  [ -x "$AM_BIN" ] || { log "no Alertmanager at $AM_BIN (apt-get install prometheus-alertmanager)"; exit 1; }
  SERVERS+=(alertmanager)
fi
if [ "$ONLY" != alertmanager ]; then
  if [ -z "$TOCSIN" ]; then
    TOCSIN="$ROOT/build-release/tocsin"
    if [ "$BUILD" = 1 ]; then
      log "building tocsin (Release) in build-release/"
      if ! { cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DTN_BUILD_TESTS=OFF &&
        cmake --build "$ROOT/build-release" -j2 --target tocsin; } >"$WORK/build.log" 2>&1; then
        tail -20 "$WORK/build.log" >&2
        log "tocsin did not build"
        TOCSIN=""
      fi
    fi
  fi
  if [ -n "$TOCSIN" ] && [ -x "$TOCSIN" ]; then
    SERVERS+=(tocsin)
  elif [ "$ONLY" = tocsin ]; then
    log "no tocsin binary (give --tocsin PATH)"; exit 1
  else
    log "no tocsin binary: measuring Alertmanager only"
  fi
fi

bin_of() { if [ "$1" = tocsin ]; then echo "$TOCSIN"; else echo "$AM_BIN"; fi; }

# ---- configs ----
# Ingest and memory: group by alertname, long group_wait, webhook to a port nothing listens on,
# so no notification is attempted during the measurement.
DEAD_PORT="$("$LG" freeport)"
cat >"$WORK/quiet.yml" <<EOF
route:
  receiver: sink
  group_by: ['alertname']
  group_wait: 1h
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$DEAD_PORT/closed
EOF

SERVER_PID=""
SERVER_PORT=""
# start_server NAME CONFIG: starts NAME pinned to SERVER_CPU on a fresh port and storage path,
# waits for /-/ready, sets SERVER_PID and SERVER_PORT.
start_server() {
  local name=$1 conf=$2 bin port store i
  bin="$(bin_of "$name")"
  port="$("$LG" freeport)"
  store="$(mktemp -d "$WORK/store-$name.XXXXXX")"
  GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$bin" --config.file="$conf" --storage.path="$store" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn \
    >>"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_PORT=$port
  for i in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -5 "$WORK/$name.log" >&2
      log "$name exited at start"; return 1
    fi
    if curl -fs -o /dev/null "http://127.0.0.1:$port/-/ready"; then
      # make sure the answer came from our process, not from someone else on a reused port
      kill -0 "$SERVER_PID" 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  log "$name not ready on 127.0.0.1:$port after 15s"; return 1
}
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  stop_pid "$SERVER_PID"
  local keep=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" != "$SERVER_PID" ] && keep+=("$pid"); done
  PIDS=("${keep[@]:-}")
  SERVER_PID=""
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
kv() { # kv KEY "k=v k=v ...": value of KEY or "n/a"
  local v
  v="$(tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1)"
  echo "${v:-n/a}"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

declare -A R # results: R[server.key]

# Ingest: every server up at once (all idle but the one measured), windows interleaved
# server by server, round after round, so that each server sees the same mix of machine
# conditions; the best window of each is kept (interference only ever slows a window down).
bench_ingest() {
  local s b r out rate warm
  declare -A pid port best bestrate
  for s in "${SERVERS[@]}"; do
    start_server "$s" "$WORK/quiet.yml"
    pid[$s]=$SERVER_PID port[$s]=$SERVER_PORT
  done
  for b in 1 64; do
    for s in "${SERVERS[@]}"; do best[$s]="" bestrate[$s]=-1; done
    for r in $(seq 1 "$REPEAT"); do
      # the first window of a batch size warms the server up longer (heap growth, first inserts)
      warm=$WARMUP
      [ "$r" -gt 1 ] && warm=1
      for s in "${SERVERS[@]}"; do
        log "$s: ingest batch $b, $CONNS conns, ${warm}s + ${DURATION}s, window $r/$REPEAT (load $(loadavg))"
        out="$(taskset -c "$GEN_CPU" "$LG" ingest --port "${port[$s]}" --server-pid "${pid[$s]}" \
          --batch "$b" --conns "$CONNS" --warmup "$warm" --duration "$DURATION")" ||
          log "$s: ingest batch $b reported errors"
        log "  $out"
        R[$s.b$b.all]="${R[$s.b$b.all]:-}${R[$s.b$b.all]:+ }$(kv alerts_per_s "$out")"
        rate="$(kv alerts_per_s "$out")"
        [ "$rate" = n/a ] && rate=0
        if [ "$rate" -gt "${bestrate[$s]}" ]; then best[$s]=$out bestrate[$s]=$rate; fi
      done
    done
    for s in "${SERVERS[@]}"; do
      R[$s.b$b]="$(kv alerts_per_s "${best[$s]}")"
      R[$s.b$b.cpu]="$(kv alerts_per_cpu_s "${best[$s]}")"
      R[$s.b$b.util]="$(kv server_cpu_util "${best[$s]}")"
      R[$s.b$b.gen]="$(kv gen_cpu_util "${best[$s]}")"
      R[$s.b$b.raw]="${best[$s]}"
    done
  done
  for s in "${SERVERS[@]}"; do SERVER_PID=${pid[$s]}; stop_server; done
}

# bench_memory SERVER SHAPE: bytes per alert with loadgen's --shape (small or realistic); the
# results go to R[$s.bpa] (small) or R[$s.bpa_r] (realistic).
bench_memory() {
  local s=$1 shape=$2 base prev cur i out active k
  k=bpa
  [ "$shape" = realistic ] && k=bpa_r
  start_server "$s" "$WORK/quiet.yml"
  sleep 2 # let start-up allocations finish
  base="$(rss_kb "$SERVER_PID")"
  log "$s: memory, baseline RSS ${base} kB; loading $MEM_ALERTS alerts ($shape)"
  out="$(taskset -c "$GEN_CPU" "$LG" load --port "$SERVER_PORT" --count "$MEM_ALERTS" --batch 64 --conns 4 --shape "$shape")" ||
    log "$s: load reported errors: $out"
  log "  $out"
  # settle: sample once a second until RSS moves by less than 1% twice in a row (3-20 s)
  prev="$(rss_kb "$SERVER_PID")"
  local calm=0
  for i in $(seq 1 20); do
    sleep 1
    cur="$(rss_kb "$SERVER_PID")"
    if [ $(((cur > prev ? cur - prev : prev - cur) * 100)) -lt "$prev" ]; then calm=$((calm + 1)); else calm=0; fi
    prev=$cur
    [ "$i" -ge 3 ] && [ "$calm" -ge 2 ] && break
  done
  active="$(curl -fs "http://127.0.0.1:$SERVER_PORT/metrics" |
    awk '/^alertmanager_alerts\{state=/ {n += $2; seen = 1} END {if (seen) printf "%d", n}')" || true
  # Go's own view of its heap, when the server exports it (context for the RSS figure)
  R[$s.$k.heap]="$(curl -fs "http://127.0.0.1:$SERVER_PORT/metrics" |
    awk '/^go_memstats_heap_inuse_bytes / {printf "%d", $2 / 1024}')" || true
  # tocsin's own accounting of its heap, bytes per alert by part
  R[$s.$k.parts]="$(curl -fs "http://127.0.0.1:$SERVER_PORT/metrics" |
    awk -v n="$MEM_ALERTS" -F'[{}"= ]+' '/^tocsin_memory_bytes\{/ {printf "%s%s %d", sep, $3, $4 / n; sep = ", "}')" || true
  R[$s.$k.rss0]=$base
  R[$s.$k.rss1]=$cur
  R[$s.$k.active]="${active:-n/a}"
  R[$s.$k]=$(((cur - base) * 1024 / MEM_ALERTS))
  log "  RSS ${base} kB -> ${cur} kB, alerts held (metrics, all states): ${active:-n/a}, bytes/alert ${R[$s.$k]}"
  stop_server
}

bench_latency() {
  local s=$1 sink out
  sink="$("$LG" freeport)"
  cat >"$WORK/latency-$s.yml" <<EOF
route:
  receiver: sink
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$sink/hook
EOF
  start_server "$s" "$WORK/latency-$s.yml"
  log "$s: notification latency, $LAT_PROBES probes"
  out="$(taskset -c "$GEN_CPU" "$LG" latency --port "$SERVER_PORT" --sink-port "$sink" \
    --count "$LAT_PROBES" --timeout 5)" || log "$s: latency probes lost: $out"
  log "  $out"
  R[$s.p50]="$(kv median_ms "$out")"
  R[$s.p99]="$(kv p99_ms "$out")"
  R[$s.lost]="$(kv lost "$out")"
  stop_server
}

START_LOAD="$(loadavg)"
# Benchmark by benchmark, both servers in turn, so that the two measurements of each are close
# in time and share the machine's conditions as far as possible.
bench_ingest
for s in "${SERVERS[@]}"; do bench_memory "$s" small; done
for s in "${SERVERS[@]}"; do bench_memory "$s" realistic; done
if [ "$LATENCY" = 1 ]; then
  for s in "${SERVERS[@]}"; do bench_latency "$s"; done
fi

# ---- report ----
ratio() { # ratio A B: A/B with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "n/a" }'
}
report() {
  local s
  echo "tocsin benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) CPUs, $(uname -r)"
  echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown);" \
    "alertmanager: $("$AM_BIN" --version 2>&1 | head -1)"
  echo "server on CPU $SERVER_CPU (GOMAXPROCS=1), load generator on CPU $GEN_CPU; $CONNS keep-alive" \
    "connections; ${WARMUP}s warm-up + ${DURATION}s per ingest window, best of $REPEAT" \
    "interleaved windows;" \
    "10000 identities, 577 B of JSON/alert (realistic: $("$LG" size --shape realistic 2>/dev/null || echo '~760') B)"
  echo "load average at start: $START_LOAD; at end: $(loadavg)"
  echo
  printf '%-13s %12s %12s %12s %12s %11s %11s %11s %11s\n' server "batch1 a/s" "batch64 a/s" \
    "b1 a/CPU-s" "b64 a/CPU-s" "bytes/alert" "B/a realist" "lat p50 ms" "lat p99 ms"
  for s in "${SERVERS[@]}"; do
    printf '%-13s %12s %12s %12s %12s %11s %11s %11s %11s\n' "$s" "${R[$s.b1]}" "${R[$s.b64]}" \
      "${R[$s.b1.cpu]}" "${R[$s.b64.cpu]}" "${R[$s.bpa]}" "${R[$s.bpa_r]}" "${R[$s.p50]:-n/a}" \
      "${R[$s.p99]:-n/a}"
  done
  if [ "${#SERVERS[@]}" = 2 ]; then
    printf '%-13s %12s %12s %12s %12s %11s %11s %11s %11s\n' "tocsin/AM" \
      "$(ratio "${R[tocsin.b1]}" "${R[alertmanager.b1]}")" \
      "$(ratio "${R[tocsin.b64]}" "${R[alertmanager.b64]}")" \
      "$(ratio "${R[tocsin.b1.cpu]}" "${R[alertmanager.b1.cpu]}")" \
      "$(ratio "${R[tocsin.b64.cpu]}" "${R[alertmanager.b64.cpu]}")" \
      "$(ratio "${R[tocsin.bpa]}" "${R[alertmanager.bpa]}")" \
      "$(ratio "${R[tocsin.bpa_r]}" "${R[alertmanager.bpa_r]}")" \
      "$(ratio "${R[tocsin.p50]:-}" "${R[alertmanager.p50]:-}")" \
      "$(ratio "${R[tocsin.p99]:-}" "${R[alertmanager.p99]:-}")"
    echo "(throughput: higher is better; bytes/alert and latency: lower is better)"
  fi
  echo
  echo "details:"
  for s in "${SERVERS[@]}"; do
    echo "  $s ingest b1, alerts/s per window: ${R[$s.b1.all]}; best: ${R[$s.b1.raw]}"
    echo "  $s ingest b64, alerts/s per window: ${R[$s.b64.all]}; best: ${R[$s.b64.raw]}"
    for k in bpa bpa_r; do
      echo "  $s memory ($([ $k = bpa ] && echo small || echo realistic)): RSS ${R[$s.$k.rss0]} kB idle ->" \
        "${R[$s.$k.rss1]} kB with $MEM_ALERTS alerts (alerts held per /metrics: ${R[$s.$k.active]}" \
        "${R[$s.$k.heap]:+; Go heap in use ${R[$s.$k.heap]} kB}${R[$s.$k.parts]:+; heap B/alert by part: ${R[$s.$k.parts]}})"
    done
    if [ "$LATENCY" = 1 ]; then
      echo "  $s latency: p50 ${R[$s.p50]} ms, p99 ${R[$s.p99]} ms, lost ${R[$s.lost]}"
    fi
  done
  # a server that was not saturated measured the generator or the machine, not itself
  for s in "${SERVERS[@]}"; do
    for b in b1 b64; do
      awk -v u="${R[$s.$b.util]}" 'BEGIN { exit !(u != "n/a" && u + 0 < 0.9) }' &&
        echo "warning: $s $b used only ${R[$s.$b.util]} of its core: not server-bound (busy machine or generator?)"
      awk -v u="${R[$s.$b.gen]}" 'BEGIN { exit !(u != "n/a" && u + 0 > 0.9) }' &&
        echo "warning: the load generator used ${R[$s.$b.gen]} of its core during $s $b: it may be the bottleneck"
    done
  done
  return 0
}
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
report | tee "$OUT"
log "results written to ${OUT#"$ROOT"/}"
