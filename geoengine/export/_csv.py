"""CSV text for the run folder: numbers rounded to what they mean.

Floats keep at most four significant digits (``0.2731``, ``55.38``, ``2.169e+05`` as
``216900``), except coordinates (``x``, ``y``, ``lon``, ``lat`` and columns ending in
them), which keep their full precision; whole-number floats are written without ``.0``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["SIGNIFICANT", "csv_text", "is_coordinate", "round_sig"]

SIGNIFICANT = 4
_COORD = ("x", "y", "lon", "lat", "longitude", "latitude", "easting", "northing")


def is_coordinate(column: object) -> bool:
    """Whether a column holds coordinates (kept at full precision)."""
    name = str(column).lower()
    return name in _COORD or any(name.endswith("_" + c) for c in _COORD)


def round_sig(values: np.ndarray, digits: int = SIGNIFICANT) -> np.ndarray:
    """Round to ``digits`` significant digits (NaN and 0 stay as they are)."""
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    mag = np.floor(np.log10(np.abs(v[ok])))
    scale = 10.0 ** (digits - 1 - mag)
    out[ok] = np.round(v[ok] * scale) / scale
    return out


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return ""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{SIGNIFICANT}g}" if abs(v) < 1e4 else str(round(v))


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV (no index) with floats rounded (see the module docstring)."""
    df = frame.copy()
    for col in df.columns:
        if is_coordinate(col) or not pd.api.types.is_float_dtype(df[col]):
            continue
        df[col] = [_fmt(x) for x in round_sig(df[col].to_numpy(dtype=float))]
    return df.to_csv(index=False)
