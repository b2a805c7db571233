#!/usr/bin/env python3
"""Derived figures quoted in docs/costs.md. Standard library only: python tools/derive_cost_figures.py"""
# Derived figures for docs/costs.md (every input is cited or a labelled assumption there)
NM3_PER_KG = 1 / 0.08988  # H2 density 0.08988 kg/Nm3
print("Nm3 per kg H2: %.2f" % NM3_PER_KG)
# Tube trailer: two published points per source -> slope (CNY/kg/km) and intercept (CNY/kg)
for name, (d1, c1), (d2, c2) in [("Innova 2025", (100, 6.3), (500, 16.2)),
                                 ("newradargas", (50, 5.43), (500, 20.18))]:
    s = (c2 - c1) / (d2 - d1); i = c1 - s * d1
    print(f"{name}: slope {s:.4f} CNY/kg/km, intercept {i:.2f} CNY/kg; avg at 30 km {(i+s*30)/30:.3f}, 50 km {(i+s*50)/50:.3f}")
# Refinery capacities
for t in (2250, 4500):
    print(f"{t} t/yr = {t*1000/365:.0f} kg/day")
for nm3h in (1500, 3000, 20):
    print(f"{nm3h} Nm3/h = {nm3h*0.08988*24:.1f} kg/day")
# Swap heavy truck energy: Weiqiao 18 GWh/yr for 200 trucks
e = 18e6 / 200 / 365
print(f"Weiqiao: {e:.1f} kWh per truck per day; station {18e6/365:.0f} kWh/day = {18e6/365/20:.0f} kW over 20 h")
# Station annualisation
def crf(r, n):
    return r / (1 - (1 + r) ** -n)
for r in (0.06, 0.08):
    print(f"CRF r={r} n=15: {crf(r,15):.4f}; n=30: {crf(r,30):.4f}")
for cap, capex, land in ((500, 11e6, 4e6), (1000, 16e6, 4e6)):
    for util in (0.5, 0.7):
        kg = cap * 365 * util
        cost = (capex * crf(0.06, 15) + land * crf(0.06, 30) + 0.03 * capex) / kg
        print(f"{cap} kg/d capex {capex/1e6:.0f}M land {land/1e6:.0f}M util {util}: {cost:.2f} CNY/kg")
# scaling 500 -> 1000 kg/d with exponent 0.6
for c in (10e6, 12e6):
    print(f"scale {c/1e6:.0f}M x 2^0.6 = {c*2**0.6/1e6:.1f}M")
# TOU: default hours (assumption) and residential EV prices (Lu Fa Gai Jia Ge [2023] 594)
hours = {"deep_valley": [(11, 14)], "valley": [(0, 6), (10, 11), (14, 15)],
         "flat": [(6, 10), (15, 16), (22, 24)], "peak": [(16, 17), (21, 22)], "critical_peak": [(17, 21)]}
n = {k: sum(b - a for a, b in v) for k, v in hours.items()}
print("hours per period", n, "total", sum(n.values()))
price = {"deep_valley": 0.222, "valley": 0.385, "flat": 0.555, "peak": 0.585, "critical_peak": 0.888}
print("flat-load mean price %.4f" % (sum(n[k] * price[k] for k in n) / 24))
# PV canopy: Rutgers 8.8 MW on 32 acres
a = 32 * 4046.86
print(f"Rutgers canopy density {8.8e6/a:.1f} W/m2 of car park; x30 m2/space = {8.8e6/a*30/1000:.2f} kW/space")
print(f"Aviva: {608e3/1872:.0f} W per panel")
# 630 kVA
print("630 kVA x 0.95 =", 630 * 0.95, "kW")
# Station term per kg with one lump station cost: cost x (CRF + O&M share) / (capacity x 365 x utilisation)
for label, cost in (("greenfield 1000 kg/d", 20e6), ("co-located 1000 kg/d", 16e6), ("greenfield 500 kg/d", 15e6)):
    cap = 500 if "500" in label else 1000
    for util in (0.5, 0.7):
        v = cost * (crf(0.06, 15) + 0.03) / (cap * 365 * util)
        print(f"station term {label} {cost/1e6:.0f}M util {util}: {v:.2f} CNY/kg")
# Power and coincident peak of the default targets (unit powers and coincidence factors are assumptions in docs/costs.md)
tiers = {"public": (40000, 60, 0.5), "residential": (110000, 7, 0.3), "rural": (15000, 60, 0.4)}
for t, (n, kw, cf) in tiers.items():
    print(f"{t}: {n} x {kw} kW = {n*kw/1e3:.0f} MW connected, x {cf} = {n*kw*cf/1e3:.0f} MW coincident")
# Commercial depot charge station: 10 x 120 kW; buses of 200 kWh in an 8 h valley window
print("bus charge time at 120 kW: %.2f h -> %d buses per pile per 8 h" % (200 / 120, int(8 // (200 / 120 + 0.3))))
# Hub file totals
import csv, collections
rows = list(csv.DictReader(open("data/demand/qingdao_commercial_hubs.csv", encoding="utf-8")))
tot = collections.defaultdict(lambda: [0, 0.0])
for r in rows:
    tot[r["kind"]][0] += int(r["vehicles"]); tot[r["kind"]][1] += int(r["vehicles"]) * float(r["kwh_per_vehicle_day"])
for k, (v, e) in tot.items():
    print(f"hubs {k}: {v} vehicles, {e/1e3:.1f} MWh/day")
print("hubs total: %d vehicles, %.1f MWh/day" % (sum(v for v, _ in tot.values()), sum(e for _, e in tot.values()) / 1e3))
