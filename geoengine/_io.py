"""Private file helpers: content hashes and whole-or-nothing writes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a string (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all (temporary name, then rename), so a
    reader (another process, a later run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, whole or not at all."""
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


@contextmanager
def staging_dir(target: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``target`` whose files move into ``target`` on success.

    Files are moved one by one with :func:`os.replace` (atomic per file) and
    ``manifest.json`` last, so a run folder is complete exactly when its manifest is
    there. On error the staging folder is removed and ``target`` is left untouched
    (it is not even created).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield stage
        target.mkdir(parents=True, exist_ok=True)
        # an old manifest would vouch for a folder that is being replaced
        (target / "manifest.json").unlink(missing_ok=True)
        names = sorted(p.name for p in stage.iterdir())
        if "manifest.json" in names:
            names.remove("manifest.json")
            names.append("manifest.json")
        for name in names:
            dest = target / name
            if dest.is_dir() and not (stage / name).is_dir():
                shutil.rmtree(dest)
            os.replace(stage / name, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
