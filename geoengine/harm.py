"""Harm tables: the weight of each incident category in the risk surface.

Four tables ship with geoengine (``geoengine/data/harm/*.csv``, chosen by ``risk.harm``):

* ``default`` — the keyword weights geoengine has always used (robbery and assault 3,
  theft 2, disorder 1), plus common non-crime records;
* ``sfpd`` — the San Francisco Police Department's incident categories;
* ``uk`` — police.uk street-level crime types;
* ``cn`` — Chinese public-security categories (两抢一盗: 抢劫, 抢夺, 盗窃; 伤害, 诈骗, 寻衅滋事 …).

A table is a CSV with columns ``category``, ``weight`` and ``non_crime`` (0/1; optional,
default 0) and any others (``note``); lines starting with ``#`` are comments (each shipped
table's header states its severity source). ``risk.harm`` may also name such a file.

Matching (case-insensitive; ``-``, ``_`` and ``/`` read as spaces): a category takes the
row it equals; otherwise the longest row it contains as a word (``"AGGRAVATED ASSAULT"``
takes ``assault``; ``入室盗窃案`` takes ``入室盗窃``); otherwise it is *unknown* and weighs 1.
Non-crime rows weigh 0 while ``risk.exclude_non_crime`` is true (the default), else their
weight. ``risk.category_weights`` entries, when the scenario gives them, are added to the
table (overriding rows of the same name) as crime rows.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .scenario import RiskSettings

__all__ = ["HARM_TABLES", "HarmResult", "HarmTable", "harm_table", "incident_harm", "load_harm_table"]

HARM_TABLES: tuple[str, ...] = ("default", "sfpd", "uk", "cn")
_MAX_ROWS = 10_000
_MAX_BYTES = 2_000_000


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[-_/]", " ", str(text)).casefold().split())


@dataclass(frozen=True)
class HarmTable:
    """Weights by category: ``rows`` maps the normalised category to (weight, non_crime)."""

    name: str
    rows: dict[str, tuple[float, bool]]
    labels: dict[str, str]  # normalised → as written in the table

    def with_overrides(self, weights: dict[str, float]) -> HarmTable:
        rows, labels = dict(self.rows), dict(self.labels)
        for key, w in weights.items():
            rows[_norm(key)] = (float(w), False)
            labels[_norm(key)] = key
        return HarmTable(self.name, rows, labels)


class HarmTableError(ValueError):
    """A harm table file that cannot be used (message names the file and the problem)."""


def _parse(text: str, name: str) -> HarmTable:
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#") and ln.strip()]
    if not lines:
        raise HarmTableError(f"harm table {name}: no rows (needs columns category, weight[, non_crime])")
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "category" not in fields or "weight" not in fields:
        raise HarmTableError(
            f"harm table {name}: needs columns category and weight (and optionally non_crime); it has {len(fields)} columns"
        )
    rows: dict[str, tuple[float, bool]] = {}
    labels: dict[str, str] = {}
    for n, raw in enumerate(reader, start=1):
        if n > _MAX_ROWS:
            raise HarmTableError(f"harm table {name}: more than {_MAX_ROWS} rows")
        rec = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        cat = rec.get("category", "")
        if not cat:
            raise HarmTableError(f"harm table {name}: row {n} has no category")
        try:
            weight = float(rec.get("weight", ""))
        except ValueError:
            raise HarmTableError(f"harm table {name}: row {n} ({cat[:60]!r}) has a weight that is not a number") from None
        if not np.isfinite(weight) or weight < 0:
            raise HarmTableError(f"harm table {name}: row {n} ({cat[:60]!r}) needs a weight >= 0")
        flag = rec.get("non_crime", "0").lower()
        if flag not in ("", "0", "1", "true", "false", "yes", "no"):
            raise HarmTableError(f"harm table {name}: row {n} ({cat[:60]!r}) has non_crime {flag[:20]!r}; use 0 or 1")
        key = _norm(cat)
        if key in rows:
            raise HarmTableError(f"harm table {name}: category {cat[:60]!r} appears twice")
        rows[key] = (weight, flag in ("1", "true", "yes"))
        labels[key] = cat
    return HarmTable(name, rows, labels)


@functools.lru_cache(maxsize=8)
def _shipped(name: str) -> HarmTable:
    text = resources.files("geoengine").joinpath(f"data/harm/{name}.csv").read_text(encoding="utf-8")
    return _parse(text, name)


def load_harm_table(path: str | Path) -> HarmTable:
    """A harm table from a CSV file (see the module docstring for the format)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > _MAX_BYTES:
            raise HarmTableError(f"harm table {p.name}: {size:,} bytes; at most {_MAX_BYTES:,}")
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise HarmTableError(f"harm table {p.name}: not UTF-8 text") from None
    except OSError as exc:
        raise HarmTableError(f"harm table {p.name}: cannot read it ({exc.strerror or exc})") from None
    return _parse(text, p.name)


