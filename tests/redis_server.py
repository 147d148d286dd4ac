"""A real ``redis-server`` (or ``valkey-server``) for the tests, on a free 127.0.0.1 port.

* :class:`RedisServer`: start / stop / kill / restart one server process in a temporary directory
  (append-only file on, so a restarted server still has what it had).
* fixtures (imported by ``conftest.py``): ``redis_server`` (one for the whole session, emptied
  for each test through ``redis_url``) and ``make_redis_server`` (private servers a test may kill).

The binary comes from the system (``.ci/run`` installs Debian's ``redis-server``). When it is
missing, the tests that need it are skipped on a developer's machine and FAIL under CI (``CI`` set),
so a missing install step cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BINARIES = ("redis-server", "valkey-server")


def find_binary() -> str | None:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One server process bound to 127.0.0.1 only, with its files in ``directory``."""

    def __init__(self, binary: str, directory: Path, port: int | None = None, password: str | None = None,
                 tls: bool = False) -> None:
        self.binary, self.directory, self.password, self.tls = binary, Path(directory), password, tls
        self.port = port or _free_port()
        # AF_UNIX paths are limited to ~107 bytes: keep the socket short, outside tmp_path.
        self.socket_path = Path(tempfile.gettempdir()) / f"hf_frame-redis-{self.port}.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.tls:  # the client checks the server's certificate against the one made for it
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.certificate}"
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def certificate(self) -> Path:
        return self.directory / "server.crt"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        if self.tls:  # TLS only: the plain port is closed, the TLS one takes the connections
            _make_certificate(self.directory)
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.certificate),
                     "--tls-key-file", str(self.directory / "server.key"), "--tls-auth-clients", "no"]
        else:
            ports = ["--port", str(self.port)]
        args = [
            self.binary, *ports, "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", str(self.directory), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
            "--daemonize", "no", "--logfile", str(self.directory / "server.log"),
            *(["--requirepass", self.password] if self.password else []),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace")
                raise RuntimeError(f"{self.binary} exited at start ({self.process.returncode}): {err}"
                                   f"{self.log()}")
            if self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.binary} did not answer on port {self.port} within {timeout} s{self.log()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                s = raw
                if self.tls:
                    context = ssl.create_default_context(cafile=str(self.certificate))
                    s = context.wrap_socket(raw, server_hostname="127.0.0.1")
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))  # up (NOAUTH: with a password)
        except OSError:
            return False

    def log(self) -> str:
        try:
            return "\n" + (self.directory / "server.log").read_text()[-2000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: the server dies mid-run, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.socket_path.unlink(missing_ok=True)

    def restart(self) -> RedisServer:
        """Start again on the same port and directory (the append-only file restores the data)."""
        self.stop()
        return self.start()


def _make_certificate(directory: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (``openssl``, on every Debian system), valid a day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        _missing("openssl is not on PATH: install it (Debian: apt-get install openssl) for the TLS test")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(directory / "server.key"), "-out", str(directory / "server.crt"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)


def _missing(message: str) -> None:
    """Skip on a developer's machine, fail under CI (a missing install step must not pass unnoticed)."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _binary_or_skip() -> str:
    binary = find_binary()
    if binary is None:
        _missing("redis-server (or valkey-server) is not on PATH: install it (Debian: apt-get install "
                 "redis-server; .ci/run does this)")
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real server for the whole test session."""
    binary = _binary_or_skip()
    with tempfile.TemporaryDirectory(prefix="hf_frame-redis-") as directory:
        server = RedisServer(binary, Path(directory)).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session server's URL, its data emptied before the test."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator:
    """A factory of private servers (for tests that kill or restart them); all stopped afterwards."""
    binary = _binary_or_skip()
    servers: list[RedisServer] = []

    def make(password: str | None = None, tls: bool = False) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        directory.mkdir()
        server = RedisServer(binary, directory, password=password, tls=tls)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
