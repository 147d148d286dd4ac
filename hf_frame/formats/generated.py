"""Generated media as frame cells: format names, saving them to files, thumbnails in notebooks.

``text_to_image``, ``image_to_image`` and ``text_to_speech`` give a column of bytes (PNG/JPEG
images, FLAC/WAV sounds, exactly as the model returned them). Nothing is written to disk unless
asked: :func:`save_media` writes a column out, one file per row, named from the row label and
the format's extension; :func:`media_html` shows a frame with images as thumbnails and sounds
as players (a notebook displays it as is).

>>> media_format("image/jpeg"), media_format("audio/mpeg"), media_format("text/plain")
('jpeg', 'mp3', None)
>>> extension(b"\\x89PNG\\r\\n\\x1a\\n....")
'.png'
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from .cells import is_missing
from .media import sniff
from .wire import encode_base64

__all__ = ["MediaHTML", "extension", "media_format", "media_html", "save_media"]

#: content type -> the short format name shown in ``*_format`` columns
_FORMATS = {
    "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", "image/gif": "gif", "image/bmp": "bmp",
    "image/tiff": "tiff", "image/avif": "avif", "image/heic": "heic", "image/heif": "heif",
    "audio/flac": "flac", "audio/x-flac": "flac", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/ogg": "ogg", "audio/aac": "aac", "audio/mp4": "m4a",
    "audio/aiff": "aiff", "audio/webm": "webm", "video/webm": "webm", "video/mp4": "mp4",
}
#: format name -> file extension, where they differ
_EXTENSIONS = {"jpeg": ".jpg"}


def media_format(content_type: str | None) -> str | None:
    """The short format name of a content type (``image/jpeg`` -> ``jpeg``), or None if unknown."""
    if not content_type:
        return None
    return _FORMATS.get(content_type.split(";")[0].strip().lower())


def content_format(data: bytes, declared: str | None = None) -> str | None:
    """The format of ``data``: what its bytes sniff as, else what the server declared."""
    return media_format(sniff(data)) or media_format(declared)


def extension(data: bytes) -> str:
    """The file extension for these bytes (``.png``, ``.jpg``, ``.flac``, ``.wav``...; ``.bin`` if unknown)."""
    name = content_format(data)
    return ".bin" if name is None else _EXTENSIONS.get(name, f".{name}")


# ---------------------------------------------------------------------------------------------
# saving


_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def _file_stem(label: Any) -> str:
    """A row label as a file name: path separators and other unsafe characters become ``_``."""
    stem = _UNSAFE.sub("_", str(label)).strip("._")
    return stem or "row"


def _labelled_values(series: Any) -> tuple[list[Any], list[Any]]:
    """(row labels, values) of a pandas Series (its index), a polars Series or a list (positions)."""
    if hasattr(series, "iloc") and hasattr(series, "index"):  # pandas
        return list(series.index), list(series.tolist())
    if callable(getattr(series, "to_list", None)):  # polars
        values = series.to_list()
        return list(range(len(values))), values
    values = list(series)
    return list(range(len(values))), values


def save_media(series: Any, folder: str | Path, *, prefix: str = "", overwrite: bool = True) -> list[Path]:
    """Write a column of generated media to ``folder``, one file per row; returns the paths written.

    Files are named ``<prefix><row label><extension>``: the pandas index label (a polars Series or a
    list: the row position) and the extension of the format the bytes are in (``.png``, ``.jpg``,
    ``.flac``, ``.wav``...). Missing cells (a failed row) are skipped.

    Parameters
    ----------
    series : pandas.Series, polars.Series or list
        A column of bytes, such as ``<col>_image`` of ``text_to_image`` or ``<col>_audio`` of
        ``text_to_speech``.
    folder : str or pathlib.Path
        Where the files go; created if needed (``~`` is expanded).
    prefix : str, default ""
        Put before every file name.
    overwrite : bool, default True
        Replace existing files; with False an existing file raises ``FileExistsError`` before
        anything is written.

    Returns
    -------
    list of pathlib.Path
        The files written, in row order.

    Raises
    ------
    TypeError
        A cell holds something other than bytes (the message names its row).
    ValueError
        Two rows would be written to the same file (give the rows distinct labels).

    Examples
    --------
    >>> out = df.hf.text_to_image("prompt")                                   # doctest: +SKIP
    >>> hf_frame.save_media(out["prompt_image"], "renders")                    # doctest: +SKIP
    [PosixPath('renders/0.jpg'), PosixPath('renders/1.jpg')]
    """
    labels, values = _labelled_values(series)
    folder = Path(folder).expanduser()
    planned: list[tuple[Path, bytes]] = []
    seen: dict[str, Any] = {}
    for label, value in zip(labels, values):
        if is_missing(value):
            continue
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"save_media: row {label!r} holds {type(value).__name__}, expected bytes "
                            "(a column such as <col>_image or <col>_audio)")
        data = bytes(value)
        name = f"{prefix}{_file_stem(label)}{extension(data)}"
        if name in seen:
            raise ValueError(f"save_media: rows {seen[name]!r} and {label!r} would both be written to {name!r}; "
                             "give the rows distinct labels (e.g. reset_index())")
        seen[name] = label
        planned.append((folder / name, data))
    if not overwrite:
        existing = [str(path) for path, _ in planned if path.exists()]
        if existing:
            raise FileExistsError(f"save_media: {len(existing)} file(s) exist already, e.g. {existing[0]} "
                                  "(pass overwrite=True to replace them)")
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in planned:
        path.write_bytes(data)
    return [path for path, _ in planned]


# ---------------------------------------------------------------------------------------------
# notebooks


class MediaHTML(str):
    """HTML text that notebooks render (``_repr_html_``): returned by :func:`media_html`."""

    def _repr_html_(self) -> str:
        return str(self)


def _cell_html(value: Any, width: int, max_text: int) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        kind = sniff(data) or ""
        uri = f"data:{kind};base64,{encode_base64(data)}"
        if kind.startswith("image/"):
            return f'<img src="{uri}" width="{width}" style="max-width:{width}px">'
        if kind.startswith("audio/"):
            return f'<audio controls src="{uri}"></audio>'
        return html.escape(f"<{len(data)} bytes>")
    text = str(value)
    if len(text) > max_text:
        text = text[: max_text - 3] + "..."
    return html.escape(text)


def _columns(data: Any) -> tuple[list[Any], list[str], list[list[Any]]]:
    """(row labels, column names, values per column) of a pandas/polars frame or series."""
    if hasattr(data, "columns"):
        names = [str(c) for c in data.columns]
        if hasattr(data, "iloc"):  # pandas
            return list(data.index), names, [data[c].tolist() for c in data.columns]
        return list(range(data.height)), names, [data[c].to_list() for c in data.columns]  # polars
    labels, values = _labelled_values(data)
    name = getattr(data, "name", None)
    return labels, [str(name) if name not in (None, "") else "value"], [values]


def media_html(data: Any, *, width: int = 128, max_rows: int = 50, max_text: int = 80) -> MediaHTML:
    """An HTML table of a frame or a series, images as thumbnails and sounds as players.

    A notebook cell ending with it shows it. Text cells are escaped and shortened.

    Parameters
    ----------
    data : DataFrame or Series
        A pandas or polars frame or series; cells holding image or audio bytes are shown as media.
    width : int, default 128
        The thumbnails' width in pixels.
    max_rows : int, default 50
        Only the first ``max_rows`` rows are shown (a line says how many more there are).
    max_text : int, default 80
        Text cells longer than this are cut, ending ``...``.

    Returns
    -------
    MediaHTML
        The HTML as a ``str`` that notebooks render (it has ``_repr_html_``).

    Examples
    --------
    >>> hf_frame.media_html(df.hf.text_to_image("prompt"))                    # doctest: +SKIP
    """
    labels, names, columns = _columns(data)
    shown = min(len(labels), max_rows)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for i in range(shown):
        cells = "".join(f"<td>{_cell_html(col[i], width, max_text)}</td>" for col in columns)
        rows.append(f"<tr><th>{html.escape(str(labels[i]))}</th>{cells}</tr>")
    more = f"<p>... {len(labels) - shown} more rows</p>" if shown < len(labels) else ""
    return MediaHTML(f'<table class="hf-frame-media"><thead><tr><th></th>{head}</tr></thead>'
                     f"<tbody>{''.join(rows)}</tbody></table>{more}")
