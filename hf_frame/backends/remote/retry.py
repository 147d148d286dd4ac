"""When and how long to wait before trying a request again.

Retried: 429 (waiting what ``Retry-After`` or ``RateLimit`` says), 503 while a model loads
(waiting its ``estimated_time``; an ``endpoint=`` scaling up from zero is waited for within
``scale_up_timeout``), other 5xx, timeouts, dropped connections and 200 answers whose body is
not JSON. 402 (credits exhausted), 401/403/404 are fatal; everything else is final. Waits grow
exponentially with full jitter; a hint that is not a finite number or a date
(``Retry-After: soon``, ``nan``) is ignored.

A host that has not answered once in this process and refuses the connection (or whose name does
not resolve) is retried ``UNREACHABLE_RETRIES`` time(s) after ``UNREACHABLE_WAIT`` seconds, then
reported unreachable: a wrong URL or a server that is not running fails in well under a second
instead of after every backoff. Once a host has answered, a refusal is retried like any dropped
connection (a server restarting).
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import math
import random
import re
import time

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524, 529})
FATAL_STATUSES = frozenset({401, 402, 403, 404, 407})
# Refusals meaning "too many requests at once" when they come without a wait hint (TEI and TGI
# answer 429 "overloaded"): the server's concurrency limit drops (limits.AdaptiveLimit), and the
# retry waits only OVERLOAD_BACKOFF * 2**attempt at most (the lower limit does the pacing).
OVERLOAD_STATUSES = frozenset({429, 503, 529})
OVERLOAD_BACKOFF = 0.05
MAX_WAIT = 60.0
UNREACHABLE_RETRIES = 1
UNREACHABLE_WAIT = 0.25

logger = logging.getLogger(__name__)


def backoff(attempt: int, base: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, base * 2**attempt], capped."""
    return random.uniform(0, min(MAX_WAIT, base * (2**attempt)))


def server_wait(status: int, headers, body: object) -> float | None:
    """Seconds the server asked us to wait, if it said so."""
    if status == 503 and isinstance(body, dict):
        estimated = body.get("estimated_time")
        if isinstance(estimated, (int, float)) and estimated >= 0:
            return min(float(estimated), MAX_WAIT)
    retry_after = _delay(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    # IETF RateLimit headers: `RateLimit: "policy";r=0;t=12` or legacy `RateLimit-Reset: 12`.
    ratelimit = headers.get("ratelimit")
    if ratelimit:
        remaining = re.search(r"\br=(\d+)", ratelimit)
        reset = re.search(r"\bt=(\d+(?:\.\d+)?)", ratelimit)
        if reset and (remaining is None or int(remaining.group(1)) == 0):
            return min(float(reset.group(1)), MAX_WAIT)
    reset = _number(headers.get("ratelimit-reset") or headers.get("x-ratelimit-reset"))
    if reset is not None:
        # Some servers send an epoch timestamp instead of a delay.
        return min(max(reset - time.time() if reset > 1e9 else reset, 0.0), MAX_WAIT)
    return None


def _number(value: str | None) -> float | None:
    """A finite number from a header value, else None (``soon``, ``nan``, ``inf`` are ignored)."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _delay(value: str | None) -> float | None:
    """``Retry-After``: seconds, or an HTTP date; None when it is neither (normal backoff then)."""
    if not value:
        return None
    seconds = _number(value)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            logger.debug("ignoring a Retry-After header that is neither seconds nor a date: %r", value)
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # HTTP dates are GMT
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_WAIT)
