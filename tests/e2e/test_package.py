"""Install and package: `tocsin --version`, tocsin(1) against --help, `cmake --install` into a
scratch DESTDIR, and the Debian package from scripts/package-deb.sh: its files, control data
and maintainer scripts (run against stub commands), the hardened unit (systemd-analyze, when
present), and the unit's ExecStart command line run from the unpacked files on a loopback
port, stopped by PID.

The package is built once per run of this file, in build-deb/ at the top of the tree (or
$TN_DEB_DIR), which keeps its build between runs: the first build compiles tocsin in Release
(about 45 s on 2 cores), later ones only what changed. tocsin only."""

import gzip
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading

from harness import (IS_AM, Skip, binary, free_port, http_request, run_cases, scaled, wait_for)

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEB_DIR = os.environ.get("TN_DEB_DIR") or os.path.join(SRC, "build-deb")


def tocsin_only():
    if IS_AM:
        raise Skip("tocsin only: its own packaging")


def run(cmd, timeout=60, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def git(*args):
    rc, out, _ = run(["git", "-C", SRC] + list(args))
    return out.strip() if rc == 0 else None


def help_flags(bin_path):
    """Every long flag `--help` and `template render --help` list."""
    rc, out, err = run([bin_path, "--help"])
    assert rc == 0, (rc, err)
    flags = set(re.findall(r"^\s+(?:-h, )?(--[a-z][a-z0-9.*-]*)", out, re.M))
    assert {"--help", "--version", "--config.file", "--storage.path", "--cluster.*"} <= flags, \
        flags
    rc, out, err = run([bin_path, "template", "render", "--help"])
    assert rc == 0, (rc, err)
    tflags = set(re.findall(r"^\s+(--template\.[a-z]+)=", out, re.M))
    assert len(tflags) == 4, out
    return flags | tflags


def man_text(roff):
    """The roff source with escapes undone, enough to find flags in it."""
    t = re.sub(r"\\f[BIRP]", "", roff)
    return t.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def check_man_page(roff, bin_path):
    text = man_text(roff)
    missing = sorted(f for f in help_flags(bin_path) if f not in text)
    assert not missing, "flags in --help but not in the man page: %s" % missing
    assert re.search(r'^\.TH TOCSIN 1 "\d{4}-\d\d-\d\d" "tocsin \d+\.\d+\.\d+"', roff, re.M), \
        roff[:300]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "SIGNALS", "FILES"):
        assert re.search(r"^\.SH \"?%s" % section, roff, re.M), "no %s section" % section
    if shutil.which("groff"):  # groff-base comes with man-db; without it, this one is left out
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=roff.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0 and not p.stderr, "groff: %s" % p.stderr.decode()


VERSION_RE = re.compile(
    r"^tocsin, version (?P<version>\d+\.\d+\.\d+) \(branch: (?P<branch>\S+), "
    r"revision: (?P<revision>[0-9a-f]{40}|unknown)\)\n"
    r"  build user:       (?P<user>\S+)\n"
    r"  build date:       (?P<date>\d{8}-\d\d:\d\d:\d\d)\n"
    r"  compiler:         (?P<compiler>(gcc|clang) \d+[.\d]*)\n"
    r"  platform:         (?P<platform>[a-z]+/[a-z0-9_]+)\n$")


