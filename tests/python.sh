#!/usr/bin/env bash
# The Python package (crates/python): a wheel built with maturin (abi3, one per
# platform), installed with pip into a virtualenv this script makes (target/py-venv,
# fresh on a clean clone; pytest, GeoPandas and networkx from PyPI, the wheel's own
# dependencies resolved by pip), then tests/python run with pytest against the
# installed wheel and the command line's own outputs.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
VENV=target/py-venv
DIST=target/py-dist
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check maturin pytest geopandas networkx
cargo build --release -q -p livingcircle-cli
rm -rf "$DIST"
"$VENV/bin/maturin" build --release -q -m crates/python/Cargo.toml -o "$DIST"
wheels=("$DIST"/livingcircle-*-abi3-*.whl)
[ "${#wheels[@]}" -eq 1 ] || { echo "expected one abi3 wheel in $DIST, found: ${wheels[*]}" >&2; exit 1; }
# The wheel holds the extension, the stubs and the typing marker.
"$VENV/bin/python" - "${wheels[0]}" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = {"livingcircle/__init__.py", "livingcircle/__init__.pyi", "livingcircle/py.typed"}
missing = need - names
assert not missing, f"{sys.argv[1]} lacks {sorted(missing)}"
assert any(n.startswith("livingcircle/_livingcircle") and n.endswith(".so") for n in names), names
PY
# This wheel replaces whatever livingcircle the venv held; its dependencies are
# resolved from PyPI (already there when GeoPandas is).
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"
"$VENV/bin/pip" install -q --disable-pip-version-check "${wheels[0]}"
# Tests import the installed package, never the source tree.
(cd tests/python && ../../"$VENV"/bin/python -c "import livingcircle, sys; assert 'site-packages' in livingcircle.__file__, livingcircle.__file__")
"$VENV/bin/python" -m pytest -q tests/python
