#!/usr/bin/env bash
# The Python package (crates/python): built with maturin into a virtualenv it makes
# (target/py-venv, with maturin, pytest, pyarrow, GeoPandas and networkx from PyPI), then
# tests/python run with pytest against the command line's own outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/py-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check maturin pytest pyarrow geopandas networkx
cargo build --release -q -p livingcircle-cli
VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" \
  maturin develop --release -q -m crates/python/Cargo.toml
"$VENV/bin/python" -m pytest -q tests/python
