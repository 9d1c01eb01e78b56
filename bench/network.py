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
            ("shanghai_jingan (xml.bz2, drive)", lambda: network_from_xml(SHARED / "osm" / "shanghai_jingan.osm.bz2", network_type="drive")),
            ("city_of_london (pbf, all)", lambda: network_from_pbf(SHARED / "osm" / "city_of_london.osm.pbf")),
        ]
        if not quick:
            cases.append(("baltimore (pbf, all)", lambda: network_from_pbf(SHARED / "osm" / "baltimore.osm.pbf")))
    rows = []
    for name, fn in cases:
        net, wall, peak = measure(fn)
        rows.append(row("network", name, "geoengine", wall_s=wall, peak_mb=peak,
                        nodes=net.stats.nodes, edges=net.stats.edges, street_km=round(net.stats.street_km, 1),
                        dropped_nodes=net.stats.dropped_nodes))
    return rows
