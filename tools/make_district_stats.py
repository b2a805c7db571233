"""Write data/demand/qingdao_district_stats.csv (population, urban share, EV stock).

Usage (from the repository root)::

    python tools/make_district_stats.py

* ``population``: 2020 census (第七次全国人口普查, 2020-11-01) resident
  population per district, as reprinted from the census communiqué; the ten
  figures sum to the published city total 10,071,722.
* ``urban_share``: an ASSUMPTION per district (no per-district urban/rural
  split was found) chosen so that the population-weighted mean reproduces the
  published city-wide urbanisation rate of 76.34 % (within 0.5 pt).
* ``ev_stock``: the 2025 target NEV stock of 450,000 (青政办字〔2024〕18号)
  allocated with weight = population x (urban_share + 0.5 x (1 - urban_share)),
  i.e. rural residents are assumed to own EVs at half the urban rate; integer
  allocation by largest remainder so the column sums to exactly 450,000.

Needs only the standard library.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "demand" / "qingdao_district_stats.csv"

CITY_POPULATION = 10_071_722
CITY_URBAN_RATE = 0.7634
EV_STOCK_2025 = 450_000
RURAL_EV_RATE = 0.5  # rural EV ownership per resident relative to urban (assumption)

# code, name, English name, population 2020, urban_share (assumption)
DISTRICTS = [
    ("370202", "市南区", "Shinan", 486_643, 1.00),
    ("370203", "市北区", "Shibei", 1_096_879, 1.00),
    ("370211", "黄岛区", "Huangdao", 1_903_595, 0.82),
    ("370212", "崂山区", "Laoshan", 502_370, 0.90),
    ("370213", "李沧区", "Licang", 737_281, 1.00),
    ("370214", "城阳区", "Chengyang", 1_109_606, 0.88),
    ("370215", "即墨区", "Jimo", 1_336_077, 0.62),
    ("370281", "胶州市", "Jiaozhou", 987_820, 0.64),
    ("370283", "平度市", "Pingdu", 1_191_348, 0.47),
    ("370285", "莱西市", "Laixi", 720_103, 0.50),
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


def main() -> int:
    pops = [d[3] for d in DISTRICTS]
    shares = [d[4] for d in DISTRICTS]
    assert sum(pops) == CITY_POPULATION, sum(pops)
    weighted = sum(p * u for p, u in zip(pops, shares)) / sum(pops)
    assert abs(weighted - CITY_URBAN_RATE) <= 0.005, weighted
    weights = [p * (u + RURAL_EV_RATE * (1.0 - u)) for p, u in zip(pops, shares)]
    evs = largest_remainder(weights, EV_STOCK_2025)
    assert sum(evs) == EV_STOCK_2025

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["district_code", "district_name", "district_name_en", "population", "urban_share", "ev_stock"])
        for (code, name, name_en, pop, share), ev in sorted(zip(DISTRICTS, evs)):
            w.writerow([code, name, name_en, pop, f"{share:.2f}", ev])
    print(f"population {sum(pops):,}; weighted urban share {weighted:.4%} "
          f"(target {CITY_URBAN_RATE:.2%}); EV stock {sum(evs):,}")
    for (code, name, name_en, pop, share), ev in zip(DISTRICTS, evs):
        print(f"  {code} {name} {name_en:10s} {pop:>10,} {share:.2f} {ev:>8,} "
              f"({ev / pop * 1000:.1f} EV per 1,000 residents)")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
