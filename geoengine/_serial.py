"""Private: data-only cache entries (no pickle, nothing read from disk runs code).

An entry is one uncompressed zip file (written whole or not at all) holding

- ``header.json``: the entry's ``format``, ``kind`` and full ``key`` (the hash of the
  inputs it was built from), the ``files`` it holds with their SHA-256, a ``meta``
  tree (JSON) that describes the value, and ``sha256``: the hash of all of that, so
  the header vouches for every byte of the entry;
- tables as (Geo)Parquet (``*.parquet``), arrays as NumPy ``.npy`` read with
  ``allow_pickle=False``, and raw geometry bytes (WKB, ``*.wkb``).

:func:`read_entry` refuses (:class:`CacheEntryError`) an entry of another kind or
key, one whose hashes do not match its bytes, a compressed or odd zip, or anything
that does not parse. :func:`encode` / :func:`decode` turn a stage result (geoengine
dataclasses and pydantic settings, frames, arrays, sparse matrices, geometries,
plain values) into a meta tree plus files and back; classes are looked up only among
geoengine's own dataclasses and pydantic models and rebuilt field by field, never by
running code named in the file. The caller's network is written as a reference and
given back as the network of the run that reads the entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from ._io import write_bytes_atomic

ENTRY_FORMAT = "geoengine-cache-1"
HEADER = "header.json"
_MAX_MEMBERS = 10_000
_MODULE = re.compile(r"^geoengine(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MEMBER = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class CacheEntryError(ValueError):
    """A cache entry that is not (exactly) what was asked for: rebuild instead."""


# --------------------------------------------------------------------------- container
def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _content_hash(kind: str, key: str, meta: Any, files: dict[str, Any]) -> str:
    return hashlib.sha256(
        _canonical({"format": ENTRY_FORMAT, "kind": kind, "key": key, "meta": meta, "files": files})
    ).hexdigest()


def pack_entry(kind: str, key: str, meta: Any, files: dict[str, bytes]) -> bytes:
    """The bytes of an entry (an uncompressed zip) holding ``meta`` and ``files``."""
    listing = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in files.items()}
    for name in listing:
        if name == HEADER or not _MEMBER.match(name):
            raise ValueError(f"bad member name {name!r}")
    header = {
        "format": ENTRY_FORMAT,
        "kind": kind,
        "key": key,
        "meta": meta,
        "files": listing,
        "sha256": _content_hash(kind, key, meta, listing),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(HEADER, json.dumps(header, sort_keys=True, allow_nan=True))
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def unpack_entry(data: bytes, *, kind: str, key: str) -> tuple[Any, dict[str, bytes]]:
    """``(meta, files)`` of an entry, after checking its kind, key and every hash."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CacheEntryError(f"not a cache entry ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise CacheEntryError("too many members")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data) or info.flag_bits & 0x1:
                raise CacheEntryError(f"member {info.filename!r} is compressed or encrypted")
            if info.filename in by_name:
                raise CacheEntryError(f"member {info.filename!r} repeated")
            by_name[info.filename] = info
        if HEADER not in by_name:
            raise CacheEntryError("no header.json")
        try:
            header = json.loads(zf.read(HEADER).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CacheEntryError(f"unreadable header ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != ENTRY_FORMAT:
            raise CacheEntryError("not a geoengine cache entry of this format")
        if header.get("kind") != kind:
            raise CacheEntryError(f"entry of kind {header.get('kind')!r}, wanted {kind!r}")
        if header.get("key") != key:
            raise CacheEntryError(f"entry made for key {str(header.get('key'))[:16]}…, not for this request's {key[:16]}…")
        listing = header.get("files")
        if not isinstance(listing, dict) or set(listing) != set(by_name) - {HEADER}:
            raise CacheEntryError("the header does not list the entry's files")
        if header.get("sha256") != _content_hash(kind, key, header.get("meta"), listing):
            raise CacheEntryError("content hash does not match the header")
        files: dict[str, bytes] = {}
        for name, want in listing.items():
            try:
                blob = zf.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise CacheEntryError(f"unreadable member {name!r} ({exc})") from None
            if (
                not isinstance(want, dict)
                or want.get("size") != len(blob)
                or want.get("sha256") != hashlib.sha256(blob).hexdigest()
            ):
                raise CacheEntryError(f"member {name!r} does not match its hash")
            files[name] = blob
    return header.get("meta"), files


def read_entry(path: Path, *, kind: str, key: str) -> tuple[Any, dict[str, bytes]]:
    """``(meta, files)`` of the entry at ``path``; :class:`CacheEntryError` if it is not the one asked for."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CacheEntryError(f"cannot read ({exc.strerror or exc})") from None
    try:
        return unpack_entry(data, kind=kind, key=key)
    except CacheEntryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever does not parse (deep nesting, odd zips) is refused
        raise CacheEntryError(f"not a cache entry ({type(exc).__name__}: {exc})") from None


def write_entry(path: Path, *, kind: str, key: str, meta: Any, files: dict[str, bytes]) -> Path:
    """Write an entry whole or not at all (temporary name, then rename)."""
    return write_bytes_atomic(path, pack_entry(kind, key, meta, files))


# --------------------------------------------------------------------------- tables and arrays
def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def table_bytes(frame: pd.DataFrame) -> tuple[bytes, dict[str, Any]]:
    """A frame (a GeoDataFrame as GeoParquet) as Parquet bytes, and what restores it exactly."""
    import geopandas as gpd

    if not all(isinstance(c, str) for c in frame.columns) or frame.columns.has_duplicates:
        raise TypeError("only frames with unique text column names are cached")
    geo = isinstance(frame, gpd.GeoDataFrame)
    geoms = [c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    levels = frame.index.levels if isinstance(frame.index, pd.MultiIndex) else [frame.index]
    info: dict[str, Any] = {
        "columns": list(frame.columns),
        "object": [c for c in frame.columns if frame[c].dtype == object],
        "index_object": [i for i, lv in enumerate(levels) if lv.dtype == object],
        "columns_name": frame.columns.name,
        "geo": geo,
        "geometry": {c: None if frame[c].crs is None else frame[c].crs.to_json() for c in geoms},
        "active": frame._geometry_column_name if geo and frame._geometry_column_name in frame.columns else None,
    }
    buf = io.BytesIO()
    if info["active"] is not None:
        frame.to_parquet(buf, compression="snappy")  # GeoParquet: readable by any GIS tool
    else:
        plain = pd.DataFrame(frame)
        for c in geoms:
            plain[c] = np.asarray(plain[c].array.to_wkb(), dtype=object)
        plain.to_parquet(buf, compression="snappy")
    return buf.getvalue(), info


@functools.lru_cache(maxsize=16)
def _crs(text: str) -> Any:
    import pyproj

    return pyproj.CRS.from_json(text)


def table_frame(data: bytes, info: dict[str, Any]) -> pd.DataFrame:
    """The frame :func:`table_bytes` wrote (same dtypes, index, geometry columns and CRS)."""
    import geopandas as gpd
    import pyarrow.parquet as pq
    import shapely

    table = pq.read_table(io.BytesIO(data))
    frame = table.to_pandas()
    columns = [str(c) for c in info["columns"]]
    if list(frame.columns) != columns:
        raise CacheEntryError("the table's columns do not match its description")
    for col in info.get("object", []):
        frame[col] = pd.Series(table.column(col).to_pylist(), index=frame.index, dtype=object)
    geometry = info.get("geometry", {})
    for col, crs in geometry.items():
        wkb = np.asarray(frame[col].to_numpy(), dtype=object)
        frame[col] = gpd.GeoSeries(
            gpd.array.GeometryArray(shapely.from_wkb(wkb), crs=None if crs is None else _crs(crs)), index=frame.index
        )
    if info.get("geo"):
        active = info.get("active")
        frame = gpd.GeoDataFrame(frame, geometry=active) if active is not None else gpd.GeoDataFrame(frame)
    obj_levels = info.get("index_object", [])
    if obj_levels:
        if isinstance(frame.index, pd.MultiIndex):
            frame.index = frame.index.set_levels(
                [lv.astype(object) if i in obj_levels else lv for i, lv in enumerate(frame.index.levels)]
            )
        else:
            frame.index = frame.index.astype(object)
    frame.columns.name = info.get("columns_name")
    return frame


# --------------------------------------------------------------------------- value trees
def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _lookup_class(name: Any) -> type:
    """A geoengine dataclass or pydantic model by ``module:qualname``; nothing else."""
    from pydantic import BaseModel

    if not isinstance(name, str) or name.count(":") != 1:
        raise CacheEntryError(f"bad class name {name!r}")
    module_name, qualname = name.split(":")
    if not _MODULE.match(module_name) or not _NAME.match(qualname):
        raise CacheEntryError(f"class {name!r} is not geoengine's")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    obj: Any = module
    for part in qualname.split("."):
        obj = vars(obj).get(part) if isinstance(obj, type) or obj is module else None
        if obj is None:
            raise CacheEntryError(f"no class {name!r}")
    if not isinstance(obj, type) or not (dataclasses.is_dataclass(obj) or issubclass(obj, BaseModel)):
        raise CacheEntryError(f"{name!r} is not a geoengine data class")
    if not obj.__module__.startswith("geoengine"):
        raise CacheEntryError(f"{name!r} is not geoengine's")
    return obj


class Encoder:
    """Turns a value into a JSON tree plus named files; ``network`` is written as a reference."""

    def __init__(self, network: Any = None) -> None:
        self.network = network
        self.files: dict[str, bytes] = {}

    def _file(self, suffix: str, data: bytes) -> str:
        name = f"f{len(self.files)}.{suffix}"
        self.files[name] = data
        return name

    def encode(self, value: Any) -> Any:
        import geopandas as gpd
        import pyproj
        import scipy.sparse as sp
        import shapely
        from pydantic import BaseModel

        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if isinstance(value, float) and type(value) is float:
            return value if np.isfinite(value) else {"$": "float", "v": repr(value)}
        if self.network is not None and value is self.network:
            return {"$": "network"}
        if isinstance(value, np.generic):
            return {"$": "np", "dtype": value.dtype.str, "v": self.encode(value.item())}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {"$": "tuple", "v": [self.encode(v) for v in value]}
        if isinstance(value, (set, frozenset)):
            return {
                "$": "frozenset" if isinstance(value, frozenset) else "set",
                "v": sorted((self.encode(v) for v in value), key=json.dumps),
            }
        if isinstance(value, dict) and type(value) is dict:
            if all(isinstance(k, str) for k in value) and "$" not in value:
                return {k: self.encode(v) for k, v in value.items()}
            return {"$": "dict", "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, pd.Timestamp):
            return {"$": "timestamp", "v": value.isoformat()}
        if isinstance(value, dt.datetime):
            return {"$": "datetime", "v": value.isoformat()}
        if isinstance(value, dt.date):
            return {"$": "date", "v": value.isoformat()}
        if isinstance(value, dt.time):
            return {"$": "time", "v": value.isoformat()}
        if isinstance(value, (dt.timedelta, pd.Timedelta)):
            return {"$": "timedelta", "v": pd.Timedelta(value).value}
        if isinstance(value, PurePath):
            return {"$": "path", "v": str(value)}
        if isinstance(value, pyproj.CRS):
            return {"$": "crs", "v": value.to_json()}
        if isinstance(value, shapely.Geometry):
            return {"$": "geom", "v": shapely.to_wkb(value, hex=True, include_srid=True)}
        if isinstance(value, np.ndarray):
            return self._array(value)
        if sp.issparse(value):
            m = value.tocsr() if value.format not in ("csr", "csc") else value
            return {
                "$": "sparse",
                "format": m.format,
                "shape": list(m.shape),
                "data": self._array(m.data),
                "indices": self._array(m.indices),
                "indptr": self._array(m.indptr),
                "matrix": isinstance(value, sp.spmatrix),
            }
        if isinstance(value, gpd.GeoSeries):
            frame = gpd.GeoDataFrame({"geometry": value}, geometry="geometry", crs=value.crs)
            data, info = table_bytes(frame)
            return {"$": "geoseries", "file": self._file("parquet", data), "info": info, "name": self.encode(value.name)}
        if isinstance(value, pd.Series):
            frame = value.to_frame(name="value")
            data, info = table_bytes(frame)
            return {"$": "series", "file": self._file("parquet", data), "info": info, "name": self.encode(value.name)}
        if isinstance(value, pd.DataFrame):
            data, info = table_bytes(value)
            return {"$": "frame", "file": self._file("parquet", data), "info": info}
        if isinstance(value, BaseModel):
            _lookup_class(_class_name(type(value)))
            return {"$": "model", "cls": _class_name(type(value)), "v": value.model_dump(mode="json")}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            cls = type(value)
            _lookup_class(_class_name(cls))
            fields = {}
            for f in dataclasses.fields(value):
                if not f.init and f.default_factory is not dataclasses.MISSING:
                    continue  # a private memo (``_cache``) starts empty again
                fields[f.name] = self.encode(getattr(value, f.name))
            return {"$": "dataclass", "cls": _class_name(cls), "fields": fields}
        raise TypeError(f"cannot cache a {type(value).__module__}.{type(value).__qualname__}")

    def _array(self, arr: np.ndarray) -> Any:
        import shapely

        if arr.dtype.kind != "O":
            if arr.dtype.kind == "V" or arr.dtype.hasobject:
                raise TypeError("structured arrays are not cached")
            return {"$": "ndarray", "file": self._file("npy", npy_bytes(arr))}
        flat = arr.ravel()
        if len(flat) and all(v is None or isinstance(v, shapely.Geometry) for v in flat):
            wkb = shapely.to_wkb(flat, include_srid=True)
            sizes = np.array([-1 if b is None else len(b) for b in wkb], dtype=np.int64)
            raw = b"".join(b for b in wkb if b is not None)
            return {"$": "geoms", "shape": list(arr.shape), "sizes": self._array(sizes), "file": self._file("wkb", raw)}
        return {"$": "objarray", "shape": list(arr.shape), "v": [self.encode(v) for v in flat.tolist()]}


class Decoder:
    """Rebuilds what :class:`Encoder` wrote; any surprise is a :class:`CacheEntryError`."""

    def __init__(self, files: dict[str, bytes], network: Any = None) -> None:
        self.files = files
        self.network = network

    def _file(self, name: Any) -> bytes:
        if not isinstance(name, str) or name not in self.files:
            raise CacheEntryError(f"missing member {name!r}")
        return self.files[name]

    def decode(self, tree: Any) -> Any:
        if tree is None or isinstance(tree, (bool, str, int, float)):
            return tree
        if isinstance(tree, list):
            return [self.decode(v) for v in tree]
        if not isinstance(tree, dict):
            raise CacheEntryError(f"unexpected {type(tree).__name__} in the entry")
        tag = tree.get("$")
        if tag is None:
            return {k: self.decode(v) for k, v in tree.items()}
        import scipy.sparse as sp
        import shapely

        if tag == "network":
            if self.network is None:
                raise CacheEntryError("the entry refers to a network and none was given")
            return self.network
        if tag == "float":
            if tree["v"] not in ("nan", "inf", "-inf"):
                raise CacheEntryError("bad float")
            return float(tree["v"])
        if tag == "np":
            return np.dtype(str(tree["dtype"])).type(self.decode(tree["v"]))
        if tag == "tuple":
            return tuple(self.decode(v) for v in tree["v"])
        if tag in ("set", "frozenset"):
            return (frozenset if tag == "frozenset" else set)(self.decode(v) for v in tree["v"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in tree["items"]}
        if tag == "timestamp":
            return pd.Timestamp(str(tree["v"]))
        if tag == "datetime":
            return dt.datetime.fromisoformat(str(tree["v"]))
        if tag == "date":
            return dt.date.fromisoformat(str(tree["v"]))
        if tag == "time":
            return dt.time.fromisoformat(str(tree["v"]))
        if tag == "timedelta":
            return pd.Timedelta(int(tree["v"]))
        if tag == "path":
            return Path(str(tree["v"]))
        if tag == "crs":
            return _crs(str(tree["v"]))
        if tag == "geom":
            return shapely.from_wkb(str(tree["v"]))
        if tag == "ndarray":
            return npy_array(self._file(tree["file"]))
        if tag == "geoms":
            sizes = self.decode(tree["sizes"])
            raw = self._file(tree["file"])
            if sizes.dtype != np.int64 or int(sizes[sizes > 0].sum()) != len(raw):
                raise CacheEntryError("geometry sizes do not match")
            out = np.empty(len(sizes), dtype=object)
            pos = 0
            for i, n in enumerate(sizes.tolist()):
                if n >= 0:
                    out[i] = raw[pos : pos + n]
                    pos += n
            geoms = shapely.from_wkb(out)
            return geoms.reshape([int(s) for s in tree["shape"]])
        if tag == "objarray":
            values = [self.decode(v) for v in tree["v"]]
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out.reshape([int(s) for s in tree["shape"]])
        if tag == "sparse":
            fmt = (
                {"csr": sp.csr_matrix, "csc": sp.csc_matrix} if tree.get("matrix") else {"csr": sp.csr_array, "csc": sp.csc_array}
            )
            cls = fmt.get(tree["format"])
            if cls is None:
                raise CacheEntryError("bad sparse format")
            parts = (self.decode(tree["data"]), self.decode(tree["indices"]), self.decode(tree["indptr"]))
            return cls(parts, shape=tuple(int(s) for s in tree["shape"]))
        if tag == "frame":
            return table_frame(self._file(tree["file"]), tree["info"])
        if tag == "series":
            s = table_frame(self._file(tree["file"]), tree["info"])["value"]
            s.name = self.decode(tree["name"])
            return s
        if tag == "geoseries":
            s = table_frame(self._file(tree["file"]), tree["info"]).geometry
            s.name = self.decode(tree["name"])
            return s
        if tag == "model":
            cls = _lookup_class(tree["cls"])
            return cls.model_validate(tree["v"])  # type: ignore[attr-defined]
        if tag == "dataclass":
            cls = _lookup_class(tree["cls"])
            if not dataclasses.is_dataclass(cls):
                raise CacheEntryError(f"{tree['cls']} is not a dataclass")
            fields = tree["fields"]
            obj = object.__new__(cls)
            for f in dataclasses.fields(cls):
                if f.name in fields:
                    object.__setattr__(obj, f.name, self.decode(fields[f.name]))
                elif not f.init and f.default_factory is not dataclasses.MISSING:
                    object.__setattr__(obj, f.name, f.default_factory())
                else:
                    raise CacheEntryError(f"{tree['cls']} without field {f.name!r}")
            return obj
        raise CacheEntryError(f"unknown tag {tag!r}")


def encode(value: Any, *, network: Any = None) -> tuple[Any, dict[str, bytes]]:
    """``(meta tree, files)`` of a value."""
    enc = Encoder(network)
    tree = enc.encode(value)
    return tree, enc.files


def decode(tree: Any, files: dict[str, bytes], *, network: Any = None) -> Any:
    """The value :func:`encode` described; :class:`CacheEntryError` when anything does not fit."""
    try:
        return Decoder(files, network).decode(tree)
    except CacheEntryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever does not parse is refused
        raise CacheEntryError(f"does not parse ({type(exc).__name__}: {exc})") from None
