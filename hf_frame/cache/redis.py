"""A Redis (or Valkey) server as the answer cache: ``cache="redis://host:6379/0"``.

Shared by every process and machine that reaches the server. Keys are the engine's sha256 request
keys under a prefix (``hf_frame:`` unless the URL says ``?prefix=...``); values are the same bytes
the SQLite cache stores. Reads are ``MGET`` in chunks; writes go through the same background writer
as SQLite (:mod:`.buffered`): pipelined ``MSET`` s a few milliseconds apart, never on the caller's
thread. URLs: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS),
``unix:///path/to/redis.sock?db=0``; the password never appears in a message, a repr or ``info()``.

When the server cannot be reached at first use, opening raises :class:`~hf_frame.errors.CacheError`
naming the URL. When it goes away later, answers keep arriving into memory (served to later calls
of this process, one :class:`~hf_frame.errors.CacheWarning`) and are written once it is back; a
read that needs the server meanwhile raises ``CacheError``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from ..config import redact_url
from ..errors import CacheError
from .buffered import BufferedCache

DEFAULT_PREFIX = "hf_frame:"
_CHUNK = 1000  # keys per MGET / MSET / UNLINK


class RedisCache(BufferedCache):
    """Key -> bytes on a Redis or Valkey server.

    ``prefix`` namespaces the keys (default ``hf_frame:``, or the URL's ``?prefix=``): ``clear()``
    and ``info()`` see only keys under it. ``connect_timeout`` / ``timeout`` are seconds for
    connecting and for each command.
    """

    warn_after = 0.0  # an unreachable server is worth saying at once

    def __init__(self, url: str, *, prefix: str | None = None, connect_timeout: float = 2.0,
                 timeout: float = 10.0) -> None:
        super().__init__()
        self._client = None
        self._password: str | None = None
        self.location = redact_url(url)
        url, url_prefix = _split_prefix(url)
        self.prefix = prefix if prefix is not None else (url_prefix or DEFAULT_PREFIX)
        try:
            import redis
            from redis.backoff import ExponentialBackoff
            from redis.retry import Retry
        except ImportError:
            raise CacheError(f"cache={self.location!r} needs the redis client: pip install 'hf_frame[redis]'") from None
        self._errors = redis.RedisError
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=connect_timeout, socket_timeout=timeout,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            )
        except ValueError as exc:
            raise CacheError(f"cache={self.location!r} is not a usable Redis URL: {self._scrub(exc)}") from None
        self._password = client.connection_pool.connection_kwargs.get("password")
        self._client = client
        try:
            client.ping()
        except redis.RedisError as exc:
            client.connection_pool.disconnect()
            raise CacheError(
                f"cannot use the Redis cache at {self.location} ({self._explain(exc)}); start the server or "
                "fix the URL, or pass cache=True for the local SQLite file"
            ) from None

    def _k(self, key: str) -> str:
        return self.prefix + key

    # -- BufferedCache hooks --------------------------------------------------------------

    def _read(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        try:
            for i in range(0, len(keys), _CHUNK):
                part = keys[i : i + _CHUNK]
                for key, value in zip(part, self._client.mget([self._k(k) for k in part])):
                    if value is not None:
                        found[key] = value
        except self._errors as exc:
            raise self._unreachable("read from", exc) from None
        return found

    def _write(self, items: dict[str, bytes]) -> None:
        pipe = self._client.pipeline(transaction=False)
        pairs = list(items.items())
        for i in range(0, len(pairs), _CHUNK):
            pipe.mset({self._k(k): v for k, v in pairs[i : i + _CHUNK]})
        pipe.execute()

    def _explain(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {self._scrub(exc)}"

    def _stats(self) -> tuple[int, int]:
        entries = size = 0
        try:
            for batch in self._scan():
                pipe = self._client.pipeline(transaction=False)
                for key in batch:
                    pipe.strlen(key)
                size += sum(pipe.execute())
                entries += len(batch)
        except self._errors as exc:
            raise self._unreachable("read from", exc) from None
        return entries, size

    def _clear_backend(self, pending: set[str]) -> int:
        try:
            keys = [self._k(k) for k in pending]
            stored_pending = sum(self._client.exists(*keys[i : i + _CHUNK]) for i in range(0, len(keys), _CHUNK))
            removed = sum(self._client.unlink(*batch) for batch in self._scan())
        except self._errors as exc:
            raise self._unreachable("clear", exc) from None
        return removed + len(pending) - stored_pending

    def _close_backend(self) -> None:
        if self._client is not None:
            self._client.connection_pool.disconnect()  # the pool reconnects on the next command

    # -- helpers --------------------------------------------------------------------------

    def _scan(self):
        """The prefix's keys, in lists of up to _CHUNK (SCAN: never blocks the server)."""
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=_glob_escape(self.prefix) + "*", count=_CHUNK):
            batch.append(key)
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch

    def _unreachable(self, doing: str, exc: BaseException) -> CacheError:
        waiting = self._pending_count()
        kept = (f"; the {waiting} answer(s) of this process not written yet are kept in memory and retried"
                if waiting else "")
        return CacheError(f"cannot {doing} the Redis cache at {self.location} ({self._explain(exc)}){kept}")

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        return text.replace(self._password, "***") if self._password else text


def _split_prefix(url: str) -> tuple[str, str | None]:
    """Take our own ``prefix=`` query parameter out of the URL (the client does not know it)."""
    parts = urlsplit(url)
    if "prefix=" not in parts.query:
        return url, None
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), None)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else ""), prefix


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)
