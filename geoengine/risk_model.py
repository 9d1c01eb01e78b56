"""Model selection for the risk surface: a blend the data chooses, on held-out time.

The surface is a mixture of three terms, each scaled to the same total (the weighted
incidents of the estimation period), with weights that sum to 1::

    λ(s) = w_c · C(s) + w_k · K_h(s) + w_r · R_{h,τ}(s)

* ``C`` — own-segment counts per metre (long-term, no decay): crime repeats at places;
* ``K_h`` — network kernel density at bandwidth ``h`` (long-term, no decay);
* ``R_{h,τ}`` — the recent / near-repeat term: counts and kernel density of incidents
  weighted by ``0.5 ** (age / τ)``, ``own_segment_share`` of it on the own segment.

With ``bandwidth_m``, ``half_life_days`` or ``blend`` set to ``auto`` (the defaults)
they are chosen by rolling-origin cross-validation on the estimation period only:
its calendar months are folds — estimate on months 1..k, score month k+1 — for the
last ``model_selection.folds`` months, and every candidate on a small grid
(bandwidths × half-lives × a simplex grid of weights) is scored by PAI at
``selection_coverage`` of the street length (mean over folds) or by the held-out
log-likelihood. In the search each incident sits at its segment's midpoint (the kernel
is evaluated between segments, not incidents: cheap on 100k incidents); the chosen
model is then estimated exactly. Explicit values are not searched. With too little
history for a fold (fewer than two months, or too few incidents) the defaults of
earlier versions are used (bandwidth 150 m, half-life 60 days, the single recent term)
and :attr:`RiskModel.note` says why.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .risk import StreetSamples
    from .scenario import RiskSettings

__all__ = ["FALLBACK_BANDWIDTH_M", "FALLBACK_HALF_LIFE_DAYS", "RiskModel", "blend_terms", "month_folds", "select_model"]

FALLBACK_BANDWIDTH_M = 150.0
FALLBACK_HALF_LIFE_DAYS = 60.0
TERMS = ("counts", "kde", "recent")
_LOGLIK_FLOOR = 0.01  # share of a uniform-by-length density mixed in so no segment has probability 0


@dataclass(frozen=True)
class RiskModel:
    """The model a risk surface was estimated with, and how it was chosen.

    ``weights`` maps ``counts`` / ``kde`` / ``recent`` to the blend weights; ``searched``
    names what was chosen by cross-validation (empty: all explicit or the fallback);
    ``cv`` has one row per candidate (``bandwidth_m``, ``half_life_days``, ``w_counts``,
    ``w_kde``, ``w_recent``, ``score`` = mean over folds, ``fold_1``…); ``folds`` one
    entry per fold (training end, test month, incident counts).
    """

    bandwidth_m: float
    half_life_days: float | None
    weights: dict[str, float]
    own_segment_share: float
    searched: tuple[str, ...] = ()
    score: str = "pai"
    coverage: float = 0.05
    cv_score: float | None = None
    best_cv_score: float | None = None  # the highest CV score; the chosen one is within one standard error of it
    folds: tuple[dict[str, Any], ...] = ()
    cv: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    note: str = ""

    def describe(self) -> str:
        w = ", ".join(f"{k} {self.weights[k]:.2f}" for k in TERMS)
        hl = "no decay" if self.half_life_days is None else f"half-life {self.half_life_days:g} days"
        how = (
            f"chosen ({', '.join(self.searched)}) by rolling-origin CV on {len(self.folds)} monthly folds, "
            + (f"PAI at {self.coverage:.0%}" if self.score == "pai" else "held-out log-likelihood")
            + (f" {self.cv_score:.3g}" if self.cv_score is not None else "")
            if self.searched
            else (self.note or "explicit settings")
        )
        return f"blend {w}; bandwidth {self.bandwidth_m:g} m, {hl}; {how}"

    def as_dict(self, *, top: int = 5) -> dict[str, Any]:
        """JSON-ready summary (``metrics.risk.model``): chosen values, folds, the best candidates."""
        best = []
        if len(self.cv):
            for r in self.cv.sort_values("score", ascending=False, kind="stable").head(top).itertuples(index=False):
                best.append(
                    {
                        "bandwidth_m": float(r.bandwidth_m),
                        "half_life_days": None if pd.isna(r.half_life_days) else float(r.half_life_days),
                        "weights": {"counts": float(r.w_counts), "kde": float(r.w_kde), "recent": float(r.w_recent)},
                        "score": None if pd.isna(r.score) else round(float(r.score), 4),
                    }
                )
        return {
            "bandwidth_m": self.bandwidth_m,
            "half_life_days": self.half_life_days,
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "own_segment_share": self.own_segment_share,
            "searched": list(self.searched),
            "score": self.score,
            "selection_coverage": self.coverage,
            "cv_score": None if self.cv_score is None else round(self.cv_score, 4),
            "best_cv_score": None if self.best_cv_score is None else round(self.best_cv_score, 4),
            "rule": "the simplest (most counts-heavy) candidate within one standard error of the best, fold by fold",
            "candidates": len(self.cv),
            "folds": list(self.folds),
            "best_candidates": best,
            "note": self.note,
        }


# --------------------------------------------------------------------------- terms
def _scale(term: np.ndarray, length: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """``term`` (per metre, S×k) rescaled so Σ_s term·len = ``mass`` per column."""
    total = (term * length[:, None]).sum(axis=0)
    factor = np.divide(mass, total, out=np.zeros_like(total, dtype=float), where=total > 0)
    return term * factor


def blend_terms(
    counts: np.ndarray,
    kde: np.ndarray,
    counts_recent: np.ndarray,
    kde_recent: np.ndarray,
    length: np.ndarray,
    weights: dict[str, float],
    own_segment_share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(λ, KDE alone) per metre from the raw terms (S×k each); every term scaled to the counts' total."""
    mass = (counts * length[:, None]).sum(axis=0)
    k = _scale(kde, length, mass)
    beta = own_segment_share
    recent = _scale(beta * _scale(counts_recent, length, mass) + (1 - beta) * _scale(kde_recent, length, mass), length, mass)
    lam = weights["counts"] * counts + weights["kde"] * k + weights["recent"] * recent
    return lam, k


