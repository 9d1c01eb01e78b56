"""The one adapter to OR-Tools' linear solver (pywraplp): SCIP for MIPs, GLOP for LP relaxations.

Nothing else in geoengine imports OR-Tools for location problems. Functions here take plain
numpy / scipy data and return plain results:

* :func:`build_mip` turns ``max/min c·x + offset  s.t.  row_lb ≤ A x ≤ row_ub,  var_lb ≤ x ≤ var_ub``
  (``A`` a CSR matrix, some variables integer) into a model. It writes an ``MPModelProto``
  row by row with ``extend`` of whole CSR rows (about five times faster than one
  ``SetCoefficient`` call per non-zero) and loads it with ``LoadModelFromProto``.
* :func:`solve_mip` solves a model under node / LP-iteration limits (deterministic) and a
  wall-clock safety cap, with a seed and an optional full hint, and reports status, values,
  objective, the best proven bound and the nodes used.

Coefficients are floats (pywraplp takes doubles); nothing is scaled.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver import linear_solver_pb2, pywraplp

__all__ = ["MipModel", "MipSolution", "build_mip", "solve_mip"]

log = logging.getLogger(__name__)

_STATUS = {
    pywraplp.Solver.OPTIMAL: "optimal",
    pywraplp.Solver.FEASIBLE: "feasible",
    pywraplp.Solver.INFEASIBLE: "infeasible",
    pywraplp.Solver.UNBOUNDED: "unbounded",
    pywraplp.Solver.ABNORMAL: "abnormal",
    pywraplp.Solver.MODEL_INVALID: "model_invalid",
    pywraplp.Solver.NOT_SOLVED: "no_solution",
}

_BACKENDS = {"scip": "SCIP", "glop": "GLOP", "cbc": "CBC"}


@dataclass(frozen=True, eq=False)
class MipModel:
    """A built model (opaque to callers apart from its sizes)."""

    proto: linear_solver_pb2.MPModelProto
    n_vars: int
    n_rows: int
    nnz: int
    maximize: bool
    build_s: float


@dataclass(frozen=True, eq=False)
class MipSolution:
    """What a solve returned. ``values`` is ``None`` when the solver has no solution."""

    status: str  # "optimal" | "feasible" | "infeasible" | "no_solution" | ...
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    solve_s: float
    backend: str
    nodes: int = 0


def build_mip(
    objective: np.ndarray,
    matrix: sp.csr_matrix,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    var_lb: np.ndarray,
    var_ub: np.ndarray,
    is_integer: np.ndarray,
    *,
    maximize: bool,
    offset: float = 0.0,
    relax: bool = False,
) -> MipModel:
    """Build ``max/min objective·x + offset`` over ``row_lb ≤ matrix·x ≤ row_ub``.

    Infinite bounds are allowed (``±np.inf``). With ``relax=True`` every variable is continuous
    (the LP relaxation).
    """
    t0 = time.perf_counter()
    matrix = sp.csr_matrix(matrix)
    n_rows, n_vars = matrix.shape
    m = linear_solver_pb2.MPModelProto()
    m.maximize = bool(maximize)
    m.objective_offset = float(offset)
    obj = np.asarray(objective, dtype=float).tolist()
    lb = np.asarray(var_lb, dtype=float).tolist()
    ub = np.asarray(var_ub, dtype=float).tolist()
    integer = (np.zeros(n_vars, bool) if relax else np.asarray(is_integer, bool)).tolist()
    add_var = m.variable.add
    for k in range(n_vars):
        add_var(lower_bound=lb[k], upper_bound=ub[k], objective_coefficient=obj[k], is_integer=integer[k])
    ptr = matrix.indptr.tolist()
    ind = matrix.indices.tolist()
    val = matrix.data.astype(float).tolist()
    rlb = np.asarray(row_lb, dtype=float).tolist()  # ±inf are accepted as-is
    rub = np.asarray(row_ub, dtype=float).tolist()
    add_row = m.constraint.add
    for r in range(n_rows):
        s, e = ptr[r], ptr[r + 1]
        add_row(lower_bound=rlb[r], upper_bound=rub[r], var_index=ind[s:e], coefficient=val[s:e])
    build_s = time.perf_counter() - t0
    log.debug("built model: %d vars, %d rows, %d non-zeros in %.3f s", n_vars, n_rows, matrix.nnz, build_s)
    return MipModel(m, n_vars, n_rows, int(matrix.nnz), bool(maximize), build_s)


def solve_mip(
    model: MipModel,
    *,
    backend: str = "scip",
    time_limit_s: float,
    seed: int = 0,
    hint: np.ndarray | None = None,
    row_ub: dict[int, float] | None = None,
    node_limit: int | None = None,
    lp_iteration_limit: int | None = None,
    scip_params: tuple[str, ...] = (),
) -> MipSolution:
    """Solve ``model`` with ``backend`` ("scip", "glop" or "cbc") in at most ``time_limit_s``.

    ``node_limit`` (SCIP ``limits/totalnodes``) and ``lp_iteration_limit`` (SCIP ``lp/iterlim``
    and ``lp/rootiterlim``: simplex iterations of one LP solve) are the deterministic limits:
    SCIP runs single-threaded, so a solve that ends on them (or optimal) is the same on any
    machine; ``time_limit_s`` is then only the safety cap. ``nodes`` reports the nodes used.
    ``seed`` goes to SCIP as ``randomization/randomseedshift``; ``hint`` (one value per variable)
    is passed with ``SetHint``; ``scip_params`` are more SCIP settings (``"name = value"``); ``row_ub`` overrides the upper bounds of some rows (e.g. the budget
    row in a budget sweep) without rebuilding. ``bound`` is ``Objective().BestBound()`` for MIPs
    and the optimal LP value for LPs (``None`` when not finite / not proven).
    """
    if backend not in _BACKENDS:
        raise ValueError(f"unknown solver backend {backend!r}; choose one of {sorted(_BACKENDS)}")
    solver = pywraplp.Solver.CreateSolver(_BACKENDS[backend])
    if solver is None:  # pragma: no cover - depends on the OR-Tools build
        raise RuntimeError(f"OR-Tools was built without the {_BACKENDS[backend]} solver")
    proto = model.proto
    if row_ub:
        proto = linear_solver_pb2.MPModelProto()
        proto.CopyFrom(model.proto)
        for r, ub in row_ub.items():
            proto.constraint[r].upper_bound = float(ub)
    error = solver.LoadModelFromProto(proto)
    if error:  # pragma: no cover - a bug in the caller's model
        raise RuntimeError(f"OR-Tools rejected the model: {error}")
    solver.SetTimeLimit(max(1, int(math.ceil(time_limit_s * 1000))))
    if backend == "scip":
        scip = [f"randomization/randomseedshift = {int(seed)}", "parallel/maxnthreads = 1"]
        if node_limit is not None:
            scip.append(f"limits/totalnodes = {max(1, int(node_limit))}")
        if lp_iteration_limit is not None:
            scip += [f"lp/iterlim = {max(1, int(lp_iteration_limit))}", f"lp/rootiterlim = {max(1, int(lp_iteration_limit))}"]
        scip += list(scip_params)
        if not solver.SetSolverSpecificParametersAsString("\n".join(scip) + "\n"):  # pragma: no cover
            raise RuntimeError(f"SCIP rejected the parameters {scip}")
    if hint is not None:
        solver.SetHint(solver.variables(), np.asarray(hint, dtype=float).tolist())
    t0 = time.perf_counter()
    code = solver.Solve()
    solve_s = time.perf_counter() - t0
    status = _STATUS.get(code, "no_solution")
    values = objective = bound = None
    if status in ("optimal", "feasible"):
        response = linear_solver_pb2.MPSolutionResponse()
        solver.FillSolutionResponseProto(response)
        values = np.asarray(response.variable_value, dtype=float)
        if values.size != model.n_vars:  # pragma: no cover - defensive
            values, status = None, "no_solution"
        else:
            objective = float(solver.Objective().Value())
    if backend == "glop":
        bound = objective if status == "optimal" else None
    elif status in ("optimal", "feasible", "no_solution"):
        b = float(solver.Objective().BestBound())
        bound = b if math.isfinite(b) and abs(b) < 1e19 else None  # SCIP's infinity is 1e20
    nodes = int(solver.nodes()) if backend != "glop" else 0
    log.debug(
        "%s: %s in %.3f s, %d nodes, %d LP iterations, objective %s, bound %s",
        backend,
        status,
        solve_s,
        nodes,
        solver.iterations(),
        objective,
        bound,
    )
    return MipSolution(status, values, objective, bound, solve_s, backend, nodes)
