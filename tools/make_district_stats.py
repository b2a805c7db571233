"""Write data/demand/qingdao_district_stats.csv (population, urban share, EV stock).

Usage (from the repository root)::

    python tools/make_district_stats.py [--census PATH]

* ``population`` and ``urban_share``: the 2020 census by county (National
  Bureau of Statistics, *Tabulation on the 2020 China Population Census by
  County*, 2022), ``--census`` = ``china_county_population_2020.csv``
  (columns ``CODE, NAME, POPU, POPU_URB``; default
  ``data/census/china_county_population_2020.csv``, else
  ``../shared/data/census/``). The statistical zone 370271 (青岛高新技术产业开发区,
  inside 城阳区) is merged into 城阳区 370214: populations add, urban shares
  are population-weighted. The ten districts sum to the census city total
  10,071,722.
* ``ev_stock``: the 2025 target NEV stock of 450,000 (青政办字〔2024〕18号)
  allocated with weight = population x (urban_share + 0.5 x (1 - urban_share)),
  i.e. rural residents are ASSUMED to own EVs at half the urban rate; integer
  allocation by largest remainder so the column sums to exactly 450,000.

Needs only the standard library.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "demand" / "qingdao_district_stats.csv"
CENSUS_CANDIDATES = [REPO / "data" / "census" / "china_county_population_2020.csv",
                     REPO.parent / "shared" / "data" / "census" / "china_county_population_2020.csv"]

CITY_POPULATION = 10_071_722
CITY_URBAN_RATE = 0.7634
EV_STOCK_2025 = 450_000
RURAL_EV_RATE = 0.5  # rural EV ownership per resident relative to urban (assumption)
#: Statistical zones tabulated apart from the district that contains them.
MERGE_INTO = {"370271": "370214"}

# code, name, English name
DISTRICTS = [
    ("370202", "市南区", "Shinan"),
    ("370203", "市北区", "Shibei"),
    ("370211", "黄岛区", "Huangdao"),
    ("370212", "崂山区", "Laoshan"),
    ("370213", "李沧区", "Licang"),
    ("370214", "城阳区", "Chengyang"),
    ("370215", "即墨区", "Jimo"),
    ("370281", "胶州市", "Jiaozhou"),
    ("370283", "平度市", "Pingdu"),
    ("370285", "莱西市", "Laixi"),
]


def largest_remainder(weights: list[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` that sum to ``total`` (Hamilton method)."""
    s = sum(weights)
    quotas = [w * total / s for w in weights]
    base = [math.floor(q) for q in quotas]
    short = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - base[i]), i))
    for i in order[:short]:
        base[i] += 1
    return base


def census_districts(path: Path) -> dict[str, tuple[int, float]]:
    """``{code: (population, urban_share)}`` of the ten districts, statistical zones merged."""
    with path.open(encoding="utf-8") as f:
        rows = {r["CODE"]: (int(r["POPU"]), float(r["POPU_URB"])) for r in csv.DictReader(f)
                if r["CODE"].startswith("3702") and r["CODE"] != "370200"}
    out = {code: rows[code] for code, _, _ in DISTRICTS}
    for zone, district in MERGE_INTO.items():
        (p, u), (zp, zu) = out[district], rows[zone]
        out[district] = (p + zp, (p * u + zp * zu) / (p + zp))
    extra = set(rows) - set(out) - set(MERGE_INTO)
    if extra:
        sys.exit(f"make_district_stats: {path}: Qingdao codes not handled: {sorted(extra)}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--census", type=Path, default=next((p for p in CENSUS_CANDIDATES if p.exists()), None),
                    help="china_county_population_2020.csv")
    args = ap.parse_args(argv)
    if args.census is None or not args.census.exists():
        sys.exit("make_district_stats: census table not found; pass --census PATH/china_county_population_2020.csv")
    census = census_districts(args.census)
    pops = [census[d[0]][0] for d in DISTRICTS]
    shares = [round(census[d[0]][1], 6) for d in DISTRICTS]
    assert sum(pops) == CITY_POPULATION, sum(pops)
    weighted = sum(p * u for p, u in zip(pops, shares)) / sum(pops)
    assert abs(weighted - CITY_URBAN_RATE) <= 0.0005, weighted
    weights = [p * (u + RURAL_EV_RATE * (1.0 - u)) for p, u in zip(pops, shares)]
    evs = largest_remainder(weights, EV_STOCK_2025)
    assert sum(evs) == EV_STOCK_2025

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["district_code", "district_name", "district_name_en", "population", "urban_share", "ev_stock"])
        for (code, name, name_en), pop, share, ev in zip(DISTRICTS, pops, shares, evs):
            w.writerow([code, name, name_en, pop, f"{share:g}", ev])
    print(f"population {sum(pops):,}; weighted urban share {weighted:.4%} "
          f"(published {CITY_URBAN_RATE:.2%}); EV stock {sum(evs):,}")
    for (code, name, name_en), pop, share, ev in zip(DISTRICTS, pops, shares, evs):
        print(f"  {code} {name} {name_en:10s} {pop:>10,} {share:.4f} {ev:>8,} "
              f"({ev / pop * 1000:.1f} EV per 1,000 residents)")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
