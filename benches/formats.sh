#!/usr/bin/env bash
# The layer formats side by side: `analyze --format F` for GeoJSON, GeoPackage,
# FlatGeobuf and GeoParquet, interleaved, RUNS rounds; then reading residences back
# with GeoPandas.
#
#   benches/formats.sh FILE.osm.pbf [RUNS]        (from the repository root)
#
# Per run and format: residences file size; the residences layer's write time
# (`seconds.write_residences` of summary.json: every chunk handed to the writer plus
# its finish, the GeoPackage's R-tree and FlatGeobuf's index included); the whole
# `write` stage (every layer; GeoJSON writes nodes/edges/unsnapped as CSV, the others
# as layers) and its share of the analysis (`seconds.total`); peak RSS (GNU time).
# Ratios are taken within a round (GeoJSON's time / the format's), reported as ranges.
# Read-back (RUNS times, alternating): geopandas.read_parquet(residences.parquet)
# against geopandas.read_file(residences.geojson) (pyogrio), in a virtualenv made
# here (target/formats-venv: geopandas, pyogrio, pyarrow from PyPI).
# Needs: a release build, python3, /usr/bin/time; about 4 GB of disk for a 10x10 metro.
set -euo pipefail
OSM=${1:?usage: benches/formats.sh FILE.osm.pbf [RUNS]}
RUNS=${2:-3}
BIN=${LIVINGCIRCLE:-target/release/livingcircle}
VENV=target/formats-venv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lc-formats.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check geopandas pyogrio pyarrow
fi
PY="$VENV/bin/python"

echo "date $(date -u +%F), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input $OSM"
echo "run,format,residences_bytes,write_residences_s,write_s,total_s,peak_rss_kb" >"$WORK/runs.csv"
for i in $(seq "$RUNS"); do
  for f in geojson gpkg fgb parquet; do
    rm -rf "$WORK/$f"
    /usr/bin/time -v "$BIN" -q analyze --osm "$OSM" --no-report --format "$f" --out "$WORK/$f" \
      2>"$WORK/time.txt"
    rss=$(grep "Maximum resident set size" "$WORK/time.txt" | awk '{print $NF}')
    if [ "$f" = gpkg ]; then
      size=$("$PY" -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
# The residences table and its R-tree, as SQLite counts their pages.
print(c.execute(\"SELECT sum(pgsize) FROM dbstat WHERE name IN ('residences', 'rtree_residences_geom_node', 'rtree_residences_geom_parent', 'rtree_residences_geom_rowid')\").fetchone()[0])
" "$WORK/$f/livingcircle.gpkg" 2>/dev/null || stat -c %s "$WORK/$f/livingcircle.gpkg")
    else
      size=$(stat -c %s "$WORK/$f/residences.$f")
    fi
    "$PY" - "$WORK/$f/summary.json" "$i" "$f" "$size" "$rss" >>"$WORK/runs.csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["seconds"]
print(",".join(sys.argv[2:5] + [str(s["write_residences"]), str(s["write"]), str(s["total"]), sys.argv[5]]))
PY
    echo "  run $i $f done ($(tail -1 "$WORK/runs.csv"))"
  done
done

for i in $(seq "$RUNS"); do
  for how in parquet geojson; do
    "$PY" - "$WORK" "$how" "$i" >>"$WORK/read.csv" <<'PY'
import sys, time
import geopandas as gpd
work, how, run = sys.argv[1:]
t = time.perf_counter()
if how == "parquet":
    df = gpd.read_parquet(f"{work}/parquet/residences.parquet")
else:
    df = gpd.read_file(f"{work}/geojson/residences.geojson")
print(f"{run},{how},{time.perf_counter() - t:.3f},{len(df)}")
PY
    echo "  read $i $how: $(tail -1 "$WORK/read.csv")"
  done
done

"$PY" - "$WORK/runs.csv" "$WORK/read.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault(r["run"], {})[r["format"]] = r
def rng(xs, fmt="{:.2f}"):
    xs = sorted(xs)
    return fmt.format(xs[len(xs) // 2]) + " (" + fmt.format(xs[0]) + "–" + fmt.format(xs[-1]) + ")"
print("\n| format | residences file | vs GeoJSON size | residences write s | GeoJSON / format | write stage s | write share of analyze | analyze s | peak RSS GB |")
print("|---|---|---|---|---|---|---|---|---|")
for f in ["geojson", "gpkg", "fgb", "parquet"]:
    rs = [by[k][f] for k in by]
    size = [int(r["residences_bytes"]) / 1e6 for r in rs]
    rel = [int(by[k][f]["residences_bytes"]) / int(by[k]["geojson"]["residences_bytes"]) * 100 for k in by]
    wr = [float(r["write_residences_s"]) for r in rs]
    ratio = [float(by[k]["geojson"]["write_residences_s"]) / float(by[k][f]["write_residences_s"]) for k in by]
    ws = [float(r["write_s"]) for r in rs]
    share = [float(r["write_s"]) / float(r["total_s"]) * 100 for r in rs]
    tot = [float(r["total_s"]) for r in rs]
    rss = [int(r["peak_rss_kb"]) / 1e6 for r in rs]
    print(f"| {f} | {rng(size, '{:.1f}')} MB | {rng(rel, '{:.1f}')} % | {rng(wr)} | {rng(ratio, '{:.1f}')}× | {rng(ws)} | {rng(share, '{:.1f}')} % | {rng(tot, '{:.1f}')} | {rng(rss)} |")
reads = list(csv.DictReader(open(sys.argv[2]), fieldnames=["run", "how", "s", "n"]))
rb = {}
for r in reads:
    rb.setdefault(r["run"], {})[r["how"]] = float(r["s"])
pq = [rb[k]["parquet"] for k in rb]
gj = [rb[k]["geojson"] for k in rb]
print(f"\nread back ({reads[0]['n']} residences): geopandas.read_parquet {rng(pq)} s, geopandas.read_file(GeoJSON) {rng(gj)} s, ratio {rng([rb[k]['geojson'] / rb[k]['parquet'] for k in rb], '{:.0f}')}×")
PY
