"""Amazon SNS receiver end to end, against a fake SNS on loopback (api_url): the Publish
request (form-encoded Query API) for firing and resolved groups, its SigV4 signature checked
here from scratch (Authorization's parts, X-Amz-Date, the signature itself), credentials from
the environment, SNS's XML replies, and the retry rules: 5xx and 429 with Retry-After retried,
4xx not, a reply slower than the flush deadline given up."""

import hashlib
import hmac
import os
import re
import subprocess
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit

from harness import (IS_AM, alert, assert_no_request, binary, dur, resolved, run_cases,
                     tocsin_only, wait_for)

LATE = 1.5
KEY, SECRET = "AKIDTOCSINTEST", "tocsin/test+secret"
# A case without keys in its config takes the environment's, as the AWS SDK does; every
# server inherits these, and the other cases show that the config's keys win over them.
ENV_KEY, ENV_SECRET, ENV_TOKEN = "AKIDFROMENV", "env-secret", "env-session-token"
os.environ["AWS_ACCESS_KEY_ID"] = ENV_KEY
os.environ["AWS_SECRET_ACCESS_KEY"] = ENV_SECRET
os.environ["AWS_SESSION_TOKEN"] = ENV_TOKEN
for v in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CA_BUNDLE"):
    os.environ.pop(v, None)

PUBLISHED = b"""<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult>
    <MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>
  </PublishResult>
  <ResponseMetadata>
    <RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId>
  </ResponseMetadata>
</PublishResponse>
"""


def sns_error(code, message, kind="Sender"):
    return ("""<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error>
    <Type>%s</Type>
    <Code>%s</Code>
    <Message>%s</Message>
  </Error>
  <RequestId>9dd01905-5012-5f99-8663-4b3ecd0dfaef</RequestId>
</ErrorResponse>
""" % (kind, code, message)).encode()


def config(api_url, target="topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts",
           sigv4="""        sigv4:
          region: eu-west-1
          access_key: %s
          secret_key: %s
""" % (KEY, SECRET), extra="", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    sns_configs:
      - api_url: %s
        %s
%s%s""" % (dur(0.5), dur(group_interval), api_url, target, sigv4, extra)


def form(rec):
    return dict(parse_qsl(rec["body"].decode(), keep_blank_values=True))


AUTHZ = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)"
                   r"/sns/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
                   r"Signature=(?P<sig>[0-9a-f]{64})$")


def check_signature(rec, key, secret, region, token=None):
    """Verifies the request's SigV4 header signature the way SNS does, from what arrived."""
    h = rec["headers"]
    authz = h.get("authorization", "")
    m = AUTHZ.match(authz)
    assert m, "Authorization: %r" % authz
    amz_date = h.get("x-amz-date", "")
    assert re.match(r"^\d{8}T\d{6}Z$", amz_date), "X-Amz-Date: %r" % amz_date
    sent = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    skew = abs((datetime.now(timezone.utc) - sent).total_seconds())
    assert skew < 300, "X-Amz-Date %s is %ds off" % (amz_date, skew)
    assert m.group("date") == amz_date[:8], authz
    assert m.group("key") == key, authz
    assert m.group("region") == region, authz
    signed = m.group("signed").split(";")
    assert signed == sorted(signed), signed
    for need in ("host", "x-amz-date", "content-type"):
        assert need in signed, "%s unsigned: %s" % (need, signed)
    if token:
        assert h.get("x-amz-security-token") == token, h
        assert "x-amz-security-token" in signed, signed
    else:
        assert "x-amz-security-token" not in h, h
    u = urlsplit(rec["path"])
    query = "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                     for k, v in sorted(parse_qsl(u.query, keep_blank_values=True)))
    creq = "\n".join([
        "POST", quote(u.path or "/", safe="/-_.~"), query,
        "".join("%s:%s\n" % (n, " ".join(h[n].split())) for n in signed),
        ";".join(signed), hashlib.sha256(rec["body"]).hexdigest()])
    scope = "%s/%s/sns/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "sns", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    assert m.group("sig") == want, "signature %s, computed %s over\n%s" % (
        m.group("sig"), want, creq)


def test_publish_firing_then_resolved(ctx):
    sink = ctx.sink()
    sink.reply("/sns/", PUBLISHED, "text/xml")
    srv = ctx.server(config(sink.url("/sns")))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"}, {"summary": "Disk full"},
                       generator_url="http://prom/graph")])
    r = sink.wait("/sns/", 1, timeout=0.5 + LATE)[0]
    # (Alertmanager 0.25's SDK v1 adds "; charset=utf-8", and an empty MessageAttributes=.)
    ctype = r["headers"]["content-type"]
    assert ctype.split(";")[0] == "application/x-www-form-urlencoded", ctype
    check_signature(r, KEY, SECRET, "eu-west-1")
    # The SDK's query encoder sorts the keys, Action and Version included.
    keys = [kv.split("=")[0] for kv in r["body"].decode().split("&")]
    assert keys == sorted(keys), keys
    if not IS_AM:
        assert ctype == "application/x-www-form-urlencoded", ctype
        assert keys == ["Action", "Message", "Subject", "TopicArn", "Version"], keys
    p = form(r)
    assert p["Action"] == "Publish" and p["Version"] == "2010-03-31", p
    assert p["TopicArn"] == "arn:aws:sns:eu-west-1:123456789012:alerts", p
    assert p["Subject"] == "[FIRING:1] Disk (a)", p
    assert p["Message"] == ("Disk full\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n"
                            " - instance = a\nAnnotations:\n - summary = Disk full\n"
                            "Source: http://prom/graph\n\n\n\n"), p["Message"]
    if not IS_AM:
        wait_for(lambda: "567910cd-659e-55d4-8ccb-5aaf14679dc0" in srv.log(), 2,
                 what="the MessageId in the debug log")
        assert SECRET not in srv.log()
        shown = srv.request("GET", "/api/v2/status").json()["config"]["original"]
        assert SECRET not in shown and "secret_key: <secret>" in shown, shown

    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"},
                          annotations={"summary": "Disk full"},
                          generator_url="http://prom/graph")])
    r = sink.wait("/sns/", 2, timeout=2 + LATE)[1]
    check_signature(r, KEY, SECRET, "eu-west-1")
    p = form(r)
    assert p["Subject"] == "[RESOLVED] Disk (a)", p
    assert p["Message"].startswith("Disk full\n\n\nAlerts Resolved:\n"), p["Message"]


