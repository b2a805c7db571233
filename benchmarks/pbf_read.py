"""Reading a province-sized .osm.pbf: the drive graph and the places of one city in it.

No province extract is available offline, so one is built: the central Helsinki
extract (tests/data/helsinki.osm.pbf, ODbL) tiled ``--tiles`` × ``--tiles``
times, each copy shifted by 0.02° east / 0.016° north, written sorted with
pyosmium. Ids are renumbered so that the file's node ids spread over about
1.3 × 10^10 like a real extract's (copy k's i-th node: k × 1.3e10 / copies +
i × stride; ways and relations alike; references follow), which matters for
libosmium's node location index.
Real data, repeated: tag mix and density are central Helsinki's everywhere, so
the figures are those of a dense city centre as large as the file.

The region read is one copy's bounding box near the middle (what a city in a
province file is). Each measurement runs in a fresh process so that its peak
resident memory (``ru_maxrss``) is its own:

* graph: :func:`siting.osm_pbf.read_drive_graph` (both passes, the region cut,
  osmnx's graph builder);
* places: :func:`siting.osm_pbf.osm_places` (one pass with node locations and
  multipolygon assembly);
* baseline, on the single Helsinki extract: the same graph from the same data
  written as OSM XML, read with ``osmnx.graph_from_xml`` (today's ``.osm`` path).

Run ``python benchmarks/pbf_read.py --write`` to update the "Reading .osm.pbf
extracts" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._report import machine, replace_section  # noqa: E402

HELSINKI = ROOT / "tests" / "data" / "helsinki.osm.pbf"
STEP_LON, STEP_LAT = 0.02, 0.016
#: Node ids of the planet reach about 1.3e10 (2025); a province's are spread over that range.
ID_RANGE = 13_000_000_000
#: One copy's box (the extract's header box, rounded outwards), before shifting.
BOX = (24.935, 60.164, 24.954, 60.180)


def build(tiles: int, out: Path) -> Path:
    """Write ``tiles`` × ``tiles`` shifted copies of the Helsinki extract to ``out`` (sorted)."""
    import osmium
    nodes, ways, relations = [], [], []
    for obj in osmium.FileProcessor(str(HELSINKI)):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            nodes.append((obj.id, obj.location.lon, obj.location.lat, tags))
        elif obj.is_way():
            ways.append((obj.id, [n.ref for n in obj.nodes], tags))
        else:
            relations.append((obj.id, [(m.type, m.ref, m.role) for m in obj.members], tags))
    for group in (nodes, ways, relations):
        group.sort(key=lambda item: item[0])
    n_copies = tiles * tiles
    block = ID_RANGE // n_copies
    # rank-based ids: copy k's objects spread evenly over [k × block, (k + 1) × block)
    stride = {kind: max(1, block // max(len(group), 1))
              for kind, group in (("n", nodes), ("w", ways), ("r", relations))}
    rank = {kind: {old: r for r, (old, *_) in enumerate(group)}
            for kind, group in (("n", nodes), ("w", ways), ("r", relations))}

    def new_id(kind: str, old: int, k: int) -> int:
        return k * block + rank[kind][old] * stride[kind] + 1

    out.parent.mkdir(parents=True, exist_ok=True)
    copies = [(k, (k % tiles) * STEP_LON, (k // tiles) * STEP_LAT) for k in range(n_copies)]
    m = osmium.osm.mutable
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for k, dx, dy in copies:
            for i, lon, lat, tags in nodes:
                writer.add_node(m.Node(id=new_id("n", i, k), version=1, location=(lon + dx, lat + dy), tags=tags))
        for k, _, _ in copies:
            for i, refs, tags in ways:
                writer.add_way(m.Way(id=new_id("w", i, k), version=1, tags=tags,
                                     nodes=[new_id("n", r, k) for r in refs if r in rank["n"]]))
        for k, _, _ in copies:
            for i, members, tags in relations:
                kept = [(t, new_id(t, r, k), role) for t, r, role in members if r in rank[t]]
                writer.add_relation(m.Relation(id=new_id("r", i, k), version=1, tags=tags, members=kept))
    return out


def write_complete_xml(source: Path, target: Path) -> Path:
    """``source`` as OSM XML with references to nodes outside the extract removed.

    osmnx's ``graph_from_xml`` stops on the clipped extract as it is ("Some edges
    missing nodes"); this is the fairest XML it can read.
    """
    import osmium
    node_ids = {o.id for o in osmium.FileProcessor(str(source), osmium.osm.NODE)}
    m = osmium.osm.mutable
    with osmium.SimpleWriter(str(target), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(source)):
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node():
                writer.add_node(m.Node(id=obj.id, version=1, location=(obj.location.lon, obj.location.lat),
                                       tags=tags))
            elif obj.is_way():
                writer.add_way(m.Way(id=obj.id, version=1, tags=tags,
                                     nodes=[n.ref for n in obj.nodes if n.ref in node_ids]))
            else:
                writer.add_relation(m.Relation(id=obj.id, version=1, tags=tags,
                                               members=[(x.type, x.ref, x.role) for x in obj.members]))
    return target


def region_box(tiles: int):
    from shapely.geometry import box
    k = tiles // 2
    return box(BOX[0] + k * STEP_LON, BOX[1] + k * STEP_LAT, BOX[2] + k * STEP_LON, BOX[3] + k * STEP_LAT)


def measure(what: str, path: str, tiles: int) -> dict:
    """Run one reading in this process; return seconds, peak RSS and sizes."""
    import resource
    start = time.perf_counter()
    if what == "graph":
        from siting.osm_pbf import read_drive_graph
        graph = read_drive_graph(path, region=region_box(tiles))
        size = {"nodes": len(graph), "edges": graph.number_of_edges()}
    elif what == "places":
        from siting.osm_pbf import osm_places
        places = osm_places(path, region=region_box(tiles))
        size = {"places": len(places)}
    elif what == "graph_whole":
        from siting.osm_pbf import read_drive_graph
        graph = read_drive_graph(path)
        size = {"nodes": len(graph), "edges": graph.number_of_edges()}
    elif what == "osmnx_xml":
        import osmnx as ox
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
        size = {"nodes": len(graph), "edges": graph.number_of_edges()}
    else:
        raise ValueError(what)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **size}


def _import_baseline() -> dict:
    """Peak memory and time of importing what every measurement imports (osmnx, pyosmium)."""
    import resource
    start = time.perf_counter()
    import osmium  # noqa: F401
    import osmnx  # noqa: F401

    import siting.osm_pbf  # noqa: F401
    return {"seconds": time.perf_counter() - start,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(what: str, path: Path, tiles: int) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); import benchmarks.pbf_read as b; "
            f"import siting.osm_pbf, osmnx; print(json.dumps(b.measure({what!r}, {str(path)!r}, {tiles})))")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tiles", type=int, default=17, help="copies per side (17: about 200 MB)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/siting-bench"))
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    header = machine()
    big = args.out / f"helsinki_x{args.tiles * args.tiles}.osm.pbf"
    if not big.exists():
        start = time.perf_counter()
        build(args.tiles, big)
        print(f"built {big} in {time.perf_counter() - start:.0f} s", flush=True)
    size_mb = big.stat().st_size / 1e6
    xml = args.out / "helsinki.osm"
    if not xml.exists():
        write_complete_xml(HELSINKI, xml)
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); import benchmarks.pbf_read as b; "
            "print(json.dumps(b._import_baseline()))")
    base = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                     text=True).stdout)
    rows = {}
    for what, path in (("graph", big), ("places", big), ("graph_small", HELSINKI), ("osmnx_xml", xml)):
        kind = "graph_whole" if what == "graph_small" else what
        rows[what] = run_child(kind, path, args.tiles)
        print(what, rows[what], flush=True)
    small_mb = HELSINKI.stat().st_size / 1e6
    xml_mb = xml.stat().st_size / 1e6
    g, p = rows["graph"], rows["places"]
    body = f"""