def version_of(bin_path):
    rc, out, err = run([bin_path, "--version"])
    assert rc == 0, (rc, err)
    m = VERSION_RE.match(out)
    assert m, "--version does not read as Alertmanager's: %r" % out
    return m.groupdict()


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(tocsin VERSION (\d+\.\d+\.\d+)", f.read()).group(1)


# ---------------------------------------------------------------------------------------------
# the build's own binary


def test_version_like_alertmanager(ctx):
    tocsin_only()
    v = version_of(binary())
    assert v["version"] == project_version(), v
    head = git("rev-parse", "HEAD")
    if head:
        # The build took the revision from git; a commit made since the build leaves it behind,
        # so it must be a commit of this repository, not necessarily HEAD.
        assert v["revision"] != "unknown", v
        rc, _, _ = run(["git", "-C", SRC, "cat-file", "-e", v["revision"] + "^{commit}"])
        assert rc == 0, "revision %s is not a commit here" % v["revision"]


def test_man_page_lists_every_flag(ctx):
    tocsin_only()
    bin_path = binary()
    man = os.path.join(os.path.dirname(bin_path), "tocsin.1")
    assert os.path.exists(man), "the build made no %s" % man
    with open(man) as f:
        roff = f.read()
    rc, out, err = run([bin_path, "--help-man"])
    assert rc == 0, (rc, err)
    assert out == roff, "%s is not what `tocsin --help-man` prints now" % man
    check_man_page(roff, bin_path)
    rc, out, _ = run([bin_path, "--help"])
    assert "help-man" not in out, "--help-man is meant to stay hidden"


def test_cmake_install_destdir(ctx):
    tocsin_only()
    build = os.path.dirname(binary())
    if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
        raise Skip("TOCSIN_BIN is not in a CMake build directory")
    dest = os.path.join(ctx.tmp, "dest")
    env = dict(os.environ, DESTDIR=dest)

    def install():
        rc, out, err = run(["cmake", "--install", build], env=env, timeout=120)
        assert rc == 0, (rc, out, err)
        return out

    install()
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", f.read(), re.M).group(1)
    root = dest + prefix
    etc = dest + ("/etc" if prefix == "/usr" else prefix + "/etc")
    for rel in ("bin/tocsin", "share/man/man1/tocsin.1", "lib/systemd/system/tocsin.service",
                "lib/sysusers.d/tocsin.conf", "share/doc/tocsin/README.md",
                "share/doc/tocsin/LICENSE", "share/doc/tocsin/CHANGELOG.md",
                "share/doc/tocsin/docs/running.md", "share/doc/tocsin/examples"):
        assert os.path.exists(os.path.join(root, rel)), "cmake --install made no %s" % rel
    conf = os.path.join(etc, "tocsin", "tocsin.yml")
    with open(conf) as f, open(os.path.join(SRC, "config", "tocsin.yml")) as g:
        assert f.read() == g.read()
    with open(os.path.join(root, "lib/systemd/system/tocsin.service")) as f:
        unit = f.read()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    assert exec_start.startswith(prefix + "/bin/tocsin "), exec_start
    assert "--config.file=%s/tocsin/tocsin.yml" % etc[len(dest):] in exec_start, exec_start
    # An operator's config survives a second install.
    with open(conf, "a") as f:
        f.write("# edited\n")
    out = install()
    with open(conf) as f:
        assert f.read().endswith("# edited\n"), "cmake --install overwrote the config"
    assert "Keeping:" in out, out


# ---------------------------------------------------------------------------------------------
# the Debian package

_pkg_lock = threading.Lock()
_pkg = {}


def package(ctx):
    """Builds the .deb once for this file and unpacks it; returns a dict of facts."""
    tocsin_only()
    with _pkg_lock:
        if "error" in _pkg:
            raise AssertionError("package build failed earlier: " + _pkg["error"])
        if "deb" not in _pkg:
            try:
                _pkg.update(build_package())
            except BaseException as e:
                _pkg["error"] = repr(e)[:2000]
                raise
        return _pkg


def build_package():
    rc, out, err = run(["bash", os.path.join(SRC, "scripts", "package-deb.sh"), DEB_DIR],
                       timeout=270)
    assert rc == 0, "package-deb.sh failed (%d):\n%s\n%s" % (rc, out[-3000:], err[-3000:])
    deb = out.strip().splitlines()[-1]
    assert deb.endswith(".deb") and os.path.exists(deb), out
    tmp = tempfile.mkdtemp(prefix="tn-e2e-deb-")
    root = os.path.join(tmp, "root")
    control = os.path.join(tmp, "control")
    for cmd in (["dpkg-deb", "-x", deb, root], ["dpkg-deb", "-e", deb, control]):
        rc, out, err = run(cmd)
        assert rc == 0, (cmd, err)
    rc, listing, err = run(["dpkg-deb", "-c", deb])
    assert rc == 0, err
    files = {}
    for line in listing.splitlines():
        parts = line.split(None, 5)
        files[parts[5].split(" -> ")[0].rstrip("/") or "."] = (parts[0], parts[1])
    return {"deb": deb, "tmp": tmp, "root": root, "control": control, "files": files}


def _cleanup_package():
    if "tmp" in _pkg and not os.environ.get("TN_E2E_KEEP"):
        shutil.rmtree(_pkg["tmp"], ignore_errors=True)


def deb_field(deb, name):
    rc, out, err = run(["dpkg-deb", "-f", deb, name])
    assert rc == 0, err
    return out.strip()


def read(path):
    with open(path) as f:
        return f.read()


def unit_settings(text):
    """[Service] and [Unit] key -> list of values, in order."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def test_deb_contents(ctx):
    p = package(ctx)
    deb, root, files = p["deb"], p["root"], p["files"]
    version = project_version()
    assert deb_field(deb, "Package") == "tocsin"
    assert deb_field(deb, "Version") == version
    depends = deb_field(deb, "Depends")
    for dep in ("libc6", "libuv1", "libsqlite3-0", "libre2-9",
                "systemd | systemd-standalone-sysusers"):
        assert dep in depends, "Depends lacks %s: %s" % (dep, depends)
    assert read(os.path.join(p["control"], "conffiles")).split() == ["/etc/tocsin/tocsin.yml"]

    required = ["./usr/bin/tocsin", "./lib/systemd/system/tocsin.service",
                "./usr/lib/sysusers.d/tocsin.conf", "./etc/tocsin/tocsin.yml",
                "./usr/share/man/man1/tocsin.1.gz", "./usr/share/doc/tocsin/copyright",
                "./usr/share/doc/tocsin/changelog.gz",
                "./usr/share/doc/tocsin/examples/business-hours.yml"]
    for f in required:
        assert f in files, "%s missing from the package" % f
    for doc in ("README.md", "CHANGELOG.md", "docs/running.md", "docs/configuration.md"):
        base = "./usr/share/doc/tocsin/" + doc
        assert base in files or base + ".gz" in files, "%s missing from the package" % doc
    assert files["./usr/bin/tocsin"][0] == "-rwxr-xr-x", files["./usr/bin/tocsin"]
    for f, (mode, owner) in files.items():
        assert owner == "root/root", (f, owner)
        assert not re.match(r"\./(usr/local|var|tmp|home|root|run|srv|opt)(/|$)", f), \
            "%s does not belong in the package" % f
        assert f == "." or re.match(r"\./(etc/tocsin|lib/systemd/system|usr/bin|"
                                    r"usr/lib/sysusers\.d|usr/share/(doc|man)/)", f) or \
            f in ("./etc", "./lib", "./lib/systemd", "./usr", "./usr/lib", "./usr/share",
                  "./usr/share/doc", "./usr/share/man"), "unexpected path %s" % f
    assert not any("LICENSE" in f for f in files), "debian/copyright holds the licence"

    # The installed unit, config and sysusers file are the tree's.
    assert read(root + "/lib/systemd/system/tocsin.service") == \
        read(os.path.join(SRC, "contrib", "tocsin.service"))
    assert read(root + "/etc/tocsin/tocsin.yml") == read(os.path.join(SRC, "config", "tocsin.yml"))
    sysusers = read(root + "/usr/lib/sysusers.d/tocsin.conf")
    assert sysusers == read(os.path.join(SRC, "contrib", "tocsin.sysusers"))
    assert re.search(r"^u\s+tocsin\s+-\s+\"[^\"]*\"\s+/var/lib/tocsin\s*$", sysusers, re.M), \
        sysusers

    # The binary: a Release build, not a sanitizer one; the man page lists what it takes.
    bin_path = root + "/usr/bin/tocsin"
    rc, out, _ = run(["ldd", bin_path])
    assert rc == 0 and "libasan" not in out and "not found" not in out, out
    with gzip.open(root + "/usr/share/man/man1/tocsin.1.gz", "rt") as f:
        check_man_page(f.read(), bin_path)
    v = version_of(bin_path)
    assert v["version"] == version, v
    head = git("rev-parse", "HEAD")
    if head:  # built just now, from this tree: its revision and branch
        assert v["revision"] == head, (v, head)
        assert v["branch"] == git("rev-parse", "--abbrev-ref", "HEAD"), v


def test_deb_unit_hardened(ctx):
    p = package(ctx)
    s = unit_settings(read(p["root"] + "/lib/systemd/system/tocsin.service"))
    want = {
        "User": "tocsin", "Group": "tocsin", "StateDirectory": "tocsin",
        "ProtectSystem": "strict", "NoNewPrivileges": "yes", "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID", "PrivateTmp": "yes", "ProtectHome": "yes",
        "PrivateDevices": "yes", "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "WantedBy": "multi-user.target",
    }
    for k, v in want.items():
        assert s.get(k) == [v], "%s=%s, want %s" % (k, s.get(k), v)
    assert "@system-service" in s.get("SystemCallFilter", []), s.get("SystemCallFilter")
    assert "DynamicUser" not in s, "the package's static tocsin user owns the config's group"


def stub_env(ctx, extra=None):
    """A PATH of stub commands only: each logs its arguments and succeeds (dpkg-statoverride
    --list answers as $STUB_OVERRIDE says). Builtins still work; any other command is not found,
    so nothing on this machine is changed."""
    d = tempfile.mkdtemp(prefix="stubs-", dir=ctx.tmp)
    log = os.path.join(d, "calls.log")
    for name in ("systemd-sysusers", "deb-systemd-helper", "deb-systemd-invoke", "systemctl",
                 "dpkg-statoverride", "rm", "chown", "chmod", "chgrp", "adduser", "useradd",
                 "update-rc.d", "invoke-rc.d", "dpkg-maintscript-helper"):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write('#!/bin/sh\necho "%s $*" >>"$STUB_LOG"\n' % name)
            if name == "dpkg-statoverride":
                f.write('[ "$1" = --list ] && [ "${STUB_OVERRIDE:-0}" = 0 ] && exit 1\n')
            f.write("exit 0\n")
        os.chmod(path, 0o755)
    env = {"PATH": d, "STUB_LOG": log, "DPKG_MAINTSCRIPT_PACKAGE": "tocsin"}
    env.update(extra or {})
    return env, log


def run_script(ctx, script, args, **extra):
    env, log = stub_env(ctx, extra)
    p = subprocess.run(["/bin/sh", script] + args, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    calls = read(log).splitlines() if os.path.exists(log) else []
    assert p.returncode == 0, "%s %s: %d\n%s\ncalls: %s" % (
        os.path.basename(script), args, p.returncode, p.stdout.decode(), calls)
    return calls


def test_deb_maintainer_scripts(ctx):
    p = package(ctx)
    c = p["control"]
    scripts = sorted(n for n in ("preinst", "postinst", "prerm", "postrm")
                     if os.path.exists(os.path.join(c, n)))
    assert {"postinst", "postrm", "prerm"} <= set(scripts), scripts
    for n in scripts:
        rc, _, err = run(["/bin/sh", "-n", os.path.join(c, n)])
        assert rc == 0, "%s: %s" % (n, err)
    postinst, postrm = os.path.join(c, "postinst"), os.path.join(c, "postrm")

    # First installation: the user, then the unit enabled, then the config's group.
    calls = run_script(ctx, postinst, ["configure"])
    expect = ["systemd-sysusers tocsin.conf", "deb-systemd-helper enable tocsin.service",
              "dpkg-statoverride --update --add root tocsin 0640 /etc/tocsin/tocsin.yml"]
    idx = []
    for e in expect:
        assert e in calls, "postinst configure did not run %r: %s" % (e, calls)
        idx.append(calls.index(e))
    assert idx == sorted(idx), "postinst order: %s" % calls
    # An upgrade leaves the administrator's choice of the config's mode alone.
    calls = run_script(ctx, postinst, ["configure", "0.0.9"])
    assert "systemd-sysusers tocsin.conf" in calls, calls
    assert not [x for x in calls if "--add" in x], calls

    run_script(ctx, os.path.join(c, "prerm"), ["remove"])
    calls = run_script(ctx, postrm, ["remove"])
    assert not [x for x in calls if x.startswith("rm ")], "remove keeps the state: %s" % calls
    calls = run_script(ctx, postrm, ["purge"], STUB_OVERRIDE="1")
    for e in ("dpkg-statoverride --remove /etc/tocsin/tocsin.yml", "rm -rf /var/lib/tocsin",
              "deb-systemd-helper purge tocsin.service"):
        assert e in calls, "postrm purge did not run %r: %s" % (e, calls)


def exec_start_args(unit_text, root, storage, port):
    """The unit's ExecStart with the package's paths under root, the state directory in a
    temp dir and the listener on loopback."""
    s = unit_settings(unit_text)
    (line,) = s["ExecStart"]
    assert line[:1] not in "-@+!:", "ExecStart prefixes are not handled here: %s" % line
    assert "$" not in line and "%" not in line, "variables are not handled here: %s" % line
    argv = shlex.split(line)
    state = "/var/lib/" + s["StateDirectory"][0]
    out = [root + argv[0]]
    seen = set()
    for a in argv[1:]:
        name, _, value = a.partition("=")
        seen.add(name)
        if name == "--storage.path":
            assert value.rstrip("/") == state, "storage %s is not the StateDirectory" % value
            a = "--storage.path=" + storage
        elif name == "--web.listen-address":
            a = "--web.listen-address=127.0.0.1:%d" % port
        elif value.startswith("/"):
            assert os.path.exists(root + value), "%s: %s is not in the package" % (name, value)
            a = name + "=" + root + value
        out.append(a)
    assert {"--config.file", "--storage.path"} <= seen, line
    if "--web.listen-address" not in seen:
        out.append("--web.listen-address=127.0.0.1:%d" % port)
    return out


def test_deb_unit_exec_start_runs(ctx):
    p = package(ctx)
    root = p["root"]
    unit = read(root + "/lib/systemd/system/tocsin.service")
    storage = os.path.join(ctx.tmp, "state")
    os.makedirs(storage)
    for attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        args = exec_start_args(unit, root, storage, port)
        assert os.access(args[0], os.X_OK), args[0]
        logp = os.path.join(ctx.tmp, "server%d.log" % attempt)
        logf = open(logp, "wb")
        proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=storage)

        def stop(proc=proc, logf=logf):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            logf.close()
        ctx.on_close(stop)

        def ready():
            if proc.poll() is not None:
                return "exited"
            try:
                return http_request(port, "GET", "/-/ready", timeout=1).status == 200
            except OSError:
                return False
        state = wait_for(ready, 15, what="/-/ready of the packaged tocsin")
        if state is True:
            break
        if "address already in use" not in read(logp).lower():
            raise AssertionError("the packaged tocsin exited:\n" + read(logp)[-3000:])
    else:
        raise AssertionError("no free port after 3 tries")
    r = http_request(port, "GET", "/-/healthy")
    assert r.status == 200, r
    status = http_request(port, "GET", "/api/v2/status").json()
    v = version_of(args[0])
    assert status["versionInfo"]["revision"] == v["revision"], status["versionInfo"]
    assert status["versionInfo"]["version"] == v["version"], status["versionInfo"]
    assert os.path.exists(os.path.join(storage, "tocsin.db")), os.listdir(storage)
    # Stopped as systemd stops it (KillSignal=SIGTERM), by its PID.
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=max(scaled(10), 20))
    assert rc == 0, "exit %d on SIGTERM:\n%s" % (rc, read(logp)[-2000:])


def test_unit_verifies(ctx):
    p = package(ctx)
    sa = shutil.which("systemd-analyze")
    if not sa:
        raise Skip("systemd-analyze not found (package systemd): the unit is not verified here; "
                   "the other package checks ran")
    root = p["root"]
    unit = read(root + "/lib/systemd/system/tocsin.service")
    # The same unit with ExecStart pointing into the unpacked package, so verify finds the
    # binary; MANPATH lets it find Documentation=man:tocsin(1) there too.
    d = tempfile.mkdtemp(prefix="unit-", dir=ctx.tmp)
    path = os.path.join(d, "tocsin.service")
    with open(path, "w") as f:
        f.write(re.sub(r"^ExecStart=/", "ExecStart=" + root + "/", unit, flags=re.M))
    env = dict(os.environ, MANPATH=root + "/usr/share/man", SYSTEMD_LOG_COLOR="0")
    rc, out, err = run([sa, "verify", path], env=env)
    assert rc == 0 and not (out + err).strip(), "systemd-analyze verify:\n%s%s" % (out, err)
    rc, out, err = run([sa, "security", "--offline=yes", path], env=env)
    assert rc == 0, err
    m = re.search(r"Overall exposure level for tocsin\.service: ([0-9.]+) (\w+)", out)
    assert m, out[-500:]
    doc = read(os.path.join(SRC, "docs", "running.md"))
    d = re.search(r"exposure level\s+of\s+\*\*([0-9.]+) \((\w+)\)\*\*", doc)
    assert d, "docs/running.md does not give the systemd-analyze security score"
    assert (m.group(1), m.group(2)) == d.groups(), \
        "systemd-analyze security says %s %s, docs/running.md %s %s" % (
            m.group(1), m.group(2), *d.groups())


if __name__ == "__main__":
    try:
        run_cases([test_version_like_alertmanager, test_man_page_lists_every_flag,
                   test_cmake_install_destdir, test_deb_contents, test_deb_unit_hardened,
                   test_deb_maintainer_scripts, test_deb_unit_exec_start_runs,
                   test_unit_verifies])
    finally:
        _cleanup_package()
