"""Every exception hf_frame raises on purpose.

::

    HFFrameError                      base of everything below
    ├── ConfigError (ValueError)      a setting has an invalid value
    ├── InputError (ValueError)       a cell cannot be sent (also raised as TypeError subclass below)
    │   ├── InputTypeError (TypeError) a non-text value in a text column, naming the row
    │   └── MediaError                a cell cannot be turned into image/audio bytes (names the path/URL)
    ├── TemplateError (ValueError)    a prompt template is malformed
    ├── MissingColumnError (KeyError) a template uses columns the frame does not have
    ├── MissingValueError (ValueError) a value a template needs is missing
    ├── SchemaMismatch (ValueError)   a chat reply is not JSON or does not match the schema
    ├── RequestError                  a request failed; carries status, task and model
    │   ├── FatalRequestError         systematic: bad token (401/403), unknown model (404),
    │   │                             invalid parameters; stops the whole call at once
    │   └── RowRequestError           one row's request failed (400/413/422, or still failing
    │       │                         after retries); becomes a null output + `<prefix>_error`
    │       └── AnswerError           the service answered, but not in a shape the task reads
    ├── BudgetExceeded                a call would exceed (or reached) ``max_requests`` / ``max_tokens`` /
    │                                 ``max_cost``; what was answered is cached, a rerun resumes
    ├── RowErrors                     raised with ``errors="raise"`` after every other row finished
    │                                 (and was cached); ``.errors`` maps row label -> message
    └── CacheError                    the answer cache cannot be used (a corrupt file, an unreachable
                                      server); names the file or the URL (never its password)

    CacheWarning (UserWarning)        answers could not be written to the cache yet (kept in memory)

Internal, never seen by users: ``WireTimeout`` / ``WireError`` / ``WireUnreachable`` / ``WireTooLarge``
(the one boundary where aiohttp's and httpx's own exceptions are mapped), ``LocalModelError`` /
``LocalModelLoadError`` (the local
backend; the engine turns them into the request errors above).

Messages name the task, the model, the column, row, file or URL involved, and never the token
or a password.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence


class HFFrameError(Exception):
    """Base class of every error raised by hf_frame."""


class ConfigError(HFFrameError, ValueError):
    """A setting has an invalid value (the message names the setting)."""


class InputError(HFFrameError, ValueError):
    """A cell value cannot be turned into a request (the message names the row)."""


class InputTypeError(InputError, TypeError):
    """A cell has the wrong type, e.g. a number in a text column."""


class RequestError(HFFrameError):
    """A request to the inference service failed.

    Attributes: ``status`` (HTTP status or None for network errors), ``task``, ``model``.
    """

    def __init__(self, message: str, *, status: int | None = None, task: str = "", model: str = ""):
        super().__init__(message)
        self.status = status
        self.task = task
        self.model = model


class FatalRequestError(RequestError):
    """A failure no other row can escape (token, model, parameters): the call stops at once."""


class RowRequestError(RequestError):
    """A failure specific to one request: the rows it served get null outputs and an error."""


class AnswerError(RowRequestError):
    """The service answered, but the answer does not have the shape the task reads (never cached)."""


class RowErrors(HFFrameError):
    """Some rows failed and ``errors="raise"`` was set; every other row was computed and cached.

    ``errors`` maps the row label (index value, or position) to its message.
    """

    def __init__(self, errors: Mapping[Any, str], *, column: str, total: int):
        self.errors = dict(errors)
        self.column = column
        shown = "; ".join(f"row {label!r}: {msg}" for label, msg in list(self.errors.items())[:5])
        more = "" if len(self.errors) <= 5 else f" (and {len(self.errors) - 5} more)"
        super().__init__(
            f"{len(self.errors)} of {total} rows failed for {column!r}: {shown}{more}. "
            "The other rows are cached; rerunning sends only the failed rows."
        )

    def __reduce__(self):  # picklable (Dask sends it from a worker to the client): the constructor takes keywords
        return _restore_exception, (type(self), self.args, dict(vars(self)))


def _restore_exception(cls: type, args: tuple, state: dict) -> BaseException:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class BudgetExceeded(HFFrameError):
    """A call stopped at a budget (``max_requests``, ``max_tokens`` or ``max_cost``).

    Raised before anything is sent when the call's plan exceeds the budget, or while sending when
    the budget is reached (the answers received so far are cached: rerunning with a higher budget
    sends only the rest). Attributes: ``setting`` (the budget's name), ``limit``, ``spent`` (by this
    call so far, ``needed`` what the plan says the call needs), ``requests`` (sent by this call) and
    ``remaining`` (requests it still had to send; None when unknown).
    """

    def __init__(self, message: str, *, setting: str, limit: float, spent: float = 0, needed: float | None = None,
                 requests: int = 0, remaining: int | None = None):
        super().__init__(message)
        self.setting, self.limit, self.spent, self.needed = setting, limit, spent, needed
        self.requests, self.remaining = requests, remaining


class RowErrorWarning(UserWarning):
    """Warned once per call when some rows failed (their outputs are null)."""


class MediaError(InputError):
    """A cell cannot be turned into image/audio bytes.

    A :class:`ValueError` (through :class:`hf_frame.errors.InputError`). The message names the
    path or URL involved, e.g. ``MediaError("file not found: /x/y.png")``.
    """


class TemplateError(HFFrameError, ValueError):
    """A prompt template is malformed (the message names the position)."""


class MissingColumnError(HFFrameError, KeyError):
    """A template uses columns the dataframe does not have.

    ``missing`` lists them; the message also lists the available columns.
    """

    def __init__(self, message: str, missing: Sequence[str] = ()):
        super().__init__(message)
        self.missing = list(missing)

    def __str__(self) -> str:  # KeyError would show the message inside quotes
        return str(self.args[0])


class MissingValueError(HFFrameError, ValueError):
    """A value used by a template is missing (None, NaN, NA); ``column`` names it."""

    def __init__(self, message: str, column: str):
        super().__init__(message)
        self.column = column


class SchemaMismatch(HFFrameError, ValueError):
    """A model reply is not JSON, or does not match the schema.

    The message starts with the JSON path of the offending value, e.g.
    ``$.address.city: expected string, got 12``.
    """


class WireTimeout(Exception):
    """The request timed out (mapped from aiohttp's or httpx's own timeout errors)."""


class WireError(Exception):
    """The connection failed or dropped (mapped from aiohttp's or httpx's transport errors)."""


class WireUnreachable(WireError):
    """Nothing answers at the address: the connection was refused or the host name did not resolve."""


class CacheError(HFFrameError):
    """The answer cache cannot be read or opened: a corrupt SQLite file, a directory that cannot be
    created, an unreachable Redis server. The message names the file or the URL (with any password
    replaced by ``***``) and how to fix it."""


class CacheWarning(UserWarning):
    """Answers could not be written to the cache (a locked or read-only file, an unreachable server).

    They stay in memory, are still served to later calls of the same process and are retried; the
    warning is given once per problem, and once more at exit if some were never written."""


class LocalModelError(ValueError):
    """Bad input for a local task, an unsupported task, or a model that cannot be loaded."""


class LocalModelLoadError(LocalModelError):
    """A systematic failure: the model cannot be loaded (missing, not cached, wrong kind), the device
    is invalid or the task is not supported locally. Every request would fail the same way, so
    callers may stop at once instead of failing row by row."""


# Frames of these packages are never "the user's line": hf_frame itself, and the frame libraries
# whose internals sit between the user and hf_frame (a polars ``collect()`` running a plan).
_LIBRARY_MODULES = ("hf_frame", "polars", "pandas")


def _in_library(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in _LIBRARY_MODULES)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside hf_frame.

    Call it as an argument of ``warnings.warn`` (``warnings.warn(msg, cls, stacklevel=user_stacklevel())``).
    The user's line is found by walking out of hf_frame's frames (and pandas' or polars' own, as in a
    ``LazyFrame.collect()``), so it stays right whatever path led to the warning. When every frame
    belongs to them (a polars worker thread), the outermost one is used.
    """
    frame = sys._getframe(1)  # the function calling warnings.warn: stacklevel 1
    level = 1
    while frame.f_back is not None and _in_library(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    return level


class WireTooLarge(Exception):
    """The answer is larger than ``max_response_bytes``; reading stopped there (never retried)."""

    def __init__(self, status: int, size: str):
        super().__init__(size)
        self.status = status
