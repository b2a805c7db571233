"""Words apart from code: every user-facing word of the map, report and terminal, per language.

``words(language)`` returns a :class:`Words` table; ``w["map.layer.sites"]``
gives a phrase and ``w("map.layer.sites", n=3)`` fills it with
:meth:`str.format`. Code never writes user-facing English inline: a new
phrase is a key here, in both languages. Tier labels: the built-in tiers
have keys ``tier.<name>``; a scenario-defined tier brings its own label.
"""

from __future__ import annotations

from collections.abc import Mapping

from siting.tiers import TierSpec

LANGUAGES = ("en", "zh")

_EN = {
    # tiers and units
    "tier.public": "Public chargers",
    "tier.residential": "Residential chargers",
    "tier.rural": "Rural chargers",
    "tier.hydrogen": "Hydrogen stations",
    "tier.commercial": "Commercial charging and swap stations",
    "unit.chargers": "chargers",
    "unit.stations": "stations",
    "status.optimal": "optimal",
    "status.feasible": "feasible",
    "status.new": "new",
    "status.existing": "existing",
    # map: layers
    "map.basemap.osm": "OpenStreetMap basemap (online)",
    "map.basemap.tianditu": "Tianditu basemap (online)",
    "map.districts": "Districts: {caption}",
    "map.district_names": "District names",
    "map.demand_grid": "Demand grid: EVs per km² ({side_km:g} km blocks)",
    "map.layer.chargers": "{label} ({sites:,} sites, {units:,} chargers)",
    "map.layer.stations": "{label} ({new} new, {existing} existing)",
    "map.layer.radius": "{label}: service radius ({radius_km:g} km by road)",
    "map.layer.hubs": "{label}: demand hubs ({n}) and who serves them",
    "map.layer.year": "Roll-out: built by the end of {year} ({sites:,} sites, {units:,} units)",
    "popup.year": "First year",
    "popup.cost": "Cost (CNY)",
    "popup.decision": "Planner's decision",
    # map: district colourings
    "metric.chargers_per_1000_evs": "Chargers per 1,000 EVs",
    "metric.covered": "Share of {label} demand covered",
    "metric.vs_fair_share": "Chargers vs. fair share of the target",
    "metric.outline": "Outlines only",
    # map: popups
    "popup.district": "District",
    "popup.code": "Code",
    "popup.evs": "EVs",
    "popup.chargers": "Chargers",
    "popup.per_1000": "Chargers per 1,000 EVs",
    "popup.covered": "Demand covered",
    "popup.fair": "vs. target split by EVs",
    "popup.stations": "New stations",
    "popup.site": "Site",
    "popup.station": "Station",
    "popup.name": "Name",
    "popup.name_en": "Name (en)",
    "popup.kind": "Kind",
    "popup.status": "Status",
    "popup.tier": "Tier",
    "popup.capacity_kg": "Capacity (kg/day)",
    "popup.served": "Demand served",
    "popup.served_kg": "Demand served (kg/day)",
    "popup.rank": "Rank in tier",
    "popup.lonlat": "Lon, lat",
    "popup.hub": "Hub",
    "popup.demand": "Demand ({unit})",
    "popup.hub_served": "Served ({unit})",
    "popup.fair_value": "{chargers:,} placed / {fair:,.0f} fair share = {ratio:.2f}×",
    "grid.evs": "{evs:,.0f} EVs ({density:,.0f}/km²)",
    # map: title and legend
    "title.scenario": "scenario {name}",
    "title.tier": "Tier",
    "title.target": "Target",
    "title.placed": "Placed",
    "title.covered": "Demand covered",
    "title.solver": "Solver",
    "legend.sites": "Sites",
    "legend.size": "circle size ∝ √chargers ({low} → {high} chargers: ",
    "legend.station_new": "new station",
    "legend.station_existing": "existing (circle: service radius)",
    "legend.hub": "demand hub (white: not served)",
    "legend.fair": "chargers placed ÷ (charger target × district share of EVs); 1× = fair share",
    "legend.outlines": "district outlines",
    "legend.no_demand": "no such demand",
    "legend.grid": "Demand grid: EVs per km²",
    "search.placeholder": "Site id…",
    "search.not_found": "No site with that id",
    # townships
    "map.townships": "Townships: chargers per 1,000 EVs",
    "map.township_names": "Township names",
    "popup.township": "Township",
    "popup.sites": "Sites",
    "township_kind.subdistrict": "subdistrict (街道)",
    "township_kind.town": "town (镇/乡)",
    "township_kind.other": "other",
    "legend.townships": "Townships: chargers per 1,000 EVs",
    "legend.township_unserved": "EVs but no charging site",
    "search.township_placeholder": "Township name or code…",
    "search.township_not_found": "No township of that name",
    "report.townships": "Townships",
    "report.townships_served": ("{townships:,} townships, {populated:,} of them with EVs; {served:,} of these have a "
                                "charging site."),
    "report.townships_unserved": "Townships with EVs but no charging site: {names}.",
    "report.townships_file": "Per township and tier: townships.csv.",
    "report.credit": "Data: {text}",
    # report
    "report.title_suffix": "siting report",
    "report.subtitle": "scenario <b>{name}</b> · scenario file sha256 {sha}… · {districts} districts · {evs:,.0f} EVs",
    "report.targets": "Targets and what the plan placed",
    "report.per_district": "Per district",
    "report.charts": "Charts",
    "report.col.tier": "Tier",
    "report.col.target": "Target",
    "report.col.placed": "Placed",
    "report.col.sites": "Sites",
    "report.col.demand": "Demand",
    "report.col.covered": "Covered",
    "report.col.status": "Status",
    "report.col.gap": "Gap",
    "report.col.solver": "Solver",
    "report.col.solve_time": "Solve time",
    "report.col.size": "Variables × constraints",
    "report.col.district": "District",
    "report.col.evs": "EVs",
    "report.col.per_1000": "per 1,000 EVs",
    "report.col.covered_tier": "{label} covered",
    "report.col.fair": "vs. fair share",
    "report.col.stations": "New {label}",
    "report.total": "Total",
    "report.rollout": "Roll-out by year",
    "report.col.year": "Year",
    "report.col.cost": "Cost (CNY)",
    "report.rollout_note": "Cumulative new units and sites at each year's end, and the share of the tier's demand they cover.",
    "report.fig.chargers": "Each district's share of a tier's chargers beside its share of that tier's demand.",
    "report.fig.coverage": "Share of each tier's demand within reach of a site with spare capacity.",
    "report.fig.hubs": "{label}: demand hubs, their demand and the part the stations serve.",
    "report.note": ("Status <i>optimal</i> means the solver proved optimality; <i>feasible</i> means it stopped "
                    "within the scenario's MIP gap (shown). Demand units differ by tier: sessions/day (public, "
                    "rural), EVs with a home parking place (residential), kg/day (hydrogen). “Fair share” splits "
                    "the charger target by the districts' EVs. Written by siting; see plan.json for the full "
                    "record."),
    # terminal
    "cli.written": "{name}: plan written to {out}/ in {seconds:.1f} s",
    "cli.header": "  {tier:<12}{target:>9}{placed:>9}{sites:>7}{covered:>9}  status",
    "cli.open": "  open {path} in a browser",
}

