"""Checks livingcircle's layers in every format with GDAL and GeoPandas.

Usage: formats_check.py DIR...   (each DIR written by tests/formats_gdal.sh)

For every layer in GeoPackage and FlatGeobuf, Debian's `ogrinfo -ro -al -so` must
print no warning or error, report EPSG:4326, the feature count of the GeoJSON (or
CSV) the same run wrote, and the field types the GeoParquet file declares (read by
pyarrow; the Rust tests check those against the layer's schema). `ogr2ogr` turns each
GeoPackage layer into GeoJSON, which must equal ours (numbers compared numerically).
GeoPandas (with pyogrio) reads the GeoParquet and FlatGeobuf files, and they must equal
the GeoJSON: columns, dtypes (floats stay float64 even when every value is null,
booleans bool), every value and geometry; a `bbox` filter through the covering column
must find what a scan finds. Exits 1 with the failures listed.
"""

import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, str):
        b = json.loads(b)
    if isinstance(b, list) and isinstance(a, str):
        a = json.loads(a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def geojson_features(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)["features"]


def as_multi(geom):
    """GeoJSON geometry as a list of polygons of rings of positions."""
    t, c = geom["type"], geom["coordinates"]
    if t == "Point":
        return [[[c]]]
    if t == "LineString":
        return [[c]]
    if t == "Polygon":
        return [c]
    if t == "MultiPolygon":
        return c
    raise ValueError(t)


def csv_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def reference(d, layer):
    """The features a layer must hold: its GeoJSON, or built from the CSVs."""
    p = os.path.join(d, layer + ".geojson")
    if os.path.exists(p):
        return geojson_features(p)
    if layer == "network":
        # analyze writes edges.csv for GeoJSON; graph's network.geojson is the same
        # graph (tests/formats_gdal.sh writes it beside).
        return geojson_features(os.path.join(d, "..", "g", "network.geojson"))
    if layer == "nodes":
        return [
            {
                "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
                "properties": {"id": int(r["id"])},
            }
            for r in csv_rows(os.path.join(d, "nodes.csv"))
        ]
    if layer == "unsnapped":
        return [
            {
                "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
                "properties": {
                    "kind": r["kind"],
                    "id": int(r["id"]),
                    "user_id": r["user_id"] or None,
                    "osm_id": r["osm_id"] or None,
                    "category": r["category"] or None,
                },
            }
            for r in csv_rows(os.path.join(d, "unsnapped.csv"))
        ]
    raise ValueError(layer)


GDAL_TYPE = {
    pa.int64(): "Integer64",
    pa.float64(): "Real",
    pa.bool_(): "Integer(Boolean)",
    pa.string(): "String",
    pa.list_(pa.string()): "String(JSON)",
}


def parquet_fields(path):
    """(name, GDAL type) of a GeoParquet file's columns, geometry and bbox left out."""
    schema = pq.read_schema(path)
    out = []
    for f in schema:
        if f.name in ("geometry", "bbox"):
            continue
        t = f.type
        if pa.types.is_list(t):
            t = pa.list_(t.value_type)
        out.append((f.name, GDAL_TYPE[t]))
    return out


def ogrinfo(path):
    """Layers of `ogrinfo -ro -al -so`: name → {count, fields, epsg}; no warning."""
    r = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", path], capture_output=True, text=True
    )
    text = r.stdout + r.stderr
    if r.returncode != 0:
        fail(f"ogrinfo {path}: exit {r.returncode}")
    for line in text.splitlines():
        if re.search(r"\b(warning|error)\b", line, re.I):
            fail(f"ogrinfo {path}: {line}")
    layers = {}
    cur = None
    for block in re.split(r"\n(?=Layer name: )", text):
        m = re.search(r"^Layer name: (\S+)", block, re.M)
        if not m:
            continue
        cur = {"fields": [], "epsg": 'ID["EPSG",4326]' in block or 'AUTHORITY["EPSG","4326"]' in block}
        cnt = re.search(r"^Feature Count: (\d+)", block, re.M)
        cur["count"] = int(cnt.group(1)) if cnt else None
        after = block.split("Data axis to CRS axis mapping", 1)[-1]
        for fm in re.finditer(r"^(\S+): (\S+) \(", after, re.M):
            if fm.group(1) in ("Geometry", "FID", "Extent"):
                continue
            cur["fields"].append((fm.group(1), fm.group(2)))
        layers[m.group(1)] = cur
    return layers


