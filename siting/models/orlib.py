"""Read Beasley's OR-Library p-median instances (``pmed1.txt`` … ``pmed40.txt``).

The file holds ``n m p`` on the first line and then ``m`` undirected edges
``i j cost`` (1-based vertices). When a pair of vertices repeats, the last line
counts (Beasley's note). The cost matrix is the all-pairs shortest-path
distance over the graph; every vertex is both a client of weight 1 and a
candidate site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance: its name, ``p`` and distance matrix."""

    name: str
    p: int
    distance: np.ndarray

    @property
    def n(self) -> int:
        return self.distance.shape[0]


def read_orlib_pmedian(path: str | Path) -> PMedianInstance:
    """Read an OR-Library ``pmedN.txt`` file into a shortest-path distance matrix.

    Parameters
    ----------
    path : str or pathlib.Path
        The instance file.

    Returns
    -------
    PMedianInstance
        ``distance`` is the dense ``n × n`` all-pairs shortest-path matrix
        (float), ``p`` the number of medians.

    Raises
    ------
    ValueError
        If the file is malformed or the graph is disconnected.
    """
    path = Path(path)
    numbers = np.array(path.read_text().split(), dtype=np.int64)
    if numbers.size < 3:
        msg = f"{path}: expected a first line 'n m p'"
        raise ValueError(msg)
    n, m, p = (int(v) for v in numbers[:3])
    edges = numbers[3:]
    if edges.size != 3 * m:
        msg = f"{path}: header promises {m} edges but the file holds {edges.size / 3:g}"
        raise ValueError(msg)
    i, j, cost = (edges.reshape(m, 3) - [1, 1, 0]).T
    if i.min(initial=0) < 0 or max(i.max(initial=0), j.max(initial=0)) >= n:
        msg = f"{path}: vertex numbers must lie in 1..{n}"
        raise ValueError(msg)
    # A repeated pair keeps its last line: order pairs canonically and keep the last.
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo * n + hi
    _, last_from_end = np.unique(key[::-1], return_index=True)
    keep = m - 1 - last_from_end
    graph = coo_array((cost[keep].astype(float), (lo[keep], hi[keep])), shape=(n, n)).tocsr()
    distance = shortest_path(graph, method="D", directed=False)
    if not np.isfinite(distance).all():
        msg = f"{path}: the graph is disconnected"
        raise ValueError(msg)
    return PMedianInstance(name=path.stem, p=p, distance=distance)
