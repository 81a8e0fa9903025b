"""The Python package against the command line: the same summary and the same rows.

Run by tests/python.sh (which builds the package with maturin into a venv); the
command line is target/release/livingcircle (LIVINGCIRCLE_BIN overrides).
"""

import json
import os
import subprocess
from pathlib import Path

import geopandas
import pyarrow as pa
import pytest

import livingcircle as lc

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "data" / "munchen.osm.pbf"
NANJING = ROOT / "data" / "nanjing.osm.pbf"
BIN = Path(os.environ.get("LIVINGCIRCLE_BIN", ROOT / "target" / "release" / "livingcircle"))


def cli(tmp_path, osm, preset, *extra):
    out = tmp_path / "out"
    subprocess.run(
        [str(BIN), "analyze", "-q", "--osm", str(osm), "--preset", preset, "--out", str(out), *extra],
        check=True,
    )
    return out


def comparable(summary):
    """A summary without what differs between a run that writes files and one that
    does not: timings, the files written, whether a report was written."""
    s = json.loads(json.dumps(summary))
    for k in ("seconds", "layers"):
        s.pop(k)
    s["parameters"].pop("report_html")
    return s


@pytest.mark.parametrize("osm,preset", [(CITY, "gb50180"), (NANJING, "complete-community"), (CITY, "15min")])
def test_summary_and_rows_equal_the_command_line(tmp_path, osm, preset):
    out = cli(tmp_path, osm, preset, "--no-report")
    r = lc.analyze(osm, preset=preset)
    want = json.loads((out / "summary.json").read_text())
    assert comparable(r.summary) == comparable(want)

    for layer in ("residences", "facilities", "gaps"):
        got = r.to_geodataframe(layer)
        ref = geopandas.read_file(out / f"{layer}.geojson")
        assert len(got) == len(ref), layer
        if len(ref) == 0:
            # An empty GeoJSON layer has no columns to read back.
            continue
        assert list(got.columns) == list(ref.columns), layer
        # Geometry: the same coordinates (both rounded to 7 decimals).
        assert got.geometry.geom_equals_exact(ref.geometry, tolerance=0).all(), layer
        # Values: every numeric column equal where not null, nulls in the same rows.
        for col in got.columns:
            if col == "geometry":
                continue
            a, b = got[col], ref[col]
            assert (a.isna() == b.isna()).all(), (layer, col)
            if a.dtype.kind in "fi":
                assert (a[a.notna()].astype(float) == b[b.notna()].astype(float)).all(), (layer, col)


def test_arrow_tables_without_geopandas_types():
    r = lc.analyze(CITY)
    t = r.to_arrow("residences")
    assert isinstance(t, pa.Table)
    assert t.num_rows == r.summary["counts"]["residences"]
    geometry = t.schema.field("geometry")
    assert geometry.type == pa.binary()
    assert geometry.metadata[b"ARROW:extension:name"] == b"geoarrow.wkb"
    crs = json.loads(geometry.metadata[b"ARROW:extension:metadata"])["crs"]
    assert crs["id"] == {"authority": "EPSG", "code": 4326}
    # GeoArrow readers take it as a geometry column as it is.
    g = geopandas.GeoDataFrame.from_arrow(t.drop_columns(["bbox"]))
    assert g.crs.to_epsg() == 4326
    assert len(g) == t.num_rows
    assert t.schema.field("kindergarten_m").type == pa.float64()
    assert t.schema.field("level5_ok").type == pa.bool_()
    assert t.schema.field("missing").type == pa.list_(pa.string())
    with pytest.raises(ValueError, match="unknown layer"):
        r.to_arrow("nope")


def test_threads_do_not_change_the_numbers():
    one = lc.analyze(CITY, threads=1)
    two = lc.analyze(CITY, threads=2)
    every = lc.analyze(CITY, threads=0)
    # 0 is every core, as `--threads 0` (rayon counts the cores this process may use).
    assert every.summary["parameters"]["threads"] == len(os.sched_getaffinity(0))
    a, b = comparable(one.summary), comparable(two.summary)
    assert a["parameters"].pop("threads") == 1
    assert b["parameters"].pop("threads") == 2
    assert a == b
    assert one.to_arrow("residences").equals(two.to_arrow("residences"))


