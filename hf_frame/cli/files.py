"""Reading and writing the input and output files: CSV, TSV, Parquet, JSONL, JSON, compressed."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .base import UsageError

#: Extension -> format. Compression suffixes (.gz...) are stripped first.
FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}
COMPRESSIONS = (".gz", ".bz2", ".xz")


def file_format(path: str) -> tuple[str, str | None]:
    """(format, compression suffix) from the file name; UsageError when unknown."""
    name = path.lower()
    compression = next((c for c in COMPRESSIONS if name.endswith(c)), None)
    if compression:
        name = name[: -len(compression)]
    fmt = FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise UsageError(f"{path!r}: unknown format; use one of {', '.join(sorted(FORMATS))} "
                         f"(optionally compressed: {', '.join(COMPRESSIONS)})")
    if compression and fmt == "parquet":
        raise UsageError(f"{path!r}: Parquet files are compressed internally; drop {compression!r}")
    return fmt, compression


def read_frame(path: str):
    """The input file as a pandas DataFrame. Text cells stay text: only empty cells are missing."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("the hf-frame command reads and writes files with pandas: pip install 'hf_frame[pandas]'") from None

    fmt, _ = file_format(path)
    if not os.path.exists(path):
        raise UsageError(f"input file {path!r} does not exist")
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", keep_default_na=False, na_values=[""])
        if fmt == "parquet":
            return pd.read_parquet(path, dtype_backend="pyarrow")
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
        return pd.read_json(path, orient="records", dtype=False, convert_dates=False)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r} as {fmt}: {exc}") from None
    except Exception as exc:  # noqa: BLE001  (parser errors of pandas / pyarrow)
        raise UsageError(f"cannot read {path!r} as {fmt}: {type(exc).__name__}: {exc}") from None


def _is_nested(dtype: Any) -> bool:
    import pyarrow as pa

    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is None:
        return False
    return pa.types.is_nested(arrow)


def _plain(value: Any) -> Any:
    """A JSON-able Python value: NaN -> None, numpy/pandas scalars and arrays -> Python."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return _plain(tolist())
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _is_container(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict)) or getattr(value, "ndim", 0) > 0


def _json_text(value: Any) -> str | None:
    value = _plain(value)
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _records(df) -> Any:
    """The frame's rows as JSON-able dicts (via arrow, so nested outputs come out as lists/dicts)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            yield {k: _plain(v) for k, v in row.items()}


def write_frame(df, path: str) -> None:
    """Write ``df`` to ``path`` in the format its extension names, atomically (a temporary file in
    the same directory is renamed over the target, so an interrupted run never leaves half a file)."""
    fmt, compression = file_format(path)
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise UsageError(f"output directory {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent or "."))
    os.close(fd)
    try:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        elif fmt in ("csv", "tsv"):
            flat = df.copy(deep=False)
            for column in flat.columns:
                if _is_nested(flat[column].dtype):
                    flat[column] = [_json_text(v) for v in flat[column].tolist()]
                elif flat[column].dtype == object:
                    flat[column] = [_json_text(v) if _is_container(v) else v for v in flat[column].tolist()]
            flat.to_csv(tmp, sep="\t" if fmt == "tsv" else ",", index=False,
                        compression=_compression(compression))
        else:
            with _open_text(tmp, compression) as out:
                if fmt == "jsonl":
                    for record in _records(df):
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    out.write("[")
                    for i, record in enumerate(_records(df)):
                        out.write(("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False))
                    out.write("\n]\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _compression(suffix: str | None) -> str | None:
    return {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}.get(suffix or "")


def _open_text(path: str, compression: str | None):
    if compression in (None, ""):
        return open(path, "w", encoding="utf-8")
    if compression == ".gz":
        import gzip

        return gzip.open(path, "wt", encoding="utf-8")
    if compression == ".bz2":
        import bz2

        return bz2.open(path, "wt", encoding="utf-8")
    if compression == ".xz":
        import lzma

        return lzma.open(path, "wt", encoding="utf-8")
    raise UsageError(f"unsupported compression {compression!r}")
