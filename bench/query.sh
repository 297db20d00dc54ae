#!/usr/bin/env bash
# Query-side benchmark for issue 3, tocsin and Alertmanager side by side:
#   inhibit:  GET /api/v2/alerts with 100,000 active alerts and 100 inhibit rules
#   silences: GET /api/v2/alerts with 10,000 alerts and 10,000 active silences
# Both servers hold the same state; GETs alternate between them (best of --repeat each),
# servers on CPU 0, curl on CPU 1; the ratio Alertmanager / tocsin is printed.
# Usage: bench/query.sh [--tocsin PATH] [--alertmanager PATH] [--alerts N] [--silences N]
#                       [--repeat N] [--only tocsin|alertmanager]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOCSIN="" # default: build-release/tocsin, built (Release) when missing, as bench/run.sh does
AM_BIN=/usr/bin/prometheus-alertmanager
ALERTS=100000
SILENCES=10000
REPEAT=5
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tocsin) TOCSIN="${2:?}"; shift 2 ;;
    --alertmanager) AM_BIN="${2:?}"; shift 2 ;;
    --alerts) ALERTS="${2:?}"; shift 2 ;;
    --silences) SILENCES="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --only) ONLY="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "query.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$TOCSIN" ]; then
  TOCSIN="$ROOT/build-release/tocsin"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DTN_BUILD_TESTS=OFF >/dev/null
  cmake --build "$ROOT/build-release" -j2 --target tocsin >/dev/null
fi
[ -x "$TOCSIN" ] || { echo "query.sh: no tocsin binary at $TOCSIN (use --tocsin)" >&2; exit 1; }

exec python3 - "$TOCSIN" "$AM_BIN" "$ALERTS" "$SILENCES" "$REPEAT" "$ONLY" <<'PY'
import http.client, json, os, socket, subprocess, sys, tempfile, time
from datetime import datetime, timedelta, timezone

tocsin, am, nalerts, nsil, repeat, only = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
NRULES = 100

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def config(rules):
    out = ["route:", "  receiver: none", "  group_by: [alertname]", "  group_wait: 1h",
           "  group_interval: 1h", "receivers:", "  - name: none"]
    if rules:
        out.append("inhibit_rules:")
        for k in range(NRULES):
            out += ['  - source_matchers: [alertname="A%d", severity="critical"]' % k,
                    '    target_matchers: [alertname="A%d", severity="warning"]' % ((k + 1) % NRULES),
                    "    equal: [cluster]"]
    return "\n".join(out) + "\n"

def start(kind, rules):
    d = tempfile.mkdtemp(prefix="tn-query-")
    cfg = os.path.join(d, "am.yml")
    open(cfg, "w").write(config(rules))
    port = free_port()
    args = ["taskset", "-c", "0", tocsin if kind == "tocsin" else am, "--config.file=" + cfg,
            "--web.listen-address=127.0.0.1:%d" % port, "--storage.path=" + d]
    if kind == "alertmanager":
        args += ["--cluster.listen-address="]
    log = open(os.path.join(d, "log"), "w")
    p = subprocess.Popen(args, stdout=log, stderr=log, env=dict(os.environ, GOMAXPROCS="1"))
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/-/ready"); r = c.getresponse(); r.read()
            if r.status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.05)
    p.kill(); raise SystemExit("%s did not start (see %s)" % (kind, d))

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

def post(port, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    if r.status != 200:
        raise SystemExit("POST %s: %d %s" % (path, r.status, data[:200]))
    return c

def post_alerts(port, n):
    now = datetime.now(timezone.utc)
    batch = []
    for i in range(n):
        q = i // NRULES  # critical in about one block of 37: the clusters of the sources
        batch.append({"labels": {"alertname": "A%d" % (i % NRULES), "cluster": "c%d" % (q % 50),
                                 "instance": "i%d" % i,
                                 "severity": "critical" if q % 37 == 0 else "warning"},
                      "startsAt": iso(now), "endsAt": iso(now + timedelta(hours=2))})
        if len(batch) == 1000:
            post(port, "/api/v2/alerts", batch); batch = []
    if batch:
        post(port, "/api/v2/alerts", batch)

def post_silences(port, n):
    now = datetime.now(timezone.utc)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for j in range(n):
        body = {"matchers": [{"name": "instance", "value": "i%d" % (j * 3), "isRegex": False,
                              "isEqual": True},
                             {"name": "cluster", "value": "c.*", "isRegex": True,
                              "isEqual": True}],
                "startsAt": iso(now - timedelta(minutes=1)), "endsAt": iso(now + timedelta(hours=2)),
                "createdBy": "bench", "comment": "bench"}
        c.request("POST", "/api/v2/silences", json.dumps(body),
                  {"Content-Type": "application/json"})
        r = c.getresponse(); data = r.read()
        if r.status != 200:
            raise SystemExit("POST silence: %d %s" % (r.status, data[:200]))

def time_once(port, path):
    # Timed with curl (a C client that discards the body), so the figure is the server's
    # work plus the transfer, not Python's.
    out = subprocess.run(["taskset", "-c", "1", "curl", "-sS", "-o", "/dev/null", "-w",
                          "%{http_code} %{time_total}", "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "200":
        raise SystemExit("GET %s: %s" % (path, out[0]))
    return float(out[1])

def check(port, path):
    # The body read once, to count what each server reports.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    c.request("GET", path); r = c.getresponse(); data = r.read()
    alerts = json.loads(data)
    return (len(alerts), sum(1 for a in alerts if a["status"]["inhibitedBy"]),
            sum(1 for a in alerts if a["status"]["silencedBy"]))

def run_case(case, kinds):
    procs = {}
    try:
        for kind in kinds:
            procs[kind] = start(kind, case == "inhibit")
        for kind in kinds:
            port = procs[kind][1]
            t0 = time.monotonic()
            if case == "inhibit":
                post_alerts(port, nalerts)
            else:
                post_silences(port, nsil)
                post_alerts(port, min(nalerts, 10000))
            print("%-12s %-9s state posted in %.1fs" % (kind, case, time.monotonic() - t0),
                  flush=True)
        best = {k: None for k in kinds}
        for _ in range(repeat):  # alternating, so both meet the same machine
            for kind in kinds:
                dt = time_once(procs[kind][1], "/api/v2/alerts")
                best[kind] = dt if best[kind] is None else min(best[kind], dt)
        return {k: (best[k], check(procs[k][1], "/api/v2/alerts")) for k in kinds}
    finally:
        for p, _ in procs.values():
            p.terminate(); p.wait()

kinds = [k for k in ("tocsin", "alertmanager") if not only or only == k]
results = {k: {} for k in kinds}
for case in ("inhibit", "silences"):
    for kind, res in run_case(case, kinds).items():
        results[kind][case] = res
        dt, info = res
        print("%-12s %-9s GET /api/v2/alerts %.4fs  (alerts %d, inhibited %d, silenced %d)"
              % (kind, case, dt, *info), flush=True)
if len(results) == 2:
    for k in ("inhibit", "silences"):
        t, a = results["tocsin"][k][0], results["alertmanager"][k][0]
        print("ratio %-9s alertmanager/tocsin = %.1fx" % (k, a / t if t > 0 else float("inf")))
PY
