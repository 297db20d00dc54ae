#!/usr/bin/env bash
# High-availability benchmark: ingest and notification fan-out of tocsin alone on SQLite, three
# tocsin replicas sharing one Redis, and Alertmanager gossip pairs and trios, in one run.
# See bench/README.md ("High availability") for the method. Usage:
#   bench/ha.sh [--tocsin PATH] [--alertmanager PATH] [--groups N] [--duration N]
#               [--repeat N] [--no-build] [-h]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOCSIN=""
AM_BIN=/usr/bin/prometheus-alertmanager
BUILD=1
NGROUPS=2000  # fan-out: distinct alertnames, one group each
DURATION=5    # seconds per ingest window
WARMUP=2
REPEAT=3      # ingest windows per setup; the best one is kept
CONNS=8       # ingest connections to each replica
SERVER_CPU=0  # every server process (replicas, Redis) shares this core
GEN_CPU=1     # load generators and the webhook sink
PEER_TIMEOUT=15 # Alertmanager's --cluster.peer-timeout default: replica k waits k x this
QUIET=10      # fan-out ends after this many seconds without a notification...
MAX_WAIT=300  # ...or after this many
IDLE=5        # seconds of idle replicas measured before each fan-out

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --tocsin) TOCSIN="${2:?}"; BUILD=0; shift 2 ;;
    --alertmanager) AM_BIN="${2:?}"; shift 2 ;;
    --groups) NGROUPS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "ha: unknown option $1" >&2; usage 2 ;;
  esac
done
for v in NGROUPS DURATION REPEAT; do
  case "${!v}" in ''|*[!0-9]*|0) echo "ha: --groups, --duration and --repeat take positive counts" >&2; exit 2 ;; esac
done

log() { printf 'ha: %s\n' "$*" >&2; }

