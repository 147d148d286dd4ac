"""Settings: session defaults, environment variables and per-call overrides.

Resolution order for every setting (first wins):

1. a keyword passed to the method call (``df.hf.classify("text", max_concurrency=8)``),
2. :func:`hf_frame.configure` (session defaults),
3. the environment variable ``HF_FRAME_<NAME>`` (``HF_TOKEN`` for the token, ``HF_BILL_TO``
   for ``bill_to``),
4. the built-in default.

The token is looked up as ``huggingface_hub.get_token()`` does: ``HF_FRAME_TOKEN``, ``HF_TOKEN``
(or the legacy ``HUGGING_FACE_HUB_TOKEN``), then the file written by ``hf auth login``
(``$HF_TOKEN_PATH``, else ``$HF_HOME/token``, else ``$XDG_CACHE_HOME/huggingface/token``, else
``~/.cache/huggingface/token``). ``api_key=`` is accepted everywhere as an alias of ``token=``.
The token is never part of a repr, a cache key, a log line, an error message or a pickle (a
pickled plan resolves the token again in the process that runs it).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, TypedDict, cast
from urllib.parse import urlsplit

from .errors import ConfigError

if sys.version_info >= (3, 11):
    from typing import Unpack
elif TYPE_CHECKING:
    from typing_extensions import Unpack
else:  # Python 3.10: typing_extensions when installed (pydantic brings it), else no checking at all
    try:
        from typing_extensions import Unpack
    except ImportError:
        class _NoUnpack:
            """``Unpack[X]`` is ``Any`` when neither typing nor typing_extensions has ``Unpack``."""

            def __getitem__(self, item: Any) -> Any:
                return Any

        Unpack = _NoUnpack()

DEFAULT_BASE_URL = "https://router.huggingface.co"
ERROR_MODES = ("warn", "raise", "ignore")


class Token(str):
    """The token as settings hold it: a ``str`` whose repr is ``'***'`` (traceback locals, logs),
    and which a pickle never holds: pickled settings (a polars plan sent to another process or
    serialized with ``LazyFrame.serialize()``) carry a :class:`DeferredToken` instead."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"

    def __reduce__(self) -> tuple:
        return (DeferredToken, ())

    def __copy__(self) -> Token:
        return self

    def __deepcopy__(self, memo: dict) -> Token:
        return self


class DeferredToken:
    """What a token becomes in a pickle: a reference, resolved each time a request is sent, to the
    token of the process sending it (:func:`configure`, ``HF_FRAME_TOKEN`` / ``HF_TOKEN``, or the
    file ``huggingface-cli login`` writes)."""

    def resolve(self) -> Token | None:
        if "token" in _session_overrides:
            token = _session_overrides["token"]
        else:
            token = get_token()
        return Token(token) if isinstance(token, str) and token else None

    def __repr__(self) -> str:
        return "<the token of the process that runs the plan>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeferredToken)

    def __hash__(self) -> int:
        return hash(DeferredToken)


