"""Location models: sparse, PuLP-based, solved by HiGHS (default) or CBC.

Every model is built with ``Model.from_cost_matrix(cost, ...)`` (a dense
demand × site matrix or a long ``demand_id, site_id, cost`` table) or
``Model.from_geodataframes(demand, sites, ...)`` (in a metric CRS), and solved
with ``model.solve(solver="highs", time_limit_s=None, mip_gap=None)``, which
returns a :class:`SolveResult`.
"""

from __future__ import annotations

from siting.models._base import SolveResult, SparseCost
from siting.models.capacitated import CapacitatedMCLP
from siting.models.coverage import LSCP, MCLP, greedy_mclp
from siting.models.orlib import read_orlib_pmedian
from siting.models.pmedian import PMedian

__all__ = ["LSCP", "MCLP", "CapacitatedMCLP", "PMedian", "SolveResult", "SparseCost", "greedy_mclp",
           "read_orlib_pmedian"]
