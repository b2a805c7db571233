"""Draw docs/img/demand_townships.png: the Qingdao demand surface without and with townships.

Usage (from the repository root)::

    python tools/plot_demand_townships.py

Builds the default scenario's demand surface twice (place model alone; place
model refined by ``data/boundaries/qingdao_townships.geojson``), prints the
figures quoted in docs/demand.md and writes the 2 × 2 map (urban and rural
residents per km², log colour scale, township outlines).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from siting.demand import BUILT_UP_MIN_PER_KM2, build_demand_surface, geonames_places
from siting.inputs import read_boundaries, read_district_stats, read_points
from siting.scenario import load_scenario
from siting.townships import read_townships

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "img" / "demand_townships.png"


def main() -> int:
    s = load_scenario()
    boundaries = read_boundaries(s.region.boundaries, metric_crs=s.region.metric_crs)
    stats = read_district_stats(s.region.district_stats, boundaries, ev_stock=s.demand.ev_stock)
    centres = read_points(s.region.urban_centres, id_column="centre_id", required=[], boundaries=boundaries)
    places = geonames_places(boundaries)
    townships = read_townships(REPO / "data" / "boundaries" / "qingdao_townships.geojson", boundaries=boundaries)
    common = {"metric_crs": s.region.metric_crs, "demand": s.demand, "urban_centres": centres, "places": places}
    before = build_demand_surface(boundaries, stats, **common)
    after = build_demand_surface(boundaries, stats, townships=townships, **common)
    kind = after["township_code"].map(dict(zip(townships["township_code"], townships["township_kind"]))).to_numpy()

    print(f"cells: {len(after):,} of {s.demand.cell_size_m:g} m")
    urban, rural = before["urban_population"].sum(), before["rural_population"].sum()
    for label, cells in (("place model", before), ("with townships", after)):
        print(f"{label}: urban residents in subdistricts "
              f"{cells['urban_population'][kind == 'subdistrict'].sum() / urban:.1%}; rural residents in towns "
              f"{cells['rural_population'][kind == 'town'].sum() / rural:.1%}, in built-up subdistrict cells "
              f"{cells['rural_population'][(kind == 'subdistrict') & (after['density_urban_per_km2'] >= BUILT_UP_MIN_PER_KM2)].sum() / rural:.1%}")
        for tier, column, threshold in (("public", "density_urban_per_km2", s.public.candidate_min_density_per_km2),
                                        ("rural", "density_rural_per_km2", s.rural.candidate_min_density_per_km2)):
            print(f"  {tier} candidate cells (density ≥ {threshold:g}/km²): {(cells[column] >= threshold).sum():,}")
    moved = np.abs(after["population"] - before["population"]).sum() / 2
    print(f"residents moved between cells: {moved:,.0f} of {before['population'].sum():,.0f} "
          f"({moved / before['population'].sum():.1%})")
    print(f"built-up subdistrict cells (≥ {BUILT_UP_MIN_PER_KM2:g} urban residents/km²): "
          f"{((kind == 'subdistrict') & (after['density_urban_per_km2'] >= BUILT_UP_MIN_PER_KM2)).sum():,}")

    fig, axes = plt.subplots(2, 2, figsize=(10, 10), constrained_layout=True)
    outlines = townships.boundary
    district_lines = boundaries.boundary
    for row, (column, label, cmap) in enumerate((("density_urban_per_km2", "urban residents / km²", "magma_r"),
                                                 ("density_rural_per_km2", "rural residents / km²", "viridis_r"))):
        values = np.concatenate([before[column], after[column]])
        norm = LogNorm(vmin=max(1.0, np.percentile(values[values > 0], 2)), vmax=values.max())
        for col, (title, cells) in enumerate((("place model (before)", before), ("with townships (after)", after))):
            ax = axes[row, col]
            shown = cells[cells[column] > 0]
            shown.plot(ax=ax, column=column, cmap=cmap, norm=norm, linewidth=0)
            outlines.plot(ax=ax, color="0.55", linewidth=0.25)
            district_lines.plot(ax=ax, color="black", linewidth=0.7)
            ax.set_title(f"{label}: {title}", fontsize=11)
            ax.set_axis_off()
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[row, :], shrink=0.7, label=label)
    fig.text(0.01, 0.005, "Boundaries © OpenStreetMap contributors (ODbL); places: GeoNames (CC BY 4.0); "
             "population: 2020 census", fontsize=8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=64)
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
