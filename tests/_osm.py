"""Write an OSM file sorted by type and id, in any format osmium writes (``.osm``, ``.osm.pbf``)."""

from __future__ import annotations

from pathlib import Path

import osmium

_ORDER = {"n": 0, "w": 1, "r": 2}


def write_sorted(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` (format from the suffix), objects sorted as OSM files must be."""
    objects = []
    for obj in osmium.FileProcessor(str(source)):
        kind = obj.type_str()
        common = {"id": obj.id, "version": obj.version, "tags": {t.k: t.v for t in obj.tags}}
        if kind == "n":
            copy = osmium.osm.mutable.Node(location=(obj.location.lon, obj.location.lat), **common)
        elif kind == "w":
            copy = osmium.osm.mutable.Way(nodes=[n.ref for n in obj.nodes], **common)
        else:
            copy = osmium.osm.mutable.Relation(members=[(m.type, m.ref, m.role) for m in obj.members], **common)
        objects.append((_ORDER[kind], obj.id, copy))
    objects.sort(key=lambda item: item[:2])
    with osmium.SimpleWriter(str(target), overwrite=True) as writer:
        for _, _, obj in objects:
            writer.add(obj)
    return target