for t in cc curl taskset redis-server redis-cli python3; do
  command -v "$t" >/dev/null || { log "needs $t (bash scripts/setup.sh installs it)"; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then log "needs 2 CPUs (servers and load generator each get one)"; exit 1; fi
[ -x "$AM_BIN" ] || { log "no Alertmanager at $AM_BIN (apt-get install prometheus-alertmanager)"; exit 1; }

WORK="$(mktemp -d /tmp/tocsin-ha.XXXXXX)"
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p"); done
  PIDS=("${keep[@]:-}")
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

if [ -z "$TOCSIN" ]; then
  TOCSIN="$ROOT/build-release/tocsin"
  if [ "$BUILD" = 1 ]; then
    log "building tocsin (Release) in build-release/"
    if ! { cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DTN_BUILD_TESTS=OFF &&
      cmake --build "$ROOT/build-release" -j2 --target tocsin; } >"$WORK/build.log" 2>&1; then
      tail -20 "$WORK/build.log" >&2
      log "tocsin did not build"; exit 1
    fi
  fi
fi
[ -x "$TOCSIN" ] || { log "no tocsin binary at $TOCSIN (give --tocsin PATH)"; exit 1; }

# freeport VAR: a port the kernel hands out free, never the same one twice in a run (not called
# in a subshell, so that the list of ports taken survives).
declare -A USED_PORT
freeport() {
  local p i
  for i in $(seq 1 50); do
    p="$("$LG" freeport)"
    if [ -z "${USED_PORT[$p]:-}" ]; then USED_PORT[$p]=1; printf -v "$1" '%s' "$p"; return 0; fi
  done
  log "no free port"; return 1
}

SETUPS=(t1 t3 am2 am3)
declare -A LABEL=([t1]="tocsin x1 SQLite" [t3]="tocsin x3 Redis" [am2]="Alertmanager x2" [am3]="Alertmanager x3")
declare -A NREP=([t1]=1 [t3]=3 [am2]=2 [am3]=3)
declare -A SPIDS SPORTS SREDIS # replicas' PIDs and API ports, Redis PID (t3), space-separated

# wait_http PID PORT NAME: until /-/ready answers from that process.
wait_http() {
  local pid=$1 port=$2 name=$3 i
  for i in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -5 "$WORK/$name.log" >&2
      log "$name exited at start"; return 1
    fi
    if curl -fs -o /dev/null "http://127.0.0.1:$port/-/ready"; then
      kill -0 "$pid" 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  log "$name not ready on 127.0.0.1:$port after 15s"; return 1
}

REDIS_PORT=""
start_redis() { # start_redis SETUP: sets SREDIS[SETUP] and REDIS_PORT
  local s=$1 port dir pid i
  freeport port
  dir="$(mktemp -d "$WORK/redis-$s.XXXXXX")"
  taskset -c "$SERVER_CPU" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$dir" --daemonize no --loglevel warning >>"$WORK/redis-$s.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  SREDIS[$s]=$pid
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$WORK/redis-$s.log" >&2; log "redis-server exited at start"; return 1; }
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && { REDIS_PORT=$port; return 0; }
    sleep 0.1
  done
  log "redis-server not answering on 127.0.0.1:$port"; return 1
}

# start_setup SETUP CONFIG: starts every replica (and Redis for t3) pinned to SERVER_CPU, each with
# its own storage path and API port, and waits for /-/ready.
start_setup() {
  local s=$1 conf=$2 n=${NREP[$1]} i port cport pid store name
  local ports=() cports=() pids=() args
  for i in $(seq 1 "$n"); do
    freeport port; freeport cport
    ports+=("$port"); cports+=("$cport")
  done
  [ "$s" = t3 ] && start_redis "$s"
  for i in $(seq 0 $((n - 1))); do
    name="$s-$((i + 1))"
    port=${ports[$i]}
    store="$(mktemp -d "$WORK/store-$name.XXXXXX")"
    args=(--config.file="$conf" --storage.path="$store" --web.listen-address="127.0.0.1:$port"
      --log.level=warn)
    case "$s" in
      t1) GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$TOCSIN" "${args[@]}" >>"$WORK/$name.log" 2>&1 & ;;
      t3) GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$TOCSIN" "${args[@]}" \
            --cluster.redis-url="redis://127.0.0.1:$REDIS_PORT/0" --cluster.peer-name="$name" \
            >>"$WORK/$name.log" 2>&1 & ;;
      am*)
        local peers=() j
        for j in $(seq 0 $((n - 1))); do
          [ "$j" != "$i" ] && peers+=(--cluster.peer="127.0.0.1:${cports[$j]}")
        done
        GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$AM_BIN" "${args[@]}" \
          --cluster.listen-address="127.0.0.1:${cports[$i]}" "${peers[@]}" \
          >>"$WORK/$name.log" 2>&1 & ;;
    esac
    pid=$!
    PIDS+=("$pid")
    pids+=("$pid")
  done
  SPIDS[$s]="${pids[*]}"
  SPORTS[$s]="${ports[*]}"
  for i in $(seq 0 $((n - 1))); do wait_http "${pids[$i]}" "${ports[$i]}" "$s-$((i + 1))"; done
}

# wait_cluster SETUP: until every replica's /api/v2/status says the cluster is ready (gossip
# settled, or Redis connected and read back) and lists all replicas.
wait_cluster() {
  local s=$1 n=${NREP[$1]} port st i
  for port in ${SPORTS[$s]}; do
    for i in $(seq 1 900); do
      st="$(curl -fs "http://127.0.0.1:$port/api/v2/status" | python3 -c '
import json, sys
c = json.load(sys.stdin)["cluster"]
print(c.get("status"), len(c.get("peers") or []))' 2>/dev/null)" || st=""
      case "$st" in "disabled 0"|"ready $n") break ;; esac
      [ "$i" = 900 ] && { log "$s: replica on $port not settled after 90s: ${st:-no answer}"; return 1; }
      sleep 0.1
    done
  done
}

stop_setup() {
  local s=$1 pid
  for pid in ${SPIDS[$s]} ${SREDIS[$s]:-}; do stop_pid "$pid"; forget_pid "$pid"; done
  SREDIS[$s]=""
}

