"""livingcircle: can every resident walk to the everyday services they need?

15-minute living-circle analysis from OpenStreetMap, in Python::

    import livingcircle as lc
    r = lc.analyze("city.osm.pbf", preset="gb50180")
    r.summary["categories"][0]["residences_pct"]
    r.residences          # GeoDataFrame (GeoPandas installed) or pyarrow.Table
    r.to_arrow("gaps")    # always a pyarrow.Table
    r.to_file("out", format=["gpkg", "parquet"])
    iso = lc.isochrones("city.osm.pbf", minutes=[5, 10, 15])
    s = lc.site("city.osm.pbf", "kindergarten", count=5)
    s.summary["after"], s.sites
    g = lc.graph("city.osm.pbf")
    g.nodes, g.edges      # pandas DataFrames: id/lon/lat; u/v/length_m/…

The numbers are those of the command line on the same inputs; the columns are
those of its layers (README, "Layers and columns"). Residences, facilities,
candidates and points may be files (GeoJSON, CSV) or, in memory, GeoDataFrames
and DataFrames with ``lon``/``lat`` columns.
"""

from __future__ import annotations

import json
from os import PathLike, fspath
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import pyarrow as pa

from ._livingcircle import Error, __version__
from ._livingcircle import analyze as _analyze
from ._livingcircle import graph as _graph
from ._livingcircle import isochrones as _isochrones
from ._livingcircle import site as _site

__all__ = [
    "Analysis",
    "Error",
    "Graph",
    "Isochrones",
    "Sites",
    "analyze",
    "graph",
    "isochrones",
    "site",
    "__version__",
]

_LAYERS = ("residences", "facilities", "gaps")

#: ``progress(stage, done, total)``: ``stage`` in words; ``done``/``total`` counts
#: (bytes when reading) or None for a stage that does not count.
Progress = Callable[[str, Optional[int], Optional[int]], Any]


def _path(p: Union[str, PathLike, None]) -> Optional[str]:
    return None if p is None else fspath(p)


def _osm(osm: Any) -> Union[str, bytes]:
    """An ``.osm.pbf`` path, or its bytes (``bytes``, ``bytearray``, ``memoryview``:
    called ``osm (bytes)`` in messages)."""
    if isinstance(osm, bytes):
        return osm
    if isinstance(osm, (bytearray, memoryview)):
        return bytes(osm)
    return fspath(osm)


def _places(x: Any, what: str) -> Union[str, Tuple[str, str], None]:
    """A path as it is; a GeoDataFrame as its GeoJSON in EPSG:4326 (a frame
    without a CRS is taken as lon/lat); a DataFrame as CSV (``lon``, ``lat`` and
    the other columns); the name stands for it in error messages."""
    if x is None:
        return None
    if isinstance(x, (str, PathLike)):
        return fspath(x)
    if hasattr(x, "geometry") and hasattr(x, "to_crs") and hasattr(x, "to_json"):
        gdf = x if x.crs is None else x.to_crs(4326)
        # The index is the features' ids when it means something (named, or not
        # 0, 1, 2, …), as GeoPandas' own `to_file(index=None)` decides.
        return (f"{what} (GeoDataFrame).geojson", gdf.to_json(drop_id=not _meaningful_index(gdf)))
    if hasattr(x, "to_csv") and hasattr(x, "columns"):
        # A named index becomes a column under its name (`id` is the place's id).
        return (f"{what} (DataFrame).csv", x.to_csv(index=x.index.name is not None))
    raise TypeError(
        f"{what}: expected a path, a GeoDataFrame or a DataFrame, not {type(x).__name__}"
    )


def _meaningful_index(df) -> bool:
    import pandas

    i = df.index
    plain = isinstance(i, pandas.RangeIndex) and i.start == 0 and i.step == 1
    return i.name is not None or not plain


def _formats(format: Union[str, Sequence[str]]) -> list:
    return [format] if isinstance(format, str) else list(format)


def _geodataframe(t: pa.Table):
    import geopandas

    return geopandas.GeoDataFrame.from_arrow(t.drop_columns(["bbox"]))


def _has_geopandas() -> bool:
    try:
        import geopandas  # noqa: F401
    except ImportError:
        return False
    return True


