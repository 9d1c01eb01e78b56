"""Benchmarks: ``python -m bench SUITE|all [--quick] [--json FILE]`` (SPEC §6).

Each suite yields rows ``{suite, instance, solver, objective, bound, gap, best_known,
gap_to_best_known, wall_s, peak_mb}`` (None where not applicable); the runner prints
one table per suite and optionally writes the rows as JSON.
"""