def gpkg_path(d):
    """The GeoPackage of a directory: livingcircle.gpkg, or the one .gpkg in it."""
    p = os.path.join(d, "livingcircle.gpkg")
    if os.path.exists(p):
        return p
    (only,) = [f for f in os.listdir(d) if f.endswith(".gpkg")]
    return os.path.join(d, only)


def check_ogrinfo(d, layer_names, fmt):
    files = (
        {gpkg_path(d): layer_names}
        if fmt == "gpkg"
        else {os.path.join(d, f"{l}.fgb"): [l] for l in layer_names}
    )
    for path, names in files.items():
        info = ogrinfo(path)
        for l in names:
            if l not in info:
                fail(f"{path}: no layer {l}")
                continue
            li = info[l]
            ref = reference(d, l)
            if li["count"] != len(ref):
                fail(f"{path} {l}: {li['count']} features, GeoJSON has {len(ref)}")
            if not li["epsg"]:
                fail(f"{path} {l}: not EPSG:4326")
            want = parquet_fields(os.path.join(d, f"{l}.parquet"))
            if fmt == "fgb":
                # GDAL's FlatGeobuf driver reads a JSON column as a plain String.
                want = [(n, "String" if t == "String(JSON)" else t) for n, t in want]
            if li["fields"] != want:
                diff = [(g, w) for g, w in zip(li["fields"], want) if g != w]
                fail(f"{path} {l}: fields differ: {diff or (len(li['fields']), len(want))}")
            for name, ty in li["fields"]:
                if name.endswith("_m") and ty != "Real":
                    fail(f"{path} {l}: distance {name} is {ty}")


def compare_features(what, got, want, props_only=None):
    if len(got) != len(want):
        fail(f"{what}: {len(got)} features, want {len(want)}")
        return
    for k, (g, w) in enumerate(zip(got, want)):
        if not close(as_multi(g["geometry"]), as_multi(w["geometry"])):
            fail(f"{what}: feature {k} geometry differs")
            return
        gp, wp = g["properties"], w["properties"]
        keys = list(wp.keys())
        if props_only is None and list(gp.keys()) != keys:
            fail(f"{what}: feature {k} columns {list(gp.keys())} != {keys}")
            return
        for key in keys:
            if not close(gp.get(key), wp[key]):
                fail(f"{what}: feature {k} {key}: {gp.get(key)!r} != {wp[key]!r}")
                return


def check_ogr2ogr(d, layer_names):
    gpkg = gpkg_path(d)
    with tempfile.TemporaryDirectory() as t:
        for l in layer_names:
            out = os.path.join(t, l + ".geojson")
            r = subprocess.run(
                ["ogr2ogr", "-f", "GeoJSON", out, gpkg, l], capture_output=True, text=True
            )
            if r.returncode != 0 or r.stderr.strip():
                fail(f"ogr2ogr {gpkg} {l}: {r.stderr.strip()}")
                continue
            compare_features(f"ogr2ogr {gpkg} {l}", geojson_features(out), reference(d, l))


