"""Hints and answers the library must not trust: odd ``Retry-After`` values, answers too large.

Against the loopback hub, and a small loopback server streaming a body of unknown length, on
both wires (aiohttp by default, httpx with ``transport=``).
"""

from __future__ import annotations

import http.server
import socket
import threading
import time

import httpx
import pandas as pd
import pytest
from conftest import quiet

import hf_frame
from hf_frame.backends.remote import retry
from hf_frame.errors import ConfigError

WIRES = ("aiohttp", "httpx")


def wire(name: str) -> dict:
    """Settings selecting a wire (a fresh httpx transport per call: it belongs to the test's loop use)."""
    return {"transport": httpx.AsyncHTTPTransport()} if name == "httpx" else {}


# ---------------------------------------------------------------------------------------------
# Retry-After


@pytest.mark.parametrize("value", ["soon", "nan", "inf", "-inf", "1e400", "Wed, 32 Foo 2015 99:99:99 GMT"])
def test_an_unparseable_retry_after_is_ignored(value):
    assert retry.server_wait(429, {"retry-after": value}, None) is None
    assert retry.server_wait(429, {"x-ratelimit-reset": value}, None) is None


def test_retry_after_numbers_and_dates_still_count():
    assert retry.server_wait(429, {"retry-after": "3"}, None) == 3.0
    assert retry.server_wait(429, {"retry-after": "-5"}, None) == 0.0
    assert retry.server_wait(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) == 0.0  # past
    assert retry.server_wait(429, {"retry-after": "600"}, None) == retry.MAX_WAIT


@pytest.mark.parametrize("value", ["soon", "nan"])
@pytest.mark.parametrize("name", WIRES)
def test_a_429_with_an_odd_retry_after_is_retried_with_the_normal_backoff(hf, value, name):
    hf.fail(429, headers={"Retry-After": value}, times=2)
    start = time.monotonic()
    out = pd.DataFrame({"t": ["I love it"]}).hf.classify("t", **wire(name))
    assert time.monotonic() - start < 5
    assert hf.count() == 3 and out["t_error"].isna().all()


# ---------------------------------------------------------------------------------------------
# max_response_bytes


def test_max_response_bytes_is_a_validated_setting():
    assert hf_frame.configure().max_response_bytes == 64 * 1024 * 1024
    with pytest.raises(ConfigError, match="max_response_bytes"):
        hf_frame.configure(max_response_bytes=0)
    with pytest.raises(ConfigError, match="max_response_bytes"):
        hf_frame.configure(max_response_bytes="big")


@pytest.mark.parametrize("name", WIRES)
def test_an_answer_larger_than_the_cap_is_a_row_error_never_cached(hf, name):
    big = [{"label": "POSITIVE", "score": 0.9, "padding": "x" * 5000}]
    hf.fail(200, body=big, times=1)
    df = pd.DataFrame({"t": ["I love it", "fine"]})
    out = quiet(df.hf.classify, "t", max_response_bytes=4000, **wire(name))
    assert hf.count() == 2  # not retried
    error = out["t_error"].dropna().tolist()
    assert len(error) == 1 and "larger than max_response_bytes=4000" in error[0]
    hf.reset()
    again = df.hf.classify("t", **wire(name))
    assert hf.count() == 1 and again["t_error"].isna().all()  # the row was not cached: sent again


class _Endless(http.server.BaseHTTPRequestHandler):
    """Answers every POST with 200 and a body of unknown length (no Content-Length), 200 MB long."""

    written = 0
    protocol_version = "HTTP/1.0"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b"[" + b"1," * 32767 + b"1]"
        try:
            for _ in range(200 * 1024 * 1024 // len(chunk)):
                self.wfile.write(chunk)
                type(self).written += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def endless():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _Endless.written = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", WIRES)
def test_a_huge_answer_of_unknown_length_is_cut_off_at_the_cap(endless, name):
    start = time.monotonic()
    out = quiet(pd.DataFrame({"t": ["x"]}).hf.classify, "t", endpoint=endless, max_response_bytes=1024 * 1024,
                max_retries=0, **wire(name))
    assert "larger than max_response_bytes=1048576" in out["t_error"].iloc[0]
    assert time.monotonic() - start < 20
    time.sleep(0.2)
    assert _Endless.written < 32 * 1024 * 1024  # reading stopped near the cap: 200 MB were never read
