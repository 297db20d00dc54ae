"""Listener security (--web.config.file): TLS with certificates made at test time by the openssl
CLI, client certificates, TLS version limits, basic auth, security headers, amtool and curl over
TLS, and reloading certificates and the web config without a restart."""

import base64
import crypt  # noqa: E402 - deprecated in 3.13; bcrypt hashes for the tests
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import time
import warnings

from harness import (HOST, Response, Server, Skip, run_cases, scaled, tocsin_only, wait_for,
                     binary)

warnings.filterwarnings("ignore", category=DeprecationWarning)

AM_CONFIG = """
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


class Pki:
    """A CA and certificates signed by it, in dir."""

    def __init__(self, d, name="ca"):
        self.d = d
        self.name = name
        os.makedirs(d, exist_ok=True)
        self.ca = self.path(name + ".crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                "-subj", "/CN=tocsin test CA " + name, cwd=d)

    def path(self, f):
        return os.path.join(self.d, f)

    def issue(self, name, cn, san=None, expired=False):
        """Signs a certificate for cn; returns (crt, key) paths."""
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=self.d)
        ext = name + ".ext"
        with open(self.path(ext), "w") as f:
            f.write("subjectAltName=%s\n" % (san or "DNS:localhost,IP:127.0.0.1"))
        if expired:
            # `openssl ca` takes explicit dates; it needs a small database of its own
            cnf = self.path(name + ".cnf")
            db = self.path(name + ".db")
            open(db, "w").close()
            with open(cnf, "w") as f:
                f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=%s\nnew_certs_dir=%s\n"
                        "serial=%s\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n"
                        "[p]\ncommonName=supplied\n" % (db, self.d, self.path(name + ".srl")))
            with open(self.path(name + ".srl"), "w") as f:
                f.write("%x\n" % (int(time.time() * 1000) & 0xffffffff | 0x10000000))
            openssl("ca", "-batch", "-config", cnf, "-cert", self.name + ".crt", "-keyfile",
                    self.name + ".key", "-in", name + ".csr", "-out", name + ".crt",
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                    "-extfile", ext, "-notext", cwd=self.d)
        else:
            openssl("x509", "-req", "-in", name + ".csr", "-CA", self.name + ".crt", "-CAkey",
                    self.name + ".key", "-CAcreateserial", "-out", name + ".crt", "-days", "2",
                    "-extfile", ext, cwd=self.d)
        return self.path(name + ".crt"), self.path(name + ".key")


def bcrypt(password, cost=4):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost))


def client_ctx(ca=None, cert=None, max_version=None, min_version=None):
    c = ssl.create_default_context(cafile=ca)
    if cert:
        c.load_cert_chain(cert[0], cert[1])
    if max_version:
        c.maximum_version = max_version
    if min_version:
        c.minimum_version = min_version
    return c


def https(port, ctx, method="GET", path="/-/healthy", auth=None, body=None, headers=None,
          timeout=10):
    if ctx is None:  # a web config without TLS
        conn = http.client.HTTPConnection(HOST, port, timeout=scaled(timeout))
    else:
        conn = http.client.HTTPSConnection(HOST, port, context=ctx, timeout=scaled(timeout))
    try:
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % auth).encode()).decode()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


class TlsServer(Server):
    """A Server whose own requests (readiness, API helpers) go over TLS with basic auth."""

    def request(self, method, path, body=None, headers=None, timeout=10):
        if isinstance(body, (dict, list)):
            import json
            body = json.dumps(body).encode()
        return https(self.port, self.ssl_ctx, method, self.prefix + path, self.auth, body,
                     headers, timeout)


def tls_server(ctx, web_config, ssl_ctx, auth=None, **kw):
    d = os.path.join(ctx.tmp, "srv%d" % len(ctx.servers))
    os.makedirs(d)
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write(web_config)
    srv = TlsServer.__new__(TlsServer)
    ctx.servers.append(srv)
    srv.proc = None
    srv.logf = None
    srv.ssl_ctx = ssl_ctx
    srv.auth = auth
    srv.web_path = web
    Server.__init__(srv, AM_CONFIG, d, ["--web.config.file=" + web], **kw)
    return srv


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def tls_fails(port, ssl_ctx):
    """True when the handshake (or the first request) fails at the TLS level."""
    try:
        https(port, ssl_ctx, timeout=5)
    except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected) as e:
        return e
    return None


def basic_web(pki, crt, key, extra="", users=""):
    return """
