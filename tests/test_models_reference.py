"""Our location models reproduce the values spopt's own tests expect on its San Francisco data.

spopt's ``tests/test_locate/test_{p_median,mclp,lscp}.py`` (class
``TestRealWorldLocate``/``TestRealWorldLSCP``): 205 census-tract demand points
weighted by ``POP2000``, 16 candidate stores, network distances in metres,
service radius 5000 m, p = 4. Only the CSV files are read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting._errors import InfeasibleError
from siting.models import LSCP, MCLP, PMedian

pytest.importorskip("spopt")

RADIUS_M = 5000.0
P = 4


@pytest.fixture(scope="module")
def sf() -> tuple[pd.DataFrame, np.ndarray]:
    spec = importlib.util.find_spec("spopt")
    data = Path(spec.origin).parent / "tests" / "test_locate" / "data"
    network = data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
    if not network.exists():
        pytest.skip(f"spopt's test data is not shipped with this spopt ({data})")
    distances = pd.read_csv(network, dtype={"DestinationName": str})
    cost = distances.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(data / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str}).set_index("NAME")
    weights = demand.loc[cost.index, "POP2000"].to_numpy(dtype=float)
    return cost, weights


def test_pmedian_mean_distance_matches_spopt(sf):
    cost, weights = sf
    result = PMedian.from_cost_matrix(cost, p=P, weights=weights).solve()
    assert result.status == "optimal"
    # spopt test_p_median.py::test_mixin_mean_distance
    assert result.objective / weights.sum() == pytest.approx(2982.1268579890657, rel=1e-9)
    assert len(result.selected) == P
    assert set(result.selected) <= set(cost.columns)


def test_mclp_uncovered_count_and_share_match_spopt(sf):
    cost, weights = sf
    result = MCLP.from_cost_matrix(cost, weights=weights, radius=RADIUS_M, p=P).solve()
    assert result.status == "optimal"
    # spopt test_mclp.py::test_mixin_mclp_get_uncovered_clients / _get_percentage
    assert result.extra["n_uncovered"] == 21
    assert (1 - result.extra["n_uncovered"] / len(cost)) * 100 == pytest.approx(89.75609756097561)
    assert result.objective == pytest.approx(weights[(cost[result.selected].to_numpy() <= RADIUS_M).any(axis=1)].sum())


def test_lscp_is_optimal_and_minimal(sf):
    cost, _ = sf
    result = LSCP.from_cost_matrix(cost, radius=RADIUS_M).solve()
    # spopt test_lscp.py::test_optimality_lscp_from_cost_matrix asserts optimality only
    assert result.status == "optimal"
    covers = cost.to_numpy() <= RADIUS_M
    assert covers[:, cost.columns.get_indexer(result.selected)].any(axis=1).all()
    # no smaller cover exists: checked by brute force over all subsets one site smaller
    from itertools import combinations

    smaller = len(result.selected) - 1
    assert not any(covers[:, list(s)].any(axis=1).all() for s in combinations(range(covers.shape[1]), smaller))


def test_lscp_infeasible_radius_matches_spopt(sf):
    cost, _ = sf
    # spopt test_lscp.py::test_infeasibility_lscp_from_cost_matrix uses radius 20
    with pytest.raises(InfeasibleError, match="radius 20"):
        LSCP.from_cost_matrix(cost, radius=20).solve()


def test_mclp_more_sites_than_candidates_is_infeasible(sf):
    cost, weights = sf
    # spopt test_mclp.py::test_infeasibility_mclp_from_cost_matrix uses p = 1000
    with pytest.raises(InfeasibleError, match="p=1000"):
        MCLP.from_cost_matrix(cost, weights=weights, radius=RADIUS_M, p=1000)