@dataclass(frozen=True)
class Settings:
    """Every knob of a call. Build with :func:`resolve_settings`, not directly.

    >>> Settings(token="hf_secret")
    Settings(token='***', provider='auto', ...)

    ``provider``: ``"auto"`` (the first provider of the model's Hub mapping that serves the task;
    chat goes to the router's own auto-routing), a provider name (``"hf-inference"``,
    ``"together"``, ``"fal-ai"``...), or ``"local"`` (models in this process).
    ``bill_to``: an organization billed for the requests (``X-HF-Bill-To``).
    ``scale_up_timeout``: seconds an ``endpoint=`` scaled to zero may take to wake up (sent as
    ``X-Scale-Up-Timeout``; its 503 answers are retried within that budget; None: no wait).
    ``wait_for_model`` is accepted for compatibility and has no effect (the API dropped
    ``X-Wait-For-Model``: serverless models have no cold start).
    ``max_requests``, ``max_tokens`` (prompt + completion tokens of chat) and ``max_cost`` (USD, where
    the router lists the model's price) are budgets of one method call: a call whose plan exceeds one
    stops before sending, and one whose cost is only known as answers arrive stops when it is reached
    (raising :class:`~hf_frame.errors.BudgetExceeded`; the answers so far are cached).
    """

    token: str | None = field(default=None, repr=False)
    provider: str = "auto"
    base_url: str = DEFAULT_BASE_URL
    endpoint: str | None = None
    max_concurrency: int = 32
    requests_per_minute: float | None = None
    timeout: float = 120.0
    max_retries: int = 5
    retry_backoff: float = 1.0
    cache: str | bool = True
    progress: bool = True
    errors: str = "warn"
    batch_size: int = 32
    wait_for_model: bool = True  # no effect, kept so that old code still runs
    bill_to: str | None = None
    scale_up_timeout: float | None = 300.0
    device: str | None = None
    max_media_bytes: int = 50 * 1024 * 1024  # largest image/audio file, download or bytes value
    max_response_bytes: int = 64 * 1024 * 1024  # largest answer read from the service (a larger one is a row error)
    # Budgets of one method call (None: no limit); see hf_frame.methods.budget.
    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None  # USD
    # Not settable from the environment: seams for tests and power users.
    client: Any = field(default=None, repr=False, compare=False)
    transport: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.token, str) and not isinstance(self.token, Token):
            object.__setattr__(self, "token", Token(self.token))

    def auth_token(self) -> str | None:
        """The token to send now (a :class:`DeferredToken` is resolved in this process)."""
        return self.token.resolve() if isinstance(self.token, DeferredToken) else self.token

    def __repr__(self) -> str:  # the token is never shown, only whether there is one
        shown = ", ".join(
            f"{f.name}={_shown(f.name, getattr(self, f.name))!r}" for f in fields(self) if f.repr
        )
        return f"Settings(token={'***' if self.token else None!r}, {shown})"

    @property
    def cache_path(self) -> Path | None:
        """The SQLite file of the persistent cache, or None when caching is off, in memory or on a server."""
        return cache_file(self.cache)

    @property
    def cache_location(self) -> str | None:
        """Where answers are kept, fit to show: the SQLite file, ``"memory"``, the server URL with
        its password replaced by ``***``, or None when caching is off."""
        if self.cache is False:
            return None
        if is_cache_url(self.cache):
            return redact_url(str(self.cache))
        path = self.cache_path
        return "memory" if path is None else str(path)


class SettingsKwargs(TypedDict, total=False):
    """Every setting as a keyword argument, for ``**settings: Unpack[SettingsKwargs]`` signatures.

    So editors complete ``df.hf.classify("review", max_con<Tab>`` and type checkers check the
    values. The keys are the fields of :class:`Settings` (``client`` and ``transport`` included)
    plus ``api_key``, the alias of ``token``. Every key is optional: a setting not given is taken
    from :func:`configure`, then ``HF_FRAME_<NAME>``, then its default.
    """

    token: str | None
    """The Hugging Face token (default: ``HF_TOKEN`` or the ``hf auth login`` file)."""
    api_key: str | None
    """The same as ``token`` (``huggingface_hub.InferenceClient``'s name for it)."""
    provider: str
    """``"auto"`` (default), an Inference Provider (``"hf-inference"``, ``"together"``...) or ``"local"``."""
    base_url: str
    """The router's URL (default ``https://router.huggingface.co``): a mirror or a test server."""
    endpoint: str | None
    """A dedicated Inference Endpoint, TGI, TEI or OpenAI-compatible server, posted to as it is."""
    max_concurrency: int
    """Requests in flight at once, process-wide (default 32)."""
    requests_per_minute: float | None
    """Request starts are spaced ``60 / requests_per_minute`` seconds apart (default None: no limit)."""
    timeout: float
    """Seconds per request (default 120)."""
    max_retries: int
    """Retries of a transient failure after the first attempt (default 5)."""
    retry_backoff: float
    """Base seconds of the exponential backoff between retries (default 1.0)."""
    cache: str | bool
    """True (default: the on-disk cache), False, ``"memory"``, a directory or ``.sqlite`` file, or ``redis://...``."""
    progress: bool
    """A progress bar (default True)."""
    errors: str
    """Failed rows: ``"warn"`` (default), ``"raise"`` or ``"ignore"``."""
    batch_size: int
    """Inputs per request where the API takes lists (default 32)."""
    wait_for_model: bool
    """No effect; accepted so that older code still runs."""
    bill_to: str | None
    """An organization billed for the requests (``X-HF-Bill-To``)."""
    scale_up_timeout: float | None
    """Seconds an ``endpoint`` scaled to zero may take to wake up (default 300; None: no wait)."""
    device: str | None
    """The torch device of ``provider="local"`` (default: CUDA if available, else CPU)."""
    max_media_bytes: int
    """The largest image or audio input, in bytes (default 50 MiB)."""
    max_response_bytes: int
    """The largest answer read from a server, in bytes (default 64 MiB); a larger one is a row error."""
    max_requests: int | None
    """A budget of the call: at most this many requests (default None: no limit)."""
    max_tokens: int | None
    """A budget of the call: chat's prompt + completion tokens (in ``chat``, the reply's length)."""
    max_cost: float | None
    """A budget of the call, in US dollars, where the router lists the model's price."""
    client: Any
    """An ``httpx.AsyncClient`` to send through instead of the built-in connection pool."""
    transport: Any
    """An httpx transport (``httpx.MockTransport``...) to send through."""