def harm_table(harm: str | Path = "default") -> HarmTable:
    """A shipped table by name (``default``, ``sfpd``, ``uk``, ``cn``) or a CSV file."""
    if isinstance(harm, str) and harm in HARM_TABLES:
        return _shipped(harm)
    return load_harm_table(harm)


@dataclass(frozen=True)
class HarmResult:
    """Harm weight per incident and what the table made of the categories.

    ``unknown`` and ``non_crime`` map category (as in the data) → incident count;
    ``excluded`` is true when the non-crime ones weigh 0.
    """

    weights: np.ndarray
    table: str
    unknown: dict[str, int]
    non_crime: dict[str, int]
    excluded: bool

    def warnings(self) -> list[str]:
        out: list[str] = []

        def listing(d: dict[str, int]) -> str:
            items = sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{k} ({v:,})" for k, v in items[:12])
            return shown + (f" and {len(items) - 12} more" if len(items) > 12 else "")

        if self.unknown:
            out.append(
                f"risk: {len(self.unknown)} incident categories have no harm weight in table {self.table!r} "
                f"and count 1: {listing(self.unknown)}"
            )
        if self.non_crime:
            n = sum(self.non_crime.values())
            how = (
                "excluded from risk (weight 0; risk.exclude_non_crime: false counts them)"
                if self.excluded
                else ("counted with their table weight (risk.exclude_non_crime is false)")
            )
            out.append(f"risk: {n:,} non-crime incidents {how}: {listing(self.non_crime)}")
        return out


def _lookup(table: HarmTable, category: str) -> tuple[float, bool] | None:
    key = _norm(category)
    if key in table.rows:
        return table.rows[key]
    best: tuple[int, tuple[float, bool]] | None = None
    for row, value in table.rows.items():
        if len(row) > (best[0] if best else 0) and re.search(rf"(?<![a-z0-9]){re.escape(row)}", key):
            best = (len(row), value)
    return best[1] if best else None


def incident_harm(categories: pd.Series, settings: RiskSettings) -> HarmResult:
    """Harm weight of each incident by the scenario's table (``risk.harm``)."""
    table = harm_table(settings.harm)
    if "category_weights" in settings.model_fields_set:
        table = table.with_overrides(dict(settings.category_weights))
    cats = categories.astype(str)
    counts = cats.value_counts(sort=False)
    lookup = {c: _lookup(table, c) for c in counts.index}
    unknown = {c: int(counts[c]) for c, v in lookup.items() if v is None}
    non_crime = {c: int(counts[c]) for c, v in lookup.items() if v is not None and v[1]}
    exclude = bool(settings.exclude_non_crime)

    def weight(v: tuple[float, bool] | None) -> float:
        if v is None:
            return 1.0
        return 0.0 if (v[1] and exclude) else v[0]

    per_cat = {c: weight(v) for c, v in lookup.items()}
    weights = cats.map(per_cat).to_numpy(dtype=float)
    name = str(settings.harm) if isinstance(settings.harm, str) else Path(settings.harm).name
    return HarmResult(weights=weights, table=name, unknown=unknown, non_crime=non_crime, excluded=exclude)
