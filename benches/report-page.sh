#!/usr/bin/env bash
# report.html at scale: the page's size, its first map paint and its frame times in
# headless Chromium (the browser tests' flags), the wall time to a screenshot, and
# analyze's peak RSS with and without the report (GNU time). Medians of RUNS runs.
#
#   benches/report-page.sh FILE.osm.pbf [RUNS]        (from the repository root)
#
# The page records its own times when opened as report.html#bench (performance.now()
# since navigation start; every frame is flushed to pixels before it is timed):
#   first_paint_ms  the first map drawn (HTML parsed, columns decoded, indexes built);
#   frame_median_ms / frame_max_ms  over 39 frames: zooming by 1.5 from beyond the
#   whole area down to street level at the densest tile of residences, 8 pans there,
#   8 zoom steps back out.
# Needs: a release build, chromium, python3, /usr/bin/time.
set -euo pipefail
OSM=${1:?usage: benches/report-page.sh FILE.osm.pbf [RUNS]}
RUNS=${2:-3}
BIN=${LIVINGCIRCLE:-target/release/livingcircle}
CHROMIUM=${CHROMIUM:-chromium}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

rss_kb() { grep "Maximum resident set size" "$1" | awk '{print $NF}'; }
median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "date $(date -u +%F), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $("$CHROMIUM" --version 2>/dev/null | head -1)"
echo "input $OSM"
with=() without=() secs_with=() secs_without=()
for i in $(seq "$RUNS"); do
  /usr/bin/time -v "$BIN" -q analyze --osm "$OSM" --out "$WORK/with" 2>"$WORK/time.txt"
  with+=("$(rss_kb "$WORK/time.txt")")
  secs_with+=("$(grep 'Elapsed (wall' "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{print $(NF-1)*60+$NF}')")
  /usr/bin/time -v "$BIN" -q analyze --osm "$OSM" --out "$WORK/without" --no-report 2>"$WORK/time.txt"
  without+=("$(rss_kb "$WORK/time.txt")")
  secs_without+=("$(grep 'Elapsed (wall' "$WORK/time.txt" | awk '{print $NF}' | awk -F: '{print $(NF-1)*60+$NF}')")
done
PAGE="$WORK/with/report.html"
echo "report.html $(stat -c %s "$PAGE") bytes"
echo "analyze peak RSS: with the report $(median "${with[@]}") kB (runs: ${with[*]}), without $(median "${without[@]}") kB (runs: ${without[*]})"
echo "analyze wall s: with the report $(median "${secs_with[@]}") (runs: ${secs_with[*]}), without $(median "${secs_without[@]}") (runs: ${secs_without[*]})"

FLAGS=(--headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars --window-size=1400,1000 --virtual-time-budget=10000)
paint=() fmed=() fmax=() shot=()
for i in $(seq "$RUNS"); do
  "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$WORK/p$i" --dump-dom "file://$PAGE#bench" 2>/dev/null >"$WORK/dom.html"
  read -r p m x < <(python3 - "$WORK/dom.html" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
st = json.loads(html.unescape(re.search(r'<pre id="lc-status"[^>]*>(.*?)</pre>', dom, re.S).group(1)))
assert not st["errors"], st["errors"]
b = st["bench"]
print(st["timing"]["first_paint_ms"], b["median_ms"], b["max_ms"])
PY
)
  paint+=("$p"); fmed+=("$m"); fmax+=("$x")
  t0=$(date +%s.%N)
  "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$WORK/s$i" --screenshot="$WORK/shot.png" "file://$PAGE" 2>/dev/null
  shot+=("$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")")
done
echo "first map paint ms: $(median "${paint[@]}") (runs: ${paint[*]})"
echo "frame ms: median $(median "${fmed[@]}") (runs: ${fmed[*]}), max $(median "${fmax[@]}") (runs: ${fmax[*]})"
echo "screenshot s (browser start to exit): $(median "${shot[@]}") (runs: ${shot[*]})"
