"""Shared pytest fixtures: the fake Hugging Face server and per-test settings isolation.

* ``hub_server`` (session): one :class:`fake_hub.FakeHub` for the whole run.
* ``hub`` (function): that server, reset (no requests, faults or counters; latency 0).
* ``redis_server`` / ``redis_url`` / ``make_redis_server``: a real Redis server (``redis_server.py``).
* ``hf`` (function): ``hub`` with the library pointed at it (modules may define their own).
* ``_isolated_settings`` (autouse): every test gets its own cache directory, no progress bars
  and a fake token, whatever the developer's shell or earlier tests configured; ``HF_ENDPOINT``
  (where provider mappings are looked up) is the fake hub, so no test asks the real Hub.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# Make ``import fake_hub`` work whatever pytest's import mode (importlib mode does not put the
# tests directory on sys.path).
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fake_hub import DEFAULT_MODEL_TASKS, FakeHub, default_catalog  # noqa: E402
from redis_server import make_redis_server, redis_server, redis_url  # noqa: E402,F401  (fixtures)

TEST_TOKEN = "hf_test_token_123"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a slow test (deselect with -m 'not slow')")


@pytest.fixture(scope="session")
def hub_server() -> Iterator[FakeHub]:
    """One fake hub for the whole session (starting one costs a thread and a port)."""
    with FakeHub() as server:
        yield server


@pytest.fixture
def hub(hub_server: FakeHub) -> Iterator[FakeHub]:
    """The session's fake hub, reset to a clean state for this test."""
    _restore(hub_server)
    yield hub_server
    _restore(hub_server)  # leave no fault or setting behind for the next test


@pytest.fixture
def hf(hub: FakeHub) -> FakeHub:
    """The hub, with the library pointed at it (``base_url``) and fast retries."""
    import hf_frame

    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with warnings (the RowErrorWarning of failed rows) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _restore(server: FakeHub) -> None:
    server.wait_quiet()
    server.reset()
    server.latency = 0.0
    server.model_tasks = dict(DEFAULT_MODEL_TASKS)
    server.require_token = None
    server.dim = 384
    server.max_batch = 32
    server.endpoint_task = "feature-extraction"
    server.zero_shot_list_form = False
    server.catalog = default_catalog()
    server.logprobs = True
    server.mappings = {}
    server.providers.queue_polls = 1
    server.providers.prediction_polls = 1
    server.providers.task_polls = 1
    server.capacity = None


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_server: FakeHub) -> Iterator[None]:
    """Per-test library settings: a private cache, no progress bars, a fake token.

    The library resolves settings from the environment at call time, so environment variables
    are enough. Variables from the developer's shell are removed first so they cannot leak in.
    """
    for name in list(os.environ):
        if name.startswith("HF_FRAME_"):
            monkeypatch.delenv(name)
    # These turn hf_frame's progress bar off too; a test that wants a bar sets progress=True.
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setenv("HF_FRAME_CACHE", str(tmp_path / "hf_frame_cache"))
    monkeypatch.setenv("HF_FRAME_PROGRESS", "0")
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    # Never read the developer's real token file or hub cache.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN_PATH", raising=False)
    for name in ("HUGGING_FACE_HUB_TOKEN", "HF_BILL_TO"):
        monkeypatch.delenv(name, raising=False)
    # Provider mappings come from the fake hub's Hub API (404 for every model unless a test maps it).
    monkeypatch.setenv("HF_ENDPOINT", hub_server.base_url)
    _forget_mappings()
    yield
    _reset_session_config()
    _forget_mappings()


def _forget_mappings() -> None:
    """Drop the library's in-process memory of provider mappings (each test maps models its way)."""
    for name in ("mapping", "pricing"):  # models' providers, and the router's price list
        module = sys.modules.get(f"hf_frame.backends.remote.providers.{name}")
        if module is not None:
            module.forget()


def _reset_session_config() -> None:
    """Undo ``hf_frame.configure(...)`` calls made by a test (``configure()`` resets)."""
    config = sys.modules.get("hf_frame.config")
    configure = getattr(config, "configure", None)
    if configure is not None:
        # configure() clears the overrides before resolving settings, so an error while
        # resolving (a test's odd environment) does not undo the reset.
        with contextlib.suppress(Exception):
            configure()
