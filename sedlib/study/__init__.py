"""The study: grids of runs, sweeps, aggregated results, statistics, and the paper's printed numbers.

- :mod:`~sedlib.study.grids`: the grids, declared as data;
- :mod:`~sedlib.study.sweep`: runs a grid through the papermill training notebook;
- :mod:`~sedlib.study.aggregate`: finished run records -> a result set (read-only on runs);
- :mod:`~sedlib.study.results`: result sets on disk and the ladder of them;
- :mod:`~sedlib.study.summary`: method keys and names, means with confidence intervals;
- :mod:`~sedlib.study.stats`: paired statistics over seeds;
- :mod:`~sedlib.study.paper`: the paper's Tables 1, 2 and 4;
- :mod:`~sedlib.study.attribution`: why the numbers depart from the paper's.
"""