class Analysis:
    """The result of :func:`analyze`: the summary and the layers, computed once and
    held in memory (with the walking graph) until the object is dropped."""

    def __init__(self, handle):
        self._handle = handle
        self.summary: Dict[str, Any] = json.loads(handle.summary_json())
        self._tables: Dict[str, pa.Table] = {}

    def to_arrow(self, layer: str) -> pa.Table:
        """A layer (``residences``, ``facilities``, ``gaps``) as a pyarrow Table:
        its columns, ``geometry`` (WKB, EPSG:4326) and ``bbox``."""
        if layer not in _LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(_LAYERS)}")
        if layer not in self._tables:
            self._tables[layer] = pa.table(self._handle.layer(layer))
        return self._tables[layer]

    def to_geodataframe(self, layer: str):
        """A layer as a GeoPandas GeoDataFrame (EPSG:4326); needs GeoPandas 1.0 or
        later (its geometry column is GeoArrow WKB)."""
        return _geodataframe(self.to_arrow(layer))

    def to_file(self, dir: Union[str, PathLike], format: Union[str, Sequence[str]] = "geojson") -> None:
        """Writes what ``livingcircle analyze --no-report`` writes into ``dir``
        (created if needed): every layer in each ``format`` (``geojson``, ``gpkg``,
        ``fgb``, ``parquet``), ``summary.json`` and ``summary.csv``, by the same
        writers, replacing a previous run's files as a whole. ``summary`` then
        names the files."""
        self._handle.write(fspath(dir), _formats(format))
        self.summary = json.loads(self._handle.summary_json())

    def _layer(self, layer: str):
        return self.to_geodataframe(layer) if _has_geopandas() else self.to_arrow(layer)

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
    osm: Union[str, PathLike, bytes],
    preset: str = "gb50180",
    *,
    residences: Any = None,
    facilities: Any = None,
    replace_osm_facilities: bool = False,
    speed_kmh: Optional[float] = None,
    profile: Optional[str] = None,
    max_snap_m: Optional[float] = None,
    threads: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Analysis:
    """Analyses an ``.osm.pbf`` as ``livingcircle analyze`` does.

    ``preset`` is a built-in name (``gb50180``, ``complete-community``, ``15min``) or a
    TOML file; ``residences``/``facilities`` are GeoJSON or CSV files as for the
    command line, or GeoDataFrames / DataFrames with ``lon``/``lat`` (and
    ``population``, ``category``, ``name``, ``id`` columns as the files have them);
    ``speed_kmh`` (or a walking ``profile``: ``adult`` 4.8, ``elderly`` 4.0,
    ``wheelchair`` 3.6 km/h) defaults to the preset's (else 4.8); ``threads`` to all cores
    (``0`` too). ``progress(stage, done, total)`` is called from this thread up to
    10 times a second while the work runs; an exception there stops it. The work
    runs without holding the GIL; Ctrl-C stops it at the next chunk of residences
    (a file being read is read to its end first). Raises :class:`Error` with the
    command line's one-line message (naming the file) on bad input, and ValueError
    for a speed or snapping distance that is not a positive number.
    """
    handle = _analyze(
        _osm(osm),
        fspath(preset),
        _places(residences, "residences"),
        _places(facilities, "facilities"),
        replace_osm_facilities,
        speed_kmh,
        profile,
        max_snap_m,
        threads,
        progress,
    )
    return Analysis(handle)


class Isochrones:
    """The result of :func:`isochrones`: one row per place and threshold."""

    def __init__(self, report: Dict[str, Any], table: pa.Table, stats_only: bool):
        #: ``polygons`` (rows), ``unsnapped`` places and the first ``unsnapped_ids``,
        #: ``seconds``.
        self.report = report
        self._table = table
        self._stats_only = stats_only

    def to_arrow(self) -> pa.Table:
        """The ``isochrones`` layer as a pyarrow Table (``geometry`` WKB, EPSG:4326,
        and ``bbox``; null with ``stats_only``)."""
        return self._table

    def to_geodataframe(self):
        """The layer as a GeoDataFrame (GeoPandas 1.0 or later)."""
        return _geodataframe(self._table)

    @property
    def polygons(self):
        """A GeoDataFrame (GeoPandas installed), else a pyarrow Table; with
        ``stats_only``, a pandas DataFrame of the numbers."""
        if self._stats_only:
            return self._table.drop_columns(["geometry", "bbox"]).to_pandas()
        return self.to_geodataframe() if _has_geopandas() else self._table

    def __repr__(self) -> str:
        r = self.report
        return f"<livingcircle.Isochrones: {r['polygons']} rows, {r['unsnapped']} places unsnapped>"


