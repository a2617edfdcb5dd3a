"""Apply a function to a list of jobs, in worker processes when asked, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def map_jobs(
    function: Callable[[Job], Result],
    jobs_list: Sequence[Job],
    jobs: int | None,
    progress: bool,
    desc: str,
) -> list[Result]:
    """``[function(job) for job in jobs_list]``, in order, with a tqdm bar counting files.

    Parameters
    ----------
    function : callable
        A module-level function (worker processes pickle it).
    jobs_list : sequence
        Its arguments, one per call.
    jobs : int or None
        Worker processes; 1 (or a single job) runs in this process, None uses
        every core.
    progress : bool
        Show the progress bar.
    desc : str
        The bar's label.

    Returns
    -------
    list
        The results in the order of ``jobs_list``.

    Examples
    --------
    >>> map_jobs(abs, [-1, 2, -3], jobs=1, progress=False, desc="abs")
    [1, 2, 3]
    """
    from tqdm.auto import tqdm

    with ExitStack() as stack:
        calls = map(function, jobs_list)
        if jobs != 1 and len(jobs_list) > 1:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=jobs))
            calls = pool.map(function, jobs_list, chunksize=1)
        return list(tqdm(calls, total=len(jobs_list), desc=desc, unit="file", disable=not progress))
