"""Suite ``network``: load and prepare road networks from each source kind (no cache)."""

from __future__ import annotations

from typing import Any

from ._common import SHARED, measure, row


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    from geoengine.demo import helsinki_pbf
    from geoengine.network import network_from_pbf, network_from_xml

    cases = [("helsinki (pbf, all)", lambda: network_from_pbf(helsinki_pbf(), network_type="all"))]
    if SHARED.exists():
        cases += [
            ("sf_downtown_2017 (xml.bz2, all)", lambda: network_from_xml(SHARED / "osm" / "sf_downtown_2017.osm.bz2")),
            (
                "shanghai_jingan (xml.bz2, drive)",
                lambda: network_from_xml(SHARED / "osm" / "shanghai_jingan.osm.bz2", network_type="drive"),
            ),
            ("city_of_london (pbf, all)", lambda: network_from_pbf(SHARED / "osm" / "city_of_london.osm.pbf")),
        ]
        if not quick:
            cases.append(("baltimore (pbf, all)", lambda: network_from_pbf(SHARED / "osm" / "baltimore.osm.pbf")))
    rows = []
    for name, fn in cases:
        net, wall, peak = measure(fn)
        rows.append(
            row(
                "network",
                name,
                "geoengine",
                wall_s=wall,
                peak_mb=peak,
                nodes=net.stats.nodes,
                edges=net.stats.edges,
                street_km=round(net.stats.street_km, 1),
                dropped_nodes=net.stats.dropped_nodes,
            )
        )
        if name.startswith(("helsinki", "baltimore")):
            rows += cache_read_rows(name, net, repeats=3 if quick else 7)
    return rows


def cache_read_rows(name: str, net: Any, *, repeats: int = 7) -> list[dict[str, Any]]:
    """The disk cache read (data-only entry) beside a pickle of the same network (the format before);
    median of ``repeats`` alternating reads, and their ratio (the acceptance bound is 1.5)."""
    import pickle
    import statistics
    import tempfile
    import time
    from pathlib import Path

    from geoengine.network import _read_cache, _write_cache

    key = "0" * 64
    with tempfile.TemporaryDirectory(prefix="geoengine-bench-cache-") as tmp:
        entry, pkl = Path(tmp) / "network.zip", Path(tmp) / "network.pkl"
        _write_cache(entry, net, key)
        pkl.write_bytes(pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL))
        times: dict[str, list[float]] = {"data": [], "pickle": []}
        for _ in range(repeats):
            t = time.perf_counter()
            assert _read_cache(entry, key) is not None
            times["data"].append(time.perf_counter() - t)
            t = time.perf_counter()
            pickle.loads(pkl.read_bytes())  # noqa: S301 - our own file, timed for comparison only
            times["pickle"].append(time.perf_counter() - t)
        sizes = {"data": entry.stat().st_size, "pickle": pkl.stat().st_size}
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = round(med["data"] / med["pickle"], 2) if med["pickle"] else None
    print(
        f"network cache read {name}: data-only {med['data']:.3f} s, pickle {med['pickle']:.3f} s "
        f"(ratio {ratio}, median of {repeats})"
    )
    return [
        row(
            "network",
            f"{name} cache read",
            "geoengine data-only",
            wall_s=med["data"],
            mb=round(sizes["data"] / 2**20, 2),
            ratio_to_pickle=ratio,
        ),
        row("network", f"{name} cache read", "pickle (before)", wall_s=med["pickle"], mb=round(sizes["pickle"] / 2**20, 2)),
    ]
