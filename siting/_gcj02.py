"""GCJ-02 (the obfuscated datum of Chinese web maps such as Amap) to WGS84 and back.

The standard published approximation (the "eviltransform" formulas, Krasovsky
1940 ellipsoid constants); the inverse by fixed-point iteration to 1e-9 degrees
(~0.1 mm). Valid inside mainland China only.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 obfuscation (valid inside mainland China only)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, tol_deg: float = 1e-9, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`wgs84_to_gcj02` by fixed-point iteration.

    Start from ``wgs = gcj`` and repeat ``wgs -= forward(wgs) - gcj``; the
    offset field is smooth (gradient ~1e-5) so this converges to ~1e-9 deg in
    a handful of steps.
    """
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if max(np.max(np.abs(elon)), np.max(np.abs(elat))) < tol_deg:
            break
    else:  # pragma: no cover - never reached for Chinese coordinates
        raise RuntimeError("GCJ-02 inverse did not converge")
    return wlon, wlat


def geometry_gcj02_to_wgs84(geom):
    """A shapely geometry with every vertex moved from GCJ-02 to WGS84 (lon, lat degrees)."""
    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)