tls_server_config:
  cert_file: %s
  key_file: %s
%s
%s""" % (crt, key, extra, users)


# ---------------------------------------------------------------------------------------------


def test_good_cert_basic_auth_and_headers(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    crt, key = pki.issue("srv", "localhost")
    users = "basic_auth_users:\n  alice: %s\n" % bcrypt("s3cret")
    headers = ("http_server_config:\n  http2: false\n  headers:\n"
               "    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n")
    c = client_ctx(ca=pki.ca)
    srv = tls_server(ctx, basic_web(pki, crt, key, headers, users), c, ("alice", "s3cret"))
    r = https(srv.port, c, auth=("alice", "s3cret"))
    assert r.status == 200, r
    assert r.headers.get("x-frame-options") == "deny", r.headers
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    for auth in (("alice", "wrong"), ("bob", "s3cret"), None):
        r = https(srv.port, c, auth=auth)
        assert r.status == 401, (auth, r)
        assert r.headers.get("www-authenticate") == "Basic", r.headers
        assert r.headers.get("x-frame-options") == "deny", r.headers
    # the API behind the gate: post and read back
    srv.post_ok([{"labels": {"alertname": "TlsAlert"}}])
    assert any(a["labels"]["alertname"] == "TlsAlert" for a in srv.get_alerts())
    # curl over TLS with basic auth
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--cacert", pki.ca, "-u", "alice:s3cret",
                              "-o", "/dev/null", "-w", "%{http_code}",
                              "https://127.0.0.1:%d/api/v2/status" % srv.port],
                             capture_output=True, text=True, timeout=scaled(20))
        assert out.stdout == "200", (out.stdout, out.stderr)
        out = subprocess.run(["curl", "-sS", "--cacert", pki.ca, "-u", "alice:nope",
                              "-o", "/dev/null", "-w", "%{http_code}",
                              "https://127.0.0.1:%d/api/v2/status" % srv.port],
                             capture_output=True, text=True, timeout=scaled(20))
        assert out.stdout == "401", (out.stdout, out.stderr)
    # plain HTTP on the TLS port: a plain 400 that says why, as Go servers answer
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=scaled(5))
    conn.request("GET", "/-/healthy")
    r = conn.getresponse()
    assert r.status == 400 and b"HTTP request to an HTTPS server" in r.read(), r.status
    conn.close()


def test_wrong_ca_and_expired_server_cert(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    other = Pki(os.path.join(ctx.tmp, "other"), "other")
    crt, key = pki.issue("srv", "localhost")
    srv = tls_server(ctx, basic_web(pki, crt, key), client_ctx(ca=pki.ca))
    e = tls_fails(srv.port, client_ctx(ca=other.ca))
    assert isinstance(e, ssl.SSLCertVerificationError), e
    assert https(srv.port, client_ctx(ca=pki.ca)).status == 200
    # expired: the client refuses it; an insecure client still gets through (server serves it)
    ecrt, ekey = pki.issue("old", "localhost", expired=True)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    srv2 = tls_server(ctx, basic_web(pki, ecrt, ekey), insecure)
    e = tls_fails(srv2.port, client_ctx(ca=pki.ca))
    assert isinstance(e, ssl.SSLCertVerificationError) and "expired" in str(e), e


def test_client_certificates(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    other = Pki(os.path.join(ctx.tmp, "other"), "other")
    crt, key = pki.issue("srv", "localhost")
    good = pki.issue("cli", "client", san="DNS:client.example")
    stranger = other.issue("stranger", "stranger")
    expired = pki.issue("oldcli", "oldclient", san="DNS:client.example", expired=True)
    cases = {
        # mode: (no cert, good cert, cert from another CA, expired cert from the CA)
        "RequestClientCert": (True, True, True, True),
        "RequireAnyClientCert": (False, True, True, True),
        "VerifyClientCertIfGiven": (True, True, False, False),
        "RequireAndVerifyClientCert": (False, True, False, False),
    }
    for mode, want in cases.items():
        ca = "  client_ca_file: %s\n" % pki.ca if "Verify" in mode else ""
        web = basic_web(pki, crt, key, "  client_auth_type: %s\n%s" % (mode, ca))
        srv = tls_server(ctx, web, client_ctx(ca=pki.ca, cert=good))
        for cert, ok in zip((None, good, stranger, expired), want):
            e = tls_fails(srv.port, client_ctx(ca=pki.ca, cert=cert))
            assert (e is None) == ok, (mode, cert, e)
        srv.stop()
    # client_allowed_sans: the good certificate's SAN passes, another one does not
    web = basic_web(pki, crt, key, "  client_auth_type: RequireAndVerifyClientCert\n"
                    "  client_ca_file: %s\n  client_allowed_sans: [client.example]\n" % pki.ca)
    srv = tls_server(ctx, web, client_ctx(ca=pki.ca, cert=good))
    other_san = pki.issue("cli2", "client2", san="DNS:nope.example")
    assert tls_fails(srv.port, client_ctx(ca=pki.ca, cert=other_san)) is not None


def test_tls_versions(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    crt, key = pki.issue("srv", "localhost")
    srv = tls_server(ctx, basic_web(pki, crt, key, "  min_version: TLS12\n  max_version: TLS13\n"
                                    "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
                                    "  curve_preferences: [CurveP256, X25519]\n"),
                     client_ctx(ca=pki.ca))
    v12 = client_ctx(ca=pki.ca, max_version=ssl.TLSVersion.TLSv1_2)
    conn = http.client.HTTPSConnection(HOST, srv.port, context=v12, timeout=scaled(5))
    conn.request("GET", "/-/healthy")
    assert conn.getresponse().status == 200
    assert conn.sock.version() == "TLSv1.2", conn.sock.version()
    assert conn.sock.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256", conn.sock.cipher()
    conn.close()
    # mbedtls 2.28 has no TLS 1.3: a TLS 1.3-only client is refused (see docs/security.md)
    v13 = client_ctx(ca=pki.ca, min_version=ssl.TLSVersion.TLSv1_3)
    assert tls_fails(srv.port, v13) is not None
    # TLS 1.1 is below min_version
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "-k", "--tlsv1.1", "--tls-max", "1.1",
                              "https://127.0.0.1:%d/-/healthy" % srv.port],
                             capture_output=True, text=True, timeout=scaled(20))
        assert out.returncode != 0, out
    # min_version TLS13 cannot be honoured: a clear error at start, naming the place
    d = os.path.join(ctx.tmp, "bad")
    os.makedirs(d)
    web = os.path.join(d, "web.yml")
    write_atomic(web, basic_web(pki, crt, key, "  min_version: TLS13\n"))
    cfg = os.path.join(d, "am.yml")
    write_atomic(cfg, AM_CONFIG)
    p = subprocess.run([binary(), "--config.file=" + cfg, "--storage.path=" + d,
                        "--web.listen-address=127.0.0.1:0", "--web.config.file=" + web],
                       capture_output=True, text=True, timeout=scaled(20))
    assert p.returncode != 0
    assert "web.yml:5:16" in p.stderr and "TLS13" in p.stderr, p.stderr


def test_amtool_over_tls_with_basic_auth(ctx):
    tocsin_only("tocsin's test wiring")
    amtool = shutil.which("amtool")
    if not amtool:
        raise Skip("amtool not installed")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    crt, key = pki.issue("srv", "localhost")
    users = "basic_auth_users:\n  alice: %s\n" % bcrypt("pw")
    c = client_ctx(ca=pki.ca)
    srv = tls_server(ctx, basic_web(pki, crt, key, "", users), c, ("alice", "pw"))

    def run(pw, *args):
        hc = os.path.join(ctx.tmp, "http-%s.yml" % pw)
        write_atomic(hc, "tls_config:\n  ca_file: %s\nbasic_auth:\n  username: alice\n"
                         "  password: %s\n" % (pki.ca, pw))
        return subprocess.run([amtool, "--alertmanager.url=https://127.0.0.1:%d" % srv.port,
                               "--http.config.file=" + hc] + list(args),
                              capture_output=True, text=True, timeout=scaled(30))
    p = run("pw", "alert", "add", "alertname=FromAmtool", "sev=page")
    assert p.returncode == 0, p.stderr
    p = run("pw", "alert", "query", "-o", "json")
    assert p.returncode == 0 and "FromAmtool" in p.stdout, (p.stdout, p.stderr)
    p = run("wrong", "alert", "query")
    assert p.returncode != 0 and "401" in (p.stdout + p.stderr), (p.stdout, p.stderr)


def test_amtool_client_certificates(ctx):
    """amtool (a Go client) with and without client certificates, verified or not."""
    tocsin_only("tocsin's test wiring")
    amtool = shutil.which("amtool")
    if not amtool:
        raise Skip("amtool not installed")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    other = Pki(os.path.join(ctx.tmp, "other"), "other")
    crt, key = pki.issue("srv", "localhost")
    mine = pki.issue("cli", "client")
    theirs = other.issue("stranger", "stranger")
    for mode, ca, cert, ok in (("RequireAnyClientCert", False, theirs, True),
                               ("RequireAnyClientCert", False, None, False),
                               ("RequireAndVerifyClientCert", True, mine, True),
                               ("RequireAndVerifyClientCert", True, theirs, False)):
        extra = "  client_auth_type: %s\n" % mode
        if ca:
            extra += "  client_ca_file: %s\n" % pki.ca
        srv = tls_server(ctx, basic_web(pki, crt, key, extra),
                         client_ctx(ca=pki.ca, cert=mine))
        hc = os.path.join(ctx.tmp, "http.yml")
        text = "tls_config:\n  ca_file: %s\n" % pki.ca
        if cert:
            text += "  cert_file: %s\n  key_file: %s\n" % cert
        write_atomic(hc, text)
        p = subprocess.run([amtool, "--alertmanager.url=https://127.0.0.1:%d" % srv.port,
                            "--http.config.file=" + hc, "alert", "query"],
                           capture_output=True, text=True, timeout=scaled(30))
        assert (p.returncode == 0) == ok, (mode, cert, p.stdout, p.stderr)
        srv.stop()


def test_reload_certificate_and_web_config(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    crt, key = pki.issue("srv", "localhost")
    live_crt, live_key = crt + ".live", key + ".live"
    shutil.copy(crt, live_crt)
    shutil.copy(key, live_key)
    users = "basic_auth_users:\n  alice: %s\n" % bcrypt("one")
    c = client_ctx(ca=pki.ca)
    srv = tls_server(ctx, basic_web(pki, live_crt, live_key, "", users), c, ("alice", "one"))

    def peer_cert():
        s = c.wrap_socket(__import__("socket").create_connection((HOST, srv.port)),
                          server_hostname="localhost")
        try:
            return s.getpeercert(binary_form=True)
        finally:
            s.close()
    first = peer_cert()
    # a new certificate in place: new connections get it, no restart
    crt2, key2 = pki.issue("srv2", "localhost")
    shutil.copy(key2, live_key + ".tmp")
    os.replace(live_key + ".tmp", live_key)
    shutil.copy(crt2, live_crt + ".tmp")
    os.replace(live_crt + ".tmp", live_crt)
    wait_for(lambda: peer_cert() != first, 5, interval=0.2, what="the new certificate")
    # a new password in the web config
    write_atomic(srv.web_path, basic_web(pki, live_crt, live_key, "",
                                         "basic_auth_users:\n  alice: %s\n" % bcrypt("two")))
    wait_for(lambda: https(srv.port, c, auth=("alice", "two")).status == 200, 5, interval=0.2,
             what="the new password")
    assert https(srv.port, c, auth=("alice", "one")).status == 401
    srv.auth = ("alice", "two")
    # a bad web config is logged and the old one stays
    write_atomic(srv.web_path, "basic_auth_users:\n  alice: notahash\n")

    def logged(what, count=1):
        # the files are checked when connections come, at most once a second
        return lambda: https(srv.port, c, auth=("alice", "two")).status == 200 and \
            srv.log().count(what) >= count
    wait_for(logged("Web config reload failed"), 5, interval=0.3, what="the reload error")
    assert "web.yml:2:10" in srv.log(), srv.log_tail(5)
    assert https(srv.port, c, auth=("alice", "two")).status == 200
    # SIGHUP re-reads too (and the bad file is still refused)
    srv.signal(signal.SIGHUP)
    wait_for(lambda: srv.log().count("Web config reload failed") >= 2, 5, what="SIGHUP reload")
    assert https(srv.port, c, auth=("alice", "two")).status == 200
    # a good web config but a bad certificate file: refused, the old certificate keeps serving
    with open(live_crt, "w") as f:
        f.write("not a certificate\n")
    write_atomic(srv.web_path, basic_web(pki, live_crt, live_key, "",
                                         "basic_auth_users:\n  alice: %s\n" % bcrypt("two")))
    wait_for(logged("failed to read cert_file"), 5, interval=0.3, what="the certificate error")
    assert https(srv.port, c, auth=("alice", "two")).status == 200


def test_auth_failures_rate_limited(ctx):
    tocsin_only("tocsin's test wiring")
    pki = Pki(os.path.join(ctx.tmp, "pki"))
    crt, key = pki.issue("srv", "localhost")
    users = "basic_auth_users:\n  alice: %s\n" % bcrypt("pw")
    c = client_ctx(ca=pki.ca)
    srv = tls_server(ctx, basic_web(pki, crt, key, "", users), c, ("alice", "pw"))
    statuses = [https(srv.port, c, auth=("alice", "bad%d" % i)).status for i in range(14)]
    assert statuses[:10] == [401] * 10, statuses
    assert 429 in statuses[10:], statuses
    # cached good credentials still pass
    assert https(srv.port, c, auth=("alice", "pw")).status == 200


def test_plain_http_with_auth_headers_and_rate_limit(ctx):
    tocsin_only("tocsin's test wiring")
    web = ("basic_auth_users:\n  alice: %s\nhttp_server_config:\n  headers:\n"
           "    Strict-Transport-Security: max-age=60\n"
           "rate_limit:\n  interval: 10s\n  burst: 4\n" % bcrypt("pw"))
    srv = tls_server(ctx, web, None, ("alice", "pw"))
    # readiness used some of the burst; then the bucket runs dry within a few requests
    statuses = [https(srv.port, None, auth=("alice", "pw")) for _ in range(5)]
    codes = [r.status for r in statuses]
    assert 429 in codes and codes[0] in (200, 429), codes
    assert all(r.headers.get("strict-transport-security") == "max-age=60" for r in statuses)
    assert "TLS is disabled" in srv.log()
    # no credentials over plain HTTP: 401 or 429, never the API
    assert https(srv.port, None).status in (401, 429)


def test_bad_web_config_at_start(ctx):
    tocsin_only("tocsin's flags")
    d = ctx.tmp
    web = os.path.join(d, "web.yml")
    cfg = os.path.join(d, "am.yml")
    write_atomic(cfg, AM_CONFIG)
    bad = {
        "tls_server_config:\n  cert_file: x.crt\n": "missing one of key or key_file",
        "http_server_config:\n  headers:\n    Server: x\n": "web.yml:3:5",
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n": "X-Frame-Options",
        "basic_auth_users:\n  bob: plain\n": "web.yml:2:8",
        "nope: 1\n": "web.yml:1:1",
        "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n":
            "/nonexistent.crt",
    }
    for text, want in bad.items():
        write_atomic(web, text)
        p = subprocess.run([binary(), "--config.file=" + cfg, "--storage.path=" + d,
                            "--web.listen-address=127.0.0.1:0", "--web.config.file=" + web],
                           capture_output=True, text=True, timeout=scaled(20))
        assert p.returncode != 0 and want in p.stderr, (text, p.stderr)


if __name__ == "__main__":
    run_cases([
        test_good_cert_basic_auth_and_headers,
        test_wrong_ca_and_expired_server_cert,
        test_client_certificates,
        test_tls_versions,
        test_amtool_over_tls_with_basic_auth,
        test_amtool_client_certificates,
        test_reload_certificate_and_web_config,
        test_auth_failures_rate_limited,
        test_bad_web_config_at_start,
        test_plain_http_with_auth_headers_and_rate_limit,
    ])
