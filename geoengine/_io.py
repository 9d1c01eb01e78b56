"""Private file helpers: content hashes, whole-or-nothing writes and run folders.

A run folder is one whole run or nothing. :func:`prepare_out_dir` checks ``--out``
before any computing (a file, a folder that is not a run, an unwritable parent, a full
disk) and cleans what a killed run into it left; :func:`staging_dir` writes the run in
a hidden sibling ``.<name>.<host>.<pid>.<random>.partial/`` and swaps it in as a whole:
the old folder is renamed aside (``….old``), the new one renamed into place, and only
then the old one (renamed ``….trash``) removed. A run killed at any moment therefore
leaves ``--out`` absent, the previous complete run or the new complete run, plus
hidden leftovers that the next run into it and ``geoengine clean`` remove (an ``.old``
whose place is empty is the previous run and is put back).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import OutputError

log = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- run folders
LEFTOVER_KINDS = ("partial", "old", "trash", "probe")
"""Suffixes of the hidden siblings of a run folder: the run being staged, the previous
run moved aside, the previous run being removed, the free-space probe."""
PROBE_BYTES = 256 * 1024
"""Bytes written (and synced, then removed) beside ``--out`` before any computing."""
MIN_FREE_BYTES = 1 << 20
"""Below this much free space a failure while writing is reported as a full disk."""
DISK_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)
NO_WRITE_ERRNOS = frozenset((errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR))

_NEW = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.(?P<rand>[A-Za-z0-9_-]+)\.(?P<kind>partial|old|trash|probe)$"
)
_LEGACY = re.compile(r"^\.(?P<name>.+)\.(?P<rand>[A-Za-z0-9_]{8})\.(?P<kind>partial)$")  # tempfile.mkdtemp of 0.x


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname()).strip("-") or "host"


def _sibling(target: Path, kind: str) -> Path:
    """A fresh hidden sibling name of ``target`` owned by this process."""
    target = Path(os.path.abspath(target))  # `--out .` has a name and a parent
    return target.parent / f".{target.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}.{kind}"


def is_run_folder(path: str | Path) -> bool:
    """A folder written by geoengine: it holds a ``manifest.json`` that geoengine wrote."""
    path = Path(path)
    manifest = path / "manifest.json"
    if path.is_symlink() or not path.is_dir() or not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "geoengine_version" in data and isinstance(data.get("outputs"), dict)


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _kind_of(target: Path) -> str | None:
    """None when ``target`` may be written without ``--force`` (absent, an empty folder or a
    run folder), else what it is (for the error)."""
    if not os.path.lexists(target):
        return None
    if target.is_symlink():
        return "a symbolic link"
    if not target.is_dir():
        return "a file"
    if is_run_folder(target):
        return None
    try:
        if not any(target.iterdir()):
            return None
    except OSError:
        return "a folder that cannot be read"
    return "a folder that is not a geoengine run (it has no manifest.json written by geoengine)"


def _refuse(target: Path, kind: str) -> OutputError:
    return OutputError.single(
        f"--out {target} is {kind}; refusing to replace it",
        hint="choose another --out, or add --force to replace it as a whole",
    )


def cannot_write(target: Path, err: OSError | None = None, *, writing: str | None = None) -> OutputError:
    """The user-facing error of an OSError while writing the run into ``target``."""
    what = f" (writing {writing})" if writing else ""
    if err is not None and err.errno in DISK_FULL_ERRNOS:
        return OutputError.single(f"disk full at {target}{what}", hint="free some space on that disk, or choose another --out")
    reason = f": {err.strerror}" if err is not None and err.strerror else ""
    return OutputError.single(f"cannot write {target}{what}{reason}", hint="choose a folder you can write to with --out")


def prepare_out_dir(target: str | Path, *, force: bool = False) -> list[str]:
    """Check that a run can be written to ``target`` before any computing, and clean the
    leftovers of killed runs into it; return what was cleaned (one line each).

    Refused (:class:`~geoengine.errors.OutputError`, exit 2): ``target`` is a file, a
    link or a non-empty folder that is not a geoengine run (unless ``force``), its
    parent cannot be created or written, or the disk has no room for a small probe.
    Nothing is created except the leftovers' removal (not even ``target``'s parent).
    """
    target = Path(target)
    real = Path(os.path.abspath(target))
    kind = _kind_of(target)
    if kind is not None and not force:
        raise _refuse(target, kind)
    if kind is not None and _holds_precious(real):
        raise OutputError.single(
            f"--out {target} holds the current folder (or is your home or the root folder); "
            "refusing to replace it even with --force",
            hint="choose another --out",
        )
    anchor = _nearest_existing(real.parent)
    if not anchor.is_dir():
        raise OutputError.single(f"cannot write {target}: {anchor} is a file, not a folder", hint="choose another --out")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise OutputError.single(
            f"cannot write {target}: {anchor} is not writable", hint="choose a folder you can write to with --out"
        )
    cleaned = clean_leftovers_of(real) if anchor == real.parent else []
    probe = _sibling(anchor / real.name, "probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise cannot_write(target, err) from None
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass
    return cleaned


def _holds_precious(real: Path) -> bool:
    """``--force`` never replaces the root, the home folder or a folder holding the current one."""
    if real == real.parent or real == Path(os.path.abspath(Path.home())):
        return True
    try:
        Path(os.path.abspath(Path.cwd())).relative_to(real)
    except (ValueError, OSError):
        return False
    return True


def _owner_alive(match: re.Match[str]) -> str | None:
    """Why a leftover must be kept (its process may still be using it), or None."""
    if "host" not in match.groupdict():
        return None  # an old-style staging folder: no owner recorded
    if match["host"] != _host():
        return f"made on host {match['host']}"
    pid = int(match["pid"])
    if pid == os.getpid():
        return "in use by this process"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        return f"process {pid} is running"
    return f"process {pid} is running"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _leftovers(folder: Path, name: str | None = None) -> list[tuple[Path, re.Match[str]]]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        match = _NEW.match(entry.name) or _LEGACY.match(entry.name)
        if match is not None and (name is None or match["name"] == name):
            found.append((entry, match))
    return found


def _clean(items: list[tuple[Path, re.Match[str]]]) -> list[str]:
    done: list[str] = []
    olds: dict[Path, list[Path]] = {}
    for path, match in items:
        why = _owner_alive(match)
        if why is not None:
            done.append(f"kept {path} ({why})")
            continue
        if match["kind"] == "old":  # the previous run, moved aside by a run killed before it put its own in place
            olds.setdefault(path.parent / match["name"], []).append(path)
            continue
        _remove(path)
        done.append(f"removed {path}")
    for target, paths in olds.items():
        paths.sort(key=lambda p: p.lstat().st_mtime, reverse=True)
        if not os.path.lexists(target):
            try:
                os.rename(paths[0], target)
                done.append(f"restored {target} from {paths[0].name} (a run into it was killed while replacing it)")
                paths = paths[1:]
            except OSError:
                pass
        for path in paths:
            _remove(path)
            done.append(f"removed {path}")
    for line in done:
        log.info("clean: %s", line)
    return done


def clean_leftovers_of(target: str | Path) -> list[str]:
    """Remove what killed runs into ``target`` left beside it (staging folders, probes, a
    previous run being removed) and put back a previous run that was moved aside when
    ``target`` itself is missing. Leftovers of a live process are kept."""
    target = Path(os.path.abspath(target))
    return _clean(_leftovers(target.parent, target.name))


def clean_folder(folder: str | Path) -> list[str]:
    """``geoengine clean``: the leftovers of killed runs inside ``folder`` (into any of its
    run folders) and beside it (of runs into ``folder`` itself); one line per action."""
    folder = Path(folder)
    items = _leftovers(folder) if folder.is_dir() else []
    if folder.name not in ("", ".", ".."):
        items += _leftovers(folder.parent, folder.name)
    return _clean(items)


def _writing(err: BaseException, stage: Path) -> str | None:
    """The output being written when ``err`` happened, relative to the run folder."""
    name = getattr(err, "filename", None)
    if not name:
        return None
    try:
        rel = Path(os.path.abspath(name)).relative_to(os.path.abspath(stage))
    except ValueError:
        return None
    parts = list(rel.parts)
    if parts and parts[-1].startswith(".") and parts[-1].endswith(".tmp"):  # the atomic writer's temporary name
        parts[-1] = parts[-1][1:].rsplit(".", 2)[0]
    return "/".join(parts) or None


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < MIN_FREE_BYTES
    except OSError:
        return False


@contextmanager
def staging_dir(target: str | Path, *, force: bool = False) -> Iterator[Path]:
    """A hidden temporary folder beside ``target`` that replaces ``target`` as a whole on success.

    On success the staged folder is renamed into place; an existing ``target`` (a run
    folder, an empty folder, or with ``force`` anything) is first renamed aside and
    removed only once the new folder is in place, so no file of an older run survives
    beside a newer manifest. On error the staging folder is removed and ``target`` is
    left untouched (it is not even created). An OSError for a full disk or a folder that
    cannot be written becomes :class:`~geoengine.errors.OutputError` (exit 2).
    """
    target = Path(target)
    real = Path(os.path.abspath(target))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        stage = _sibling(real, "partial")
        stage.mkdir(mode=0o777 & ~_umask())
    except OSError as err:
        raise cannot_write(target, err) from None
    try:
        try:
            yield stage
        except OSError as err:
            if err.errno in DISK_FULL_ERRNOS or err.errno in NO_WRITE_ERRNOS:
                raise cannot_write(target, err, writing=_writing(err, stage)) from err
            if _disk_full(stage):
                raise cannot_write(target, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) from err
            raise
        except Exception as err:
            # libraries (GDAL, matplotlib) may wrap a full disk in their own errors
            if not isinstance(err, OutputError) and _disk_full(stage):
                raise cannot_write(target, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) from err
            raise
        try:
            _swap_in(stage, real, force=force)
        except OSError as err:
            if isinstance(err, OutputError):
                raise
            raise cannot_write(target, err) from err
    finally:
        if os.path.lexists(stage):
            shutil.rmtree(stage, ignore_errors=True)


def _swap_in(stage: Path, target: Path, *, force: bool) -> None:
    """Put the staged folder in place of ``target`` (see :func:`staging_dir`)."""
    kind = _kind_of(target)
    if kind is not None and not force:
        raise _refuse(target, kind)  # it changed while the run was computing
    if not os.path.lexists(target):
        os.rename(stage, target)
        return
    aside = _sibling(target, "old")
    _move_aside(target, aside)
    try:
        _put_in_place(stage, target)
    except BaseException:
        if not os.path.lexists(target):
            os.rename(aside, target)
        raise
    trash = aside.with_name(aside.name[: -len(".old")] + ".trash")
    os.rename(aside, trash)  # from here on a half-removed folder is never mistaken for the previous run
    _remove(trash)


def _move_aside(target: Path, aside: Path) -> None:
    os.rename(target, aside)


def _put_in_place(stage: Path, target: Path) -> None:
    os.rename(stage, target)