# all_pids SETUP: the replicas' PIDs, then Redis's if any, comma-separated
all_pids() { local l="${SPIDS[$1]}${SREDIS[$1]:+ ${SREDIS[$1]}}"; echo "${l// /,}"; }
cpu_ticks() { # cpu_ticks PID...: utime+stime summed over the processes, in clock ticks
  local sum=0 pid line rest
  for pid in "$@"; do
    read -r line <"/proc/$pid/stat"
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}
hwm_kb() { # hwm_kb PID...: peak RSS (VmHWM) summed, kB
  local sum=0 pid
  for pid in "$@"; do sum=$((sum + $(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"))); done
  echo "$sum"
}
kv() { # kv KEY "k=v k=v ...": value of KEY or "n/a"
  local v
  v="$(tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1)"
  echo "${v:-n/a}"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
calc() { awk "BEGIN { $1 }"; }

declare -A R # results: R[setup.key]

# ---- ingest ----
# All setups up side by side, idle but the one measured; windows interleaved setup by setup,
# round after round; each setup's best window (by alerts/s) is kept.
bench_ingest() {
  local s r warm out rate dead
  freeport dead
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
      - url: http://127.0.0.1:$dead/closed
EOF
  declare -A best
  for s in "${SETUPS[@]}"; do start_setup "$s" "$WORK/quiet.yml"; done
  for s in "${SETUPS[@]}"; do wait_cluster "$s"; best[$s]=-1; done
  for r in $(seq 1 "$REPEAT"); do
    warm=$WARMUP
    [ "$r" -gt 1 ] && warm=1
    for s in "${SETUPS[@]}"; do
      log "$s: ingest batch 64, $CONNS conns per replica, ${warm}s + ${DURATION}s, window $r/$REPEAT (load $(loadavg))"
      local pl="${SPORTS[$s]}"
      out="$(taskset -c "$GEN_CPU" "$LG" ingest --port "${pl// /,}" --server-pid "$(all_pids "$s")" \
        --batch 64 --conns "$CONNS" --warmup "$warm" --duration "$DURATION")" ||
        log "$s: ingest reported errors"
      log "  $out"
      rate="$(kv alerts_per_s "$out")"
      [ "$rate" = n/a ] && rate=0
      R[$s.in.all]="${R[$s.in.all]:-}${R[$s.in.all]:+ }$rate"
      if [ "$rate" -gt "${best[$s]}" ]; then best[$s]=$rate; R[$s.in.raw]=$out; fi
    done
  done
  for s in "${SETUPS[@]}"; do stop_setup "$s"; done
  for s in "${SETUPS[@]}"; do
    out="${R[$s.in.raw]}"
    local n=${NREP[$s]} alerts each cpu rcpu
    alerts="$(kv alerts "$out")"
    each="$(kv server_cpu_s_each "$out")"
    if [ "$each" = n/a ]; then cpu="$(kv server_cpu_s "$out")" rcpu=0
    else
      cpu="$(tr ',' '\n' <<<"$each" | head -n "$n" | awk '{ s += $1 } END { printf "%.2f", s }')"
      rcpu="$(tr ',' '\n' <<<"$each" | sed -n "$((n + 1))p")"
      rcpu=${rcpu:-0}
    fi
    R[$s.in.aps]="$(kv alerts_per_s "$out")"
    R[$s.in.apr]="$(calc "printf \"%.0f\", ${R[$s.in.aps]} / $n")"
    R[$s.in.cpu]=$cpu
    R[$s.in.rcpu]=$rcpu
    # per 1,000 posts (an alert posted to each of n replicas is n posts), and per 1,000 alerts
    # as Prometheus sends them, each to every replica
    R[$s.in.k]="$(calc "printf \"%.3f\", $cpu / $alerts * 1000")"
    R[$s.in.ka]="$(calc "printf \"%.3f\", $cpu / $alerts * 1000 * $n")"
    R[$s.in.kar]="$(calc "printf \"%.3f\", ($cpu + $rcpu) / $alerts * 1000 * $n")"
    R[$s.in.util]="$(kv server_cpu_util "$out")"
    R[$s.in.gen]="$(kv gen_cpu_util "$out")"
  done
}