CACHE_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def is_cache_url(value: Any) -> bool:
    """Whether a ``cache`` setting names a Redis (or Valkey) server rather than a file."""
    return isinstance(value, str) and value.lower().startswith(CACHE_URL_SCHEMES)


def cache_file(value: str | bool) -> Path | None:
    """The SQLite file a ``cache`` setting points at (None for False, ``"memory"`` and server URLs)."""
    if value is False or value == "memory" or is_cache_url(value):
        return None
    if value is True:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "hf_frame" / "cache.sqlite"
    path = Path(str(value)).expanduser()
    return path if path.suffix in (".sqlite", ".db") else path / "cache.sqlite"


def redact_url(url: str) -> str:
    """``url`` with its password (``redis://:secret@host``, ``?password=secret``) replaced by ``***``.

    >>> redact_url("redis://me:secret@cache.local:6379/0?password=x")
    'redis://me:***@cache.local:6379/0?password=***'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else (f"{k}={v}" if v or "=" in pair else k)
        for pair in parts.query.split("&") if pair
        for k, _, v in [pair.partition("=")]
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _shown(name: str, value: Any) -> Any:
    return redact_url(value) if name == "cache" and is_cache_url(value) else value


_SETTING_NAMES = tuple(f.name for f in fields(Settings))
_ENV_NAMES = tuple(n for n in _SETTING_NAMES if n not in ("client", "transport", "token"))
_ALIASES = {"api_key": "token"}  # huggingface_hub's InferenceClient(api_key=...)
_session_overrides: dict[str, Any] = {}


def _unalias(settings: Mapping[str, Any]) -> SettingsKwargs:
    """``api_key=`` -> ``token=`` (passing both with different values is an error)."""
    out = dict(settings)
    for alias, name in _ALIASES.items():
        if alias in out:
            value = out.pop(alias)
            if name in out and out[name] is not None and value is not None and out[name] != value:
                raise ConfigError(f"{alias}= and {name}= are the same setting; pass only one")
            if value is not None or name not in out:
                out[name] = value
    return cast(SettingsKwargs, out)  # the callers check that every key is a setting


def configure(**settings: Unpack[SettingsKwargs]) -> Settings:
    """Set session defaults for every later call; returns the resulting settings.

    A setting given here wins over its ``HF_FRAME_<NAME>`` environment variable and loses to the
    same keyword passed to a method call. Calls add up: ``configure(timeout=30)`` then
    ``configure(progress=False)`` sets both.

    Parameters
    ----------
    **settings
        Any setting of :class:`SettingsKwargs` (``token``, ``provider``, ``endpoint``,
        ``max_concurrency``, ``cache``, ``errors``...). No settings at all resets the session:
        every later call uses the environment and the defaults again.

    Returns
    -------
    Settings
        The settings a call without keywords now gets (the token shown as ``'***'``).

    Raises
    ------
    ConfigError
        A name that is not a setting, or a value a setting does not take (nothing is changed then).

    Examples
    --------
    >>> import hf_frame
    >>> hf_frame.configure(token="hf_...", max_concurrency=16, cache="~/.hf_cache")  # doctest: +SKIP
    >>> hf_frame.configure(provider="local").provider                                 # doctest: +SKIP
    'local'
    >>> hf_frame.configure()   # back to the environment and the defaults              # doctest: +SKIP
    """
    settings = _unalias(settings)
    unknown = set(settings) - set(_SETTING_NAMES)
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known: {list(_SETTING_NAMES)}")
    before = dict(_session_overrides)
    if not settings:
        _session_overrides.clear()
    before = dict(_session_overrides)
    _session_overrides.update(settings)
    try:
        return resolve_settings()
    except ConfigError:  # an invalid value changes nothing: the session keeps its settings
        _session_overrides.clear()
        _session_overrides.update(before)
        raise


def is_setting(name: str) -> bool:
    return name in _SETTING_NAMES or name in _ALIASES


def resolve_settings(**overrides: Unpack[SettingsKwargs]) -> Settings:
    """Merge defaults, environment, :func:`configure` and per-call ``overrides`` into Settings.

    This is what every method call does with its setting keywords; call it to see the settings a
    call would run with.

    Parameters
    ----------
    **overrides
        Settings for this resolution only (as if passed to a method call). A value of None means
        "not given" (the session or environment value stays), except for ``endpoint``,
        ``requests_per_minute``, ``bill_to`` and ``scale_up_timeout``, where None is a value.

    Returns
    -------
    Settings
        A frozen, validated :class:`Settings` (its repr never shows the token).

    Raises
    ------
    ConfigError
        An unknown setting, an invalid value, or an ``HF_FRAME_<NAME>`` variable that cannot be parsed.

    Examples
    --------
    >>> resolve_settings(timeout=30).timeout
    30
    >>> resolve_settings(errors="raise", cache=False).cache
    False
    """
    overrides = _unalias(overrides)
    unknown = set(overrides) - set(_SETTING_NAMES)
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known: {list(_SETTING_NAMES)}")
    values: dict[str, Any] = {}
    for name in _ENV_NAMES:
        raw = os.environ.get(f"HF_FRAME_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _from_env(name, raw)
    if "bill_to" not in values and os.environ.get("HF_BILL_TO"):
        values["bill_to"] = os.environ["HF_BILL_TO"]
    values["token"] = get_token()
    values.update(_session_overrides)
    nullable = ("endpoint", "requests_per_minute", "bill_to", "scale_up_timeout", *_BUDGETS)
    values.update({k: v for k, v in overrides.items() if v is not None or k in nullable})
    settings = Settings(**values)
    _validate(settings)
    return settings


def get_token() -> str | None:
    """The token, found where ``huggingface_hub.get_token()`` looks (after ``HF_FRAME_TOKEN``)."""
    for name in ("HF_FRAME_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        token = _clean_token(os.environ.get(name))
        if token:
            return token
    return _token_file()


def _clean_token(token: str | None) -> str | None:
    if token is None:
        return None
    return token.replace("\r", "").replace("\n", "").strip() or None


def token_path() -> Path:
    """Where ``hf auth login`` writes the token (``$HF_TOKEN_PATH``, else under ``$HF_HOME``)."""
    path = os.environ.get("HF_TOKEN_PATH")
    if not path:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"), "huggingface")
        path = os.path.join(os.path.expanduser(os.path.expandvars(home)), "token")
    return Path(os.path.expanduser(os.path.expandvars(path)))


def _token_file() -> str | None:
    try:
        return _clean_token(token_path().read_text())
    except (OSError, UnicodeDecodeError):
        return None


_BUDGETS = ("max_requests", "max_tokens", "max_cost")
_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off"}


def _from_env(name: str, raw: str) -> Any:
    default = next(f.default for f in fields(Settings) if f.name == name)
    try:
        if name == "cache":
            low = raw.lower()
            return False if low in _BOOL_FALSE else True if low in _BOOL_TRUE else raw
        if name in _BUDGETS:
            if raw.strip().lower() in ("none", "off", "null"):
                return None
            return float(raw) if name == "max_cost" else int(raw)
        if isinstance(default, bool):
            low = raw.lower()
            if low not in _BOOL_TRUE | _BOOL_FALSE:
                raise ValueError(raw)
            return low in _BOOL_TRUE
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float) or name == "requests_per_minute":
            if name == "scale_up_timeout" and raw.lower() in ("none", "off", "0"):
                return None
            return float(raw)
    except ValueError:
        raise ConfigError(f"environment variable HF_FRAME_{name.upper()}={raw!r} is not a valid {name}") from None
    return raw


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_PROVIDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _bad(s: Settings, name: str, why: str) -> ConfigError:
    return ConfigError(f"setting {name}={getattr(s, name)!r} is invalid: {why}")


def _validate(s: Settings) -> None:
    """Every setting has the type and range it needs (a ConfigError names the setting and value)."""
    _validate_types(s)
    _validate_values(s)


def _validate_types(s: Settings) -> None:
    def bad(name: str, why: str) -> ConfigError:
        return _bad(s, name, why)

    if s.token is not None and not isinstance(s.token, (str, DeferredToken)):
        raise ConfigError(f"setting token is invalid: must be a string or None, got {type(s.token).__name__}")
    for name in ("provider", "base_url", "errors"):
        if not isinstance(getattr(s, name), str):
            raise bad(name, "must be a string")
    for name in ("endpoint", "device"):
        if getattr(s, name) is not None and not isinstance(getattr(s, name), str):
            raise bad(name, "must be a string or None")
    for name in ("progress", "wait_for_model"):
        if not isinstance(getattr(s, name), bool):
            raise bad(name, "must be True or False")
    if not isinstance(s.cache, (bool, str, os.PathLike)):
        raise bad("cache", "must be True, False, 'memory' or a path")
    for name, minimum in (("max_concurrency", 1), ("max_retries", 0), ("batch_size", 1)):
        if not _is_int(getattr(s, name)) or getattr(s, name) < minimum:
            raise bad(name, f"must be an integer >= {minimum}")
    for name in ("max_media_bytes", "max_response_bytes"):
        if not _is_int(getattr(s, name)) or getattr(s, name) < 1:
            raise bad(name, "must be an integer >= 1 (bytes)")
    if s.requests_per_minute is not None and (not _is_number(s.requests_per_minute) or s.requests_per_minute <= 0):
        raise bad("requests_per_minute", "must be a number > 0 or None")
    if not _is_number(s.timeout) or s.timeout <= 0:
        raise bad("timeout", "must be a number of seconds > 0")
    if not _is_number(s.retry_backoff) or s.retry_backoff < 0:
        raise bad("retry_backoff", "must be a number of seconds >= 0")


def _validate_values(s: Settings) -> None:
    def bad(name: str, why: str) -> ConfigError:
        return _bad(s, name, why)

    if s.errors not in ERROR_MODES:
        raise bad("errors", f"must be one of {ERROR_MODES}")
    if not _PROVIDER.fullmatch(s.provider) or ".." in s.provider:
        raise bad("provider", "must be a provider name such as 'hf-inference', 'together' or 'local'")
    if not s.base_url.startswith(("http://", "https://")):
        raise bad("base_url", "must start with http:// or https://")
    if s.endpoint is not None and not str(s.endpoint).startswith(("http://", "https://")):
        raise bad("endpoint", "must start with http:// or https://")
    if s.scale_up_timeout is not None and s.scale_up_timeout < 0:
        raise bad("scale_up_timeout", "must be >= 0 seconds or None")
    if s.bill_to is not None and (not isinstance(s.bill_to, str) or not s.bill_to.strip()):
        raise bad("bill_to", "must be an organization name or None")
    for name in ("max_requests", "max_tokens"):
        value = getattr(s, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise bad(name, "must be an integer >= 0 or None")
    if s.max_cost is not None and (isinstance(s.max_cost, bool) or not isinstance(s.max_cost, (int, float))
                                   or s.max_cost < 0):
        raise bad("max_cost", "must be a number of US dollars >= 0 or None")
    if not isinstance(s.provider, str) or not s.provider.strip():
        raise bad("provider", "must be 'auto', a provider name or 'local'")


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set, as huggingface_hub reads it."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _BOOL_TRUE


def hub_endpoint() -> str:
    """The Hub's base URL: ``HF_ENDPOINT`` as huggingface_hub reads it, default huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with ``changes`` applied (validated)."""
    out = dataclasses.replace(settings, **changes)
    _validate(out)
    return out
