"""The bench harness (not its numbers): suites that are missing are skipped with a note, the
plain OR-Tools references solve tiny problems with known answers, rows and tables are sound."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from bench.__main__ import _load, main
from bench._common import ROW_KEYS, fill_best_known, measure, row, table
from bench._plain_ortools import plain_mclp, plain_vrptw
from geoengine.coverage import CoverageProblem, MaxRuntime, solve_mclp
from geoengine.patrol.routing import RoutingProblem, Vehicle


def test_a_missing_suite_is_a_note_not_a_crash() -> None:
    note = _load("no_such_suite")
    assert isinstance(note, str) and "no_such_suite" in note and "skipped" in note


def test_all_keeps_going_past_missing_and_failing_suites(monkeypatch, capsys, tmp_path) -> None:
    import bench.__main__ as runner

    def fake_load(name: str):
        if name == "a":
            return lambda *, quick: [row("a", "x", "ours", wall_s=0.1, objective=1.0)]
        if name == "b":
            return "b: no module bench/b.py in this checkout; skipped"

        def boom(*, quick: bool):
            raise RuntimeError("suite c is broken")

        return boom

    monkeypatch.setattr(runner, "SUITES", ("a", "b", "c"))
    monkeypatch.setattr(runner, "_load", fake_load)
    out = tmp_path / "rows.json"
    assert main(["all", "--quick", "--json", str(out)]) == 1  # c failed, after a and b
    text = capsys.readouterr().out
    assert "== b == b: no module" in text and "== c == FAILED" in text and "2 of 3 suites ran" in text
    rows = json.loads(out.read_text())
    assert [r["suite"] for r in rows] == ["a"] and set(ROW_KEYS) <= set(rows[0])


def test_best_known_and_its_gap_per_instance() -> None:
    rows = [row("s", "i", "a", wall_s=1, objective=90.0), row("s", "i", "b", wall_s=1, objective=100.0),
            row("s", "j", "a", wall_s=1, objective=None)]  # fmt: skip
    fill_best_known(rows, maximize=True)
    assert rows[0]["best_known"] == 100.0 and rows[0]["gap_to_best_known"] == pytest.approx(0.1)
    assert rows[1]["gap_to_best_known"] == 0
    assert rows[2]["best_known"] is None
    text = table(rows)
    assert "bound" not in text.splitlines()[0]  # empty in every row: left out


def test_measure_reports_time_and_memory() -> None:
    value, wall, peak = measure(lambda: np.ones(5_000_000).sum())
    assert value == 5_000_000 and wall > 0 and peak is not None and peak >= 0


def test_plain_mclp_finds_the_optimum_of_a_tiny_matrix_as_ours_does() -> None:
    # 4 demand rows, 3 candidates; one candidate covering rows 0-1 (w 5+4), one rows 2-3 (w 3+1), one row 1-2
    a = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 1], [0, 1, 1], [0, 1, 0]], dtype=float))
    problem = CoverageProblem.from_coverage_matrix(a, np.array([5.0, 4.0, 3.0, 1.0]))
    ours = solve_mclp(problem, budget_count=1, stop=MaxRuntime(5))
    for backend in ("scip", "cpsat"):
        plain = plain_mclp(problem, p=1, time_limit_s=5, backend=backend)
        assert plain.objective == pytest.approx(9.0) == pytest.approx(ours.objective)
        assert plain.status == "optimal"


def test_plain_vrptw_serves_every_node_within_its_window() -> None:
    travel = np.array([[0, 10, 20, 10], [10, 0, 10, 20], [20, 10, 0, 10], [10, 20, 10, 0]])
    problem = RoutingProblem.from_arrays(
        travel, service_s=[0, 5, 5, 5], tw_start_s=[0, 0, 0, 0], tw_end_s=[200, 200, 200, 200],
        vehicles=[Vehicle("v1", 0, 0, 0, 200), Vehicle("v2", 0, 0, 0, 200)], penalty=[-1, -1, -1, -1],
    )  # fmt: skip
    result = plain_vrptw(problem, time_limit_s=2)
    assert result.status == "feasible"
    visited = sorted(n for r in result.routes for n in r[1:-1])
    assert visited == [1, 2, 3] and result.objective == 40  # one loop 0-1-2-3-0
