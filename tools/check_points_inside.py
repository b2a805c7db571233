"""Check that every new point lies inside Qingdao (data/boundaries/qingdao_districts.geojson)."""
import geopandas as gpd, pandas as pd
b = gpd.read_file("data/boundaries/qingdao_districts.geojson").to_crs(4326)
city = b.union_all()
coast = gpd.GeoSeries([city.boundary], crs=4326).to_crs(32651).iloc[0]
for f, idc in [("data/demand/qingdao_commercial_hubs.csv", "hub_id"), ("data/demand/qingdao_h2_sources.csv", "source_id")]:
    df = pd.read_csv(f)
    g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
    j = gpd.sjoin(g, b[["district_code", "district_name", "geometry"]], how="left", predicate="within")
    j["city_edge_km"] = [coast.distance(p) / 1000 for p in g.to_crs(32651).geometry]
    print(f"{f}: {len(df)} rows, inside Qingdao {int(g.within(city).sum())}/{len(df)}, "
          f"in a district {int(j.district_code.notna().sum())}/{len(df)}, "
          f"nearest to the city boundary/coast {j.city_edge_km.min():.2f} km ({j.loc[j.city_edge_km.idxmin(), idc]})")
    print("  per district:", j.groupby("district_name")[idc].count().to_dict())
