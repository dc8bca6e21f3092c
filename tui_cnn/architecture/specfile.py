"""Reading and writing spec files on disk: never a traceback, always atomic."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from .spec import MAX_FILE_BYTES, ParseError, Spec, format_file, parse_file


def read_spec(path: Path) -> Spec | ParseError:
    """A spec from a file, or a ParseError that says what is wrong with the file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return ParseError(
                f"too large for a spec ({size:,} bytes, at most {MAX_FILE_BYTES:,})", line=0, path=str(path)
            )
        raw = path.read_bytes()
    except OSError as exc:
        return ParseError(f"cannot read it: {exc.strerror or exc}", line=0, path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ParseError("not a text spec file (not UTF-8)", line=0, path=str(path))
    result = parse_file(text, default_name=path.stem)
    if isinstance(result, ParseError):
        return replace(result, path=str(path))
    return result


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_spec(path: Path, spec: Spec) -> None:
    write_atomic(path, format_file(spec).encode("utf-8"))
