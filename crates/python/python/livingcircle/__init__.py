"""livingcircle: can every resident walk to the everyday services they need?

15-minute living-circle analysis from OpenStreetMap, in Python::

    import livingcircle as lc
    r = lc.analyze("city.osm.pbf", preset="gb50180")
    r.summary["categories"][0]["residences_pct"]
    r.residences          # GeoDataFrame (GeoPandas installed) or pyarrow.Table
    r.to_arrow("gaps")    # always a pyarrow.Table

The numbers are those of ``livingcircle analyze`` on the same inputs; the columns
are those of its layers (README, "Layers and columns").
"""

from __future__ import annotations

import json
from os import PathLike, fspath
from typing import Any, Dict, Optional, Union

import pyarrow as pa

from ._livingcircle import Error, __version__
from ._livingcircle import analyze as _analyze

__all__ = ["Analysis", "Error", "analyze", "__version__"]

_LAYERS = ("residences", "facilities", "gaps")


def _path(p: Union[str, PathLike, None]) -> Optional[str]:
    return None if p is None else fspath(p)


class Analysis:
    """The result of :func:`analyze`: the summary and the layers."""

    def __init__(self, summary: Dict[str, Any], tables: Dict[str, pa.Table]):
        self.summary = summary
        self._tables = tables

    def to_arrow(self, layer: str) -> pa.Table:
        """A layer (``residences``, ``facilities``, ``gaps``) as a pyarrow Table:
        its columns, ``geometry`` (WKB, EPSG:4326) and ``bbox``."""
        if layer not in self._tables:
            raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(_LAYERS)}")
        return self._tables[layer]

    def to_geodataframe(self, layer: str):
        """A layer as a GeoPandas GeoDataFrame (EPSG:4326); needs GeoPandas."""
        import geopandas

        t = self.to_arrow(layer)
        geometry = geopandas.GeoSeries.from_wkb(t.column("geometry").to_pylist(), crs="EPSG:4326")
        df = t.drop_columns(["geometry", "bbox"]).to_pandas()
        return geopandas.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")

    def _layer(self, layer: str):
        try:
            import geopandas  # noqa: F401
        except ImportError:
            return self.to_arrow(layer)
        return self.to_geodataframe(layer)

    @property
    def residences(self):
        """Every residence with its distances (GeoDataFrame, else pyarrow Table)."""
        return self._layer("residences")

    @property
    def facilities(self):
        """Every facility with its catchment load (GeoDataFrame, else pyarrow Table)."""
        return self._layer("facilities")

    @property
    def gaps(self):
        """H3 cells with residents missing a category (GeoDataFrame, else pyarrow Table)."""
        return self._layer("gaps")

    def __repr__(self) -> str:
        c = self.summary["counts"]
        return (
            f"<livingcircle.Analysis of {self.summary['input']['file']}: "
            f"{c['residences']} residences, {c['facilities']} facilities, "
            f"preset {self.summary['preset']['name']!r}>"
        )


def analyze(
    osm: Union[str, PathLike],
    preset: str = "gb50180",
    *,
    residences: Union[str, PathLike, None] = None,
    facilities: Union[str, PathLike, None] = None,
    replace_osm_facilities: bool = False,
    speed_kmh: Optional[float] = None,
    max_snap_m: Optional[float] = None,
    threads: Optional[int] = None,
) -> Analysis:
    """Analyses an ``.osm.pbf`` as ``livingcircle analyze`` does.

    ``preset`` is a built-in name (``gb50180``, ``complete-community``, ``15min``) or a
    TOML file; ``residences``/``facilities`` are GeoJSON or CSV files as for the
    command line; ``speed_kmh`` defaults to the preset's (else 4.8); ``threads`` to
    all cores. The work runs without holding the GIL. Raises :class:`Error` with
    the command line's one-line message (naming the file) on bad input.
    """
    summary, *streams = _analyze(
        _path(osm),
        fspath(preset),
        _path(residences),
        _path(facilities),
        replace_osm_facilities,
        speed_kmh,
        max_snap_m,
        threads,
    )
    tables = {name: pa.table(s) for name, s in zip(_LAYERS, streams)}
    return Analysis(json.loads(summary), tables)
