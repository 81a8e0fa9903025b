#!/usr/bin/env python3
"""Independent (non-Rust) reference counts for an OpenStreetMap extract, used as test oracles.

Usage:  python3 tests/oracle/osm_counts.py FILE.osm.pbf  > tests/oracle/<stem>.json
The PBF is converted to XML with `osmium cat FILE -f osm` (osmium-tool) and parsed with the standard
library only (xml.etree.ElementTree.iterparse). A plain .osm (XML) path is read directly. Input need not be
sorted: every rule below is evaluated after the whole file has been read.

Rules (tag values are compared exactly, case-sensitive; no ';'-lists, no trimming):
 1. nodes / ways / relations: element totals.
 2. highway_ways: ways with any `highway` tag.
 3. walkable_ways: hw = highway value. Walkable: footway path pedestrian steps living_street residential
    service unclassified track tertiary(_link) secondary(_link) primary(_link) road corridor;
    cycleway/bridleway only if foot in {yes,designated,permissive}; motorway(_link)/trunk(_link) only if
    foot == yes; any other value (or no highway) -> not walkable. Then foot in {no,private} -> not walkable;
    access in {no,private,agricultural,forestry,delivery,military} and foot not in {yes,designated,permissive}
    -> not walkable. sidewalk:* ignored.
 4. missing_node_refs: refs of walkable ways (repeats counted) to nodes absent from the file;
    ways_cut: walkable ways with >= 1 missing ref.
 5. residential_buildings: closed ways (refs[0] == refs[-1] and len(refs) >= 4) plus relations with
    type=multipolygon, having building in RESIDENTIAL (below); also reported as _ways / _relations.
 6. building_yes (building=yes), landuse_residential (landuse=residential): same closed-way / multipolygon
    rule as 5.
 7. poi_features: nodes with tags, any ways, relations with type in {multipolygon, boundary}, having at
    least one of amenity=*, shop=*, leisure=*, healthcare=*, office=*, social_facility=*, public_transport=*,
    railway in {station,halt,tram_stop,subway_entrance}, highway=bus_stop. Reported per element type and
    total. poi_tags: per key=value counts over nodes + ways + type=multipolygon relations (NOT boundary).
 8. walk_segments: per walkable way, split refs into pieces at missing refs (missing refs dropped); count
    consecutive pairs (a, b) with a != b inside each piece.
 9. walk_nodes_distinct: distinct present node ids referenced by walkable ways.

Verification (osmium-tool 1.15; munchen, nanjing, stockholm, hoyerswerda: every number matched exactly):
 - nodes/ways/relations == `osmium fileinfo -e FILE` and the README table (/work/shared/data/README.md).
 - highway_ways == way count of `osmium tags-filter -R FILE w/highway` (fileinfo -e on the result).
 - walkable_ways: built with chained `osmium tags-filter -R` (w/highway=<list>, -i w/foot=no,
   w/access=no,private minus those with w/foot=yes,designated,permissive, plus cycleway/bridleway and
   motorway/trunk(_link) with the foot filters); way ids joined with sort/comm.
   The access values agricultural/forestry/delivery/military and foot=private (added 2026-12-07) occur on
   none of the four files' walkable ways (their JSON did not change); on liechtenstein.osm.pbf, where they
   remove 55 graph edges, this script and `livingcircle graph` both count 6783 walkable ways.
 - walk_nodes_distinct == node count of `osmium getid -r FILE -i walk.ids`; walk_segments == awk over the
   OPL node lists of those ways, and == sum of (vertices - 1) from `osmium export` (location-based).
 - missing_node_refs/ways_cut: `osmium check-refs` finds no missing nodes in these 4 files (all 0). The
   split-at-missing path was checked on helsinki.osm.pbf (not saved): 860 missing refs, 175 ways cut,
   7395 segments, 6134 distinct nodes, equal to an awk re-implementation over osmium OPL, and
   `osmium check-refs` on the walkable subset reports 860 missing nodes.
 - area counts: ways from `tags-filter w/building=...` etc., closedness checked with awk on OPL; relations
   from `tags-filter r/<tag>` then `r/type=multipolygon`.
 - poi_features: `tags-filter nwr/amenity nwr/shop ... nwr/railway=... nwr/highway=bus_stop` node/way
   counts, relations after `r/type=multipolygon,boundary`. poi_tags match the README columns (kg, sch,
   pharm, supm, park), which count all relation types; no non-multipolygon relation carries those tags here.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

WALKABLE = {"footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
            "unclassified", "track", "tertiary", "tertiary_link", "secondary", "secondary_link",
            "primary", "primary_link", "road", "corridor"}
FOOT_OK = {"yes", "designated", "permissive"}
RESIDENTIAL = {"residential", "apartments", "house", "detached", "semidetached_house", "terrace",
               "dormitory", "bungalow"}
CLOSED_ACCESS = {"no", "private", "agricultural", "forestry", "delivery", "military"}
POI_KEYS = ("amenity", "shop", "leisure", "healthcare", "office", "social_facility", "public_transport")
POI_RAILWAY = {"station", "halt", "tram_stop", "subway_entrance"}
POI_TAGS = [("amenity", "kindergarten"), ("amenity", "school"), ("amenity", "pharmacy"),
            ("shop", "supermarket"), ("leisure", "park"), ("highway", "bus_stop")]


def is_walkable(t):
    hw, foot, access = t.get("highway"), t.get("foot"), t.get("access")
    if hw in WALKABLE:
        ok = True
    elif hw in ("cycleway", "bridleway"):
        ok = foot in FOOT_OK
    elif hw in ("motorway", "motorway_link", "trunk", "trunk_link"):
        ok = foot == "yes"
    else:
        ok = False
    if foot in ("no", "private"):
        ok = False
    if access in CLOSED_ACCESS and foot not in FOOT_OK:
        ok = False
    return ok


def is_poi(t):
    return (any(k in t for k in POI_KEYS) or t.get("railway") in POI_RAILWAY
            or t.get("highway") == "bus_stop")


def read_osm(xml_path):
    """Yield (kind, id, tags, refs) for every node/way/relation of an OSM XML file."""
    for _, el in ET.iterparse(xml_path, events=("end",)):
        if el.tag in ("node", "way", "relation"):
            tags = {t.get("k"): t.get("v") for t in el.iter("tag")}
            refs = [int(nd.get("ref")) for nd in el.iter("nd")] if el.tag == "way" else None
            yield el.tag, int(el.get("id")), tags, refs
            el.clear()


def count(xml_path):
    node_ids = set()
    c = {k: 0 for k in ("nodes", "ways", "relations", "highway_ways", "walkable_ways")}
    walk_refs = []             # refs of walkable ways, checked once all nodes are known
    areas = {"residential_buildings": [0, 0], "building_yes": [0, 0], "landuse_residential": [0, 0]}
    poi = {"node": 0, "way": 0, "relation": 0}
    poi_tags = {f"{k}={v}": 0 for k, v in POI_TAGS}
    for kind, oid, tags, refs in read_osm(xml_path):
        c[kind + "s"] += 1
        if kind == "node":
            node_ids.add(oid)
        if kind == "way":
            if "highway" in tags:
                c["highway_ways"] += 1
            if is_walkable(tags):
                c["walkable_ways"] += 1
                walk_refs.append(refs)
        # areas: closed ways (index 0) and multipolygon relations (index 1)
        rtype = tags.get("type") if kind == "relation" else None
        slot = None
        if kind == "way" and len(refs) >= 4 and refs[0] == refs[-1]:
            slot = 0
        elif rtype == "multipolygon":
            slot = 1
        if slot is not None:
            if tags.get("building") in RESIDENTIAL:
                areas["residential_buildings"][slot] += 1
            if tags.get("building") == "yes":
                areas["building_yes"][slot] += 1
            if tags.get("landuse") == "residential":
                areas["landuse_residential"][slot] += 1
        # POIs (nodes without tags can never match)
        if kind != "relation" or rtype in ("multipolygon", "boundary"):
            if is_poi(tags):
                poi[kind] += 1
        if kind != "relation" or rtype == "multipolygon":
            for k, v in POI_TAGS:
                if tags.get(k) == v:
                    poi_tags[f"{k}={v}"] += 1

    missing = cut = segments = 0
    walk_nodes = set()
    for refs in walk_refs:
        miss_here = sum(1 for r in refs if r not in node_ids)
        missing += miss_here
        cut += miss_here > 0
        prev = None                      # previous present node within the current piece
        for r in refs:
            if r not in node_ids:
                prev = None              # a missing ref ends the piece
                continue
            walk_nodes.add(r)
            if prev is not None and prev != r:
                segments += 1
            prev = r

    out = dict(c)
    out["missing_node_refs"], out["ways_cut"] = missing, cut
    for name, (w, r) in areas.items():
        out[name] = w + r
        out[name + "_ways"], out[name + "_relations"] = w, r
    out["poi_features"] = sum(poi.values())
    out["poi_features_nodes"] = poi["node"]
    out["poi_features_ways"] = poi["way"]
    out["poi_features_relations"] = poi["relation"]
    out["poi_tags"] = poi_tags
    out["walk_segments"] = segments
    out["walk_nodes_distinct"] = len(walk_nodes)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    if path.endswith(".pbf"):
        with tempfile.TemporaryDirectory() as tmp:
            xml = os.path.join(tmp, "x.osm")
            subprocess.run(["osmium", "cat", path, "-f", "osm", "-o", xml], check=True)
            result = count(xml)
    else:
        result = count(path)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
