"""Words apart from code: every user-facing word of the map, report and terminal, per language.

``words(language)`` returns a :class:`Words` table; ``w["map.layer.sites"]``
gives a phrase and ``w("map.layer.sites", n=3)`` fills it with
:meth:`str.format`. Code never writes user-facing English inline: a new
phrase is a key here, in both languages. Tier labels: the built-in tiers
have keys ``tier.<name>``; a scenario-defined tier brings its own label.
"""

from __future__ import annotations

import re
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
    "status.skipped": "skipped (target 0)",
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
    "cli.open": "  open {path} in a browser",
    "cli.col.tier": "tier",
    "cli.col.target": "target",
    "cli.col.placed": "placed",
    "cli.col.sites": "sites",
    "cli.col.covered": "covered",
    "cli.col.status": "status",
    "cli.gap": " (gap {gap:.2f} %)",
    "cli.skipped": "  {tier}: target 0 — skipped",
    "cli.error": "error: {message}",
    "cli.warning": "warning: {message}",
    "cli.interrupted": "interrupted: nothing was written",
    "cli.internal": "internal error: {message} (rerun with --debug for the traceback, and please report it)",
    # map: controls
    "title.gap": " (gap {gap:.2f} %)",
    "control.zoom_in": "Zoom in",
    "control.zoom_out": "Zoom out",
    "control.fullscreen": "Full screen",
    "control.fullscreen_exit": "Exit full screen",
    "control.measure": "Measure distances and areas",
    "control.measure_locale": "en",
    "search.cancel": "Cancel",
    "map.basemap.tianditu_vector": "Tianditu map (online)",
    "map.basemap.tianditu_labels": "Tianditu place names (online)",
    # demand units of the built-in tiers (a scenario-defined unit is shown as written)
    "dunit.sessions/day": "sessions/day",
    "dunit.EVs": "EVs",
    "dunit.kg/day": "kg/day",
    # report charts
    "chart.chargers": "chargers",
    "chart.demand": "demand",
    "chart.served": "served",
    "chart.share": "% of the tier",
    "chart.covered_axis": "demand covered (%)",
    "chart.covered_title": "Demand covered by tier",
    "chart.hubs_title": "{label}: {share:.1f} % of hub demand served",
    # plan.xlsx: sheets, decisions, column headers (also QGIS field aliases)
    "sheet.summary": "Summary",
    "sheet.sites": "Sites",
    "sheet.candidates": "Candidates",
    "sheet.districts": "Districts",
    "sheet.townships": "Townships",
    "decision.required": "required",
    "decision.excluded": "excluded",
    "col.site_id": "Site id",
    "col.tier": "Tier",
    "col.label": "Tier name",
    "col.status": "Status",
    "col.district_code": "District code",
    "col.district_name": "District",
    "col.district_name_en": "District (English)",
    "col.lon": "Longitude",
    "col.lat": "Latitude",
    "col.chargers": "Chargers",
    "col.capacity_kg_per_day": "Capacity (kg/day)",
    "col.demand_served": "Demand served",
    "col.demand_unit": "Demand unit",
    "col.kind": "Kind",
    "col.name": "Name",
    "col.rank": "Rank in tier",
    "col.selected": "Selected",
    "col.chargers_or_stations": "Chargers or stations",
    "col.capacity": "Capacity (demand per day)",
    "col.demand_in_reach": "Demand in reach",
    "col.score": "Score",
    "col.decision": "Decision",
    "col.source": "Source",
    "col.osm_id": "OSM id",
    "col.sites": "Sites",
    "col.units": "Units placed",
    "col.unit": "Unit",
    "col.demand": "Demand",
    "col.share_covered": "Share of demand covered",
    "col.share_of_target": "Share of the tier's target",
    "col.evs": "EVs",
    "col.chargers_per_1000_evs": "Chargers per 1,000 EVs",
    "col.target": "Target",
    "col.placed": "Placed",
    "col.coverage": "Demand covered",
    "col.solver": "Solver",
    "col.gap": "MIP gap",
    "col.cost_cny": "Cost (CNY)",
    "col.site_cost_cny": "Site cost (CNY)",
    "col.charger_cost_cny": "Charger cost (CNY)",
    "col.station_cost_cny": "Station cost (CNY)",
    "col.year": "Year",
    "col.township_code": "Township code",
    "col.township_name": "Township",
    "col.power_kw": "Power (kW)",
    "col.peak_kw": "Peak (kW)",
    "col.storage_kwh": "Storage (kWh)",
    "col.storage_kw": "Storage power (kW)",
    "col.pv_kw": "PV (kW)",
    "col.v2g_ready": "V2G ready",
    "col.zone_id": "Grid zone",
    "col.supply_source": "Hydrogen source",
    "col.station_cny_per_kg": "Station cost (CNY/kg)",
    "col.delivered_cost_cny_per_kg": "Delivered cost (CNY/kg)",
    "col.colocated": "At a fuel station",
    "col.fair_share": "Fair share of the target",
    "col.vs_fair_share": "Chargers vs. fair share",
    "col.area_km2": "Area (km²)",
    "col.population": "Population",
    "col.urban_population": "Urban population",
    "col.rural_population": "Rural population",
    "col.urban_evs": "Urban EVs",
    "col.rural_evs": "Rural EVs",
    "col.public_sessions_per_day": "Public sessions per day",
    "col.residential_evs": "EVs wanting a home charger",
    "col.rural_sessions_per_day": "Rural sessions per day",
    "col.density_urban_per_km2": "Urban population per km²",
    "col.density_rural_per_km2": "Rural population per km²",
    "col.cell_id": "Cell id",
    "col.tier_units": "{label}: units",
    "col.covered_tier": "{label}: demand covered",
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
    "status.skipped": "已跳过（目标为 0）",
    "map.basemap.osm": "OpenStreetMap 底图（在线）",
    "map.basemap.tianditu": "天地图底图（在线）",
    "map.districts": "区县：{caption}",
    "map.district_names": "区县名称",
    "map.demand_grid": "需求网格：每平方公里电动汽车（{side_km:g} 公里格）",
    "map.layer.chargers": "{label}（{sites:,} 个站点，{units:,} 台）",
    "map.layer.stations": "{label}（新建 {new} 座，现有 {existing} 座）",
    "map.layer.radius": "{label}：服务半径（道路 {radius_km:g} 公里）",
    "map.layer.hubs": "{label}：需求点（{n} 个）及服务站点",
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
    "report.fig.chargers": "各区县在某类充电桩中的占比与其在该类需求中的占比。",
    "report.fig.coverage": "各类需求中位于有余量站点服务范围内的比例。",
    "report.fig.hubs": "{label}：各需求点的需求及站点服务的部分。",
    "report.note": ("状态<i>最优</i>表示求解器已证明最优；<i>可行</i>表示求解器在情景设定的 MIP 间隙内停止（见表）。"
                    "各类需求单位不同：公共与农村为每日充电次数，居民区为有固定车位的电动汽车数，加氢为公斤/日。"
                    "“应分配数”按各区县电动汽车占比分配充电桩目标。由 siting 生成；完整记录见 plan.json。"),
    "cli.written": "{name}：规划已写入 {out}/，用时 {seconds:.1f} 秒",
    "cli.open": "  在浏览器中打开 {path}",
    "cli.col.tier": "类别",
    "cli.col.target": "目标",
    "cli.col.placed": "已布局",
    "cli.col.sites": "站点",
    "cli.col.covered": "覆盖率",
    "cli.col.status": "状态",
    "cli.gap": "（间隙 {gap:.2f} %）",
    "cli.skipped": "  {tier}：目标为 0，已跳过",
    "cli.error": "错误：{message}",
    "cli.warning": "警告：{message}",
    "cli.interrupted": "已中断：未写入任何文件",
    "cli.internal": "内部错误：{message}（加 --debug 重新运行可看到详细信息，请报告此问题）",
    "title.gap": "（间隙 {gap:.2f} %）",
    "control.zoom_in": "放大",
    "control.zoom_out": "缩小",
    "control.fullscreen": "全屏",
    "control.fullscreen_exit": "退出全屏",
    "control.measure": "测量距离和面积",
    "control.measure_locale": "cn",
    "search.cancel": "取消",
    "map.basemap.tianditu_vector": "天地图（在线）",
    "map.basemap.tianditu_labels": "天地图注记（在线）",
    "dunit.sessions/day": "次/日",
    "dunit.EVs": "辆电动汽车",
    "dunit.kg/day": "公斤/日",
    "chart.chargers": "充电桩",
    "chart.demand": "需求",
    "chart.served": "已服务",
    "chart.share": "占该类的百分比",
    "chart.covered_axis": "需求覆盖率（%）",
    "chart.covered_title": "各类需求覆盖率",
    "chart.hubs_title": "{label}：需求点需求的 {share:.1f} % 已服务",
    "sheet.summary": "汇总",
    "sheet.sites": "站点",
    "sheet.candidates": "候选站点",
    "sheet.districts": "区县",
    "sheet.townships": "乡镇街道",
    "decision.required": "必建",
    "decision.excluded": "不建",
    "col.site_id": "站点编号",
    "col.tier": "类别",
    "col.label": "类别名称",
    "col.status": "状态",
    "col.district_code": "区县代码",
    "col.district_name": "区县",
    "col.district_name_en": "区县（英文）",
    "col.lon": "经度",
    "col.lat": "纬度",
    "col.chargers": "充电桩数",
    "col.capacity_kg_per_day": "能力（公斤/日）",
    "col.demand_served": "服务需求",
    "col.demand_unit": "需求单位",
    "col.kind": "类型",
    "col.name": "名称",
    "col.rank": "类别内排名",
    "col.selected": "是否选中",
    "col.chargers_or_stations": "充电桩数或站数",
    "col.capacity": "能力（每日需求）",
    "col.demand_in_reach": "范围内需求",
    "col.score": "得分",
    "col.decision": "决定",
    "col.source": "来源",
    "col.osm_id": "OSM 编号",
    "col.sites": "站点数",
    "col.units": "布局数量",
    "col.unit": "单位",
    "col.demand": "需求",
    "col.share_covered": "需求覆盖率",
    "col.share_of_target": "占该类目标比例",
    "col.evs": "电动汽车",
    "col.chargers_per_1000_evs": "每千辆电动汽车充电桩数",
    "col.target": "目标",
    "col.placed": "已布局",
    "col.coverage": "需求覆盖率",
    "col.solver": "求解器",
    "col.gap": "MIP 间隙",
    "col.cost_cny": "费用（元）",
    "col.site_cost_cny": "场地费用（元）",
    "col.charger_cost_cny": "充电桩费用（元）",
    "col.station_cost_cny": "建站费用（元）",
    "col.year": "年份",
    "col.township_code": "乡镇街道代码",
    "col.township_name": "乡镇街道",
    "col.power_kw": "功率（千瓦）",
    "col.peak_kw": "峰值负荷（千瓦）",
    "col.storage_kwh": "储能容量（千瓦时）",
    "col.storage_kw": "储能功率（千瓦）",
    "col.pv_kw": "光伏（千瓦）",
    "col.v2g_ready": "支持 V2G",
    "col.zone_id": "电网分区",
    "col.supply_source": "氢源",
    "col.station_cny_per_kg": "站端成本（元/公斤）",
    "col.delivered_cost_cny_per_kg": "到站成本（元/公斤）",
    "col.colocated": "与加油站合建",
    "col.fair_share": "按车辆分配的目标",
    "col.vs_fair_share": "充电桩数与应分配数之比",
    "col.area_km2": "面积（平方公里）",
    "col.population": "人口",
    "col.urban_population": "城镇人口",
    "col.rural_population": "乡村人口",
    "col.urban_evs": "城镇电动汽车",
    "col.rural_evs": "乡村电动汽车",
    "col.public_sessions_per_day": "公共充电次数/日",
    "col.residential_evs": "需要居民区充电桩的电动汽车",
    "col.rural_sessions_per_day": "农村充电次数/日",
    "col.density_urban_per_km2": "城镇人口密度（人/平方公里）",
    "col.density_rural_per_km2": "乡村人口密度（人/平方公里）",
    "col.cell_id": "网格编号",
    "col.tier_units": "{label}：布局数量",
    "col.covered_tier": "{label}：需求覆盖率",
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

    def demand_unit(self, unit: str) -> str:
        """A demand unit in this language (``sessions/day`` → ``次/日``); a scenario's own unit as written."""
        return self._table.get(f"dunit.{unit}", unit)

    def columns(self) -> dict[str, str]:
        """Column name → header, for every column that has words (``site_id`` → ``站点编号``)."""
        return {key.removeprefix("col."): text for key, text in self._table.items()
                if key.startswith("col.") and "{" not in text}