def isochrones(
    osm: Union[str, PathLike, bytes],
    preset: str = "gb50180",
    *,
    points: Any = None,
    minutes: Optional[Sequence[float]] = None,
    meters: Optional[Sequence[float]] = None,
    speed_kmh: Optional[float] = None,
    profile: Optional[str] = None,
    buffer_m: float = 25.0,
    simplify_m: float = 1.0,
    rings: bool = False,
    stats_only: bool = False,
    max_snap_m: float = 200.0,
    threads: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Isochrones:
    """Isochrones as ``livingcircle isochrones`` draws them: for each of ``points``
    (a file, GeoDataFrame or DataFrame; default every residence) and each threshold
    (``minutes``, default 5, 10, 15; or ``meters`` of network distance), the area
    reached within a ``buffer_m`` band of the streets walked, simplified by
    ``simplify_m`` (0: off), with ``area_m2``, ``network_m``, ``population`` and a
    count per category. ``rings``: each band minus the smaller one; ``stats_only``:
    the numbers without shapes."""
    report, stream = _isochrones(
        _osm(osm),
        fspath(preset),
        _places(points, "points"),
        None if minutes is None else [float(m) for m in minutes],
        None if meters is None else [float(m) for m in meters],
        speed_kmh,
        profile,
        buffer_m,
        simplify_m,
        rings,
        stats_only,
        max_snap_m,
        threads,
        progress,
    )
    return Isochrones(json.loads(report), pa.table(stream), stats_only)


class Sites:
    """The result of :func:`site`: the chosen sites and who they newly cover."""

    def __init__(self, handle):
        self._handle = handle
        #: What ``sites_summary.json`` says: ``before``, ``steps``, ``after``, …
        self.summary: Dict[str, Any] = json.loads(handle.summary_json())
        self._tables: Dict[str, pa.Table] = {}

    def to_arrow(self, layer: str) -> pa.Table:
        """``sites`` or ``site_coverage`` as a pyarrow Table."""
        if layer not in ("sites", "site_coverage"):
            raise ValueError(f"unknown layer {layer!r}; expected sites or site_coverage")
        if layer not in self._tables:
            self._tables[layer] = pa.table(self._handle.layer(layer))
        return self._tables[layer]

    def to_geodataframe(self, layer: str):
        """A layer as a GeoDataFrame (GeoPandas 1.0 or later)."""
        return _geodataframe(self.to_arrow(layer))

    def to_file(self, dir: Union[str, PathLike], format: Union[str, Sequence[str]] = "geojson") -> None:
        """Writes what ``livingcircle site`` writes into ``dir`` (created if
        needed): ``sites`` and ``site_coverage`` in each ``format`` and
        ``sites_summary.json``."""
        self._handle.write(fspath(dir), _formats(format))
        self.summary = json.loads(self._handle.summary_json())

    def _layer(self, layer: str):
        return self.to_geodataframe(layer) if _has_geopandas() else self.to_arrow(layer)

    @property
    def sites(self):
        """The chosen sites, by rank (GeoDataFrame, else pyarrow Table)."""
        return self._layer("sites")

    @property
    def coverage(self):
        """Each residence a new site covers, and by which (GeoDataFrame, else Table)."""
        return self._layer("site_coverage")

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<livingcircle.Sites: {len(s['steps'])} new {s['category']['key']} sites, "
            f"population covered {s['before']['population_pct']}% -> {s['after']['population_pct']}%>"
        )


def site(
    osm: Union[str, PathLike, bytes],
    category: str,
    preset: str = "gb50180",
    *,
    count: int = 3,
    candidates: Any = None,
    by: str = "population",
    min_gain: float = 0.0,
    speed_kmh: Optional[float] = None,
    profile: Optional[str] = None,
    max_snap_m: float = 200.0,
    max_candidates: int = 200_000,
    residences: Any = None,
    facilities: Any = None,
    replace_osm_facilities: bool = False,
    threads: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Sites:
    """Where the next ``count`` facilities of ``category`` should go, as
    ``livingcircle site`` chooses them: greedily by the people (``by="residences"``:
    residences) each newly brings within the category's walking threshold, among
    ``candidates`` (a file, GeoDataFrame or DataFrame of points or parcels; default
    up to ``max_candidates`` graph nodes), stopping below ``min_gain``."""
    handle = _site(
        _osm(osm),
        category,
        fspath(preset),
        count,
        _places(candidates, "candidates"),
        by,
        min_gain,
        speed_kmh,
        profile,
        max_snap_m,
        max_candidates,
        _places(residences, "residences"),
        _places(facilities, "facilities"),
        replace_osm_facilities,
        threads,
        progress,
    )
    return Sites(handle)


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
    osm: Union[str, PathLike, bytes],
    *,
    drop_sidewalk_separate: bool = False,
    keep_all_components: bool = False,
    threads: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Graph:
    """The walking graph of an ``.osm.pbf``, as ``livingcircle graph`` builds it:
    nodes and edges (lengths in metres, exact to the millimetre)."""
    nodes, edges = _graph(_osm(osm), drop_sidewalk_separate, keep_all_components, threads, progress)
    return Graph(pa.table(nodes), pa.table(edges))
