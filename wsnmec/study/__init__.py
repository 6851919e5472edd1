"""Studies: declarative sweeps of ``wsnmec run`` scenarios over a grid and seeds, cached task results, and
the figures drawn from them.

A study is a TOML file in ``studies/`` (see :mod:`wsnmec.study.spec` for its format). The runner
(:mod:`wsnmec.study.runner`) expands it into tasks (one per grid point and seed), runs the missing ones
through a :mod:`concurrent.futures` executor (local processes or a Dask cluster) and caches each task's
result as Parquet (:mod:`wsnmec.study.cache`). :mod:`wsnmec.study.figures` draws the study's figures and
:mod:`wsnmec.study.report` writes the index ``figures/README.md``.

What differs between kinds of study (``lifetime``, ``offload``, ``partition``, and plug-ins) is a
:class:`~wsnmec.study.kinds.StudyKind` object of the registry :data:`~wsnmec.study.kinds.STUDY_KINDS`: how a
file is read, what a task computes, the derived tables, the figure kinds and the ``study show`` text.
"""

from .spec import FigureSpec, StudySpec, find_studies, load_study, resolve_study_file, studies_dir

__all__ = ["FigureSpec", "StudySpec", "find_studies", "load_study", "resolve_study_file", "studies_dir"]
