"""siting: location-allocation planning for charging and hydrogen infrastructure."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from siting._errors import DataError, InfeasibleError, ScenarioError, SitingError, SolverError

try:
    __version__ = version("siting")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DataError",
    "InfeasibleError",
    "ScenarioError",
    "SitingError",
    "SolverError",
    "__version__",
]
