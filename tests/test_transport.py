"""Protocol details of sending one request: retries, waits, headers, error mapping (httpx.MockTransport)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from hf_frame import runtime as runner
from hf_frame.backends.remote import http, retry
from hf_frame.backends.remote.limits import RateLimiter
from hf_frame.config import resolve_settings
from hf_frame.errors import FatalRequestError, RowRequestError

TOKEN = "hf_secret_value_987"


def scripted(*responses):
    """A MockTransport answering with ``responses`` in order; records every request."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), seen


def send(transport, **settings):
    s = resolve_settings(transport=transport, token=TOKEN, retry_backoff=0.001, **settings)
    request = http.Request(url="https://router.huggingface.co/hf-inference/models/org/m", json={"inputs": "x"})
    return runner.run(http.send(request, s, task="text-classification", model="org/m"))


def test_success_sends_token_and_json():
    transport, seen = scripted(httpx.Response(200, json=[[{"label": "A", "score": 1.0}]]))
    assert send(transport) == [[{"label": "A", "score": 1.0}]]
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(seen[0].content) == {"inputs": "x"}
    assert seen[0].headers["user-agent"].startswith("hf_frame/")


def test_retries_429_then_succeeds():
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"}),
                               httpx.Response(200, json={"ok": 1}))
    assert send(transport) == {"ok": 1}
    assert len(seen) == 2


def test_503_loading_waits_without_the_removed_wait_for_model_header():
    transport, seen = scripted(httpx.Response(503, json={"error": "loading", "estimated_time": 0.01}),
                               httpx.Response(200, json={"ok": 1}))
    assert send(transport) == {"ok": 1}
    assert "x-wait-for-model" not in seen[0].headers and "x-wait-for-model" not in seen[1].headers


@pytest.mark.parametrize("failure", [
    httpx.Response(500, text="boom"),
    httpx.Response(502, text="bad gateway"),
    httpx.Response(200, text="not json {"),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("dropped"),
])
def test_transient_failures_are_retried(failure):
    transport, seen = scripted(failure, httpx.Response(200, json=[1]))
    assert send(transport) == [1]
    assert len(seen) == 2


def test_retries_are_bounded_and_reported():
    transport, seen = scripted(httpx.Response(500, json={"error": "internal"}))
    with pytest.raises(RowRequestError, match="after 3 attempts: HTTP 500: internal") as info:
        send(transport, max_retries=2)
    assert len(seen) == 3 and info.value.status == 500


@pytest.mark.parametrize("status,hint", [(401, "check the token"), (403, "lacks permission"), (404, "model id")])
def test_fatal_statuses_stop_without_retry_and_hide_the_token(status, hint):
    transport, seen = scripted(httpx.Response(status, json={"error": f"denied for Bearer {TOKEN}"}))
    with pytest.raises(FatalRequestError) as info:
        send(transport)
    assert len(seen) == 1
    message = str(info.value)
    assert hint in message and "text-classification" in message and "org/m" in message
    assert TOKEN not in message and "***" in message


def test_client_error_is_a_row_error_without_retry():
    transport, seen = scripted(httpx.Response(400, json={"error": "input too long"}))
    with pytest.raises(RowRequestError, match="HTTP 400: input too long"):
        send(transport)
    assert len(seen) == 1


def test_server_wait_headers():
    h = httpx.Headers
    assert retry.server_wait(429, h({"Retry-After": "7"}), None) == 7
    assert retry.server_wait(429, h({"RateLimit": '"api";r=0;t=12'}), None) == 12
    assert retry.server_wait(429, h({"RateLimit": '"api";r=5;t=12'}), None) is None
    assert retry.server_wait(429, h({"RateLimit-Reset": "3"}), None) == 3
    assert retry.server_wait(503, h({}), {"estimated_time": 4.5}) == 4.5
    assert retry.server_wait(503, h({}), {"estimated_time": 1e6}) == retry.MAX_WAIT
    assert retry.server_wait(500, h({}), None) is None
    http_date = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert retry.server_wait(429, h({"Retry-After": http_date}), None) == 0


def test_backoff_grows_and_is_capped():
    assert all(0 <= retry.backoff(0, 1.0) <= 1.0 for _ in range(100))
    assert max(retry.backoff(3, 1.0) for _ in range(200)) > 2.0
    assert all(retry.backoff(20, 1.0) <= retry.MAX_WAIT for _ in range(100))


def test_rate_limiter_spaces_request_starts():
    async def five():
        limiter = RateLimiter(requests_per_minute=600)  # one every 0.1 s
        start = time.monotonic()
        for _ in range(5):
            await limiter.acquire()
        return time.monotonic() - start

    elapsed = runner.run(five())
    assert 0.38 <= elapsed < 0.7


def test_custom_client_is_used_as_is():
    transport, seen = scripted(httpx.Response(200, json=[]))

    async def go():
        client = httpx.AsyncClient(transport=transport, headers={"X-Custom": "1"})
        s = resolve_settings(client=client, token=TOKEN)
        return await http.send(http.Request(url="http://h/x", json={}), s, task="t", model="m")

    assert runner.run(go()) == []
    assert seen[0].headers["x-custom"] == "1"
