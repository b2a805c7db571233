"""The error hierarchy of siting.

Every error a user can cause derives from :class:`SitingError`; the CLI prints
its message as one line and exits non-zero. Messages name the file, the field
or row, the value at fault, and what would fix it.
"""

from __future__ import annotations


class SitingError(Exception):
    """Base class of every error siting reports to a user."""


class ScenarioError(SitingError, ValueError):
    """A scenario file is unreadable, has an unknown or missing key, or a bad value."""


class DataError(SitingError, ValueError):
    """An input data file (boundaries, statistics, layers) is missing or inconsistent."""


class InfeasibleError(SitingError):
    """The targets cannot be met with the candidates, radii and capacities given."""


class SolverError(SitingError, RuntimeError):
    """The solver is unavailable or failed without a usable solution."""
