"""When and how long to wait before trying a request again.

Retried: 429 (waiting what ``Retry-After`` or ``RateLimit`` says), 503 while a model loads
(waiting its ``estimated_time``), other 5xx, timeouts, dropped connections and 200 answers whose
body is not JSON. Everything else is final. Waits grow exponentially with full jitter.
"""

from __future__ import annotations

import email.utils
import random
import re
import time

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524, 529})
FATAL_STATUSES = frozenset({401, 403, 404, 407})
# Refusals meaning "too many requests at once" when they come without a wait hint (TEI and TGI
# answer 429 "overloaded"): the server's concurrency limit drops (limits.AdaptiveLimit), and the
# retry waits only OVERLOAD_BACKOFF * 2**attempt at most (the lower limit does the pacing).
OVERLOAD_STATUSES = frozenset({429, 503, 529})
OVERLOAD_BACKOFF = 0.05
MAX_WAIT = 60.0


def backoff(attempt: int, base: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, base * 2**attempt], capped."""
    return random.uniform(0, min(MAX_WAIT, base * (2**attempt)))


def server_wait(status: int, headers, body: object) -> float | None:
    """Seconds the server asked us to wait, if it said so."""
    if status == 503 and isinstance(body, dict):
        estimated = body.get("estimated_time")
        if isinstance(estimated, (int, float)) and estimated >= 0:
            return min(float(estimated), MAX_WAIT)
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_WAIT)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(retry_after) if retry_after else None
            if parsed is not None:
                return min(max(parsed.timestamp() - time.time(), 0.0), MAX_WAIT)
    # IETF RateLimit headers: `RateLimit: "policy";r=0;t=12` or legacy `RateLimit-Reset: 12`.
    ratelimit = headers.get("ratelimit")
    if ratelimit:
        remaining = re.search(r"\br=(\d+)", ratelimit)
        reset = re.search(r"\bt=(\d+(?:\.\d+)?)", ratelimit)
        if reset and (remaining is None or int(remaining.group(1)) == 0):
            return min(float(reset.group(1)), MAX_WAIT)
    reset = headers.get("ratelimit-reset") or headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Some servers send an epoch timestamp instead of a delay.
        return min(max(value - time.time(), 0.0) if value > 1e9 else value, MAX_WAIT)
    return None
