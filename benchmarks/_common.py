"""What the benchmark scripts share: a server in a child process and peak-memory readings."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
FAKE_HUB = ROOT / "tests" / "fake_hub.py"


@contextmanager
def child_server(cmd: list[str]) -> Iterator[str]:
    """Run a server that prints its base URL on its first stdout line; yields that URL.

    A child process, so the server does not compete with the measured client for the GIL.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fake_hub_process(latency: float = 0.0, *, lean: bool = False):
    """``python tests/fake_hub.py --latency S`` in a child process; yields its base URL.

    ``lean=True``: ``benchmarks/lean_hub.py`` instead (text-classification only, ~10x cheaper per request).
    """
    script = ROOT / "benchmarks" / "lean_hub.py" if lean else FAKE_HUB
    return child_server([sys.executable, str(script), "--latency", str(latency)])


def status_kib(field: str) -> int | None:
    """A field of /proc/self/status (VmRSS, VmHWM) in KiB; None where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> None:
    """Make VmHWM restart from the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
