"""The Dask client sweeps and decomposed plans run on: a local cluster, or a running scheduler."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from siting._errors import SitingError

if TYPE_CHECKING:
    from distributed import Client


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[Client]:
    """A ``dask.distributed`` client, closed (with its local cluster) on exit.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). None: start a
        ``LocalCluster`` of worker processes on this machine.
    workers : int, optional
        Worker processes of the local cluster, one thread each (default: one
        per core). Ignored with ``scheduler``.

    Raises
    ------
    SitingError
        If the scheduler cannot be reached, or ``workers`` is below 1.
    """
    from distributed import Client, LocalCluster

    # the scheduler of a local cluster lives in this process: keep its INFO lines off the terminal
    # unless debug logging is on (`siting --debug`)
    dask_log = logging.getLogger("distributed")
    level = dask_log.level
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        dask_log.setLevel(logging.WARNING)
    try:
        with _client(Client, LocalCluster, scheduler, workers) as client:
            yield client
    finally:
        dask_log.setLevel(level)


@contextmanager
def _client(Client, LocalCluster, scheduler, workers):  # noqa: N803
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            msg = (f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc}); start one with "
                   "`dask scheduler` (see docs/sweeps.md) or leave out --scheduler for a local cluster")
            raise SitingError(msg) from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is not None and workers < 1:
        msg = f"--workers {workers}: give at least 1 worker"
        raise SitingError(msg)
    # one thread per worker: a worker runs one plan (or district) at a time, and the solver uses the core
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client
