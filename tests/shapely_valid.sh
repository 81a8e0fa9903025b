#!/usr/bin/env bash
# Checks every Polygon and MultiPolygon feature of the given GeoJSON files with
# shapely (GEOS) `is_valid`; exits 1 when any is invalid. The first run creates a
# virtual environment with shapely (SHAPELY_VENV, default ~/.cache/livingcircle-shapely).
#
#   livingcircle isochrones --out /tmp/iso.geojson && tests/shapely_valid.sh /tmp/iso.geojson
set -euo pipefail
venv=${SHAPELY_VENV:-$HOME/.cache/livingcircle-shapely}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'shapely>=2'
fi
exec "$venv/bin/python" - "$@" <<'PY'
import json, sys
from shapely.geometry import shape
from shapely.validation import explain_validity

total = bad = 0
for path in sys.argv[1:]:
    with open(path) as f:
        features = json.load(f)["features"]
    for i, feature in enumerate(features):
        g = feature.get("geometry")
        if not g or g["type"] not in ("Polygon", "MultiPolygon"):
            continue
        total += 1
        s = shape(g)
        if not s.is_valid:
            bad += 1
            if bad <= 20:
                print(f"{path}: feature {i}: {explain_validity(s)}")
print(f"{total} polygons, {bad} invalid (GEOS)")
sys.exit(1 if bad else 0)
PY
