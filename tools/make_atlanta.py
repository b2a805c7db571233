"""Derive the small Atlanta demo scenario's inputs from libpysal's Georgia example.

Source: libpysal (BSD-3-Clause) ``examples/georgia/G_utm.shp`` — Georgia's 159
counties with 1990 US Census figures (``TotPop90``, ``PctRural``), from
Fotheringham, Brunsdon & Charlton (2002), *Geographically Weighted Regression*.
US Census data are public domain. The shapefile has no .prj; its coordinates are
NAD83 / UTM zone 16N (EPSG:26916), which reproduces the state's bounds.

Writes, as a planner's own files would look (a GeoPackage in a projected CRS,
FIPS codes, English names):

* ``data/boundaries/atlanta_counties.gpkg`` — 10 metro counties, EPSG:26916;
* ``data/demand/atlanta_county_stats.csv`` — population 1990, urban share.

Usage: ``python tools/make_atlanta.py`` (needs libpysal, installed with spopt).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COUNTIES = {  # FIPS code → county
    "13057": "Cherokee", "13063": "Clayton", "13067": "Cobb", "13089": "DeKalb", "13097": "Douglas",
    "13117": "Forsyth", "13121": "Fulton", "13135": "Gwinnett", "13151": "Henry", "13247": "Rockdale",
}


def main() -> None:
    source = Path(str(files("libpysal") / "examples" / "georgia" / "G_utm.shp"))
    georgia = gpd.read_file(source).set_crs("EPSG:26916")
    georgia["district_code"] = georgia["AreaKey"].astype(int).astype(str)
    metro = georgia[georgia["district_code"].isin(COUNTIES)].copy()
    metro["district_name"] = metro["district_code"].map(COUNTIES) + " County"
    metro["district_name_en"] = metro["district_name"]
    metro = metro.sort_values("district_code")
    boundaries = metro[["district_code", "district_name", "district_name_en", "geometry"]]
    boundaries.to_file(ROOT / "data" / "boundaries" / "atlanta_counties.gpkg", layer="counties", driver="GPKG")
    stats = pd.DataFrame({
        "district_code": metro["district_code"],
        "district_name": metro["district_name"],
        "population": metro["TotPop90"].astype(int),
        "urban_share": (1 - metro["PctRural"] / 100).round(3),
    })
    stats.to_csv(ROOT / "data" / "demand" / "atlanta_county_stats.csv", index=False)
    print(f"{len(boundaries)} counties, population {stats['population'].sum():,}")


if __name__ == "__main__":
    main()
