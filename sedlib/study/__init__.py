"""The study: grids of runs, sweeps, aggregated results, statistics, and the findings the book states.

- :mod:`~sedlib.study.grids`: the grids, declared as data (each with the stage that makes it);
- :mod:`~sedlib.study.sweep`: runs a grid (papermill, a process per run, or the batched engine);
- :mod:`~sedlib.study.aggregate`: finished run records -> a result set (read-only on runs);
- :mod:`~sedlib.study.results`: result sets on disk and the ladder of them;
- :mod:`~sedlib.study.summary`: method keys and names, means with confidence intervals;
- :mod:`~sedlib.study.stats`: the one interval rule over paired seeds, Holm's correction;
- :mod:`~sedlib.study.evidence`: which runs and seeds a claim may rest on (convergence, sanity);
- :mod:`~sedlib.study.findings`: gaps to BCE, the paper's pattern, departures, as records;
- :mod:`~sedlib.study.attribution`: why the numbers depart from the paper's: verdicts per cause;
- :mod:`~sedlib.study.choices`: values a stage chose (SGD's learning rate, the difficulty);
- :mod:`~sedlib.study.paper`: the paper's Tables 1, 2 and 4.
"""