# --------------------------------------------------------------------------- folds
def month_folds(eff: pd.Series, n_folds: int, min_incidents: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(test start, test end) of the last ``n_folds`` calendar months that have a month before them.

    A fold trains on every incident before its test start and is scored on the test
    month; folds with fewer than ``min_incidents`` incidents in the test month or in
    training are left out.
    """
    t = pd.to_datetime(eff)
    if t.empty:
        return []
    months = t.dt.to_period("M")
    first, last = months.min(), months.max()
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    m = last
    while m > first and len(out) < n_folds:
        start, end = m.start_time, (m + 1).start_time
        n_test = int(((t >= start) & (t < end)).sum())
        n_train = int((t < start).sum())
        if n_test >= min_incidents and n_train >= min_incidents:
            out.append((start, end))
        m = m - 1
    return out[::-1]


def _simplex(step: float) -> list[tuple[float, float, float]]:
    """(counts, kde, recent) weights on a simplex grid of the given step, counts-heavy first."""
    n = max(1, round(1.0 / step))
    out = []
    for a, b in itertools.product(range(n, -1, -1), range(n + 1)):
        c = n - a - b
        if c >= 0:
            out.append((a / n, b / n, c / n))
    return out


def _pai_at(values: np.ndarray, length: np.ndarray, hits: np.ndarray, share: float) -> float:
    from .risk import ranked_hits

    hit, got = ranked_hits(values, length, hits, share)
    return hit / got if got > 0 and hit == hit else float("nan")


def _loglik(values: np.ndarray, length: np.ndarray, hits: np.ndarray) -> float:
    mass = values * length
    total = mass.sum()
    p_len = length / length.sum()
    p = (1 - _LOGLIK_FLOOR) * (mass / total if total > 0 else p_len) + _LOGLIK_FLOOR * p_len
    n = hits.sum()
    return float((hits * np.log(p)).sum() / n) if n > 0 else float("nan")


# --------------------------------------------------------------------------- selection
def select_model(
    streets: StreetSamples,
    seg: np.ndarray,
    weight: np.ndarray,
    eff: pd.Series,
    settings: RiskSettings,
    *,
    kernel: str,
) -> RiskModel:
    """Resolve ``auto`` bandwidth / half-life / blend by rolling-origin CV (module docstring).

    ``seg`` is each incident's segment position, ``weight`` its all-times weight (harm ×
    weight, no recency), ``eff`` its effective time. Only these incidents are used: pass
    the estimation period (the pipeline holds out everything from ``evaluation.split``).
    """
    from .risk import density_at_samples

    ms = settings.model_selection
    beta = float(settings.own_segment_share)
    auto_bw = settings.bandwidth_m == "auto"
    auto_hl = settings.half_life_days == "auto"
    legacy = settings.blend == "auto" and "own_segment_share" in settings.model_fields_set
    auto_w = settings.blend == "auto" and not legacy
    if legacy:
        fixed_w = {"counts": 0.0, "kde": 0.0, "recent": 1.0}
    elif auto_w:
        fixed_w = None
    else:
        b = settings.blend
        assert not isinstance(b, str)  # 'auto' is the branch above
        total = b.counts + b.kde + b.recent
        fixed_w = {"counts": b.counts / total, "kde": b.kde / total, "recent": b.recent / total}
    bws = [float(h) for h in ms.bandwidths_m] if auto_bw else [float(settings.bandwidth_m)]
    hls: list[float | None] = (
        [float(h) for h in ms.half_lives_days]
        if auto_hl
        else [None if settings.half_life_days is None else float(settings.half_life_days)]
    )
    searched = tuple(n for n, a in (("bandwidth_m", auto_bw), ("half_life_days", auto_hl), ("blend", auto_w)) if a)

    def fallback(note: str) -> RiskModel:
        return RiskModel(
            bandwidth_m=FALLBACK_BANDWIDTH_M if auto_bw else bws[0],
            half_life_days=FALLBACK_HALF_LIFE_DAYS if auto_hl else hls[0],
            weights=fixed_w or {"counts": 0.0, "kde": 0.0, "recent": 1.0},
            own_segment_share=beta,
            score=ms.score,
            coverage=float(ms.selection_coverage),
            note=note,
        )

    if not searched:
        return fallback("explicit settings: no search")
    folds = month_folds(eff, ms.folds, ms.min_fold_incidents)
    if not folds:
        return fallback(
            f"too little history for cross-validation (needs a month with {ms.min_fold_incidents}+ incidents "
            "after another): earlier defaults used"
        )

    length = streets.length
    n_seg = len(length)
    t = pd.to_datetime(eff).reset_index(drop=True)
    # per fold: training weights per segment, no decay and with each half-life; test counts
    cols_c, fold_info, test_hits = [], [], []
    recency_cols: dict[float | None, list[np.ndarray]] = {h: [] for h in hls}
    for start, end in folds:
        train = (t < start).to_numpy()
        test = ((t >= start) & (t < end)).to_numpy()
        c = np.bincount(seg[train], weights=weight[train], minlength=n_seg)
        cols_c.append(c)
        age = (start - t[train]).dt.total_seconds().to_numpy() / 86400.0
        for h in hls:
            r = np.ones(train.sum()) if h is None else 0.5 ** (np.maximum(age, 0.0) / h)
            recency_cols[h].append(np.bincount(seg[train], weights=weight[train] * r, minlength=n_seg))
        test_hits.append(np.bincount(seg[test], minlength=n_seg).astype(float))
        fold_info.append(
            {
                "train_end": (start - pd.Timedelta(days=1)).date().isoformat(),
                "test_month": start.strftime("%Y-%m"),
                "train_incidents": int(train.sum()),
                "test_incidents": int(test.sum()),
            }
        )
    n_f = len(folds)
    agg = np.column_stack(cols_c + [c for h in hls for c in recency_cols[h]])  # S × F(1+H): per segment
    used = np.flatnonzero(agg.sum(axis=1) > 0)
    mid = length[used] / 2.0
    counts_pm = np.column_stack(cols_c) / length[:, None]
    rec_pm = {h: np.column_stack(recency_cols[h]) / length[:, None] for h in hls}

    def seg_mean(dens: np.ndarray) -> np.ndarray:
        out = np.zeros((n_seg, dens.shape[1]))
        np.add.at(out, streets.sample_seg, dens)
        return out / streets.seg_samples[:, None]

    grid = _simplex(float(ms.weight_step)) if auto_w or fixed_w is None else [tuple(fixed_w[k] for k in TERMS)]
    rows = []
    for h in bws:
        dens = seg_mean(density_at_samples(streets, used, mid, agg[used], bandwidth_m=h, kernel=kernel))
        k_pm = dens[:, :n_f]
        for j, hl in enumerate(hls):
            kr_pm = dens[:, n_f * (1 + j) : n_f * (2 + j)]
            lam_parts = []
            for f in range(n_f):
                sl = slice(f, f + 1)
                parts = []
                for name in TERMS:
                    w = {k: float(k == name) for k in TERMS}
                    lam, _ = blend_terms(counts_pm[:, sl], k_pm[:, sl], rec_pm[hl][:, sl], kr_pm[:, sl], length, w, beta)
                    parts.append(lam[:, 0])
                lam_parts.append(np.column_stack(parts))  # S × 3 terms
            for wc, wk, wr in grid:
                if wr == 0 and j > 0 and auto_hl:
                    continue  # the half-life does not matter without the recent term
                scores = []
                for f in range(n_f):
                    values = lam_parts[f] @ np.array([wc, wk, wr])
                    if ms.score == "pai":
                        scores.append(_pai_at(values, length, test_hits[f], float(ms.selection_coverage)))
                    else:
                        scores.append(_loglik(values, length, test_hits[f]))
                rows.append(
                    {
                        "bandwidth_m": h,
                        "half_life_days": hl,
                        "w_counts": wc,
                        "w_kde": wk,
                        "w_recent": wr,
                        "score": float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan"),
                        **{f"fold_{f + 1}": s for f, s in enumerate(scores)},
                    }
                )
    cv = pd.DataFrame(rows)
    if cv["score"].notna().sum() == 0:
        return fallback("cross-validation folds gave no score: earlier defaults used")
    top = cv.loc[cv["score"].fillna(-math.inf).idxmax()]
    best = top
    fold_cols = [f"fold_{f + 1}" for f in range(n_f)]
    if n_f >= 2 and len(cv) > 1:
        # one-standard-error rule: the first candidate (counts-heavy first, the simplest)
        # whose paired shortfall against the best, fold by fold, is within one standard error
        diff = top[fold_cols].to_numpy(dtype=float)[None, :] - cv[fold_cols].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            se = np.nanstd(diff, axis=1, ddof=1) / np.sqrt(np.isfinite(diff).sum(axis=1))
            ok = np.nanmean(diff, axis=1) <= np.nan_to_num(se, nan=0.0)
        simplest = cv.assign(_ok=ok).sort_values(["w_counts", "w_recent"], ascending=[False, True], kind="stable")
        simplest = simplest[simplest["_ok"]]
        best = cv.loc[simplest.index[0]] if len(simplest) else top
    weights = {"counts": float(best["w_counts"]), "kde": float(best["w_kde"]), "recent": float(best["w_recent"])}
    hl_best = None if pd.isna(best["half_life_days"]) else float(best["half_life_days"])
    if weights["recent"] == 0 and auto_hl:
        hl_best = hls[0]  # not used by the surface (recent weight 0); reported as the first tried
    return RiskModel(
        bandwidth_m=float(best["bandwidth_m"]),
        half_life_days=hl_best,
        weights=weights,
        own_segment_share=beta,
        searched=searched,
        score=ms.score,
        coverage=float(ms.selection_coverage),
        cv_score=float(best["score"]),
        best_cv_score=float(top["score"]),
        folds=tuple(fold_info),
        cv=cv,
    )
