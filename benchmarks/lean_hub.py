"""A minimal HTTP/1.1 server that answers text-classification like the router, for benchmarks.

tests/fake_hub.py (aiohttp, with recording and fault injection) costs ~0.5 ms of CPU per request;
on 2 cores that makes the server, not the client, the bottleneck at high concurrency. This
server does only what the throughput benchmark needs: keep-alive POSTs answered after a fixed
latency with the same bodies as the fake hub (``fake_hub.answers.classify``), a request counter
(``GET /_fakehub/count``; ``DELETE`` resets it), ``TCP_NODELAY`` on every connection.

    python benchmarks/lean_hub.py --latency 0.02     # prints its base URL, serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_hub import answers  # noqa: E402


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
        self.transport.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(content)}\r\nConnection: keep-alive\r\n\r\n".encode() + content
        )


class LeanHub:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.count = 0

    def answer(self, conn: _Connection, method: str, path: str, body: bytes) -> None:
        if path == "/_fakehub/count":
            if method == "DELETE":
                self.count = 0
            conn.send(200, {"requests": self.count})
            return
        self.count += 1
        try:
            text = json.loads(body)["inputs"]
            payload, status = [answers.classify(text)], 200
        except (ValueError, KeyError, TypeError):
            payload, status = {"error": "expected {\"inputs\": text}"}, 400
        asyncio.get_running_loop().call_later(self.latency, conn.send, status, payload)


async def serve(latency: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    hub = LeanHub(latency)
    server = await asyncio.get_running_loop().create_server(lambda: _Connection(hub), sock=sock, backlog=512)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    asyncio.run(serve(parser.parse_args().latency))


if __name__ == "__main__":
    main()