_ZH = {
    "tier.public": "公共充电桩",
    "tier.residential": "居民区充电桩",
    "tier.rural": "农村充电桩",
    "tier.hydrogen": "加氢站",
    "tier.commercial": "商用车充换电站",
    "unit.chargers": "台充电桩",
    "unit.stations": "座站",
    "status.optimal": "最优",
    "status.feasible": "可行",
    "status.new": "新建",
    "status.existing": "现有",
    "map.basemap.osm": "OpenStreetMap 底图（在线）",
    "map.basemap.tianditu": "天地图底图（在线）",
    "map.districts": "区县：{caption}",
    "map.district_names": "区县名称",
    "map.demand_grid": "需求网格：每平方公里电动汽车（{side_km:g} 公里格）",
    "map.layer.chargers": "{label}（{sites:,} 个站点，{units:,} 台）",
    "map.layer.stations": "{label}（新建 {new} 座，现有 {existing} 座）",
    "map.layer.radius": "{label}：服务半径（道路 {radius_km:g} 公里）",
    "map.layer.hubs": "{label}：需求点（{n} 个）及服务站点",
    "map.layer.year": "建设时序：{year} 年底前建成（{sites:,} 个站点，{units:,} 台/座）",
    "popup.year": "建设年份",
    "popup.cost": "投资（元）",
    "popup.decision": "规划人员决定",
    "metric.chargers_per_1000_evs": "每千辆电动汽车充电桩数",
    "metric.covered": "{label}需求覆盖率",
    "metric.vs_fair_share": "充电桩数与按车辆分配的目标之比",
    "metric.outline": "仅边界",
    "popup.district": "区县",
    "popup.code": "代码",
    "popup.evs": "电动汽车",
    "popup.chargers": "充电桩",
    "popup.per_1000": "每千辆车充电桩",
    "popup.covered": "需求覆盖率",
    "popup.fair": "与按车辆分配目标之比",
    "popup.stations": "新建站",
    "popup.site": "站点",
    "popup.station": "站",
    "popup.name": "名称",
    "popup.name_en": "英文名",
    "popup.kind": "类型",
    "popup.status": "状态",
    "popup.tier": "类别",
    "popup.capacity_kg": "能力（公斤/日）",
    "popup.served": "服务需求",
    "popup.served_kg": "服务需求（公斤/日）",
    "popup.rank": "类别内排名",
    "popup.lonlat": "经度，纬度",
    "popup.hub": "需求点",
    "popup.demand": "需求（{unit}）",
    "popup.hub_served": "已服务（{unit}）",
    "popup.fair_value": "已布局 {chargers:,} / 应分配 {fair:,.0f} = {ratio:.2f} 倍",
    "grid.evs": "{evs:,.0f} 辆电动汽车（{density:,.0f} 辆/平方公里）",
    "title.scenario": "情景 {name}",
    "title.tier": "类别",
    "title.target": "目标",
    "title.placed": "已布局",
    "title.covered": "需求覆盖率",
    "title.solver": "求解状态",
    "legend.sites": "站点",
    "legend.size": "圆圈大小 ∝ √充电桩数（{low} → {high} 台：",
    "legend.station_new": "新建站",
    "legend.station_existing": "现有站（圆：服务半径）",
    "legend.hub": "需求点（白色：未服务）",
    "legend.fair": "已布局充电桩 ÷（充电桩目标 × 区县电动汽车占比）；1 倍 = 应分配数",
    "legend.outlines": "区县边界",
    "legend.no_demand": "无此类需求",
    "legend.grid": "需求网格：每平方公里电动汽车",
    "search.placeholder": "站点编号…",
    "search.not_found": "没有该编号的站点",
    "map.townships": "乡镇街道：每千辆电动汽车充电桩数",
    "map.township_names": "乡镇街道名称",
    "popup.township": "乡镇街道",
    "popup.sites": "站点数",
    "township_kind.subdistrict": "街道",
    "township_kind.town": "镇/乡",
    "township_kind.other": "其他",
    "legend.townships": "乡镇街道：每千辆电动汽车充电桩数",
    "legend.township_unserved": "有电动汽车但无充电站点",
    "search.township_placeholder": "乡镇街道名称或代码…",
    "search.township_not_found": "没有该名称的乡镇街道",
    "report.townships": "乡镇街道",
    "report.townships_served": "共 {townships:,} 个乡镇街道，其中 {populated:,} 个有电动汽车；这些乡镇街道中 {served:,} 个已有充电站点。",
    "report.townships_unserved": "有电动汽车但无充电站点的乡镇街道：{names}。",
    "report.townships_file": "分乡镇街道、分类别数据见 townships.csv。",
    "report.credit": "数据来源：{text}",
    "report.title_suffix": "siting 规划报告",
    "report.subtitle": "情景 <b>{name}</b> · 情景文件 sha256 {sha}… · {districts} 个区县 · {evs:,.0f} 辆电动汽车",
    "report.targets": "目标与规划布局",
    "report.per_district": "分区县",
    "report.charts": "图表",
    "report.col.tier": "类别",
    "report.col.target": "目标",
    "report.col.placed": "已布局",
    "report.col.sites": "站点",
    "report.col.demand": "需求",
    "report.col.covered": "覆盖率",
    "report.col.status": "状态",
    "report.col.gap": "间隙",
    "report.col.solver": "求解器",
    "report.col.solve_time": "求解时间",
    "report.col.size": "变量 × 约束",
    "report.col.district": "区县",
    "report.col.evs": "电动汽车",
    "report.col.per_1000": "每千辆车",
    "report.col.covered_tier": "{label}覆盖率",
    "report.col.fair": "与应分配数之比",
    "report.col.stations": "新建{label}",
    "report.total": "合计",
    "report.rollout": "分年度建设时序",
    "report.col.year": "年份",
    "report.col.cost": "投资（元）",
    "report.rollout_note": "各年年底累计新建数量、站点数及其覆盖的需求比例。",
    "report.fig.chargers": "各区县在某类充电桩中的占比与其在该类需求中的占比。",
    "report.fig.coverage": "各类需求中位于有余量站点服务范围内的比例。",
    "report.fig.hubs": "{label}：各需求点的需求及站点服务的部分。",
    "report.note": ("状态<i>最优</i>表示求解器已证明最优；<i>可行</i>表示求解器在情景设定的 MIP 间隙内停止（见表）。"
                    "各类需求单位不同：公共与农村为每日充电次数，居民区为有固定车位的电动汽车数，加氢为公斤/日。"
                    "“应分配数”按各区县电动汽车占比分配充电桩目标。由 siting 生成；完整记录见 plan.json。"),
    "cli.written": "{name}：规划已写入 {out}/，用时 {seconds:.1f} 秒",
    "cli.header": "  {tier:<12}{target:>9}{placed:>9}{sites:>7}{covered:>9}  status",
    "cli.open": "  在浏览器中打开 {path}",
}

WORDS: dict[str, dict[str, str]] = {"en": _EN, "zh": _ZH}


class Words(Mapping):
    """The phrases of one language; a missing Chinese phrase falls back to English."""

    def __init__(self, language: str):
        if language not in WORDS:
            msg = f"no words for language {language!r}; use one of {', '.join(WORDS)}"
            raise ValueError(msg)
        self.language = language
        self._table = {**_EN, **WORDS[language]}

    def __getitem__(self, key: str) -> str:
        return self._table[key]

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __call__(self, key: str, **values) -> str:
        return self._table[key].format(**values)

    def tier(self, spec: TierSpec) -> str:
        """The display label of a tier: the built-in's phrase, or the scenario's own label."""
        key = f"tier.{spec.name}"
        return self._table[key] if spec.builtin and key in self._table else spec.label

    def status(self, status: str) -> str:
        return self._table.get(f"status.{status}", status)


def words(language: str = "en") -> Words:
    """The words of ``language`` ("en" or "zh")."""
    return Words(language)
