from os import PathLike
from typing import Any, Callable, Dict, Optional, Sequence, Union

import pyarrow as pa

__version__: str

Progress = Callable[[str, Optional[int], Optional[int]], Any]
# A path (GeoJSON or CSV), a GeoDataFrame, or a DataFrame with lon/lat columns.
PlacesLike = Any

class Error(Exception): ...

class Analysis:
    summary: Dict[str, Any]
    def to_arrow(self, layer: str) -> pa.Table: ...
    def to_geodataframe(self, layer: str) -> Any: ...
    def to_file(self, dir: Union[str, PathLike], format: Union[str, Sequence[str]] = ...) -> None: ...
    @property
    def residences(self) -> Any: ...
    @property
    def facilities(self) -> Any: ...
    @property
    def gaps(self) -> Any: ...

def analyze(
    osm: Union[str, PathLike, bytes],
    preset: str = ...,
    *,
    residences: PlacesLike = ...,
    facilities: PlacesLike = ...,
    replace_osm_facilities: bool = ...,
    speed_kmh: Optional[float] = ...,
    profile: Optional[str] = ...,
    max_snap_m: Optional[float] = ...,
    threads: Optional[int] = ...,
    progress: Optional[Progress] = ...,
) -> Analysis: ...

class Isochrones:
    report: Dict[str, Any]
    def to_arrow(self) -> pa.Table: ...
    def to_geodataframe(self) -> Any: ...
    @property
    def polygons(self) -> Any: ...

def isochrones(
    osm: Union[str, PathLike, bytes],
    preset: str = ...,
    *,
    points: PlacesLike = ...,
    minutes: Optional[Sequence[float]] = ...,
    meters: Optional[Sequence[float]] = ...,
    speed_kmh: Optional[float] = ...,
    profile: Optional[str] = ...,
    buffer_m: float = ...,
    simplify_m: float = ...,
    rings: bool = ...,
    stats_only: bool = ...,
    max_snap_m: float = ...,
    threads: Optional[int] = ...,
    progress: Optional[Progress] = ...,
) -> Isochrones: ...

class Sites:
    summary: Dict[str, Any]
    def to_arrow(self, layer: str) -> pa.Table: ...
    def to_geodataframe(self, layer: str) -> Any: ...
    def to_file(self, dir: Union[str, PathLike], format: Union[str, Sequence[str]] = ...) -> None: ...
    @property
    def sites(self) -> Any: ...
    @property
    def coverage(self) -> Any: ...

def site(
    osm: Union[str, PathLike, bytes],
    category: str,
    preset: str = ...,
    *,
    count: int = ...,
    candidates: PlacesLike = ...,
    by: str = ...,
    min_gain: float = ...,
    speed_kmh: Optional[float] = ...,
    profile: Optional[str] = ...,
    max_snap_m: float = ...,
    max_candidates: int = ...,
    residences: PlacesLike = ...,
    facilities: PlacesLike = ...,
    replace_osm_facilities: bool = ...,
    threads: Optional[int] = ...,
    progress: Optional[Progress] = ...,
) -> Sites: ...

class Graph:
    def to_arrow(self, layer: str) -> pa.Table: ...
    @property
    def nodes(self) -> Any: ...
    @property
    def edges(self) -> Any: ...

def graph(
    osm: Union[str, PathLike, bytes],
    *,
    drop_sidewalk_separate: bool = ...,
    keep_all_components: bool = ...,
    threads: Optional[int] = ...,
    progress: Optional[Progress] = ...,
) -> Graph: ...
