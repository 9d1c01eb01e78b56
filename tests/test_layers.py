"""Tests of geoengine.layers: formats, column mapping, dates, CRS checks, geometry, cameras.

Files are hand-built in ``tmp_path``. Network-dependent checks use a small street grid
in UTM zone 10N (San Francisco) whose distances can be checked by hand; the real-data
tests at the end use ``../shared/data`` and skip when it is absent.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer

from geoengine.errors import (
    CRSMismatchError,
    GeoEngineError,
    InputFileNotFoundError,
    LayerError,
    LayerOutsideNetworkError,
)
from geoengine.layers import Layer, Layers, load_layers, parse_osm_camera_tags, read_layer
from geoengine.scenario import LayerSource, LayersSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared real data not found at {SHARED}")

UTM10 = CRS.from_epsg(32610)
X0, Y0 = 550_000.0, 4_182_000.0  # near Chinatown, San Francisco
TO_LONLAT = Transformer.from_crs(UTM10, 4326, always_xy=True)


class GridNetwork:
    """A 1 km × 1 km street grid (100 m blocks) with the RoadNetwork attributes layers use."""

    def __init__(self) -> None:
        lines = [shapely.LineString([(X0 + i * 100, Y0), (X0 + i * 100, Y0 + 1000)]) for i in range(11)]
        lines += [shapely.LineString([(X0, Y0 + j * 100), (X0 + 1000, Y0 + j * 100)]) for j in range(11)]
        self.crs = UTM10
        self.edges = gpd.GeoDataFrame(geometry=lines, crs=UTM10)
        self.bounds = tuple(self.edges.total_bounds)
        self._tree = shapely.STRtree(lines)

    def snap(self, points: gpd.GeoSeries) -> pd.DataFrame:
        _, distance = self._tree.query_nearest(points.to_numpy(), return_distance=True, all_matches=False)
        return pd.DataFrame({"distance_m": distance}, index=points.index)


@pytest.fixture(scope="module")
def grid() -> GridNetwork:
    return GridNetwork()


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def src(path: Path, **options: Any) -> LayerSource:
    return LayerSource(path=path, **options)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def incident_rows() -> list[dict[str, Any]]:
    """Three incidents on streets of the grid (x=550100, y=4182050 etc.)."""
    rows = []
    for i, (x, y) in enumerate([(X0 + 100, Y0 + 50), (X0 + 250, Y0 + 300), (X0 + 500, Y0 + 720)]):
        lon, lat = lonlat(x, y)
        rows.append({"lon": lon, "lat": lat, "date": f"2016-06-1{i}", "time": f"1{i}:30", "category": "THEFT"})
    return rows


def points_gdf() -> gpd.GeoDataFrame:
    rows = incident_rows()
    return gpd.GeoDataFrame(
        {
            "Date": [r["date"] + "T" + r["time"] for r in rows],
            "Category": ["THEFT", "ROBBERY", "THEFT"],
            "Name": ["a", "b", "c"],
        },
        geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
        crs=4326,
    )


def block(i: int, j: int) -> shapely.Polygon:
    return shapely.box(X0 + i * 100, Y0 + j * 100, X0 + (i + 1) * 100, Y0 + (j + 1) * 100)


# --------------------------------------------------------------------------- formats
def _assert_points(layer: Layer) -> None:
    assert layer.rows_read == 3 and layer.rows_used == 3 and layer.rows_dropped == 0
    assert layer.gdf.crs == UTM10
    xs = sorted(round(v) for v in layer.gdf.geometry.x)
    assert xs == [X0 + 100, X0 + 250, X0 + 500]
    assert isinstance(layer.gdf.index, pd.RangeIndex)
    assert list(layer.gdf["category"]) == ["THEFT", "ROBBERY", "THEFT"]
    assert layer.gdf["time"].iloc[1] == pd.Timestamp("2016-06-11 11:30")


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "zip", "parquet"])
def test_reads_each_gis_format(tmp_path: Path, grid: GridNetwork, fmt: str) -> None:
    gdf = points_gdf()
    if fmt == "geojson":
        path = tmp_path / "inc.geojson"
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "gpkg":
        path = tmp_path / "inc.gpkg"
        gdf.to_file(path, layer="incidents", driver="GPKG")
    elif fmt == "shp":
        path = tmp_path / "inc.shp"
        gdf.to_file(path)
    elif fmt == "zip":
        gdf.to_file(tmp_path / "inc.shp")
        path = tmp_path / "inc.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in tmp_path.glob("inc.*"):
                if part.suffix != ".zip":
                    zf.write(part, part.name)
    else:
        path = tmp_path / "inc.parquet"
        gdf.to_parquet(path)
    layer = read_layer("incidents", src(path), network=grid)
    _assert_points(layer)
    assert layer.sha256 and len(layer.sha256) == 64


def test_reads_csv_with_auto_detected_and_mapped_lonlat(tmp_path: Path, grid: GridNetwork) -> None:
    rows = incident_rows()
    rows[1]["category"] = "ROBBERY"
    auto = write_csv(
        tmp_path / "auto.csv", [{**r, "LONGITUDE": r.pop("lon"), "Latitude": r.pop("lat")} for r in [dict(r) for r in rows]]
    )
    _assert_points(read_layer("incidents", src(auto), network=grid))
    mapped = write_csv(tmp_path / "mapped.csv", [{**r, "px": r.pop("lon"), "py": r.pop("lat")} for r in [dict(r) for r in rows]])
    layer = read_layer("incidents", src(mapped, columns={"lon": "px", "lat": "py"}), network=grid)
    _assert_points(layer)


def test_geopackage_layer_option(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    points_gdf().to_file(path, layer="a", driver="GPKG")
    points_gdf().iloc[:2].to_file(path, layer="b", driver="GPKG")
    with pytest.raises(LayerError) as err:
        read_layer("incidents", src(path))
    assert err.value.problems[0].field == "layers.incidents.layer"
    assert "a, b" in str(err.value)
    assert read_layer("incidents", src(path, layer="b")).rows_used == 2
    with pytest.raises(LayerError, match="layer 'c' not in the file"):
        read_layer("incidents", src(path, layer="c"))


def test_without_network_keeps_projected_crs_or_uses_given(tmp_path: Path) -> None:
    gdf = points_gdf().to_crs(UTM10)
    path = tmp_path / "utm.geojson"
    gdf.to_file(path, driver="GeoJSON")
    assert read_layer("incidents", src(path)).gdf.crs == UTM10
    web = read_layer("incidents", src(path), crs="EPSG:3857")
    assert web.gdf.crs == CRS.from_epsg(3857)
    ll = tmp_path / "ll.geojson"
    points_gdf().to_file(ll, driver="GeoJSON")
    # geographic file and no target: the local UTM zone (metres)
    assert read_layer("incidents", src(ll)).gdf.crs.is_projected


# --------------------------------------------------------------------------- column mapping
def test_mapped_column_missing_names_file_field_and_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "inc.csv", incident_rows())
    with pytest.raises(LayerError) as err:
        read_layer("incidents", src(path, columns={"time": "hour", "category": "offence"}))
    fields = {p.field for p in err.value.problems}
    assert fields == {"layers.incidents.columns.time", "layers.incidents.columns.category"}
    problem = err.value.problems[0]
    assert problem.file == str(path)
    # the file by name, size and column count, never its text (issue 13: no echo of file contents)
    assert "inc.csv" in problem.message and "bytes" in problem.message and "5 columns" in problem.message
    assert "lon, lat" not in problem.message


def test_auto_detects_common_names_case_insensitively(tmp_path: Path) -> None:
    rows = [
        {"LONG": r["lon"], "LAT": r["lat"], "Crime type": "Burglary", "Month": "2016-03", "Descript": "x"}
        for r in incident_rows()
    ]
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert set(layer.gdf["category"]) == {"Burglary"}
    assert set(layer.gdf["description"]) == {"x"}
    assert set(layer.gdf["time_precision"]) == {"month"}
    assert layer.gdf["time"].iloc[0] == pd.Timestamp("2016-03-01")
    assert (layer.gdf["weight"] == 1.0).all()


def test_missing_category_is_unknown_and_weight_column_read(tmp_path: Path) -> None:
    rows = incident_rows()
    rows[0]["category"] = ""
    for r, w in zip(rows, ["2", "", "0.5"]):
        r["weight"] = w
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert list(layer.gdf["category"]) == ["unknown", "THEFT", "THEFT"]
    assert list(layer.gdf["weight"]) == [2.0, 1.0, 0.5]


# --------------------------------------------------------------------------- dates
def _times(tmp_path: Path, values: list[str], **options: Any) -> Layer:
    rows = [{"lon": r["lon"], "lat": r["lat"], "when": v} for r, v in zip(incident_rows(), values)]
    return read_layer("incidents", src(write_csv(tmp_path / "t.csv", rows), **options))


def test_date_forms_and_precision(tmp_path: Path) -> None:
    layer = _times(tmp_path, ["2016-01-05T14:30:00", "2016-01-06", "2016-02"], columns={"datetime": "when"})
    assert list(layer.gdf["time"]) == [
        pd.Timestamp("2016-01-05 14:30"),
        pd.Timestamp("2016-01-06"),
        pd.Timestamp("2016-02-01"),
    ]
    assert list(layer.gdf["time_precision"]) == ["datetime", "date", "month"]
    assert layer.gdf["time"].dtype == "datetime64[ns]"


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    rows = incident_rows()
    rows[2]["time"] = ""  # no time: kept with date precision
    rows.append(dict(rows[0], time="25:99"))  # an impossible time: dropped and counted
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert layer.drop_reasons == {"unparseable time": 1}
    assert list(layer.gdf["time"]) == [
        pd.Timestamp("2016-06-10 10:30"),
        pd.Timestamp("2016-06-11 11:30"),
        pd.Timestamp("2016-06-12"),
    ]
    assert list(layer.gdf["time_precision"]) == ["datetime", "datetime", "date"]


def test_date_format_and_dayfirst(tmp_path: Path) -> None:
    fmt = _times(
        tmp_path,
        ["05.01.2016 14:30", "06.01.2016 00:10", "07.01.2016 23:59"],
        columns={"datetime": "when"},
        date_format="%d.%m.%Y %H:%M",
    )
    assert fmt.gdf["time"].iloc[0] == pd.Timestamp("2016-01-05 14:30")
    assert set(fmt.gdf["time_precision"]) == {"datetime"}
    day = _times(tmp_path, ["03/04/2016", "13/04/2016", "30/04/2016"], columns={"date": "when"}, dayfirst=True)
    assert list(day.gdf["time"].dt.month) == [4, 4, 4]
    assert day.gdf["time"].iloc[0] == pd.Timestamp("2016-04-03")
    us = _times(tmp_path, ["03/04/2016", "04/13/2016", "04/30/2016"], columns={"date": "when"})
    assert us.gdf["time"].iloc[0] == pd.Timestamp("2016-03-04")


def test_bad_dates_and_coordinates_are_dropped_and_counted(tmp_path: Path) -> None:
    rows = incident_rows() * 2
    rows = [dict(r) for r in rows]
    rows[0]["date"] = "not a date"
    rows[1]["date"] = ""
    rows[2]["lon"] = ""
    rows[3]["lat"] = "abc"
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert layer.rows_read == 6 and layer.rows_used == 2 and layer.rows_dropped == 4
    assert layer.drop_reasons == {
        "missing coordinates": 1,
        "invalid coordinates": 1,
        "missing date": 1,
        "unparseable date": 1,
    }
    # the row, not the value (issue 13: no echo of file contents)
    assert any("cannot be read" in w and "data row 1)" in w and "not a date" not in w for w in layer.warnings)
    assert list(layer.gdf["source_row"]) == [4, 5]
    assert "4 dropped" in layer.summary() and "unparseable date: 1" in layer.summary()


def test_every_row_dropped_is_an_error(tmp_path: Path) -> None:
    rows = [dict(r, date="garbage") for r in incident_rows()]
    with pytest.raises(LayerError, match="no usable rows.*unparseable date: 3"):
        read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))


def test_no_date_column_is_an_error(tmp_path: Path) -> None:
    rows = [{"lon": r["lon"], "lat": r["lat"]} for r in incident_rows()]
    with pytest.raises(LayerError) as err:
        read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert err.value.problems[0].field == "layers.incidents.columns.date"


# --------------------------------------------------------------------------- CRS
def test_projected_coordinates_in_a_lonlat_csv_are_a_crs_mismatch(tmp_path: Path) -> None:
    rows = [dict(r, lon=X0 + 100 * i, lat=Y0 + 50) for i, r in enumerate(incident_rows())]
    path = write_csv(tmp_path / "inc.csv", rows)
    with pytest.raises(CRSMismatchError) as err:
        read_layer("incidents", src(path))
    problem = err.value.problems[0]
    assert problem.field == "layers.incidents.crs" and problem.file == str(path)
    assert "look projected" in problem.hint and "layers.incidents.crs" in problem.hint
    # naming the CRS fixes it
    layer = read_layer("incidents", src(path, crs="EPSG:32610"))
    assert round(layer.gdf.geometry.x.iloc[1]) == X0 + 100


def test_swapped_lonlat_is_detected(tmp_path: Path) -> None:
    rows = [dict(r, lon=r["lat"], lat=r["lon"]) for r in incident_rows()]
    with pytest.raises(CRSMismatchError, match="swapped"):
        read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))


def test_projected_coordinates_in_a_geographic_file(tmp_path: Path) -> None:
    gdf = points_gdf().to_crs(UTM10).set_crs(4326, allow_override=True)
    path = tmp_path / "bad.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(CRSMismatchError) as err:
        read_layer("incidents", src(path))
    assert err.value.problems[0].field == "layers.incidents.crs"


def test_shapefile_without_crs(tmp_path: Path) -> None:
    lonlat_shp = tmp_path / "ll.shp"
    points_gdf().to_file(lonlat_shp)
    lonlat_shp.with_suffix(".prj").unlink()
    layer = read_layer("incidents", src(lonlat_shp), crs=UTM10)
    assert any("states no CRS; assumed EPSG:4326" in w for w in layer.warnings)
    assert round(sorted(layer.gdf.geometry.x)[0]) == X0 + 100
    utm_shp = tmp_path / "utm.shp"
    points_gdf().to_crs(UTM10).to_file(utm_shp)
    utm_shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSMismatchError, match="look projected"):
        read_layer("incidents", src(utm_shp))
    assert read_layer("incidents", src(utm_shp, crs="EPSG:32610")).gdf.crs == UTM10


def test_layer_wholly_outside_the_network(tmp_path: Path, grid: GridNetwork) -> None:
    gdf = points_gdf().to_crs(UTM10)
    gdf = gdf.set_geometry(gdf.geometry.translate(50_000, 0)).to_crs(4326)
    path = tmp_path / "far.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(LayerOutsideNetworkError) as err:
        read_layer("incidents", src(path), network=grid)
    problem = err.value.problems[0]
    assert problem.file == str(path) and "lon/lat" in problem.hint and "layers.incidents.crs" in problem.hint


def test_points_partly_outside_are_dropped_with_a_warning(tmp_path: Path, grid: GridNetwork) -> None:
    rows = incident_rows()
    lon, lat = lonlat(X0 + 500, Y0 + 1000 + 600)  # 600 m north of the grid: beyond the 300 m limit
    rows.append(dict(rows[0], lon=lon, lat=lat))
    lon, lat = lonlat(X0 + 500, Y0 + 1000 + 250)  # within 300 m of a street: kept
    rows.append(dict(rows[0], lon=lon, lat=lat))
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)), network=grid)
    assert layer.rows_used == 4
    assert layer.drop_reasons == {"outside the network area": 1}
    assert any("outside the road network" in w for w in layer.warnings)


def test_street_distance_warning(tmp_path: Path, grid: GridNetwork) -> None:
    rows = incident_rows()
    lon, lat = lonlat(X0 + 500, Y0 + 1000 + 250)  # 250 m from the nearest street
    rows.append(dict(rows[0], lon=lon, lat=lat))
    path = write_csv(tmp_path / "inc.csv", rows)
    layer = read_layer("incidents", src(path), network=grid)
    assert layer.rows_used == 4
    (warning,) = [w for w in layer.warnings if "from any street" in w]
    assert "1 of 4 points lie more than 150 m" in warning and "farthest 250 m" in warning
    quiet = read_layer("incidents", src(path), network=grid, max_street_distance_m=400)
    assert not any("from any street" in w for w in quiet.warnings)


# --------------------------------------------------------------------------- geometry
def test_wrong_geometry_type_names_file_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=UTM10).to_file(path, driver="GeoJSON")
    with pytest.raises(LayerError) as err:
        read_layer("districts", src(path))
    problem = err.value.problems[0]
    assert problem.file == str(path) and problem.field.startswith("layers.districts")
    assert "districts must be polygons" in problem.message and "LineString" in problem.message
    points = tmp_path / "points.geojson"
    points_gdf().to_file(points, driver="GeoJSON")
    with pytest.raises(LayerError, match="districts must be polygons"):
        read_layer("districts", src(points))


def test_districts_repair_invalid_polygons_and_drop_empty(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 200, Y0 + 200), (X0 + 200, Y0), (X0, Y0 + 200)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"district": ["Central", None, "East"], "priority": [2, None, "high"]},
        geometry=[block(0, 0), bowtie, shapely.Polygon()],
        crs=UTM10,
    )
    path = tmp_path / "d.gpkg"
    gdf.to_file(path, driver="GPKG")
    layer = read_layer("districts", src(path, default_priority=1.5))
    assert layer.rows_used == 2 and layer.drop_reasons == {"empty geometry": 1}
    assert layer.gdf.geometry.is_valid.all()
    assert math.isclose(layer.gdf.geometry.area.iloc[1], 20_000, rel_tol=1e-6)  # two triangles
    assert any("1 invalid polygons were repaired" in w for w in layer.warnings)
    assert list(layer.gdf["name"]) == ["Central", "District 2"]
    assert list(layer.gdf["priority"]) == [2.0, 1.5]


def test_key_sites_points_and_polygons_and_stations_as_points(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["Market", "<script>alert(1)</script>"], "type": ["market", "bus station"]},
        geometry=[block(2, 2), shapely.Point(X0 + 550, Y0 + 550)],
        crs=UTM10,
    )
    path = tmp_path / "sites.geojson"
    gdf.to_file(path, driver="GeoJSON")
    sites = read_layer("key_sites", src(path))
    assert list(sites.gdf.geom_type) == ["Polygon", "Point"]
    assert list(sites.gdf["category"]) == ["market", "bus station"]
    assert sites.gdf["name"].iloc[1] == "<script>alert(1)</script>"  # kept as plain text
    stations = read_layer("stations", src(path))
    assert list(stations.gdf.geom_type) == ["Point", "Point"]
    assert stations.gdf.geometry.iloc[0].within(block(2, 2))
    assert list(stations.gdf.columns) == ["name", "source_row", "geometry"]


# --------------------------------------------------------------------------- cameras
@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ('"camera:type"=>"dome","camera:direction"=>"N"', ("dome", 0.0, 360.0)),
        ('"camera:type"=>"fixed","camera:direction"=>"90;270"', ("fixed", 90.0, math.nan)),
        ('"camera:type"=>"panning","direction"=>"ENE"', ("ptz", 67.5, 360.0)),
        ('"camera:type"=>"fixed","camera:direction"=>"ssw"', ("fixed", 202.5, math.nan)),
        ('"camera:direction"=>"-30"', ("unknown", 330.0, math.nan)),
        ('"surveillance"=>"public"', ("unknown", math.nan, math.nan)),
        (None, ("unknown", math.nan, math.nan)),
        ({"camera:type": "dome", "camera:direction": "NW", "camera:mount": "pole"}, ("dome", 315.0, 360.0)),
    ],
)
def test_parse_osm_camera_tags(tags: Any, expected: tuple[str, float, float]) -> None:
    parsed = parse_osm_camera_tags(tags)
    assert set(parsed) == {"camera_type", "heading_deg", "fov_deg", "mount", "zone"}
    camera_type, heading, fov = expected
    assert parsed["camera_type"] == camera_type
    assert (math.isnan(parsed["heading_deg"]) and math.isnan(heading)) or parsed["heading_deg"] == heading
    assert (math.isnan(parsed["fov_deg"]) and math.isnan(fov)) or parsed["fov_deg"] == fov


def test_parse_osm_camera_tags_mount_zone_and_escapes() -> None:
    parsed = parse_osm_camera_tags(
        '"camera:mount"=>"wall","surveillance:zone"=>"street","name"=>"say \\"hi\\"","camera:type"=>"fixed"'
    )
    assert parsed["mount"] == "wall" and parsed["zone"] == "street"


def test_cameras_from_other_tags_and_plain_columns(tmp_path: Path) -> None:
    pts = [shapely.Point(X0 + 100 * i, Y0) for i in range(4)]
    other = gpd.GeoDataFrame(
        {
            "osm_id": ["1", "2", "3", "4"],
            "other_tags": [
                '"camera:type"=>"dome","camera:mount"=>"wall","camera:direction"=>"NE"',
                '"camera:type"=>"fixed","camera:direction"=>"180"',
                '"camera:type"=>"panning"',
                None,
            ],
        },
        geometry=pts,
        crs=UTM10,
    )
    path = tmp_path / "cams.geojson"
    other.to_file(path, driver="GeoJSON")
    cams = read_layer("cameras", src(path)).gdf
    assert list(cams["camera_type"]) == ["dome", "fixed", "ptz", "unknown"]
    np.testing.assert_array_equal(cams["heading_deg"], [45.0, 180.0, np.nan, np.nan])
    np.testing.assert_array_equal(cams["fov_deg"], [360.0, np.nan, 360.0, np.nan])
    assert list(cams["mount"]) == ["wall", "unknown", "unknown", "unknown"]
    assert cams["name"].iloc[0] == "OSM camera 1"
    assert cams["range_m"].isna().all()

    plain = gpd.GeoDataFrame(
        {
            "camera:type": ["fixed", "dome"],
            "camera:direction": ["W", None],
            "direction": [None, "S"],
            "surveillance:zone": ["traffic", None],
            "range": [40, None],
        },
        geometry=pts[:2],
        crs=UTM10,
    )
    path = tmp_path / "plain.gpkg"
    plain.to_file(path, driver="GPKG")
    cams = read_layer("cameras", src(path)).gdf
    assert list(cams["camera_type"]) == ["fixed", "dome"]
    assert list(cams["heading_deg"]) == [270.0, 180.0]
    assert list(cams["zone"]) == ["traffic", "unknown"]
    np.testing.assert_array_equal(cams["range_m"], [40.0, np.nan])
    assert list(cams["name"]) == ["Camera 1", "Camera 2"]


def test_camera_csv_with_mapped_heading_and_type(tmp_path: Path) -> None:
    rows = [
        {"lon": r["lon"], "lat": r["lat"], "dir": d, "kind": k, "angle": f}
        for r, d, k, f in zip(incident_rows(), ["NNE", "10", "?"], ["bullet", "PTZ", "thing"], ["60", "", ""])
    ]
    layer = read_layer(
        "cameras",
        src(write_csv(tmp_path / "c.csv", rows), columns={"heading": "dir", "camera_type": "kind", "fov": "angle"}),
    )
    cams = layer.gdf
    assert list(cams["camera_type"]) == ["fixed", "ptz", "unknown"]
    np.testing.assert_array_equal(cams["heading_deg"], [22.5, 10.0, np.nan])
    np.testing.assert_array_equal(cams["fov_deg"], [60.0, 360.0, np.nan])
    assert any("unknown camera type" in w for w in layer.warnings)
    assert any("heading" in w for w in layer.warnings)


# --------------------------------------------------------------------------- errors and load_layers
def test_missing_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "inc.csv", incident_rows())
    source = src(path)
    path.unlink()
    with pytest.raises(InputFileNotFoundError) as err:
        read_layer("incidents", source)
    assert isinstance(err.value, FileNotFoundError)
    assert err.value.problems[0].file == str(path)
    assert err.value.problems[0].field == "layers.incidents.path"


@pytest.mark.parametrize("name", ["broken.geojson", "broken.gpkg", "broken.parquet", "broken.zip"])
def test_corrupt_file_is_a_layer_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not a GIS file {")
    with pytest.raises(LayerError) as err:
        read_layer("districts", src(path))
    assert err.value.problems[0].file == str(path)
    assert err.value.problems[0].field == "layers.districts.path"


def test_load_layers_collects_problems_of_every_layer(tmp_path: Path, grid: GridNetwork) -> None:
    good = write_csv(tmp_path / "inc.csv", incident_rows())
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 10, Y0)])], crs=UTM10).to_file(lines, driver="GeoJSON")
    bad_csv = write_csv(tmp_path / "cams.csv", [{"a": 1, "b": 2}])
    settings = LayersSettings(
        incidents={"path": good},
        districts={"path": lines},
        cameras={"path": bad_csv},
        stations={"path": good, "columns": {"name": "nope"}},
    )
    with pytest.raises(LayerError) as err:
        load_layers(settings, network=grid)
    fields = [p.field for p in err.value.problems]
    assert "layers.districts.path" in fields
    assert "layers.cameras.columns.lon" in fields
    assert "layers.stations.columns.name" in fields
    assert not any(f.startswith("layers.incidents") for f in fields)
    assert len(err.value.lines) == 1 + len(err.value.problems)


def test_load_layers_returns_present_layers(tmp_path: Path, grid: GridNetwork) -> None:
    good = write_csv(tmp_path / "inc.csv", incident_rows())
    districts = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[block(1, 1)], crs=UTM10).to_file(districts, driver="GeoJSON")
    layers = load_layers(LayersSettings(incidents={"path": good, "synthetic": True}, districts={"path": districts}), network=grid)
    assert isinstance(layers, Layers)
    assert [k for k, _ in layers.items()] == ["incidents", "districts"]
    assert layers.cameras is None
    assert layers.incidents.synthetic and "(synthetic)" in layers.incidents.summary()
    assert layers.districts.gdf.crs == UTM10
    assert layers.warnings == ()


def test_single_failing_layer_keeps_its_error_type(tmp_path: Path, grid: GridNetwork) -> None:
    rows = [dict(r, lon=X0, lat=Y0) for r in incident_rows()]
    with pytest.raises(CRSMismatchError):
        load_layers(LayersSettings(incidents={"path": write_csv(tmp_path / "i.csv", rows)}), network=grid)
    assert issubclass(CRSMismatchError, GeoEngineError)


# --------------------------------------------------------------------------- real data
@needs_shared
def test_real_sf_chinatown_date_and_time_columns() -> None:
    layer = read_layer("incidents", src(SHARED / "incidents" / "sf_chinatown_2016.csv"))
    assert layer.rows_read == 1478
    assert layer.rows_used + layer.rows_dropped == 1478
    assert layer.rows_used >= 1470
    gdf = layer.gdf
    assert (gdf["time_precision"] == "datetime").mean() > 0.99
    assert gdf["time"].min() >= pd.Timestamp("2016-05-16") and gdf["time"].max() < pd.Timestamp("2016-11-02")
    assert gdf.loc[0, "time"] == pd.Timestamp("2016-06-12 16:00")
    assert gdf.loc[0, "category"] == "LARCENY/THEFT" and gdf.loc[0, "description"] == "GRAND THEFT PICKPOCKET"


@needs_shared
def test_real_city_of_london_month_only_and_missing_coordinates() -> None:
    layer = read_layer("incidents", src(SHARED / "incidents" / "city_of_london_2016-01_2017-06.csv"))
    assert layer.rows_read == 10118
    assert layer.drop_reasons.get("missing coordinates") == 465
    assert layer.rows_used == 10118 - 465 - sum(n for r, n in layer.drop_reasons.items() if r != "missing coordinates")
    assert set(layer.gdf["time_precision"]) == {"month"}
    assert layer.gdf["time"].min() == pd.Timestamp("2016-01-01")
    assert layer.gdf["time"].max() == pd.Timestamp("2017-06-01")
    assert "Anti-social behaviour" in set(layer.gdf["category"])
    assert layer.gdf.crs.is_projected


@needs_shared
def test_real_sf_2012_date_only() -> None:
    layer = read_layer("incidents", src(SHARED / "incidents" / "sf_2012h2_4categories.csv"))
    assert layer.rows_read == 13472
    assert set(layer.gdf["time_precision"]) == {"date"}
    assert layer.gdf["time"].dt.year.eq(2012).all()
    assert set(layer.gdf["category"]) == {"ROBBERY", "DRUG/NARCOTIC", "VEHICLE THEFT", "VANDALISM"}


@needs_shared
def test_real_osm_cameras() -> None:
    layer = read_layer("cameras", src(SHARED / "cameras" / "sf_osm_surveillance_2026.geojson"))
    cams = layer.gdf
    assert layer.rows_read == 657 and layer.rows_used == 657
    # 296 cameras carry camera:direction or direction, all of them degrees or compass letters
    assert int(cams["heading_deg"].notna().sum()) == 296
    assert cams["heading_deg"].dropna().between(0, 360, inclusive="left").all()
    north = cams[cams["name"] == "OSM camera 2634186259"]  # tagged camera:direction=N
    assert north["heading_deg"].tolist() == [0.0]
    counts = cams["camera_type"].value_counts()
    assert counts["dome"] == 366 and counts["fixed"] == 261 and counts["ptz"] == 17
    assert (cams.loc[cams["camera_type"].isin(["dome", "ptz"]), "fov_deg"] == 360).all()


def _sf_network() -> Any:
    network = pytest.importorskip("geoengine.network", reason="geoengine.network not available yet")
    if not hasattr(network, "network_from_xml"):
        pytest.skip("geoengine.network has no network_from_xml yet")
    return network.network_from_xml(SHARED / "osm" / "sf_downtown_2017.osm.bz2")


@needs_shared
def test_real_chinatown_incidents_lie_on_sf_streets() -> None:
    net = _sf_network()
    layer = read_layer("incidents", src(SHARED / "incidents" / "sf_chinatown_2016.csv"), network=net)
    assert layer.gdf.crs == net.crs
    distance = np.asarray(net.snap(layer.gdf.geometry)["distance_m"], dtype=float)
    assert (distance <= 50).mean() >= 0.95
    assert layer.rows_used >= 0.95 * layer.rows_read


@needs_shared
def test_real_osm_cameras_on_the_sf_downtown_network() -> None:
    net = _sf_network()
    layer = read_layer("cameras", src(SHARED / "cameras" / "sf_osm_surveillance_2026.geojson"), network=net)
    # the network covers downtown only: cameras elsewhere in the city are dropped and counted
    outside = layer.drop_reasons["outside the network area"]
    assert 0 < outside < 657 and layer.rows_used == 657 - outside
    assert any("outside the road network" in w for w in layer.warnings)
    assert layer.gdf["heading_deg"].notna().sum() > 100
    assert layer.gdf.crs == net.crs


def test_a_few_out_of_range_degrees_are_dropped_not_fatal(tmp_path: Path) -> None:
    rows = incident_rows() + [dict(incident_rows()[0], lat=95.0)]
    layer = read_layer("incidents", src(write_csv(tmp_path / "inc.csv", rows)))
    assert layer.rows_used == 3 and layer.drop_reasons == {"coordinates out of range": 1}
    assert any("outside longitude ±180 / latitude ±90" in w for w in layer.warnings)


# --------------------------------------------------------------------------- formats on real data
REPO_LAYERS = Path(__file__).resolve().parents[1] / "layers"


@pytest.mark.parametrize("fmt", ["gpkg", "zip", "parquet"])
def test_real_layers_read_the_same_from_every_format(tmp_path: Path, fmt: str) -> None:
    """The demo's key sites and districts (from real OSM data) survive GeoPackage, zipped Shapefile and GeoParquet."""
    for kind, name in (("key_sites", "helsinki_key_sites.geojson"), ("districts", "helsinki_districts.geojson")):
        original = gpd.read_file(REPO_LAYERS / name)
        if fmt == "gpkg":
            path = tmp_path / f"{kind}.gpkg"
            original.to_file(path, layer=kind, driver="GPKG")
        elif fmt == "zip":
            (tmp_path / kind).mkdir()
            original.to_file(tmp_path / kind / f"{kind}.shp")
            path = tmp_path / f"{kind}.zip"
            with zipfile.ZipFile(path, "w") as zf:
                for part in (tmp_path / kind).iterdir():
                    zf.write(part, part.name)
        else:
            path = tmp_path / f"{kind}.parquet"
            original.to_parquet(path)
        reference = read_layer(kind, src(REPO_LAYERS / name), crs="EPSG:3067")
        layer = read_layer(kind, src(path), crs="EPSG:3067")
        assert layer.rows_used == reference.rows_used == len(original)
        assert list(layer.gdf["name"]) == list(reference.gdf["name"])
        assert np.allclose(layer.gdf.area, reference.gdf.area) and np.allclose(
            layer.gdf.geometry.centroid.x, reference.gdf.geometry.centroid.x
        )