def test_errors_are_one_line_and_name_the_file(tmp_path):
    with pytest.raises(lc.Error, match=r"no-such\.osm\.pbf: No such file"):
        lc.analyze(tmp_path / "no-such.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all")
    with pytest.raises(lc.Error, match=r"bad\.osm\.pbf: not a valid \.osm\.pbf"):
        lc.analyze(bad)
    with pytest.raises(lc.Error, match="unknown preset"):
        lc.analyze(CITY, preset="nope")
    homes = tmp_path / "homes.csv"
    homes.write_text("lon,lat\n11.57,not-a-number\n")
    with pytest.raises(lc.Error, match=r"homes\.csv"):
        lc.analyze(CITY, residences=homes)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed_kmh must be a positive number"):
            lc.analyze(CITY, speed_kmh=bad)
        with pytest.raises(ValueError, match="max_snap_m must be a positive number"):
            lc.analyze(CITY, max_snap_m=bad)
    # The error pickles (multiprocessing workers re-raise it in the parent).
    import pickle

    try:
        lc.analyze(tmp_path / "no-such.osm.pbf")
    except lc.Error as e:
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is lc.Error and str(again) == str(e)


def test_user_residences_come_back_with_their_ids(tmp_path):
    homes = tmp_path / "homes.csv"
    homes.write_text("id,lon,lat,population\nh-1,11.5700,48.1380,10\nh-2,11.5750,48.1370,20\n")
    r = lc.analyze(CITY, residences=homes)
    t = r.to_arrow("residences")
    assert t.column("user_id").to_pylist() == ["h-1", "h-2"]
    assert r.summary["input"]["residences_file"] == str(homes)


def test_graph_equals_the_command_lines_csv(tmp_path):
    out = tmp_path / "g"
    subprocess.run([str(BIN), "graph", "-q", "--osm", str(CITY), "--out", str(out)], check=True)
    import pandas

    g = lc.graph(CITY)
    nodes = pandas.read_csv(out / "nodes.csv").set_index("id")
    edges = pandas.read_csv(out / "edges.csv").set_index("id")
    assert (g.nodes.index == nodes.index).all()
    assert (g.nodes["lon"] == nodes["lon"]).all() and (g.nodes["lat"] == nodes["lat"]).all()
    e = g.edges
    assert len(e) == len(edges)
    assert (e["u"] == edges["u"]).all() and (e["v"] == edges["v"]).all()
    assert (e["length_m"] == edges["length_m"]).all()
    assert (e["oneway"].astype(int) == edges["oneway"]).all()
    # networkx takes it as it is.
    nx = pytest.importorskip("networkx")
    G = nx.from_pandas_edgelist(e.reset_index(), "u", "v", edge_attr="length_m")
    assert G.number_of_nodes() <= len(nodes)


def same_files(a: Path, b: Path, names):
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_to_file_writes_what_the_command_line_writes(tmp_path):
    out = cli(tmp_path, CITY, "gb50180", "--no-report", "--format", "geojson,parquet")
    r = lc.analyze(CITY)
    mine = tmp_path / "mine"
    r.to_file(mine, format=["geojson", "parquet"])
    want = json.loads((out / "summary.json").read_text())
    got = json.loads((mine / "summary.json").read_text())
    assert got["layers"] == want["layers"] == r.summary["layers"]
    assert comparable(got) == comparable(want)
    files = sorted(p.name for p in mine.iterdir() if not p.name.startswith("."))
    assert files == sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    # The same writers: the text layers are the same bytes.
    same_files(mine, out, [f for f in want["layers"]["files"] if not f.endswith(".parquet")])
    for f in want["layers"]["files"]:
        if f.endswith(".parquet"):
            import pyarrow.parquet as pq

            assert pq.read_table(mine / f).equals(pq.read_table(out / f)), f
    with pytest.raises(ValueError, match="unknown format `shp`"):
        r.to_file(tmp_path / "x", format="shp")
    # A file where the folder should be: the error names it, nothing is written.
    (tmp_path / "file").write_text("")
    with pytest.raises(lc.Error, match="file"):
        r.to_file(tmp_path / "file")


def test_isochrones_equal_the_command_line(tmp_path):
    out = tmp_path / "iso.geojson"
    subprocess.run(
        [str(BIN), "isochrones", "-q", "--osm", str(NANJING), "--minutes", "5,10", "--out", str(out)],
        check=True,
    )
    iso = lc.isochrones(NANJING, minutes=[10, 5])
    got = iso.to_geodataframe()
    ref = geopandas.read_file(out)
    assert iso.report["polygons"] == len(got) == len(ref) > 0
    assert list(got.columns) == list(ref.columns)
    assert (got["id"] == ref["id"]).all() and (got["threshold_min"] == ref["threshold_min"]).all()
    assert (got["area_m2"] == ref["area_m2"]).all() and (got["population"] == ref["population"]).all()
    # WKB says MultiPolygon for every row (the layer's declared type), GeoJSON
    # writes a one-part shape as a Polygon: the same coordinates either way.
    one = got.geometry.apply(lambda g: g.geoms[0] if len(g.geoms) == 1 else g)
    assert one.geom_equals_exact(ref.geometry, tolerance=0).all()
    stats = lc.isochrones(NANJING, minutes=[5, 10], stats_only=True).polygons
    assert "geometry" not in stats.columns
    assert (stats["area_m2"].to_numpy() == got["area_m2"].to_numpy()).all()
    with pytest.raises(lc.Error, match="--buffer-m"):
        lc.isochrones(NANJING, buffer_m=0.0)


