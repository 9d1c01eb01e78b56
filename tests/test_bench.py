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
    rows = [
        row("s", "i", "a", wall_s=1, objective=90.0),
        row("s", "i", "b", wall_s=1, objective=100.0),
        row("s", "j", "a", wall_s=1, objective=None),
    ]
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
        travel,
        service_s=[0, 5, 5, 5],
        tw_start_s=[0, 0, 0, 0],
        tw_end_s=[200, 200, 200, 200],
        vehicles=[Vehicle("v1", 0, 0, 0, 200), Vehicle("v2", 0, 0, 0, 200)],
        penalty=[-1, -1, -1, -1],
    )
    result = plain_vrptw(problem, time_limit_s=2)
    assert result.status == "feasible"
    visited = sorted(n for r in result.routes for n in r[1:-1])
    assert visited == [1, 2, 3] and result.objective == 40  # one loop 0-1-2-3-0


def test_patrol_suite_is_registered_and_takes_before() -> None:
    import inspect

    from bench.__main__ import SUITES

    assert "patrol" in SUITES
    run = _load("patrol")
    assert callable(run) and {"quick", "before"} <= set(inspect.signature(run).parameters)


def _tiny_run_folder(folder, *, new: bool) -> None:
    folder.mkdir()
    routes = [
        "team,mode,window,seq,place_id,place_kind,dwell_min,travel_min_from_prev",
        "car-1,car,day,0,base:A,base,0,0",
        "car-1,car,day,1,H1,hotspot,12,5",
        "car-1,car,day,2,H1,hotspot,12,0",
        "car-1,car,day,3,break,break,30,0",
        "car-1,car,day,4,base:A,base,0,5",
        "foot-1,foot,day,0,base:A,base,0,0",
        "foot-1,foot,day,1,base:A,base,0,0",
    ]
    (folder / "routes.csv").write_text("\n".join(routes) + "\n")
    (folder / "patrol_dosage.csv").write_text(
        "window,place_id,kind,level,required,served,largest_gap_min,met\n"
        "day,H1,hotspot,red,2,2,30,True\nday,H2,hotspot,red,2,0,,False\n"
    )
    (folder / "dropped_visits.csv").write_text("window,place_id,visit,level,reason\nday,H2,1,red,no time\nday,H2,2,red,no time\n")
    manifest = {"timings_s": {"patrol": 2.0, "total": 5.0}, "metrics": {"patrol": {}}}
    if new:
        manifest["metrics"]["patrol"] = {
            "dosage_met_share": 0.5,
            "dosage_bound": 0.8,
            "idle_share": 0.25,
            "visits_planned": 2,
            "visits_dropped": 2,
            "dropped_reasons": {"time_used": 2},
        }
        manifest["audit"] = {"violations": 1, "by_kind": {"revisit_gap": 1}}
        manifest["reproducible"] = True
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_patrol_rows_from_a_tiny_run_folder_new_and_old(tmp_path) -> None:
    from bench.patrol import patrol_row, side_by_side, summarize

    _tiny_run_folder(tmp_path / "new", new=True)
    _tiny_run_folder(tmp_path / "old", new=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text('windows:\n  - {name: day, start: "07:00", end: "08:40"}\n')  # 100 minutes
    new = patrol_row("tiny", "after", summarize(tmp_path / "new", scenario=scenario), wall_s=5.2, peak_mb=10.0)
    old = patrol_row("tiny", "before", summarize(tmp_path / "old", scenario=scenario), wall_s=6.0, peak_mb=None)
    assert set(ROW_KEYS) <= set(new) and new["suite"] == "patrol"
    assert new["objective"] == 0.5 and new["bound"] == 0.8 and new["gap"] == pytest.approx(0.375)
    assert new["idle_share"] == 0.25 and new["audit_violations"] == 1 and new["audit_by_kind"] == {"revisit_gap": 1}
    assert new["patrol_s"] == 2.0 and new["total_s"] == 5.0 and new["reproducible"] is True
    # computed from the files: 1 of 2 hotspots met; busy car 12+5+12+0+30+0+5 = 64 of 100, foot 0 of 100
    assert old["objective"] == 0.5 and old["bound"] is None and old["gap"] is None
    assert old["idle_share"] == pytest.approx(0.68) and old["idle_from"] == "routes.csv"
    assert old["visits_planned"] == 2 and old["visits_dropped"] == 2 and old["dropped_reasons"] == {"no time": 2}
    assert old["audit_violations"] == "n/a" and old["reproducible"] == "n/a"  # no scenario in the manifest
    for r in (new, old):
        assert r["back_to_back"] == 1 and r["idle_routes"] == 1 and r["routes_rows"] == 7
    text = side_by_side([old, new])
    assert "tiny: before" in text and "1 / 7" in text
