#!/usr/bin/env bash
# The layer formats checked with GDAL and GeoPandas (CI runs this after the tests).
#
#   tests/formats_gdal.sh [BINARY]     (default: target/release/livingcircle)
#
# Writes every command's layers in GeoJSON, GeoPackage, FlatGeobuf and GeoParquet for
# the bundled city and two ../shared/data extracts (skipped with a note when absent),
# then runs tests/formats_check.py in a virtualenv it creates (target/formats-venv;
# geopandas, pyogrio and pyarrow from PyPI): Debian's ogrinfo must report no warning or
# error, EPSG:4326, the expected counts and field types; ogr2ogr's GeoJSON of each
# GeoPackage layer must equal ours; GeoPandas must read the GeoParquet and FlatGeobuf
# layers as the GeoJSON. Needs `ogrinfo`/`ogr2ogr` (Debian: gdal-bin) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/livingcircle}
WORK=target/formats-check
VENV=target/formats-venv
ALL=geojson,gpkg,fgb,parquet
rm -rf "$WORK"
mkdir -p "$WORK"

ogrinfo --version
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check geopandas pyogrio pyarrow
fi

inputs=(data/munchen.osm.pbf)
for name in baltimore nanjing; do
  if [ -f "../shared/data/$name.osm.pbf" ]; then
    inputs+=("../shared/data/$name.osm.pbf")
  else
    echo "note: ../shared/data/$name.osm.pbf is absent; skipping it"
  fi
done

dirs=()
for osm in "${inputs[@]}"; do
  name=$(basename "$osm" .osm.pbf)
  w="$WORK/$name"
  "$BIN" analyze -q --osm "$osm" --no-report --format "$ALL" --out "$w/a"
  "$BIN" graph -q --osm "$osm" --format "$ALL" --out "$w/g"
  "$BIN" site -q --osm "$osm" --category kindergarten --count 3 --format "$ALL" --out "$w/s"
  # Isochrones around the first five residences (nested; rings for the bundled city).
  "$VENV/bin/python" - "$w/a/residences.geojson" "$w/points.csv" <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["features"][:5]
with open(sys.argv[2], "w") as f:
    f.write("lon,lat\n")
    for x in fs:
        f.write("%r,%r\n" % tuple(x["geometry"]["coordinates"]))
PY
  rings=()
  [ "$name" = munchen ] && rings=(--rings)
  "$BIN" isochrones -q --osm "$osm" --points "$w/points.csv" "${rings[@]}" --format "$ALL" \
    --out "$w/iso/isochrones.geojson"
  dirs+=("$w/a" "$w/g" "$w/s" "$w/iso")
done

"$VENV/bin/python" tests/formats_check.py "${dirs[@]}"

# A full disk: every format on a 512 KiB tmpfs (needs the right to mount; skipped with
# a note otherwise) must fail with one line naming the file (its output path, not the
# staging folder's), exit 2, and leave no temporary file or staging folder.
TINY=$(mktemp -d)
if mount -t tmpfs -o size=512k tmpfs "$TINY" 2>/dev/null; then
  trap 'umount "$TINY"; rmdir "$TINY"' EXIT
  for f in geojson gpkg fgb parquet; do
    rm -rf "${TINY:?}"/*
    set +e
    "$BIN" analyze -q --no-report --format "$f" --out "$TINY/o" 2>"$WORK/full.err"
    code=$?
    set -e
    lines=$(wc -l <"$WORK/full.err")
    if [ "$code" != 2 ] || [ "$lines" != 1 ] || ! grep -qE "No space left|disk is full" "$WORK/full.err" \
      || grep -q "\.staging-" "$WORK/full.err" \
      || ls -A "$TINY/o" | grep -q '^\.livingcircle-'; then
      echo "FAIL: full disk, --format $f: exit $code, $(cat "$WORK/full.err"), left: $(ls -A "$TINY/o")"
      exit 1
    fi
    echo "full disk, --format $f: $(cat "$WORK/full.err")"
  done
else
  rmdir "$TINY"
  echo "note: cannot mount a tmpfs here; skipping the full-disk check"
fi