def test_environment_credentials(ctx):
    tocsin_only("the region from the topic ARN, where the SDK has none")
    sink = ctx.sink()
    sink.reply("/env/", PUBLISHED, "text/xml")
    srv = ctx.server(config(
        sink.url("/env"),
        target="topic_arn: arn:aws:sns:eu-west-2:123456789012:alerts.fifo", sigv4="",
        extra="        attributes:\n          team: '{{ .GroupLabels.alertname }}'\n"))
    srv.post_ok([alert({"alertname": "Env"})])
    r = sink.wait("/env/", 1, timeout=0.5 + LATE)[0]
    check_signature(r, ENV_KEY, ENV_SECRET, "eu-west-2", token=ENV_TOKEN)
    p = form(r)
    assert p["MessageAttributes.entry.1.Name"] == "team", p
    assert p["MessageAttributes.entry.1.Value.DataType"] == "String", p
    assert p["MessageAttributes.entry.1.Value.StringValue"] == "Env", p
    # A FIFO topic: the group key's hash for both ids.
    assert re.match(r"^[0-9a-f]{64}$", p["MessageGroupId"]), p
    assert p["MessageDeduplicationId"] == p["MessageGroupId"], p


def test_4xx_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/bad/", [400])
    sink.reply("/bad/", sns_error("InvalidParameter", "Invalid parameter: TopicArn"), "text/xml")
    srv = ctx.server(config(sink.url("/bad"), group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/bad/", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/bad/", 2.5, "retry of a 400")
    if not IS_AM:
        wait_for(lambda: "unexpected status code 400: Invalid parameter: TopicArn" in srv.log(),
                 2, what="SNS's error message in the log")
        assert srv.metric("alertmanager_notifications_failed_total", integration="sns",
                          reason="clientError") == 1


def test_5xx_and_429_retried(ctx):
    tocsin_only("Alertmanager leaves 429 to the SDK's own retries")
    sink = ctx.sink()
    sink.respond("/flaky/", [500, (429, {"Retry-After": "1"}), 200])
    sink.reply("/flaky/", PUBLISHED, "text/xml")
    srv = ctx.server(config(sink.url("/flaky"), group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/flaky/", 3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [500, 429, 200]
    assert reqs[2]["time"] - reqs[1]["time"] >= 0.9, "Retry-After not honoured"
    for r in reqs:  # every attempt signed afresh
        check_signature(r, KEY, SECRET, "eu-west-1")
    assert form(reqs[0]) == form(reqs[2])
    wait_for(lambda: srv.metric("alertmanager_notifications_total", integration="sns") == 1, 2,
             what="one notification")
    assert srv.metric("alertmanager_notifications_failed_total", integration="sns") in (0, None)
    assert_no_request(sink, "/flaky/", 1, "a request after success")


def test_timeout(ctx):
    tocsin_only("the flush deadline as tocsin reports it")
    sink = ctx.sink()
    sink.reply("/slow/", PUBLISHED, "text/xml")
    sink.delay("/slow/", 12)  # past the 10 s floor of the flush deadline
    srv = ctx.server(config(sink.url("/slow"), group_interval=1))
    t0 = time.monotonic()
    srv.post_ok([alert({"alertname": "Slow"})])
    sink.wait("/slow/", 1, timeout=0.5 + LATE)
    sink.delay("/slow/", 0)  # the next flush's request is answered at once
    wait_for(lambda: srv.metric("alertmanager_notifications_failed_total", integration="sns"),
             14, what="the send given up")
    assert time.monotonic() - t0 >= 9.5, "gave up before the deadline"
    assert "context deadline exceeded" in srv.log()
    # Nothing was delivered, so the next flush sends again.
    r = sink.wait("/slow/", 2, timeout=2 + LATE)[1]
    check_signature(r, KEY, SECRET, "eu-west-1")
    wait_for(lambda: srv.metric("alertmanager_notifications_total", integration="sns") == 2, 2,
             what="the second attempt counted")


def test_refused_configs(ctx):
    tocsin_only("tocsin's refusals")
    for bad, want in [
        ("        sigv4:\n          role_arn: arn:aws:iam::123456789012:role/sns\n",
         "sigv4.role_arn is not supported by tocsin: "),
        ("        sigv4:\n          profile: ops\n", "sigv4.profile is not supported by tocsin: "),
    ]:
        path = os.path.join(ctx.tmp, "refused.yml")
        with open(path, "w") as f:
            f.write(config("http://127.0.0.1:9/", sigv4=bad))
        p = subprocess.run([binary(), "check-config", path], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode != 0, p.stdout + p.stderr
        assert want in p.stdout + p.stderr, p.stdout + p.stderr


if __name__ == "__main__":
    run_cases([test_publish_firing_then_resolved, test_environment_credentials,
               test_4xx_not_retried, test_5xx_and_429_retried, test_timeout,
               test_refused_configs])
