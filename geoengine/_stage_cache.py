"""Private: a disk cache of stage results keyed by the content hash of their inputs.

Runs of a sweep share their network, risk surface and camera plan whenever the inputs
those depend on are the same: :func:`cached_stage` keys a stage's result by the SHA-256
of everything it reads (input file hashes, the settings of the stage and the stages
before it, the engine version and source code), so a later run with the same inputs reads it back
instead of computing it again. The network itself is cached by
:func:`geoengine.network.load_network`; results that hold the network store a reference
to it and are given back the current run's network when read.

Entries are data only (:mod:`geoengine._serial`: Parquet tables, ``.npy`` arrays read
without pickle, a JSON header with the entry's full key and content hashes), one zip
file per entry: ``stages/<kind>-<key>.zip``. An entry made for another key, whose
hashes do not match its bytes, or that does not parse, is rebuilt with a warning,
never used. The folder is the network cache's (:func:`geoengine.network.cache_folder`:
``network.cache_dir`` only when it lies inside the scenario's own folder, else
``$XDG_CACHE_HOME/geoengine`` or ``~/.cache/geoengine``).

Safe when several processes build the same entry at once: the builder holds an
exclusive lock file (``fcntl.flock``) while it builds, the others wait and then read
its result; the entry is written to a temporary name and renamed, so a reader never
sees half a file. A failure to write is only logged.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import _serial
from ._io import sha256_text

if TYPE_CHECKING:
    from .layers import Layers
    from .network import RoadNetwork
    from .scenario import Scenario

log = logging.getLogger(__name__)
T = TypeVar("T")
FORMAT = 2  # 2: data-only entries (geoengine._serial), no pickle


def _layer_part(scenario: Scenario, layers: Layers, kind: str) -> Any:
    layer = getattr(layers, kind, None)
    source = scenario.layer_sources().get(kind)
    if layer is None or source is None:
        return None
    part = {"sha256": layer.sha256, "settings": source.model_dump(mode="json", exclude={"path", "extent"})}
    extent = getattr(source, "extent", None)
    if extent is not None and Path(extent).is_file():
        from ._io import sha256_file

        part["extent_sha256"] = sha256_file(extent)
    return part


def _file_parts(settings: Any) -> dict[str, Any]:
    """SHA-256 of the files a settings block names (camera sites, zones…), by field."""
    from ._io import sha256_file

    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        path = getattr(value, "path", None)
        if path is not None and Path(path).is_file():
            out[name] = sha256_file(path)
    return out


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """SHA-256 of geoengine's own source files: a cached result never outlives the code that made it."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _harm_file(scenario: Scenario) -> str | None:
    """SHA-256 of a harm table given as a file (``risk.harm: FILE``), so editing it rebuilds the risk stage."""
    from ._io import sha256_file

    harm = getattr(scenario.risk, "harm", None)
    if isinstance(harm, (str, Path)) and str(harm) not in ("default", "sfpd", "uk", "cn") and Path(harm).is_file():
        return sha256_file(harm)
    return None


def stage_key(kind: str, scenario: Scenario, network: RoadNetwork, layers: Layers) -> str:
    """The content hash a stage's result is cached under (``risk`` or ``coverage``)."""
    from ._version import __version__

    base: dict[str, Any] = {
        "format": FORMAT,
        "geoengine": __version__,
        "code": code_hash(),
        "network": {
            "sha256": network.source.sha256 or network.source.description,
            "settings": scenario.network.model_dump(mode="json", exclude={"cache", "cache_dir", "source"}),
        },
        "layers": {k: _layer_part(scenario, layers, k) for k in ("incidents", "districts", "key_sites", "stations")},
        "windows": [w.model_dump(mode="json") for w in scenario.windows],
        "risk": scenario.risk.model_dump(mode="json"),
        "harm_file": _harm_file(scenario),
        "split": scenario.evaluation.split.isoformat() if scenario.evaluation.split else None,
        "layer_limits": scenario.layers.model_dump(mode="json", include={"max_street_distance_m", "outside_area_buffer_m"}),
    }
    if kind == "coverage":
        cams = scenario.cameras
        base["cameras"] = (
            None
            if cams is None
            else {
                "settings": cams.model_dump(mode="json", exclude={"sites", "exclusion_zones", "must_cover"}),
                "files": _file_parts(cams),
                "layers": {
                    n: None if getattr(cams, n) is None else getattr(cams, n).model_dump(mode="json", exclude={"path"})
                    for n in ("sites", "exclusion_zones", "must_cover")
                },
            }
        )
        base["existing"] = _layer_part(scenario, layers, "cameras")
        base["solver"] = scenario.solver.model_dump(mode="json")
        base["seed"] = scenario.seed
    elif kind != "risk":
        raise ValueError(f"unknown stage {kind!r}")
    return sha256_text(json.dumps({"stage": kind, **base}, sort_keys=True, default=str))


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(path: Path, kind: str, key: str, network: Any) -> tuple[bool, Any]:
    if not path.exists():
        return False, None
    try:
        meta, files = _serial.read_entry(path, kind=f"stage:{kind}", key=key)
        return True, _serial.decode(meta, files, network=network)
    except _serial.CacheEntryError as exc:
        log.warning("ignoring the %s stage cache %s (%s); rebuilding", kind, path, exc)
        return False, None


def _write(path: Path, kind: str, key: str, value: Any, network: Any) -> None:
    try:
        meta, files = _serial.encode(value, network=network)
    except Exception as exc:  # noqa: BLE001 - a result that cannot be written as data is simply not cached
        log.warning("%s stage result not cached (%s)", kind, exc)
        return
    try:
        _serial.write_entry(path, kind=f"stage:{kind}", key=key, meta=meta, files=files)
    except OSError as exc:
        log.warning("could not write the stage cache %s: %s", path, exc)


def stage_folder(scenario: Scenario) -> Path:
    """Where the stage cache of ``scenario`` lives: ``stages/`` in its network cache folder."""
    from .network import cache_folder

    return cache_folder(scenario.network, scenario_dir=scenario.base_dir) / "stages"


def cached_stage(kind: str, scenario: Scenario, network: RoadNetwork, layers: Layers, build: Callable[[], T]) -> T:
    """``build()``, or its result from the disk cache when a run with the same inputs made it.

    Used only when the scenario caches its network (``network.cache``); the cache lives
    in ``stages/`` beside the network cache (:func:`stage_folder`).
    """
    if not scenario.network.cache:
        return build()
    folder = stage_folder(scenario)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return build()
    key = stage_key(kind, scenario, network, layers)
    path = folder / f"{kind}-{key[:32]}.zip"
    hit, value = _read(path, kind, key, network)
    if hit:
        log.info("%s from the stage cache %s", kind, path)
        return value
    with _lock(folder / f"{kind}-{key[:32]}.lock"):
        hit, value = _read(path, kind, key, network)  # another process may have built it while we waited
        if hit:
            log.info("%s from the stage cache %s", kind, path)
            return value
        value = build()
        _write(path, kind, key, value, network)
    return value
