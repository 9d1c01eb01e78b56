"""Where there is no incident data, risk is unknown: streets outside the incidents' extent are 'no data'."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine.errors import LayerError
from geoengine.layers import read_layer
from geoengine.risk import LEVEL_COLOURS, LEVELS, NO_DATA, data_extent, estimate_risk
from geoengine.scenario import IncidentSource, RiskSettings
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
SETTINGS = RiskSettings(bandwidth_m=100, half_life_days=None, own_segment_share=0.5)


@pytest.fixture(scope="module")
def grid():
    """A 10 × 10 grid of 100 m blocks: 900 m across."""
    return grid_network(10, crs=CRS, origin=(X0, Y0))


def _corner_incidents(n: int = 60, seed: int = 0) -> gpd.GeoDataFrame:
    """Incidents on the streets of the south-west 300 × 300 m corner only."""
    rng = np.random.default_rng(seed)
    on_x = rng.random(n) < 0.5
    x = np.where(on_x, rng.uniform(0, 300, n), rng.integers(0, 4, n) * 100.0)
    y = np.where(on_x, rng.integers(0, 4, n) * 100.0, rng.uniform(0, 300, n))
    return gpd.GeoDataFrame(
        {
            "time": pd.Timestamp("2026-01-01 12:00") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
            "time_precision": "datetime",
            "category": "theft",
        },
        geometry=gpd.points_from_xy(X0 + x, Y0 + y),
        crs=CRS,
    )


def _mid_xy(table: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(shapely.line_interpolate_point(table.geometry.values, 0.5, normalized=True))


def test_streets_beyond_the_incidents_reach_are_no_data_not_blue(grid):
    surface = estimate_risk(grid, _corner_incidents(), settings=SETTINGS)
    table = surface.for_window("*")
    xy = _mid_xy(table) - (X0, Y0)
    far = (xy[:, 0] > 300 + 100 + 1) | (xy[:, 1] > 300 + 100 + 1)  # beyond the corner's hull + bandwidth
    near = (xy[:, 0] < 300) & (xy[:, 1] < 300)
    assert far.any() and near.any()
    assert (table.loc[far, "level"] == NO_DATA).all()
    assert (table.loc[near, "level"] != NO_DATA).all()
    assert not table.loc[table["level"] == NO_DATA, "hotspot"].any()
    for w in surface.window_names:  # every window, not only all times of day
        assert (surface.for_window(w).loc[far, "level"] == NO_DATA).all()
    # the share of street length with data is what the mask says, and a warning tells the planner
    length = table["length_m"].to_numpy()
    assert surface.data_share == pytest.approx(length[table["level"] != NO_DATA].sum() / length.sum())
    assert 0.05 < surface.data_share < 0.5
    assert any("graded 'no data', not low risk" in w for w in surface.warnings)
    assert NO_DATA in LEVELS and NO_DATA in LEVEL_COLOURS


def test_levels_are_graded_among_the_streets_with_data(grid):
    surface = estimate_risk(grid, _corner_incidents(), settings=SETTINGS)
    table = surface.for_window("*")
    graded = table[table["level"] != NO_DATA]
    red = graded.loc[graded["level"] == "red", "length_m"].sum() / graded["length_m"].sum()
    # 5 % of the length with data is red (up to one segment), not 5 % of the whole network
    assert red == pytest.approx(0.05, abs=100 / graded["length_m"].sum() + 1e-9)


def test_an_extent_polygon_or_extent_none_overrides_the_hull(grid):
    incidents = _corner_incidents()
    whole = shapely.box(X0 - 50, Y0 - 50, X0 + 950, Y0 + 950)
    given = estimate_risk(grid, incidents, settings=SETTINGS, extent=whole)
    assert (given.overall["level"] != NO_DATA).all() and given.data_share == pytest.approx(1.0)
    assert given.extent_source == "layers.incidents.extent"
    off = estimate_risk(grid, incidents, settings=SETTINGS.model_copy(update={"extent": "none"}))
    assert (off.overall["level"] != NO_DATA).all() and off.extent is None
    # an extent smaller than the data's hull masks what lies outside it
    half = estimate_risk(grid, incidents, settings=SETTINGS, extent=shapely.box(X0 - 50, Y0 - 50, X0 + 150, Y0 + 950))
    xy = _mid_xy(half.for_window("*")) - (X0, Y0)
    assert (half.for_window("*").loc[xy[:, 0] > 150, "level"] == NO_DATA).all()


def test_extent_holds_every_incident_within_the_buffer_and_concave_is_inside_convex():
    rng = np.random.default_rng(1)
    pts = gpd.GeoSeries(gpd.points_from_xy(X0 + rng.uniform(0, 800, 200), Y0 + rng.uniform(0, 300, 200)), crs=CRS)
    concave = data_extent(pts, method="concave", buffer_m=50)
    convex = data_extent(pts, method="convex", buffer_m=50)
    assert shapely.contains(concave, pts.values).all() and shapely.contains(convex, pts.values).all()
    assert concave.area <= convex.area + 1e-6
    assert not convex.contains(shapely.Point(X0 + 400, Y0 + 300 + 80))  # beyond the 50 m buffer


def _incident_csv(folder, grid) -> str:
    ll = gpd.GeoSeries(_corner_incidents(20).geometry, crs=CRS).to_crs("EPSG:4326")
    pd.DataFrame({"date": "2026-01-05", "category": "theft", "lon": ll.x, "lat": ll.y}).to_csv(folder / "inc.csv", index=False)
    return str(folder / "inc.csv")


def test_layers_incidents_extent_file_is_read_in_the_network_crs(tmp_path, grid):
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 400, Y0 + 400)], crs=CRS).to_crs("EPSG:4326")
    area.to_file(tmp_path / "extent.geojson", driver="GeoJSON")
    source = IncidentSource(path=_incident_csv(tmp_path, grid), extent=str(tmp_path / "extent.geojson"))
    layer = read_layer("incidents", source, network=grid)
    assert layer.extent is not None
    assert layer.extent.area == pytest.approx(400 * 400, rel=0.01)  # metres, the network's CRS
    assert layer.extent.contains(shapely.Point(X0 + 200, Y0 + 200))


def test_layers_incidents_extent_errors_name_the_field(tmp_path, grid):
    csv = _incident_csv(tmp_path, grid)
    with pytest.raises(ValueError) as missing:  # the scenario's validation catches a missing file
        IncidentSource(path=csv, extent=str(tmp_path / "nope.geojson"))
    assert "extent" in str(missing.value)
    (tmp_path / "points.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [15.0, 59.5]}}],
            }
        )
    )
    with pytest.raises(LayerError) as points:
        read_layer("incidents", IncidentSource(path=csv, extent=str(tmp_path / "points.geojson")), network=grid)
    assert "polygons" in str(points.value) and "layers.incidents.extent" in str(points.value)
