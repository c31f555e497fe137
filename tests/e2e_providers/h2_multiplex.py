#!/usr/bin/env python3
"""h2_multiplex.py - the Cloud API plugin over HTTPS to a provider that speaks
HTTP/2: the daemon's transfers share one connection, many streams at once
(issue 17 item 1: libcurl multi with CURLPIPE_MULTIPLEX and PIPEWAIT), and
PROVIDER_CA_FILE decides which certificate authority it trusts.

The provider is tests/fakes/h2_fake.mjs (Node's own http2 module) with a
certificate for 127.0.0.1 made by openssl (tests/lib/selfsigned.sh), answering each send after
300 ms. 40 messages to 40 phones are accepted at once at PROVIDER_RATE=1000,
so most of them are in flight together: over HTTP/1.1 that would take as
many connections, one request each at a time.

Then a daemon given another CA's certificate must not send at all: the
handshake fails and the message stays unsent with its attempt counted.

Exit 77 (skipped) with a sentence when node or openssl is missing."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

N = 40
KEY = "h2-test-key-0123456789"
failures = 0


def check(ok, what):
    global failures
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def until(what, fn, seconds):
    """Poll fn until it returns a true value or seconds pass."""
    end = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() > end:
            if not v:
                print(f"gave up waiting: {what}")
            return v
        time.sleep(0.02)


def call(port, method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (urllib.error.URLError, ConnectionError):
        return 0, None


def main():
    node, openssl = shutil.which("node"), shutil.which("openssl")
    if not node or not openssl:
        print(f"SKIPPED: {'node' if not node else 'openssl'} is not installed; "
              "HTTP/2 multiplexing to the provider was not tested")
        return 77
    daemon = os.environ["WA_DAEMON"]
    plugins = os.environ["WA_PROVIDER_BUILD_DIR"]
    src = os.environ["WA_SOURCE_DIR"]
    tmp = tempfile.mkdtemp(prefix="wa-h2-")
    procs = []
    try:
        for name in ("fake", "other"):
            subprocess.run(["sh", f"{src}/tests/lib/selfsigned.sh", tmp, name],
                           check=True)
        portfile = f"{tmp}/fake.port"
        fake = subprocess.Popen(
            [node, f"{src}/tests/fakes/h2_fake.mjs", "--cert",
             f"{tmp}/fake.pem", "--key", f"{tmp}/fake.key", "--port-file",
             portfile, "--delay-ms", "300"])
        procs.append(fake)
        if not until("the fake's port file",
                     lambda: os.path.exists(portfile) or fake.poll() is not None,
                     15) or fake.poll() is not None:
            print("FAIL  the HTTP/2 fake did not start")
            return 1
        fport = int(open(portfile).read())
        trust = ssl.create_default_context(cafile=f"{tmp}/fake.pem")

        def fake_stats():
            with urllib.request.urlopen(f"https://127.0.0.1:{fport}/stats",
                                        context=trust, timeout=5) as r:
                return json.loads(r.read())

        def start(name, ca):
            port = free_port()
            env = dict(os.environ, API_KEY=KEY, PORT=str(port),
                       BIND_ADDRESS="127.0.0.1", PROVIDER_DIR=plugins,
                       STORE_PATH=f"{tmp}/{name}.db", LOG_LEVEL="warn",
                       WHATSAPP_PROVIDER="cloudapi", CLOUDAPI_TOKEN="h2-token",
                       CLOUDAPI_PHONE_NUMBER_ID="1234567890",
                       CLOUDAPI_APP_SECRET="h2-app-secret",
                       CLOUDAPI_BASE_URL=f"https://127.0.0.1:{fport}",
                       PROVIDER_RATE="1000", RETRY_BASE_MS="60000",
                       PROVIDER_CA_FILE=ca)
            d = subprocess.Popen([daemon], env=env)
            procs.append(d)
            until(f"{name} daemon /health",
                  lambda: call(port, "GET", "/health")[0] == 200 or
                  d.poll() is not None, 15)
            return port

        # 1. trusted: many streams on one connection
        port = start("h2", f"{tmp}/fake.pem")
        ids = []
        for i in range(N):
            code, body = call(port, "POST", "/v1/messages/send", {
                "recipient_phone": f"+55119876{i:05d}",
                "message_body": f"h2 message {i}",
                "external_id": f"h2-{i}"})
            if code in (200, 201, 202) and body:
                ids.append(body["message_id"])
        check(len(ids) == N, f"{N} messages accepted ({len(ids)})")

        def all_sent():
            return all(call(port, "GET", f"/v1/messages/{m}")[1]["status"]
                       == "sent" for m in ids)
        check(until("every message sent", all_sent, 30),
              "every message reached the fake and is 'sent'")
        st = fake_stats()
        print(f"fake saw: {json.dumps(st, sort_keys=True)}")
        check(st["h2_requests"] == N and st["h1_requests"] == 0,
              f"all {N} sends came over HTTP/2 ({st['h2_requests']} h2, "
              f"{st['h1_requests']} HTTP/1.1)")
        check(1 <= st["h2_sessions"] <= 2,
              f"they shared one or two connections ({st['h2_sessions']})")
        check(st["max_streams_one_session"] >= 10,
              "one connection carried at least 10 sends at once "
              f"({st['max_streams_one_session']})")

        # 2. another CA: the handshake fails, nothing is sent
        port = start("other", f"{tmp}/other.pem")
        code, body = call(port, "POST", "/v1/messages/send", {
            "recipient_phone": "+5511987699999", "message_body": "untrusted",
            "external_id": "h2-untrusted"})
        check(code in (200, 201, 202), f"the message was accepted ({code})")
        mid = body["message_id"] if body else ""

        def tried():
            m = call(port, "GET", f"/v1/messages/{mid}")[1]
            return m if m and m["attempts"] >= 1 and m["status"] != "sending" \
                else None
        m = until("an attempt with the other CA", tried, 20) or {}
        print(f"with the other CA: status {m.get('status')}, "
              f"attempts {m.get('attempts')}, last_error {m.get('last_error')!r}")
        check(m.get("status") in ("queued", "failed"),
              "a provider the CA does not vouch for got no message")
        check(fake_stats()["sends"] == N, "the fake received no further send")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