def test_site_equals_the_command_line(tmp_path):
    out = tmp_path / "s"
    subprocess.run(
        [str(BIN), "site", "-q", "--osm", str(CITY), "--category", "kindergarten", "--count", "3", "--out", str(out)],
        check=True,
    )
    s = lc.site(CITY, "kindergarten", count=3)
    want = json.loads((out / "sites_summary.json").read_text())
    mine = tmp_path / "mine"
    s.to_file(mine)
    got = json.loads((mine / "sites_summary.json").read_text())
    for d in (want, got):
        d.pop("seconds")
    assert got == want
    same_files(mine, out, want["layers"]["files"])
    assert len(s.sites) == len(want["steps"]) == 3
    assert s.sites["rank"].tolist() == [1, 2, 3]
    with pytest.raises(lc.Error, match="unknown category `daycare`"):
        lc.site(CITY, "daycare")
    with pytest.raises(ValueError, match="by must be"):
        lc.site(CITY, "kindergarten", by="houses")


def test_places_from_geodataframes_equal_places_from_files(tmp_path):
    homes = tmp_path / "homes.csv"
    homes.write_text("id,lon,lat,population\nh-1,11.5700,48.1380,10\nh-2,11.5750,48.1370,20\nh-3,11.5600,48.1400,5\n")
    from_file = lc.analyze(CITY, residences=homes)
    import pandas

    df = pandas.read_csv(homes)
    gdf = geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(df.lon, df.lat), crs=4326)
    # In another CRS: converted to lon/lat on the way.
    for given in (df, gdf.drop(columns=["lon", "lat"]).to_crs(3857)):
        r = lc.analyze(CITY, residences=given)
        assert comparable(r.summary)["categories"] == comparable(from_file.summary)["categories"]
        t = r.to_arrow("residences")
        assert t.column("user_id").to_pylist() == ["h-1", "h-2", "h-3"]
        assert t.column("population").to_pylist() == [10, 20, 5]
    assert "GeoDataFrame" in r.summary["input"]["residences_file"]
    # Candidates from a GeoDataFrame: the same sites as from its file.
    cands = gdf.drop(columns=["lon", "lat"])
    f = tmp_path / "c.geojson"
    cands.to_file(f, driver="GeoJSON")
    a = lc.site(CITY, "kindergarten", count=2, candidates=cands).summary
    b = lc.site(CITY, "kindergarten", count=2, candidates=f).summary
    assert a["steps"] == b["steps"] and a["after"] == b["after"]
    bad = gdf.copy()
    bad.loc[1, "population"] = -4
    with pytest.raises(lc.Error, match=r"residences \(GeoDataFrame\)\.geojson, feature 2: population"):
        lc.analyze(CITY, residences=bad)
    with pytest.raises(TypeError, match="residences: expected a path"):
        lc.analyze(CITY, residences=42)


def test_progress_is_reported_and_an_exception_there_stops_the_run():
    seen = []
    lc.analyze(CITY, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [s for s, _, _ in seen]
    assert stages[0] == "reading OpenStreetMap"
    assert "searching from every residence" in stages
    for s, done, total in seen:
        if done is not None:
            assert 0 <= done <= total, (s, done, total)

    class Stop(Exception):
        pass

    def stop(stage, done, total):
        raise Stop(stage)

    with pytest.raises(Stop):
        lc.analyze(CITY, progress=stop)


def test_frames_without_ids_and_with_a_named_index(tmp_path):
    import pandas

    df = pandas.DataFrame({"lon": [11.5700, 11.5750], "lat": [48.1380, 48.1370], "population": [10, 20]})
    t = lc.analyze(CITY, residences=df).to_arrow("residences")
    # No id column and a plain 0, 1, … index: no ids, as the same frame saved to a file.
    assert t.column("user_id").to_pylist() == [None, None]
    gdf = geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(df.lon, df.lat), crs=4326)
    f = tmp_path / "h.geojson"
    gdf.to_file(f, driver="GeoJSON")
    for given in (gdf, f):
        t = lc.analyze(CITY, residences=given).to_arrow("residences")
        assert t.column("user_id").to_pylist() == [None, None], given
    # A named index is the id, in a DataFrame and in a GeoDataFrame.
    named = df.assign(id=["a", "b"]).set_index("id")
    assert lc.analyze(CITY, residences=named).to_arrow("residences").column("user_id").to_pylist() == ["a", "b"]
    gnamed = gdf.assign(id=["a", "b"]).set_index("id")
    assert lc.analyze(CITY, residences=gnamed).to_arrow("residences").column("user_id").to_pylist() == ["a", "b"]
    # A frame without a CRS is taken as lon/lat.
    raw = geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(df.lon, df.lat))
    a = lc.analyze(CITY, residences=raw).summary["categories"]
    assert a == lc.analyze(CITY, residences=gdf).summary["categories"]


