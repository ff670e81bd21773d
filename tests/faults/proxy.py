"""A fault-injecting HTTP/1.1 proxy between clients and the service (pure stdlib asyncio).

For each request a seeded RNG decides what goes wrong:

- ``drop``: the client connection is closed without forwarding (the service never saw it);
- ``lost_response``: the request is forwarded, the service answers (it committed), and then the
  client connection is closed instead of answering;
- ``duplicate``: the request is sent upstream twice at once; the client gets one of the answers;
- ``delay``: (independently) a random pause of up to ``max_delay`` seconds before forwarding.

It handles what our clients send: keep-alive connections with several requests each and bodies
with ``Content-Length``. Upstream, every request gets its own connection (``Connection: close``);
the answer is re-framed with ``Content-Length`` for the client.

    PYTHONPATH=. python -m tests.faults.proxy --upstream 127.0.0.1:5000 [--port 8080] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "te",
    "trailer",
}
MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class FaultRates:
    """Probabilities per request; ``drop``, ``lost_response`` and ``duplicate`` exclude each
    other, ``delay`` combines with any of them."""

    drop: float = 0.20
    lost_response: float = 0.10
    duplicate: float = 0.05
    delay: float = 0.10
    max_delay: float = 0.100  # seconds


@dataclass
class Message:
    start_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class MalformedMessage(Exception):
    pass


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MalformedMessage(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def serialise(start_line: str, headers: list[tuple[str, str]], body: bytes, connection: str):
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    kept += [("Content-Length", str(len(body))), ("Connection", connection)]
    head = start_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "\r\n"
    return head.encode("latin-1") + body


def dechunk(data: bytes) -> bytes:
    body, position = b"", 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return body
        body += data[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


def parse_response(data: bytes) -> Message:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise MalformedMessage("incomplete response head")
    start_line, headers = parse_head(head)
    message = Message(start_line, headers, rest)
    if (message.header("transfer-encoding") or "").lower() == "chunked":
        message.body = dechunk(rest)
    elif message.header("content-length") is not None:
        message.body = rest[: int(message.header("content-length"))]
    return message


def wants_keep_alive(request: Message) -> bool:
    connection = (request.header("connection") or "").lower()
    if request.start_line.endswith("HTTP/1.0"):
        return connection == "keep-alive"
    return connection != "close"


class FaultProxy:
    """The proxy; ``start()`` runs it on its own event loop in a daemon thread."""

    def __init__(
        self,
        upstream: tuple[str, int],
        rates: FaultRates | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.rates = rates or FaultRates()
        self.random = random.Random(seed)
        self.host, self.port = host, port
        self.counters: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        self._server = await asyncio.start_server(self.handle, self.host, self.port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    async def shutdown(self) -> None:
        self._server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        await asyncio.sleep(0)

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def figures(self) -> dict[str, object]:
        statuses = dict(sorted(self.statuses.items()))
        return {**dict(sorted(self.counters.items())), "statuses": statuses}

    # -- traffic ---------------------------------------------------------------------------

    async def read_request(self, reader: asyncio.StreamReader) -> Message | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection
        start_line, headers = parse_head(head[:-4])
        request = Message(start_line, headers, b"")
        if (request.header("transfer-encoding") or "").lower() == "chunked":
            raise MalformedMessage("chunked request bodies are not supported")
        length = int(request.header("content-length") or 0)
        request.body = await reader.readexactly(length)
        return request

    async def forward(self, request: Message) -> Message:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            self.counters["forwarded"] += 1
            writer.write(serialise(request.start_line, request.headers, request.body, "close"))
            await writer.drain()
            response = parse_response(await reader.read())
        finally:
            writer.close()
        self.statuses[response.start_line.split(" ")[1]] += 1
        return response

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        self.counters["connections"] += 1
        try:
            while True:
                request = await self.read_request(reader)
                if request is None or not await self.answer(request, writer):
                    break
        except (MalformedMessage, ValueError, ConnectionError, asyncio.LimitOverrunError):
            self.counters["client_errors"] += 1
        finally:
            self._clients.discard(writer)
            writer.transport.abort()

    async def answer(self, request: Message, writer: asyncio.StreamWriter) -> bool:
        """Serve one request with its fault; False when the client connection must close."""
        rates, draw = self.rates, self.random.random()
        self.counters["requests"] += 1
        if self.random.random() < rates.delay:
            self.counters["delayed"] += 1
            await asyncio.sleep(self.random.uniform(0, rates.max_delay))
        if draw < rates.drop:
            self.counters["dropped"] += 1
            return False
        try:
            if draw < rates.drop + rates.lost_response:
                await self.forward(request)
                self.counters["lost_responses"] += 1
                return False
            if draw < rates.drop + rates.lost_response + rates.duplicate:
                self.counters["duplicated"] += 1
                answers = await asyncio.gather(
                    self.forward(request), self.forward(request), return_exceptions=True
                )
                good = [a for a in answers if isinstance(a, Message)]
                if not good:
                    raise answers[0]
                response = self.random.choice(good)
            else:
                response = await self.forward(request)
        except (OSError, MalformedMessage, ValueError):
            self.counters["upstream_errors"] += 1
            return False
        keep_alive = wants_keep_alive(request)
        writer.write(
            serialise(
                response.start_line,
                response.headers,
                response.body,
                "keep-alive" if keep_alive else "close",
            )
        )
        await writer.drain()
        self.counters["answered"] += 1
        return keep_alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="host:port of the service")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drop", type=float, default=FaultRates.drop)
    parser.add_argument("--lost-response", type=float, default=FaultRates.lost_response)
    parser.add_argument("--duplicate", type=float, default=FaultRates.duplicate)
    parser.add_argument("--delay", type=float, default=FaultRates.delay)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    rates = FaultRates(args.drop, args.lost_response, args.duplicate, args.delay)
    proxy = FaultProxy((host, int(port)), rates, seed=args.seed, port=args.port).start()
    print(f"fault proxy on {proxy.url} -> {args.upstream}; Ctrl-C prints the counters", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()
        print(proxy.figures())


if __name__ == "__main__":
    main()