def frame_rows(df, columns):
    """Rows as (geometry WKB, values) with values normalised for comparison."""
    rows = []
    geoms = df.geometry.values
    for i in range(len(df)):
        g = geoms[i]
        if g is not None and g.geom_type == "Polygon" and "isochrones" in columns[0]:
            g = shapely.MultiPolygon([g])
        vals = []
        for c in columns[1]:
            v = df[c].iloc[i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif hasattr(v, "tolist"):
                v = v.tolist()
            if isinstance(v, str) and v.startswith("["):
                v = json.loads(v)
            vals.append(v)
        rows.append((shapely.to_wkb(g, hex=True), vals))
    return rows


def check_geopandas(d, layer_names):
    for l in layer_names:
        ref_path = os.path.join(d, l + ".geojson")
        if not os.path.exists(ref_path):
            # Table layers have no GeoJSON to compare with here; ogr2ogr and the Rust
            # tests compare them with their CSVs.
            continue
        want = gpd.read_file(ref_path, engine="pyogrio")
        pq_path = os.path.join(d, l + ".parquet")
        meta = json.loads(pq.read_metadata(pq_path).metadata[b"geo"])
        if meta.get("version") != "1.1.0" or "covering" not in meta["columns"]["geometry"]:
            fail(f"{pq_path}: geo metadata {meta.get('version')}")
        got_pq = gpd.read_parquet(pq_path)
        got_fgb = gpd.read_file(os.path.join(d, l + ".fgb"), engine="pyogrio")
        if got_pq.crs is None or got_pq.crs.to_epsg() != 4326:
            fail(f"{pq_path}: CRS {got_pq.crs}")
        if got_fgb.crs is None or got_fgb.crs.to_epsg() != 4326:
            fail(f"{l}.fgb: CRS {got_fgb.crs}")
        cols = [c for c in want.columns if c != "geometry"]
        pq_cols = [c for c in got_pq.columns if c not in ("geometry", "bbox")]
        if pq_cols != cols:
            fail(f"{pq_path}: columns {pq_cols} != {cols}")
            continue
        schema = pq.read_schema(pq_path)
        for c in cols:
            t = schema.field(c).type
            if t == pa.float64() and str(got_pq[c].dtype) != "float64":
                fail(f"{pq_path}: {c} read as {got_pq[c].dtype}")
            if t == pa.float64() and str(got_fgb[c].dtype) != "float64":
                fail(f"{l}.fgb: {c} read as {got_fgb[c].dtype}")
            if t == pa.bool_() and got_pq[c].notna().all() and str(got_pq[c].dtype) != "bool":
                fail(f"{pq_path}: {c} read as {got_pq[c].dtype}")
            if t == pa.bool_() and got_fgb[c].notna().all() and str(got_fgb[c].dtype) != "bool":
                fail(f"{l}.fgb: {c} read as {got_fgb[c].dtype}")
        key = (l, cols)
        w = frame_rows(want, key)
        p = frame_rows(got_pq, key)
        f = frame_rows(got_fgb, key)
        for name, rows, sort in [(pq_path, p, False), (f"{l}.fgb", f, True)]:
            a, b = (sorted(rows, key=repr), sorted(w, key=repr)) if sort else (rows, w)
            if len(a) != len(b):
                fail(f"{name}: {len(a)} rows, GeoJSON {len(b)}")
                continue
            for k, (x, y) in enumerate(zip(a, b)):
                if x[0] != y[0] or not close(x[1], y[1]):
                    fail(f"{name}: row {k} differs: {x[1][:6]} != {y[1][:6]}")
                    break
        # The bbox covering column: a window around one feature finds, through the
        # covering, the features a scan of the geometries finds.
        if len(want):
            x0, y0, x1, y1 = want.geometry.iloc[len(want) // 2].bounds
            box = (x0 - 0.002, y0 - 0.002, x1 + 0.002, y1 + 0.002)
            hit = gpd.read_parquet(pq_path, bbox=box)
            scan = want[want.geometry.intersects(shapely.box(*box))]
            if len(hit) < len(scan) or len(hit) > len(scan) + 0.1 * len(scan) + 5:
                fail(f"{pq_path}: bbox filter found {len(hit)}, a scan {len(scan)}")


def main():
    for d in sys.argv[1:]:
        layers = sorted(f[: -len(".parquet")] for f in os.listdir(d) if f.endswith(".parquet"))
        if not layers:
            fail(f"{d}: no layers")
        n = len(FAILURES)
        for check in (
            lambda: check_ogrinfo(d, layers, "gpkg"),
            lambda: check_ogrinfo(d, layers, "fgb"),
            lambda: check_ogr2ogr(d, layers),
            lambda: check_geopandas(d, layers),
        ):
            try:
                check()
            except Exception as e:  # a file a reader cannot take is a failure too
                fail(f"{d}: {type(e).__name__}: {e}")
        print(f"{d}: {', '.join(layers)}: {'ok' if len(FAILURES) == n else 'FAILED'}")
    if FAILURES:
        print(f"{len(FAILURES)} failures", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
