"""A server that is not there fails at once as unreachable; one that answered before is retried.

The real wire (aiohttp) against a closed loopback port and a fake hub that stops;
httpx.MockTransport only to count attempts on the httpx wire.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from fake_hub import FakeHub, answers

from hf_frame import runtime as runner
from hf_frame.backends.remote import http as wire
from hf_frame.backends.remote import retry
from hf_frame.config import resolve_settings
from hf_frame.errors import FatalRequestError, RowRequestError


@pytest.fixture(autouse=True)
def _no_host_answered_yet(monkeypatch):
    monkeypatch.setattr(wire, "_answered", set())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(url: str, **settings):
    s = resolve_settings(**{"retry_backoff": 1.0, "max_retries": 5, **settings})
    request = wire.Request(url=url, json={"inputs": "x"})
    return runner.run(wire.send(request, s, task="text-classification", model="org/m"))


def test_a_closed_port_is_unreachable_after_one_quick_retry():
    port = closed_port()
    start = time.perf_counter()
    with pytest.raises(FatalRequestError) as info:
        send(f"http://127.0.0.1:{port}/models/org/m")
    elapsed = time.perf_counter() - start
    # one quick retry, not five exponential backoffs (which average ~15 s with retry_backoff=1)
    assert retry.UNREACHABLE_WAIT <= elapsed < 2.0
    message = str(info.value)
    assert f"127.0.0.1:{port} is unreachable" in message and "text-classification" in message
    assert "check the URL (base_url / endpoint)" in message and info.value.status is None


def test_with_no_retries_it_fails_on_the_first_refusal():
    start = time.perf_counter()
    with pytest.raises(FatalRequestError, match="is unreachable"):
        send(f"http://127.0.0.1:{closed_port()}/m", max_retries=0)
    assert time.perf_counter() - start < retry.UNREACHABLE_WAIT


def test_a_server_that_answered_before_is_retried_when_it_refuses():
    """A refusal from a host that answered in this process is a restart: the usual retries apply."""
    with FakeHub() as hub:
        url = f"{hub.base_url}/hf-inference/models/test/text-classification"
        assert send(url) == [answers.classify("x")]
    runner.run(wire.aio._close_sessions())  # drop the kept-alive connection: the next one is refused
    with pytest.raises(RowRequestError, match="after 3 attempts: connection failed") as info:
        send(url, max_retries=2, retry_backoff=0.01)
    assert not isinstance(info.value, FatalRequestError)


def _refusing():
    seen = []

    def handler(request):
        seen.append(request)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    return httpx.MockTransport(handler), seen


def test_the_httpx_wire_counts_one_quick_retry():
    transport, seen = _refusing()
    with pytest.raises(FatalRequestError, match="router.huggingface.co:443 is unreachable"):
        send("https://router.huggingface.co/hf-inference/models/org/m", transport=transport)
    assert len(seen) == 1 + retry.UNREACHABLE_RETRIES


def test_the_token_never_reaches_the_unreachable_message():
    transport, _ = _refusing()
    with pytest.raises(FatalRequestError) as info:
        send("https://user:pw@router.huggingface.co/m", transport=transport, token="hf_secret_42")
    assert "hf_secret_42" not in str(info.value) and "pw" not in str(info.value)
