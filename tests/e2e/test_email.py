"""Email receiver end to end against an SMTP sink (aiosmtpd): the MIME message (headers,
RFC 2047 subject, multipart/alternative text and HTML), the envelope, STARTTLS with AUTH
PLAIN, implicit TLS, a server without STARTTLS when TLS is required, and a 4xx retried."""

import email
import email.policy
import os
import ssl
import subprocess
import threading

from harness import Skip, alert, dur, free_port, run_cases, wait_for, scaled

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:  # scripts/setup.sh installs python3-aiosmtpd
    Controller = None

LATE = 2.0


class Handler:
    def __init__(self, failures=0):
        self.lock = threading.Lock()
        self.messages = []
        self.failures = failures
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            if self.failures > 0:
                self.failures -= 1
                return "451 4.3.0 try again later"
            self.messages.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                "data": envelope.original_content or envelope.content,
                "tls": session.ssl is not None,
                "auth": session.authenticated,
                "login": getattr(session, "tn_login", None),
                "ehlo": session.host_name,
            })
        return "250 OK"


class Auth:
    def __init__(self):
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        pw = auth_data.password.decode() if isinstance(auth_data.password,
                                                        bytes) else auth_data.password
        self.seen.append((mechanism, login, pw))
        session.tn_login = (mechanism, login)
        return AuthResult(success=(login == "alice" and pw == "s3cret"))


def make_cert(ctx):
    key, cert = os.path.join(ctx.tmp, "key.pem"), os.path.join(ctx.tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    return cert, sctx


def smtp_sink(ctx, handler, **kw):
    if Controller is None:
        raise Skip("python3-aiosmtpd is not installed")
    port = free_port()
    c = Controller(handler, hostname="127.0.0.1", port=port, **kw)
    c.start()

    class Closer:
        def close(self):
            c.stop()

    ctx.sinks.append(Closer())
    return port


def config(port, conf, group_interval=2):
    return """
global:
  smtp_from: 'Tocsin Alerts <alerts@example.org>'
  smtp_hello: tocsin.test
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    email_configs:
      - to: 'ops@example.org, "Doe, Jane" <jane@example.org>'
        smarthost: '127.0.0.1:%d'
        headers:
          subject: '[{{ .Status }}] {{ .GroupLabels.alertname }} \u00e9t\u00e9'
          x-team: storage
        text: '{{ .Status }}: {{ range .Alerts }}{{ .Labels.instance }} {{ end }}'
        html: '<p>{{ .GroupLabels.alertname }}</p>'
%s""" % (dur(0.5), dur(group_interval), port, conf)


def wait_messages(handler, n, timeout):
    wait_for(lambda: len(handler.messages) >= n, timeout, what="%d message(s)" % n)
    return handler.messages


def test_plain_message(ctx):
    h = Handler()
    port = smtp_sink(ctx, h)
    srv = ctx.server(config(port, "        require_tls: false\n"))
    srv.post_ok([alert({"alertname": "Disk<1>", "instance": "a"}),
                 alert({"alertname": "Disk<1>", "instance": "b"})])
    m = wait_messages(h, 1, 0.5 + LATE)[0]
    assert m["from"] == "alerts@example.org"
    assert m["to"] == ["ops@example.org", "jane@example.org"]
    assert m["ehlo"] == "tocsin.test"
    assert not m["tls"]
    raw = m["data"]
    assert b"Subject: =?utf-8?q?" in raw  # RFC 2047
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "[firing] Disk<1> \u00e9t\u00e9", msg["Subject"]
    assert msg["X-Team"] == "storage"
    assert msg["From"] == "Tocsin Alerts <alerts@example.org>"
    assert "jane@example.org" in msg["To"]
    assert msg["Message-Id"].startswith("<") and msg["Date"]
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    assert parts[0].get_content() == "firing: a b "
    assert parts[1].get_content() == "<p>Disk&lt;1&gt;</p>", parts[1].get_content()


def test_starttls_and_auth(ctx):
    cert, sctx = make_cert(ctx)
    h, auth = Handler(), Auth()
    port = smtp_sink(ctx, h, tls_context=sctx, require_starttls=True, auth_required=True,
                     authenticator=auth)
    conf = """        auth_username: alice
        auth_password: s3cret
        tls_config:
          ca_file: %s
""" % cert
    srv = ctx.server(config(port, conf))
    srv.post_ok([alert({"alertname": "Secure", "instance": "a"})])
    m = wait_messages(h, 1, 0.5 + LATE)[0]
    assert m["tls"], "delivered without STARTTLS"
    assert m["auth"] and m["login"] == ("PLAIN", "alice"), m["login"]
    assert "s3cret" not in srv.log()


def test_require_tls_without_starttls_fails(ctx):
    h = Handler()
    port = smtp_sink(ctx, h)
    srv = ctx.server(config(port, ""))  # require_tls defaults to true
    srv.post_ok([alert({"alertname": "NoTLS"})])
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="email") or 0) >= 1, 0.5 + 4,
             what="a failed email attempt")
    assert h.messages == []


def test_implicit_tls(ctx):
    cert, sctx = make_cert(ctx)
    h = Handler()
    port = smtp_sink(ctx, h, ssl_context=sctx)
    conf = """        force_implicit_tls: true
        tls_config:
          ca_file: %s
""" % cert
    srv = ctx.server(config(port, conf))
    srv.post_ok([alert({"alertname": "Implicit"})])
    m = wait_messages(h, 1, 0.5 + LATE)[0]
    assert m["from"] == "alerts@example.org"


def test_4xx_is_retried(ctx):
    h = Handler(failures=1)
    port = smtp_sink(ctx, h)
    srv = ctx.server(config(port, "        require_tls: false\n", group_interval=30))
    srv.post_ok([alert({"alertname": "Later"})])
    wait_messages(h, 1, 0.5 + 5)
    assert h.attempts == 2, h.attempts
    assert len(h.messages) == 1


if __name__ == "__main__":
    run_cases([test_plain_message, test_starttls_and_auth,
               test_require_tls_without_starttls_fails, test_implicit_tls, test_4xx_is_retried])
