#!/usr/bin/python3
"""Time to ready and POST /-/reload for a big config, tocsin and Alertmanager side by side.

    bench/start.py [--tocsin PATH] [--alertmanager PATH] [--routes N] [--repeat K]

The config has N routes under the root, each with its own webhook receiver, two matchers (an
equality and a regex) and group_by; every tenth route has continue. Two variants: the regex is
the same on every route ("shared", as severity=~"critical|warning" is in real trees) or
different on each ("unique"). A run starts each server K times per variant, in turn, pinned to
CPU 0 (Alertmanager with GOMAXPROCS=1), polls /-/ready every millisecond from the moment of
exec, then times one POST /-/reload of the same file. The median of each is reported, and the
ratio tocsin / Alertmanager (lower is better).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(n, unique):
    routes, receivers = [], []
    for i in range(n):
        regex = 'instance=~"host-%d-.*|db-%d"' % (i, i) if unique else 'severity=~"critical|warning"'
        routes.append("""  - receiver: r%d
    matchers: ['team="t%d"', '%s']
    group_by: [alertname, cluster]
    group_wait: 30s
    continue: %s""" % (i, i, regex.replace("'", "''"), "true" if i % 10 == 0 else "false"))
        receivers.append("""- name: r%d
  webhook_configs:
  - url: http://127.0.0.1:9/hook/%d
    send_resolved: true""" % (i, i))
    return ("route:\n  receiver: r0\n  group_by: [alertname]\n  routes:\n" + "\n".join(routes) +
            "\nreceivers:\n" + "\n".join(receivers) + "\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def once(binary, cfg):
    port, store = free_port(), tempfile.mkdtemp(prefix="tocsin-start-")
    url = "http://127.0.0.1:%d" % port
    t0 = time.perf_counter()
    p = subprocess.Popen(["taskset", "-c", "0", binary, "--config.file=" + cfg,
                          "--storage.path=" + store, "--web.listen-address=127.0.0.1:%d" % port,
                          "--cluster.listen-address=", "--log.level=warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, GOMAXPROCS="1"))
    try:
        while True:
            if p.poll() is not None:
                raise SystemExit("%s exited with %d" % (binary, p.returncode))
            if time.perf_counter() - t0 > 30:
                raise SystemExit("%s: not ready after 30 s" % binary)
            try:
                if urllib.request.urlopen(url + "/-/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.001)
        ready = time.perf_counter() - t0
        t1 = time.perf_counter()
        r = urllib.request.urlopen(urllib.request.Request(url + "/-/reload", method="POST"),
                                   timeout=30)
        reload = time.perf_counter() - t1
        if r.status != 200:
            raise SystemExit("%s: reload answered %d" % (binary, r.status))
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(store, ignore_errors=True)
    return ready * 1000, reload * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tocsin", default=os.path.join(ROOT, "build-release", "tocsin"))
    ap.add_argument("--alertmanager", default="/usr/bin/prometheus-alertmanager")
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    servers = [("tocsin", a.tocsin), ("alertmanager", a.alertmanager)]
    work = tempfile.mkdtemp(prefix="tocsin-bench-start-")
    try:
        print("time to ready and reload, %d routes and receivers, median of %d, server on CPU 0"
              % (a.routes, a.repeat))
        print("%-8s %-13s %10s %10s" % ("regex", "server", "ready ms", "reload ms"))
        for variant in ("shared", "unique"):
            cfg = os.path.join(work, variant + ".yml")
            with open(cfg, "w") as f:
                f.write(config(a.routes, variant == "unique"))
            runs = {name: [] for name, _ in servers}
            for _ in range(a.repeat):
                for name, binary in servers:  # interleaved, so both see the same machine
                    runs[name].append(once(binary, cfg))
            med = {}
            for name, _ in servers:
                med[name] = (statistics.median(r[0] for r in runs[name]),
                             statistics.median(r[1] for r in runs[name]))
                print("%-8s %-13s %10.1f %10.1f" % (variant, name, med[name][0], med[name][1]))
            t, m = med["tocsin"], med["alertmanager"]
            print("%-8s %-13s %10.2f %10.2f" % (variant, "tocsin/AM", t[0] / m[0], t[1] / m[1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
