"""The benchmark scripts' own pieces: TSPLIB reading, instance generation, the report's sections, and one small
end-to-end run of each p-median benchmark whose figures docs/benchmarks.md and docs/exact.md quote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import exact, orlib_pmedian
from benchmarks._report import replace_section

ORLIB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "orlib-pmed"

TSP_FILE = """NAME : tiny5
COMMENT : TSPLIB writes some coordinates in exponent form
TYPE : TSP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3.00000e+00 4.00000e+00
3 1 1
4 10 0
5 10.5 0.5
EOF
"""


def test_a_tsplib_file_is_read_from_its_node_section_with_exponent_coordinates(tmp_path):
    path = tmp_path / "tiny5.tsp"
    path.write_text(TSP_FILE)
    points = exact.read_tsplib_points(path)
    assert points.tolist() == [[0, 0], [3, 4], [1, 1], [10, 0], [10.5, 0.5]]
    # TSPLIB's floor distance: 5 for the 3-4-5 triangle, 1 for √2, 0 on the diagonal, symmetric
    distance = exact.floor_distances(points)
    assert distance[0, 1] == 5 and distance[0, 2] == 1 and distance[3, 4] == 0
    assert (np.diag(distance) == 0).all() and (distance == distance.T).all()


def test_bare_index_x_y_lines_are_nodes_and_a_file_without_them_is_refused(tmp_path):
    bare = tmp_path / "bare.tsp"
    bare.write_text("# three nodes\n1 0 0\n2 6 8\n\n3 1 0\n")
    assert exact.read_tsplib_points(bare).tolist() == [[0, 0], [6, 8], [1, 0]]
    empty = tmp_path / "empty.tsp"
    empty.write_text("NAME : nothing\nNODE_COORD_SECTION\nEOF\n")
    with pytest.raises(ValueError, match="empty.tsp"):
        exact.read_tsplib_points(empty)


def test_floor_distances_are_the_floor_of_the_euclidean_distance():
    points = np.random.default_rng(3).integers(0, 1000, size=(40, 2))
    expected = np.floor(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    assert (exact.floor_distances(points) == expected).all()


@pytest.mark.parametrize("kind", ["uniform", "clustered", "lattice", "drilling", "dense-clusters"])
def test_generated_instances_are_integer_nodes_on_the_square_and_the_same_for_a_seed(kind):
    points = exact.tsplib_style_points(kind, 300, seed=9)
    assert points.shape == (300, 2) and np.issubdtype(points.dtype, np.integer)
    assert points.min() >= 0 and points.max() <= 10_000
    assert (exact.tsplib_style_points(kind, 300, seed=9) == points).all()
    assert not (exact.tsplib_style_points(kind, 300, seed=10) == points).all()


def test_a_uniform_instance_on_a_small_side_repeats_nodes_and_an_unknown_shape_is_refused():
    points = exact.tsplib_style_points("uniform", 500, seed=1, side=10)
    assert points.max() < 10 and len(np.unique(points, axis=0)) <= 100  # 500 nodes on 100 places
    with pytest.raises(ValueError, match="hexagonal"):
        exact.tsplib_style_points("hexagonal", 10, seed=1)


def test_unseen_specs_name_their_shape_size_seed_and_side():
    assert exact.unseen_instances("uniform:1100:101,uniform:1250:31:60") == {
        "uniform-1100-s101": ("uniform", 1100, 101), "uniform-1250-s31-side60": ("uniform", 1250, 31, 60)}


def test_orlib_ranges_expand_and_an_empty_range_is_none():
    assert orlib_pmedian.parse_range("pmed1-pmed3,pmed9") == ["pmed1", "pmed2", "pmed3", "pmed9"]
    assert orlib_pmedian.parse_range("") == []


def test_a_section_is_replaced_in_place_and_a_new_one_appended(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nintro\n\n## First\n\nold first\n\n## Second\n\nsecond stays\n")
    replace_section("First", "new first", path)
    replace_section("Third", "third", path)
    text = path.read_text()
    assert "old first" not in text
    assert text.index("## First\n\nnew first") < text.index("## Second\n\nsecond stays") < text.index("## Third")
    assert text.startswith("# Benchmarks\n\nintro\n") and text.endswith("third\n")


def test_the_large_pmedian_benchmark_proves_what_plain_highs_proves(capsys):
    # a small generated instance through the whole script (children, table, summary), nothing written
    exact.main(["--pmedian", "--unseen", "uniform:90:5", "--p", "5,20", "--plain-p", "5,20", "--time-limit", "60",
                "--no-write"])
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| uniform-90-s5 |")]
    assert [row[1] for row in rows] == ["5", "20"]
    for row in rows:
        ours_status, ours_objective, plain_status, plain_objective = row[2], row[3], row[10], row[11]
        assert ours_status == "optimal" and plain_status == "optimal"
        assert ours_objective == plain_objective


def test_the_orlib_benchmark_reaches_the_published_optimum(capsys):
    if not (ORLIB / "pmed1.txt").exists():
        pytest.skip(f"OR-Library instances not found at {ORLIB} (../shared/benchmarks/orlib-pmed beside the repo)")
    orlib_pmedian.main(["--instances", "pmed1", "--spopt-instances", "", "--data", str(ORLIB), "--no-write"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| pmed1 |"))
    assert "5819" in row and "optimal" in row


def test_the_capacitated_benchmark_merges_customers_without_changing_the_optimum():
    merged = exact.run_capacitated(3000, 5, 3.5, 60)
    apart = exact.run_capacitated(3000, 5, 3.5, 60, merge=False)
    assert apart["classes"] is None and 0 < merged["classes"] < 1500
    assert merged["status"] == apart["status"] == "optimal"
    assert merged["objective"] == pytest.approx(apart["objective"], rel=2e-4)
    assert merged["constraints"] < apart["constraints"]


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_the_partial_set_covering_benchmark_agrees_with_plain_highs(share):
    ours = exact.run_psclp_ours(3000, share, 3.5, 60)
    plain = exact.run_psclp_plain(3000, share, 3.5, 60)
    assert ours["status"] == plain["status"] == "optimal"
    assert ours["objective"] == plain["objective"] <= ours["heuristic"]
    assert ours["share"] >= share and 0 < ours["classes"] < 3000