`python benchmarks/pbf_read.py --tiles {args.tiles} --write` ({header}; pyosmium
{_version('osmium')}, osmnx {_version('osmnx')}). The file: central Helsinki (tests/data/helsinki.osm.pbf)
tiled {args.tiles} × {args.tiles} = {args.tiles ** 2} times, **{size_mb:.0f} MB** (Shandong's Geofabrik
extract is about 200 MB); the region read is one copy's box near the middle. Each row is one fresh
process; peak memory is its `ru_maxrss`, of which importing osmnx and pyosmium alone takes
{base['peak_mb']:.0f} MB.

| reading | file | time | MB/s | peak memory | result |
|---|---|---|---|---|---|
| drive graph of the region (`read_drive_graph`, 1 pass) | {size_mb:.0f} MB .pbf | {g['seconds']:.1f} s | {size_mb / g['seconds']:.1f} | {g['peak_mb']:.0f} MB | {g['nodes']:,} nodes, {g['edges']:,} edges |
| places of the region (`osm_places`, 1 pass + multipolygons) | {size_mb:.0f} MB .pbf | {p['seconds']:.1f} s | {size_mb / p['seconds']:.1f} | {p['peak_mb']:.0f} MB | {p['places']:,} places |
| drive graph, whole extract (`read_drive_graph`) | {small_mb:.2f} MB .pbf | {rows['graph_small']['seconds']:.2f} s | — | {rows['graph_small']['peak_mb']:.0f} MB | {rows['graph_small']['nodes']:,} nodes, {rows['graph_small']['edges']:,} edges |
| the same data as OSM XML (references to nodes outside the extract removed), `osmnx.graph_from_xml` (all ways, before the drivable filter) | {xml_mb:.1f} MB .osm | {rows['osmnx_xml']['seconds']:.2f} s | — | {rows['osmnx_xml']['peak_mb']:.0f} MB | {rows['osmnx_xml']['nodes']:,} nodes, {rows['osmnx_xml']['edges']:,} edges |

Both readers stream the file once (`osm_places` reads relations once more first, for multipolygons).
libosmium keeps a node location index of the whole file in C++ (`flex_mem`) and hands Python only the tagged objects that matter (`KeyFilter("highway")`,
`TagFilter` of the place rules); the graph keeps only the drivable ways with a node in the region's box,
so Python's memory follows the region's roads, not the file's size.
"""
    print(body)
    if args.write:
        replace_section("Reading .osm.pbf extracts", body)


def _version(name: str) -> str:
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
