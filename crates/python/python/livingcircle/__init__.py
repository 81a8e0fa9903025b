"""livingcircle: can every resident walk to the everyday services they need?

15-minute living-circle analysis from OpenStreetMap, in Python::

    import livingcircle as lc
    r = lc.analyze("city.osm.pbf", preset="gb50180")
    r.summary["categories"][0]["residences_pct"]
    r.residences          # GeoDataFrame (GeoPandas installed) or pyarrow.Table
    r.to_arrow("gaps")    # always a pyarrow.Table
    g = lc.graph("city.osm.pbf")
    g.nodes, g.edges      # pandas DataFrames: id/lon/lat; u/v/length_m/…

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
from ._livingcircle import graph as _graph

__all__ = ["Analysis", "Error", "Graph", "analyze", "graph", "__version__"]

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
        """A layer as a GeoPandas GeoDataFrame (EPSG:4326); needs GeoPandas 1.0 or
        later (its geometry column is GeoArrow WKB)."""
        import geopandas

        return geopandas.GeoDataFrame.from_arrow(self.to_arrow(layer).drop_columns(["bbox"]))

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
    all cores (``0`` too). The work runs without holding the GIL; Ctrl-C stops it at
    the next chunk of residences. Raises :class:`Error` with the command line's
    one-line message (naming the file) on bad input, and ValueError for a speed or
    snapping distance that is not a positive number.
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


class Graph:
    """The walking graph of :func:`graph`, as ``livingcircle graph`` writes it."""

    def __init__(self, nodes: pa.Table, edges: pa.Table):
        self._nodes = nodes
        self._edges = edges

    def to_arrow(self, layer: str) -> pa.Table:
        """``nodes`` (``id``, point ``geometry``) or ``edges`` (the ``network``
        layer: ``id``, ``u``, ``v``, ``length_m``, ``highway``, ``name``,
        ``osm_way``, ``oneway``, line ``geometry``) as a pyarrow Table."""
        if layer == "nodes":
            return self._nodes
        if layer == "edges":
            return self._edges
        raise ValueError(f"unknown layer {layer!r}; expected nodes or edges")

    @property
    def nodes(self):
        """A pandas DataFrame indexed by node ``id`` with ``lon`` and ``lat`` (what
        pandana's ``Network(node_x, node_y, …)`` and networkx want)."""
        import numpy as np

        t = self._nodes
        # Each point is 21 bytes of little-endian WKB (byte order, type, x, y), one
        # after another in the column's data buffer.
        wkb = t.column("geometry").combine_chunks()
        point = np.dtype([("order", "u1"), ("type", "<u4"), ("lon", "<f8"), ("lat", "<f8")])
        offsets = np.frombuffer(wkb.buffers()[1], dtype="<i4")[wkb.offset : wkb.offset + len(wkb) + 1]
        data = wkb.buffers()[2]
        raw = np.frombuffer(data, dtype=point, count=len(wkb), offset=int(offsets[0])) if len(wkb) else np.zeros(0, point)
        if len(wkb) and not (np.diff(offsets) == 21).all():
            raise Error("internal error: node geometries are not 21-byte WKB points")
        df = t.select(["id"]).to_pandas()
        df["lon"] = raw["lon"]
        df["lat"] = raw["lat"]
        return df.set_index("id")

    @property
    def edges(self):
        """A pandas DataFrame of the edges (``u``, ``v``, ``length_m`` in metres,
        ``oneway``: walkable from ``u`` to ``v`` only), indexed by edge ``id``;
        a GeoDataFrame with the lines when GeoPandas is installed."""
        t = self._edges
        df = t.drop_columns(["geometry", "bbox"]).to_pandas().set_index("id")
        try:
            import geopandas
        except ImportError:
            return df
        return geopandas.GeoDataFrame.from_arrow(t.drop_columns(["bbox"])).set_index("id")

    def __repr__(self) -> str:
        return f"<livingcircle.Graph: {self._nodes.num_rows} nodes, {self._edges.num_rows} edges>"


def graph(
    osm: Union[str, PathLike],
    *,
    drop_sidewalk_separate: bool = False,
    keep_all_components: bool = False,
) -> Graph:
    """The walking graph of an ``.osm.pbf``, as ``livingcircle graph`` builds it:
    nodes and edges (lengths in metres, exact to the millimetre)."""
    nodes, edges = _graph(_path(osm), drop_sidewalk_separate, keep_all_components)
    return Graph(pa.table(nodes), pa.table(edges))
