"""Shared pytest fixtures: the fake Hugging Face server and per-test settings isolation.

* ``hub_server`` (session): one :class:`fake_hub.FakeHub` for the whole run.
* ``hub`` (function): that server, reset (no requests, faults or counters; latency 0).
* ``_isolated_settings`` (autouse): every test gets its own cache directory, no progress bars
  and a fake token, whatever the developer's shell or earlier tests configured.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Make ``import fake_hub`` work whatever pytest's import mode (importlib mode does not put the
# tests directory on sys.path).
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fake_hub import DEFAULT_MODEL_TASKS, FakeHub  # noqa: E402

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
    server.capacity = None


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Per-test library settings: a private cache, no progress bars, a fake token.

    The library resolves settings from the environment at call time, so environment variables
    are enough. Variables from the developer's shell are removed first so they cannot leak in.
    """
    for name in list(os.environ):
        if name.startswith("HF_FRAME_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_FRAME_CACHE", str(tmp_path / "hf_frame_cache"))
    monkeypatch.setenv("HF_FRAME_PROGRESS", "0")
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    # Never read the developer's real token file or hub cache.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN_PATH", raising=False)
    yield
    _reset_session_config()


def _reset_session_config() -> None:
    """Undo ``hf_frame.configure(...)`` calls made by a test (``configure()`` resets)."""
    config = sys.modules.get("hf_frame.config")
    configure = getattr(config, "configure", None)
    if configure is not None:
        # configure() clears the overrides before resolving settings, so an error while
        # resolving (a test's odd environment) does not undo the reset.
        with contextlib.suppress(Exception):
            configure()