def html_language(language: str) -> str:
    """The HTML ``lang`` of a scenario language (``zh`` → ``zh-CN``: simplified Chinese glyph forms)."""
    return "zh-CN" if language == "zh" else language


def words(language: str = "en") -> Words:
    """The words of ``language`` ("en" or "zh")."""
    return Words(language)


#: The most common error lines in Chinese: (English phrase as a regular expression, Chinese replacement), applied
#: in order to the parts of a message they match. A message with no match stays English (after "错误：").
_ERRORS_ZH: tuple[tuple[str, str], ...] = (
    (r"^(\w+) tier: ", r"\1 类别："),
    (r"unknown key '([^']+)'; did you mean '([^']+)'\?", r"未知的键 '\1'；是否应为 '\2'？"),
    (r"unknown key '([^']+)'; valid keys: (.+)$", r"未知的键 '\1'；可用的键：\2"),
    (r"missing required key '([^']+)'; see docs/scenario\.md", r"缺少必需的键 '\1'；见 docs/scenario.md"),
    (r"'([^']+)' = (.+?): no such file \((.+)\); fix the path \(relative to the scenario file\)",
     r"'\1' = \2：文件不存在（\3）；请改正路径（相对于情景文件）"),
    (r"'([^']+)' must be a whole number; got (.+)$", r"'\1' 必须是整数；实际为 \2"),
    (r"'([^']+)' must be a number \(without a unit; the unit is in the key's name\); got (.+)$",
     r"'\1' 必须是数字（不带单位，单位见键名）；实际为 \2"),
    (r"'([^']+)' must be true or false; got (.+)$", r"'\1' 必须为 true 或 false；实际为 \2"),
    (r"'([^']+)' must be a string; got (.+)$", r"'\1' 必须是字符串；实际为 \2"),
    (r" is negative; a target must be 0 or more$", r" 为负数；目标必须大于或等于 0"),
    (r" must be positive$", r" 必须为正数"),
    (r" must be between 0 and 1$", r" 必须在 0 到 1 之间"),
    (r"cannot read the scenario file \((.+)\); check the path", r"无法读取情景文件（\1）；请检查路径"),
    (r"not a valid TOML file \((.+)\); fix the syntax$", r"不是有效的 TOML 文件（\1）；请修正语法"),
    (r"cannot read the file \((.+?)\); check the path and its permissions", r"无法读取文件（\1）；请检查路径和权限"),
    (r"row (\d+), column '([^']+)': (.+?) is not a number( ≥ 0)?; .*$",
     r"第 \1 行，'\2' 列：\3 不是数字\4；请填写数字（可带千位分隔符，如 1,040,000；小数用小数点）"),
    (r"is neither UTF-8 nor GBK/GB18030 text; .*$",
     r"既不是 UTF-8 也不是 GBK/GB18030 文本；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx"),
    (r"the old Excel \.xls format is not read; .*$", r"不能读取旧的 Excel .xls 格式；请在 Excel 中另存为 .xlsx（或 CSV）"),
    (r"missing column '([^']+)' \(has: (.*?)\); .*$", r"缺少 '\1' 列（现有列：\2）；请添加该列或改正列名"),
    (r"(\w+) (.+?) appears more than once; .*$", r"\1 \2 出现多次；编号必须唯一"),
    ((r"target of ([\d,]+) (\w+) exceeds the ([\d,]+) that the ([\d,]+) candidate sites can hold "
      r"\(short by ([\d,]+)\); .*$"),
     r"目标 \1（\2）超过 \4 个候选站点最多可容纳的 \3（缺 \5）；请增加候选站点或提高每站上限"),
    ((r"the target of ([\d,]+) (\w+) cannot give every required demand point \((\d+)\) a site within (\S+) with "
      r"(\S+) per site; .*$"),
     r"目标 \1（\2）无法让全部 \3 个必须覆盖的需求点在 \4 范围内有站点（每站 \5）；请提高目标或降低每站下限"),
    ((r"(\d+) required demand point\(s\) \(e\.g\. (.+?)\) need a site within (\S+), but the target of 0 \w+ "
      r"opens none; raise the target$"), r"\1 个必须覆盖的需求点（如 \2）需要 \3 范围内有站点，但目标为 0；请提高目标"),
    (r"every tier has a target of 0 \((.+)\): nothing to plan; .*$", r"所有类别的目标均为 0（\1）：无需规划；请在 [targets] 中设置大于 0 的目标"),
    # the two warnings a plan gives most
    ((r"district (\S+) has ([\d,.]+) (.+?) of demand but no candidate within (.+?) of it, so it gets none; "
      r"lower (\S+) or raise the radius$"),
     r"区县 \1 有 \2 \3 的需求，但 \4 范围内没有候选站点，因此不会布局；请降低 \5 或增大半径"),
    ((r"time limit of (\S+) s reached; the plan is feasible with a gap of (.+?), not proven optimal "
      r"\(raise solver\.time_limit_s\)$"),
     r"已达到 \1 秒的时间上限；规划可行，间隙为 \2，未证明最优（可提高 solver.time_limit_s）"),
    (r"^--set (.+?): write KEY=VALUE.*$", r"--set \1：请写成 KEY=VALUE（情景中的键），例如 public.radius_m=900"),
)


def translate_error(message: str, language: str) -> str:
    """An error message in ``language``: the common phrases of :data:`_ERRORS_ZH` translated, the rest as is.

    File paths, keys and values in the message are kept; only the words around them change.
    """
    if language != "zh":
        return message
    for pattern, replacement in _ERRORS_ZH:
        message = re.sub(pattern, replacement, message)
    return message
