"""A minimal HTTP/1.1 server that answers text-classification like the router, for benchmarks.

tests/fake_hub.py (aiohttp, with recording and fault injection) costs ~0.5 ms of CPU per request;
on 2 cores that makes the server, not the client, the bottleneck at high concurrency. This
server does only what the throughput benchmarks need: keep-alive POSTs answered after a fixed
latency with the same bodies as the fake hub (``fake_hub.answers.classify``), a request counter
(``GET /_fakehub/count``; ``DELETE`` resets it), ``TCP_NODELAY`` on every connection.

* ``--workers N``: N processes accept on the same port (``SO_REUSEPORT``), sharing one counter;
* ``--max-in-flight K``: a server that takes K requests at once and answers the others
  ``429`` at once (no ``Retry-After``, as TEI does), like an overloaded endpoint (one worker).

    python benchmarks/lean_hub.py --latency 0.02 [--workers 2] [--max-in-flight 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_hub import answers


class _Connection(asyncio.Protocol):
    def __init__(self, hub: LeanHub) -> None:
        self.hub = hub
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            method, path = head.split(" ", 2)[:2]
            self.hub.answer(self, method, path, body)

    def send(self, status: int, payload: object) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        content = json.dumps(payload).encode()
        reason = {200: "OK", 429: "Too Many Requests"}.get(status, "Error")
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(content)}\r\nConnection: keep-alive\r\n\r\n".encode() + content
        )


class LeanHub:
    def __init__(self, latency: float, counter, max_in_flight: int | None = None) -> None:
        self.latency = latency
        self.counter = counter  # a multiprocessing.Value shared by the workers
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def answer(self, conn: _Connection, method: str, path: str, body: bytes) -> None:
        if path == "/_fakehub/count":
            with self.counter.get_lock():
                if method == "DELETE":
                    self.counter.value = 0
                count = self.counter.value
            conn.send(200, {"requests": count})
            return
        with self.counter.get_lock():
            self.counter.value += 1
        if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
            conn.send(429, {"error": "Model is overloaded", "error_type": "overloaded"})
            return
        try:
            text = json.loads(body)["inputs"]
            payload, status = [answers.classify(text)], 200
        except (ValueError, KeyError, TypeError):
            payload, status = {"error": "expected {\"inputs\": text}"}, 400
        self.in_flight += 1
        asyncio.get_running_loop().call_later(self.latency, self._done, conn, status, payload)

    def _done(self, conn: _Connection, status: int, payload: object) -> None:
        self.in_flight -= 1
        conn.send(status, payload)


def _socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    return sock


async def _serve(sock: socket.socket, hub: LeanHub) -> None:
    server = await asyncio.get_running_loop().create_server(lambda: _Connection(hub), sock=sock, backlog=512)
    async with server:
        await server.serve_forever()


def _worker(port: int, latency: float, counter, max_in_flight: int | None) -> None:
    asyncio.run(_serve(_socket(port), LeanHub(latency, counter, max_in_flight)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-in-flight", type=int, default=None)
    args = parser.parse_args()
    counter = multiprocessing.Value("q", 0)
    first = _socket(0)
    port = first.getsockname()[1]
    others = [multiprocessing.Process(target=_worker, args=(port, args.latency, counter, args.max_in_flight),
                                      daemon=True) for _ in range(args.workers - 1)]
    for proc in others:
        proc.start()
    # Stopped with SIGTERM (the benchmarks' child_server): stop the workers too, or they would
    # outlive it (holding the caller's stdout open).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"http://127.0.0.1:{port}", flush=True)
    try:
        asyncio.run(_serve(first, LeanHub(args.latency, counter, args.max_in_flight)))
    finally:
        for proc in others:
            proc.terminate()
        for proc in others:
            proc.join(5)
    os._exit(0)


if __name__ == "__main__":
    main()
