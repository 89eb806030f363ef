"""Webhook destinations: no way into this server's own network, whatever the spelling, DNS or redirects.

Deliveries go to real HTTP servers on loopback (allowed explicitly where a test needs them)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import pytest
from django.test import override_settings

from insidesales.inbound import signing
from insidesales.inbound.http import DestinationRefused, check_destination, post

INTERNAL = [
    "http://127.0.0.1/hook",
    "http://0177.0.0.1/hook",  # octal
    "http://2130706433/hook",  # decimal
    "http://0x7f000001/hook",  # hexadecimal
    "http://0x7f.1/hook",
    "http://127.1/hook",  # short form
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:7f00:1]/hook",
    "http://localhost/hook",  # a name resolving to 127.0.0.1
    "http://LOCALHOST:8080/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fe80::1]/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # shared address space
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://[::]/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
    "https://[2002:7f00:1::1]/hook",  # 6to4 around 127.0.0.1
    "http://[::7f00:1]/hook",  # IPv4-compatible
    "http://[::a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 around the metadata address
    "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
    "http://[::ffff:0:a9fe:a9fe]/hook",  # IPv4-translated
    "http://[fec0::1]/hook",  # site-local
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
]


@pytest.mark.parametrize("url", INTERNAL)
def test_every_spelling_of_an_internal_address_is_refused(url):
    with pytest.raises(DestinationRefused, match="inside this server's own network"):
        check_destination(url)
    answer = post(url, b"{}", {})
    assert answer.status is None and "inside this server's own network" in answer.error


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
        "http:///x",
        "http://example.com:99999/",
    ],
)
def test_malformed_or_credential_urls_are_refused_with_a_reason(url):
    with pytest.raises(DestinationRefused) as refused:
        check_destination(url)
    assert str(refused.value)


def test_a_public_address_is_accepted():
    check_destination("https://93.184.215.14/hooks/insidesales?x=1")


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_an_allowed_address_opens_only_itself():
    check_destination("http://127.0.0.1:9/hook")
    for url in ("http://[::1]:9/hook", "http://10.0.0.1/hook", "http://127.0.0.2/hook"):
        with pytest.raises(DestinationRefused):
            check_destination(url)


class _Receiver:
    """A real HTTP server on loopback that records what it gets and answers as told per path."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers, answer = receiver.routes.get(self.path, (200, {}, b'{"ok": true}'))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_a_signed_post_arrives_whole_with_its_answer_logged():
    secret = signing.new_secret()
    body = json.dumps({"type": "lead.created", "data": {"name": "Анна"}}, ensure_ascii=False).encode()
    with _Receiver() as receiver:
        receiver.routes["/hook"] = (201, {}, "принято".encode())
        answer = post(f"http://127.0.0.1:{receiver.port}/hook", body, signing.headers(secret, "dlv_1", body))
    assert answer.ok and answer.status == 201 and answer.body == "принято" and not answer.error
    (got,) = receiver.received
    assert got["body"] == body
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["Host"] == f"127.0.0.1:{receiver.port}"
    assert signing.verify(secret, got["headers"], got["body"])


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_redirects_keeping_the_post_are_followed_and_each_is_checked():
    with _Receiver() as receiver:
        base = f"http://127.0.0.1:{receiver.port}"
        receiver.routes["/old"] = (308, {"Location": "/new"}, b"")
        receiver.routes["/to-metadata"] = (307, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
        receiver.routes["/to-ipv6-loopback"] = (307, {"Location": f"http://[::1]:{receiver.port}/new"}, b"")
        receiver.routes["/found"] = (302, {"Location": "/new"}, b"")
        moved = post(f"{base}/old", b'{"n": 1}', {})
        metadata = post(f"{base}/to-metadata", b"{}", {})
        ipv6 = post(f"{base}/to-ipv6-loopback", b"{}", {})
        found = post(f"{base}/found", b"{}", {})
        paths = [r["path"] for r in receiver.received]
    assert moved.status == 200 and moved.url.endswith("/new")
    assert paths.count("/new") == 1  # only the 308 reached it
    assert receiver.received[paths.index("/new")]["body"] == b'{"n": 1}'
    assert metadata.status is None and "169.254.169.254" in metadata.error
    assert ipv6.status is None and "inside this server's own network" in ipv6.error
    assert found.status == 302 and "not followed" in found.error and not found.ok


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_a_redirect_loop_stops():
    with _Receiver() as receiver:
        receiver.routes["/loop"] = (307, {"Location": "/loop"}, b"")
        answer = post(f"http://127.0.0.1:{receiver.port}/loop", b"{}", {})
        assert len(receiver.received) == 4  # the first request and three redirects
    assert not answer.ok and "redirects" in answer.error


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_long_answers_are_cut_for_the_log():
    with _Receiver() as receiver:
        receiver.routes["/big"] = (200, {}, b"x" * 200_000)
        answer = post(f"http://127.0.0.1:{receiver.port}/big", b"{}", {})
    assert answer.ok and len(answer.body) == 64 * 1024


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_refused_and_silent_servers_give_a_clear_error_not_an_exception():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = post(f"http://127.0.0.1:{port}/hook", b"{}", {})
    assert refused.status is None and "connection failed" in refused.error
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        answer = post(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", b"{}", {}, timeout=0.5)
    assert answer.status is None and "no answer in time" in answer.error


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline():
    def trickle(listener):
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(50):
                try:
                    connection.sendall(b"X")
                except OSError:
                    return
                time.sleep(0.1)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        threading.Thread(target=trickle, args=(listener,), daemon=True).start()
        started = time.monotonic()
        answer = post(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", b"{}", {}, timeout=1.0)
    assert time.monotonic() - started < 2.5
    assert answer.status is None and "no answer in time" in answer.error


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_odd_urls_and_headers_give_an_answer_not_an_exception():
    with _Receiver() as receiver:
        base = f"http://127.0.0.1:{receiver.port}"
        unicode_path = post(f"{base}/хук?имя=Анна", b"{}", {})
        line_break = post(f"{base}/hook", b"{}", {"X-Note": "a\r\nInjected: 1"})
        cyrillic_header = post(f"{base}/hook", b"{}", {"X-Note": "Анна"})
        paths = [r["path"] for r in receiver.received]
        injected = [r for r in receiver.received if "Injected" in r["headers"]]
    assert unicode_path.ok and paths[0] == "/%D1%85%D1%83%D0%BA?%D0%B8%D0%BC%D1%8F=%D0%90%D0%BD%D0%BD%D0%B0"
    assert line_break.status is None and line_break.error and not injected
    assert cyrillic_header.status is None and cyrillic_header.error
