#!/usr/bin/env bash
# The scale pipeline, stage by stage, side by side with a full decode by osmium.
#
#   benches/scale.sh [--runs N] [--threads T] FILE.osm.pbf...
#
# For each file, N rounds (default 3) of: `osmium fileinfo -e FILE` (Debian's
# osmium-tool, the C++ reference reader), then `livingcircle -q analyze --osm FILE
# --no-report`, both under GNU time (wall seconds, peak RSS). Prints one markdown row
# per file with medians (runs in brackets): the analyze wall time as a multiple of
# osmium's, peak RSS, and the stages from summary.json. Large inputs: make them with
# ../shared/tools/metro.py (see its README); never commit them.
#
# Needs: a release build (cargo build --release), osmium-tool, GNU time, python3.
set -euo pipefail

runs=3
threads=2
files=()
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) files+=("$1"); shift ;;
    esac
done
[ ${#files[@]} -gt 0 ] || { echo "usage: benches/scale.sh [--runs N] [--threads T] FILE.osm.pbf..." >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
lc=${LIVINGCIRCLE:-$here/target/release/livingcircle}
[ -x "$lc" ] || { echo "$lc: not built (cargo build --release)" >&2; exit 2; }
command -v osmium >/dev/null || { echo "osmium: not installed (apt-get install osmium-tool)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time: not installed (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "$(date +%F), commit $(git -C "$here" rev-parse --short HEAD), $(nproc) cores, --threads $threads, $runs rounds"
echo
echo "| input | edges | residences | osmium fileinfo -e s | analyze s | ratio | peak RSS MB | read | build | snap + prepare | hierarchy (overlapped) | per-residence + multi | write |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "$f: no such file" >&2; exit 2; }
    for r in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$work/osmium.$r" osmium fileinfo -e "$f" >/dev/null
        /usr/bin/time -f "%e %M" -o "$work/lc.$r" \
            "$lc" -q --threads "$threads" analyze --osm "$f" --no-report --out "$work/out"
        cp "$work/out/summary.json" "$work/summary.$r.json"
    done
    python3 - "$f" "$work" "$runs" <<'EOF'
import json, os, statistics, sys
f, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def timed(name):
    out = []
    for r in range(1, runs + 1):
        wall, rss = open(f"{work}/{name}.{r}").read().split()[-2:]
        out.append((float(wall), int(rss)))
    return out
osm, lc = timed("osmium"), timed("lc")
sums = [json.load(open(f"{work}/summary.{r}.json")) for r in range(1, runs + 1)]
def med(xs, fmt="{:.2f}"):
    return fmt.format(statistics.median(xs)) + " (" + ", ".join(fmt.format(x) for x in xs) + ")"
sec = lambda k: [s["seconds"].get(k, 0.0) for s in sums]
c = sums[0]["counts"]
ratio = [l[0] / o[0] for o, l in zip(osm, lc)]
print("| {} | {:,} | {:,} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
    os.path.basename(f), c["graph_edges"], c["residences"],
    med([o[0] for o in osm]), med([l[0] for l in lc]), med(ratio, "{:.1f}×"),
    med([l[1] / 1024 for l in lc], "{:.0f}"),
    med(sec("read")), med(sec("build")), med(sec("snap")), med(sec("hierarchy")),
    med([a + b for a, b in zip(sec("per_residence"), sec("multi_source"))]),
    med(sec("write"))))
EOF
done