def test_isochrones_of_points_and_bytes_and_progress_of_every_function(tmp_path):
    import pandas

    pts = pandas.DataFrame({"name": ["Marienplatz", "far away"], "lon": [11.5755, 11.0], "lat": [48.1372, 48.0]})
    seen = []
    iso = lc.isochrones(CITY, points=pts, minutes=[5], progress=lambda *a: seen.append(a))
    assert iso.report["polygons"] == 1 and iso.report["unsnapped"] == 1
    assert iso.report["unsnapped_ids"] == ["1"]
    assert iso.polygons["name"].tolist() == ["Marienplatz"]
    assert ("drawing isochrones", 2, 2) in seen
    # Every stage reported to its end.
    assert ("reading OpenStreetMap", CITY.stat().st_size, CITY.stat().st_size) in seen
    seen.clear()
    lc.site(CITY, "kindergarten", count=1, progress=lambda *a: seen.append(a[0]))
    assert "analysing coverage" in seen and seen[-1] == "searching from every candidate and choosing sites"
    seen.clear()
    g = lc.graph(CITY.read_bytes(), threads=1, progress=lambda *a: seen.append(a[0]))
    from itertools import groupby

    assert [k for k, _ in groupby(seen)] == ["reading OpenStreetMap", "building the walking graph"]
    assert g.to_arrow("nodes").num_rows == lc.graph(CITY).to_arrow("nodes").num_rows
    # Bytes analyse as the file does; a cut copy is an error naming them.
    r = lc.analyze(CITY.read_bytes())
    assert r.summary["input"]["file"] == "osm (bytes)"
    assert r.summary["categories"] == lc.analyze(CITY).summary["categories"]
    with pytest.raises(lc.Error, match=r"osm \(bytes\): not a valid \.osm\.pbf"):
        lc.analyze(CITY.read_bytes()[:100_000])
    with pytest.raises(ValueError, match="minutes or meters"):
        lc.isochrones(CITY, minutes=[5], meters=[400])


def test_bad_options_fail_before_reading(tmp_path):
    for call in (
        lambda p: lc.isochrones(CITY, buffer_m=0.0, progress=p),
        lambda p: lc.isochrones(CITY, minutes=[5, 5], progress=p),
        lambda p: lc.site(CITY, "daycare", progress=p),
    ):
        seen = []
        with pytest.raises(lc.Error):
            call(lambda *a: seen.append(a))
        assert seen == []


def test_writing_twice_keeps_one_write_time(tmp_path):
    r = lc.analyze(CITY)
    r.to_file(tmp_path / "a")
    first = r.summary["seconds"]
    r.to_file(tmp_path / "b", format="fgb")
    second = r.summary["seconds"]
    # The total is the run plus the last write, not plus both.
    run = first["total"] - first["write"]
    assert abs(second["total"] - second["write"] - run) < 1e-6
    assert r.summary["layers"]["formats"] == ["fgb"]
    # Two writes at once in one process, into one folder: each has its own staging
    # folder, and the result is one whole set.
    import threading

    other = lc.analyze(CITY)
    errors = []

    def write(a):
        try:
            a.to_file(tmp_path / "c", format=["geojson", "gpkg"])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=write, args=(a,)) for a in (r, other)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    out = tmp_path / "c"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        r.summary["layers"]["files"] + ["summary.csv", "summary.json"]
    )
    assert [p.name for p in out.iterdir() if ".staging-" in p.name] == []


def test_walking_profiles_are_the_command_lines(tmp_path):
    out = cli(tmp_path, CITY, "gb50180", "--no-report", "--profile", "elderly")
    r = lc.analyze(CITY, profile="elderly")
    assert r.summary["parameters"]["speed_kmh"] == 4.0
    assert comparable(r.summary) == comparable(json.loads((out / "summary.json").read_text()))
    with pytest.raises(ValueError, match="not both"):
        lc.analyze(CITY, profile="adult", speed_kmh=5.0)
    with pytest.raises(ValueError, match="unknown profile `child`"):
        lc.site(CITY, "kindergarten", profile="child")
