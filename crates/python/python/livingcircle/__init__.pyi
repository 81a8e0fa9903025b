from os import PathLike
from typing import Any, Dict, Optional, Union

import pyarrow as pa

__version__: str

class Error(Exception): ...

class Analysis:
    summary: Dict[str, Any]
    def to_arrow(self, layer: str) -> pa.Table: ...
    def to_geodataframe(self, layer: str) -> Any: ...
    @property
    def residences(self) -> Any: ...
    @property
    def facilities(self) -> Any: ...
    @property
    def gaps(self) -> Any: ...

def analyze(
    osm: Union[str, PathLike],
    preset: str = ...,
    *,
    residences: Union[str, PathLike, None] = ...,
    facilities: Union[str, PathLike, None] = ...,
    replace_osm_facilities: bool = ...,
    speed_kmh: Optional[float] = ...,
    max_snap_m: Optional[float] = ...,
    threads: Optional[int] = ...,
) -> Analysis: ...

class Graph:
    def to_arrow(self, layer: str) -> pa.Table: ...
    @property
    def nodes(self) -> Any: ...
    @property
    def edges(self) -> Any: ...

def graph(
    osm: Union[str, PathLike],
    *,
    drop_sidewalk_separate: bool = ...,
    keep_all_components: bool = ...,
) -> Graph: ...