# ---- fan-out ----
# Fresh replicas (and a fresh Redis) per setup, NGROUPS alerts with distinct alertnames posted to
# every replica at once, then the sink is watched until it has gone quiet.
MIN_WATCH=$((1 + PEER_TIMEOUT * 2 + QUIET)) # group_wait + the third AM replica's wait + quiet
bench_fanout() {
  local s=$1 sink sinkpid conf t0 t1 now last lines last_lines c0 c1 r0=0 r1=0 port pid
  local tick
  tick="$(getconf CLK_TCK)"
  freeport sink
  taskset -c "$GEN_CPU" "$LG" sink --port "$sink" >"$WORK/sink-$s.txt" 2>>"$WORK/sink-$s.log" &
  sinkpid=$!
  PIDS+=("$sinkpid")
  conf="$WORK/fanout-$s.yml"
  cat >"$conf" <<EOF
route:
  receiver: sink
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$sink/hook
EOF
  start_setup "$s" "$conf"
  wait_cluster "$s"
  # the replicas' background cost (gossip, heartbeats) over IDLE seconds, for context
  local i0
  # shellcheck disable=SC2086
  i0="$(cpu_ticks ${SPIDS[$s]})"
  sleep "$IDLE"
  # shellcheck disable=SC2086
  c0="$(cpu_ticks ${SPIDS[$s]})"
  R[$s.fo.idle]="$(calc "printf \"%.2f\", ($c0 - $i0) / $tick")"
  [ -n "${SREDIS[$s]:-}" ] && r0="$(cpu_ticks "${SREDIS[$s]}")"
  log "$s: fan-out, $NGROUPS groups posted to ${NREP[$s]} replicas (load $(loadavg))"
  t0=${EPOCHREALTIME/./}
  local posters=()
  for port in ${SPORTS[$s]}; do
    # startsAt now: every group waits its group_wait, so the replicas flush together
    taskset -c "$GEN_CPU" "$LG" load --port "$port" --count "$NGROUPS" --batch 64 --conns 4 \
      --alertname-prefix HaGroup --starts-ago 0 >"$WORK/post-$s-$port.txt" 2>&1 &
    posters+=("$!")
  done
  for pid in "${posters[@]}"; do
    wait "$pid" || { log "$s: posting failed: $(cat "$WORK"/post-"$s"-*.txt)"; return 1; }
  done
  t1=${EPOCHREALTIME/./}
  last=$t1 last_lines=0
  while :; do
    sleep 0.5
    now=${EPOCHREALTIME/./}
    lines=$(wc -l <"$WORK/sink-$s.txt")
    if [ "$lines" != "$last_lines" ]; then last_lines=$lines last=$now; fi
    if [ $((now - t0)) -ge $((MIN_WATCH * 1000000)) ] && [ $((now - last)) -ge $((QUIET * 1000000)) ]; then break; fi
    if [ $((now - t0)) -ge $((MAX_WAIT * 1000000)) ]; then log "$s: still receiving after ${MAX_WAIT}s"; break; fi
  done
  # shellcheck disable=SC2086
  c1="$(cpu_ticks ${SPIDS[$s]})"
  [ -n "${SREDIS[$s]:-}" ] && r1="$(cpu_ticks "${SREDIS[$s]}")"
  # shellcheck disable=SC2086
  R[$s.fo.rss]="$(hwm_kb ${SPIDS[$s]})"
  R[$s.fo.rrss]=0
  [ -n "${SREDIS[$s]:-}" ] && R[$s.fo.rrss]="$(hwm_kb "${SREDIS[$s]}")"
  R[$s.fo.watch]="$(calc "printf \"%.0f\", ($now - $t0) / 1e6")"
  stop_setup "$s"
  stop_pid "$sinkpid"
  forget_pid "$sinkpid"
  R[$s.fo.post]="$(calc "printf \"%.2f\", ($t1 - $t0) / 1e6")"
  R[$s.fo.cpu]="$(calc "printf \"%.2f\", ($c1 - $c0) / $tick")"
  R[$s.fo.rcpu]="$(calc "printf \"%.2f\", ($r1 - $r0) / $tick")"
  local stats n groups all lastn
  stats="$(awk -v t0="$t0" '
    { n++; t = $1 * 1e6 - t0; if (!($2 in first)) { first[$2] = t; d++; if (t > all) all = t }
      if (t > last) last = t; by[$3]++ }
    END { printf "%d %d %.2f %.2f", n, d, all / 1e6, last / 1e6
          for (u in by) printf " %s=%d", u, by[u]; printf "\n" }' "$WORK/sink-$s.txt")"
  read -r n groups all lastn _ <<<"$stats"
  R[$s.fo.n]=$n R[$s.fo.groups]=$groups R[$s.fo.all]=$all R[$s.fo.last]=$lastn
  R[$s.fo.by]="$(sender_names "$s" "$(cut -d' ' -f5- <<<"$stats")")"
  R[$s.fo.dup]=$((R[$s.fo.n] - R[$s.fo.groups]))
  log "  ${R[$s.fo.n]} notifications for ${R[$s.fo.groups]} groups, all groups by ${R[$s.fo.all]}s," \
    "last at ${R[$s.fo.last]}s; by sender: ${R[$s.fo.by]}"
}

