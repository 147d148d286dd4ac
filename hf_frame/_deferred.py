"""Run a function right after a module is imported (at once if it already is).

``import hf_frame`` registers ``.hf`` on pandas and polars objects. Importing pandas, polars,
pyarrow, httpx and aiohttp for that takes most of a second, which a process that never touches a
frame (``hf-frame --help``, a script configuring settings) should not pay. So the accessors are
registered when pandas / polars is imported: immediately if it already was, otherwise by a finder
that wraps that one module's loader and calls the registration once the module has executed.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import warnings
from collections.abc import Callable
from types import ModuleType

_lock = threading.Lock()


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` once the module ``name`` (``"pandas"``, ``"dask.dataframe"``) is imported."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    with _lock:
        sys.meta_path.insert(0, _Finder(name, callback))


class _Finder:  # a meta path finder (importlib.abc is not imported: it costs more than all of this)
    """Finds ``name`` through the other finders and hands out its spec with a wrapped loader. It stays
    in ``sys.meta_path`` until the module is executed: ``importlib.util.find_spec(name)`` alone (an
    "is it installed?" check) must not use it up."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback
        self.searching = False
        self.done = False

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name or self.searching or self.done:
            return None
        self.searching = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.searching = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, self)
        return spec

    def imported(self, module: ModuleType) -> None:
        """The module was executed: leave ``sys.meta_path`` and run the callback, once."""
        with _lock:
            if self.done:
                return
            self.done = True
            if self in sys.meta_path:
                sys.meta_path.remove(self)
        try:
            self.callback(module)
        except Exception as exc:  # noqa: BLE001 (reported, never breaks the user's import)
            warnings.warn(f"hf_frame could not register its accessors on {module.__name__}: "
                          f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=3)


class _Loader:
    """The module's own loader; after it executed the module, the real loader is put back and the
    finder's callback runs. A failing callback warns: the module the user imported stays usable."""

    def __init__(self, loader, finder: _Finder) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.finder.imported(module)

    def __getattr__(self, name: str):  # get_source, get_resource_reader, is_package...
        return getattr(self.loader, name)
