"""The fault proxy itself: keep-alive, bodies, and each fault doing what it says."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.faults.proxy import FaultProxy, FaultRates

NONE = FaultRates(drop=0, lost_response=0, duplicate=0, delay=0)


class Echo(BaseHTTPRequestHandler):
    """Answers every POST with its body, and counts what it received."""

    protocol_version = "HTTP/1.1"
    seen: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append(body)
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def proxy_for(upstream, rates: FaultRates) -> FaultProxy:
    return FaultProxy(upstream.server_address, rates, seed=1).start()


def post(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", "/x", body=body, headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    return response.status, response.read()


def test_forwards_several_requests_on_one_keep_alive_connection(upstream):
    proxy = proxy_for(upstream, NONE)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        assert post(connection, b'{"n": 1}') == (201, b'{"n": 1}')
        assert post(connection, b'{"n": 2}') == (201, b'{"n": 2}')
        connection.close()
    finally:
        proxy.stop()
    assert upstream.seen == [b'{"n": 1}', b'{"n": 2}']
    assert proxy.counters["connections"] == 1 and proxy.counters["answered"] == 2


@pytest.mark.parametrize(
    ("rates", "upstream_saw", "counter"),
    [
        (FaultRates(drop=1, lost_response=0, duplicate=0, delay=0), 0, "dropped"),
        (FaultRates(drop=0, lost_response=1, duplicate=0, delay=0), 1, "lost_responses"),
    ],
)
def test_dropped_request_and_lost_response_close_the_connection(
    upstream, rates, upstream_saw, counter
):
    proxy = proxy_for(upstream, rates)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            post(connection, b"{}")
        connection.close()
    finally:
        proxy.stop()
    assert len(upstream.seen) == upstream_saw
    assert proxy.counters[counter] == 1 and proxy.counters["answered"] == 0


def test_duplicate_sends_twice_and_answers_once(upstream):
    proxy = proxy_for(upstream, FaultRates(drop=0, lost_response=0, duplicate=1, delay=1))
    try:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        assert post(connection, b'{"d": 1}') == (201, b'{"d": 1}')
        connection.close()
    finally:
        proxy.stop()
    assert upstream.seen == [b'{"d": 1}', b'{"d": 1}']
    assert proxy.counters["duplicated"] == 1 and proxy.counters["delayed"] == 1