# sender_names SETUP "URL=N ...": the replicas' names for their external URLs (http://host:port)
sender_names() {
  local s=$1 item url cnt port i out=()
  local -a ports
  read -r -a ports <<<"${SPORTS[$s]}"
  for item in $2; do
    url=${item%=*} cnt=${item##*=} port=${url##*:}
    for i in "${!ports[@]}"; do [ "${ports[$i]}" = "$port" ] && url="$s-$((i + 1))"; done
    out+=("$url=$cnt")
  done
  printf '%s\n' "${out[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

START_LOAD="$(loadavg)"
bench_ingest
for s in "${SETUPS[@]}"; do bench_fanout "$s"; done

# ---- report ----
ratio() { # ratio A B: A/B with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "n/a" }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
report() {
  local s
  echo "tocsin HA benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) CPUs, $(uname -r)"
  echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown);" \
    "alertmanager: $("$AM_BIN" --version 2>&1 | head -1);" \
    "redis: $(redis-server --version | sed 's/ sha=.*//')"
  echo "servers (all replicas and Redis) on CPU $SERVER_CPU (GOMAXPROCS=1), generators and sink on" \
    "CPU $GEN_CPU; ingest: batch 64, $CONNS connections per replica, every alert to every replica," \
    "${WARMUP}s warm-up + ${DURATION}s per window, best of $REPEAT interleaved windows;" \
    "fan-out: $NGROUPS groups, group_wait 1s, watched >= ${MIN_WATCH}s and until ${QUIET}s quiet"
  echo "load average at start: $START_LOAD; at end: $(loadavg)"
  echo
  echo "ingest (POST /api/v2/alerts, batch 64)"
  printf '%-18s %12s %10s %14s %15s %12s %9s\n' setup "a/s/replica" "a/s total" "CPU-s/1k posts" \
    "CPU-s/1k alerts" "+Redis" "core use"
  for s in "${SETUPS[@]}"; do
    printf '%-18s %12s %10s %14s %15s %12s %9s\n' "${LABEL[$s]}" "${R[$s.in.apr]}" "${R[$s.in.aps]}" \
      "${R[$s.in.k]}" "${R[$s.in.ka]}" "$( [ "$s" = t3 ] && echo "${R[$s.in.kar]}" || echo -)" \
      "${R[$s.in.util]}"
  done
  echo "(CPU-s: all replicas together; per 1k posts: per 1,000 alerts accepted, an alert posted to"
  echo " three replicas counting three times; per 1k alerts: per 1,000 alerts each sent to every"
  echo " replica, as Prometheus does; +Redis: the same with redis-server's CPU added; core use: of CPU $SERVER_CPU)"
  echo
  echo "fan-out ($NGROUPS groups, each alert posted to every replica)"
  printf '%-18s %8s %8s %6s %10s %10s %8s %10s %9s\n' setup groups notifs dups "all by s" "last at s" \
    CPU-s "peak MB" "Redis MB"
  for s in "${SETUPS[@]}"; do
    printf '%-18s %8s %8s %6s %10s %10s %8s %10s %9s\n' "${LABEL[$s]}" "${R[$s.fo.groups]}" \
      "${R[$s.fo.n]}" "${R[$s.fo.dup]}" "${R[$s.fo.all]}" "${R[$s.fo.last]}" "${R[$s.fo.cpu]}" \
      "$(mb "${R[$s.fo.rss]}")" "$( [ "$s" = t3 ] && mb "${R[$s.fo.rrss]}" || echo -)"
  done
  echo "(times from the first POST; CPU-s: all replicas from the first POST to the end of the"
  echo " watch; peak MB: VmHWM summed over replicas; Redis: CPU-s ${R[t3.fo.rcpu]} in the fan-out)"
  echo
  echo "ratios from this run"
  echo "  cost of sharing state, tocsin x3 Redis / tocsin x1 SQLite:"
  echo "    ingest a/s per replica $(ratio "${R[t3.in.apr]}" "${R[t1.in.apr]}")," \
    "CPU-s per 1k posts $(ratio "${R[t3.in.k]}" "${R[t1.in.k]}")," \
    "per 1k alerts $(ratio "${R[t3.in.ka]}" "${R[t1.in.ka]}") ($(ratio "${R[t3.in.kar]}" "${R[t1.in.ka]}") with Redis);" \
    "fan-out time $(ratio "${R[t3.fo.all]}" "${R[t1.fo.all]}")," \
    "CPU-s $(ratio "${R[t3.fo.cpu]}" "${R[t1.fo.cpu]}")," \
    "peak RSS $(ratio "${R[t3.fo.rss]}" "${R[t1.fo.rss]}")"
  echo "  tocsin x3 Redis / Alertmanager x3:"
  echo "    ingest a/s per replica $(ratio "${R[t3.in.apr]}" "${R[am3.in.apr]}")," \
    "CPU-s per 1k alerts $(ratio "${R[t3.in.ka]}" "${R[am3.in.ka]}") ($(ratio "${R[t3.in.kar]}" "${R[am3.in.ka]}") with Redis);" \
    "fan-out time $(ratio "${R[t3.fo.all]}" "${R[am3.fo.all]}")," \
    "CPU-s $(ratio "${R[t3.fo.cpu]}" "${R[am3.fo.cpu]}") ($(ratio "$(calc "print ${R[t3.fo.cpu]} + ${R[t3.fo.rcpu]}")" "${R[am3.fo.cpu]}") with Redis)," \
    "peak RSS $(ratio "${R[t3.fo.rss]}" "${R[am3.fo.rss]}") ($(ratio "$(calc "print ${R[t3.fo.rss]} + ${R[t3.fo.rrss]}")" "${R[am3.fo.rss]}") with Redis)"
  echo "  duplicates: tocsin x1 ${R[t1.fo.dup]}, tocsin x3 ${R[t3.fo.dup]}," \
    "Alertmanager x2 ${R[am2.fo.dup]}, Alertmanager x3 ${R[am3.fo.dup]}"
  echo
  echo "details:"
  for s in "${SETUPS[@]}"; do
    echo "  ${LABEL[$s]} ingest, alerts/s per window: ${R[$s.in.all]}; best: ${R[$s.in.raw]}"
  done
  for s in "${SETUPS[@]}"; do
    echo "  ${LABEL[$s]} fan-out: posted in ${R[$s.fo.post]}s, watched ${R[$s.fo.watch]}s," \
      "notifications by sender: ${R[$s.fo.by]}; idle replicas before: ${R[$s.fo.idle]} CPU-s in ${IDLE}s"
  done
  for s in "${SETUPS[@]}"; do
    [ "${R[$s.fo.groups]}" = "$NGROUPS" ] ||
      echo "warning: ${LABEL[$s]} notified ${R[$s.fo.groups]} of $NGROUPS groups"
    awk -v u="${R[$s.in.util]}" 'BEGIN { exit !(u != "n/a" && u + 0 < 0.9) }' &&
      echo "warning: ${LABEL[$s]} ingest used only ${R[$s.in.util]} of the server core: not CPU-bound (waiting on disk commits, or a busy machine)"
    awk -v u="${R[$s.in.gen]}" 'BEGIN { exit !(u != "n/a" && u + 0 > 0.9) }' &&
      echo "warning: the load generator used ${R[$s.in.gen]} of its core during ${LABEL[$s]}: it may be the bottleneck"
  done
  return 0
}
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/ha-$(date -u +%Y%m%dT%H%M%SZ).txt"
report | tee "$OUT"
log "results written to ${OUT#"$ROOT"/}"
