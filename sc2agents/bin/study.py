r"""Run one experiment of the scaling study and write its report (issue 8, ``docs/study.md``).

Examples::

    python -m sc2agents.bin.study --experiment=value_bias --budget=small --processes=2
    python -m sc2agents.bin.study --experiment=extraction --budget=full --workers=8
    python -m sc2agents.bin.study --list

The experiment's config is ``configs/study/<experiment>.py`` (``--config`` to use another); its
``get_config()`` returns ``{"experiment": name, "budgets": {"tiny": {...}, "small": {...},
"full": {...}}}`` with `sc2agents.study.experiments.Budget` fields. Every finished cell (one trained
learner) is saved under ``<out>/<experiment>/<budget>/cells/``; a killed run resumes where it
stopped (finished cells are not redone). ``--workers=N`` runs the cells on N Ray workers
(`sc2agents.distributed.make_pool`); ``--processes=N`` runs them in N local processes (no Ray).
The report (``report.md`` + PNG plots) is rewritten at the end
of every run, also from a partial set of cells (``--report_only`` just rewrites it).
"""

from __future__ import annotations

import importlib.util
import pathlib
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from absl import app, flags, logging

_EXPERIMENT = flags.DEFINE_string("experiment", None, "Experiment name (see --list).")
_BUDGET = flags.DEFINE_string("budget", "small", "Budget of the config: tiny, small or full.")
_WORKERS = flags.DEFINE_integer("workers", 0, "Ray workers (0: run the cells in this process).")
_PROCESSES = flags.DEFINE_integer(
    "processes", 0, "Local worker processes (no Ray); 2 uses both cores of a small machine."
)
_CONFIG = flags.DEFINE_string("config", "", "Config file (default configs/study/<exp>.py).")
_OUT = flags.DEFINE_string("out", "reports", "Reports root: <out>/<experiment>/<budget>/.")
_LIST = flags.DEFINE_bool("list", False, "List the experiments and exit.")
_REPORT_ONLY = flags.DEFINE_bool("report_only", False, "Only rewrite the report.")
_MAX_CELLS = flags.DEFINE_integer("max_cells", 0, "Run at most this many pending cells (0: all).")

_REPO = pathlib.Path(__file__).resolve().parents[2]


def config_path(experiment: str, given: str = "") -> pathlib.Path:
    """The config file of an experiment: ``given``, or ``configs/study/<experiment>.py``."""
    if given:
        return pathlib.Path(given)
    local = pathlib.Path("configs") / "study" / f"{experiment}.py"
    return local if local.exists() else _REPO / "configs" / "study" / f"{experiment}.py"


def load_config(path: pathlib.Path) -> dict[str, Any]:
    """``get_config()`` of a config file, checked.

    Raises:
        ValueError: missing file, no ``get_config``, or a malformed result (names the file).
    """
    if not path.exists():
        raise ValueError(f"study config {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"study_config_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "get_config"):
        raise ValueError(f"study config {path} has no get_config()")
    cfg = dict(mod.get_config())
    if "experiment" not in cfg or not isinstance(cfg.get("budgets"), dict):
        raise ValueError(f"study config {path}: get_config() needs 'experiment' and 'budgets'")
    return cfg


def run(
    experiment: str,
    budget_name: str,
    *,
    workers: int = 0,
    processes: int = 0,
    config: str = "",
    out: str = "reports",
    report_only: bool = False,
    max_cells: int = 0,
    command: str = "",
) -> pathlib.Path:
    """Run (or resume) an experiment and write its report; returns the report path."""
    from sc2agents.study import experiments as ex
    from sc2agents.study import report, runner, tasks

    tasks.register_horizon_tasks()
    path = config_path(experiment, config)
    cfg = load_config(path)
    if cfg["experiment"] != experiment:
        raise ValueError(f"{path}: experiment is {cfg['experiment']!r}, not {experiment!r}")
    if budget_name not in cfg["budgets"]:
        raise ValueError(f"{path}: no budget {budget_name!r}; has {sorted(cfg['budgets'])}")
    budget = ex.budget_from(cfg["budgets"][budget_name], f"{path}: budgets.{budget_name}")
    cells = ex.make_cells(experiment, budget)
    out_dir = pathlib.Path(out) / experiment / budget_name
    if not report_only:
        todo = runner.pending(out_dir, cells)
        logging.info("%s/%s: %d cells, %d to run", experiment, budget_name, len(cells), len(todo))
        selected = cells
        if max_cells > 0:
            keep = {c.cell_id for c in todo[:max_cells]}
            selected = [c for c in cells if c.cell_id in keep]
        stats = runner.run_cells(selected, budget, out_dir, workers=workers, processes=processes)
        logging.info("cells: %s", stats)
    results = runner.load_results(out_dir, cells)
    rep = report.write_report(
        experiment,
        results,
        out_dir,
        budget=budget,
        budget_name=budget_name,
        total_cells=len(cells),
        command=command,
    )
    return rep


def main(argv: Sequence[str]) -> None:
    del argv
    from sc2agents.study import experiments as ex

    if _LIST.value:
        for name, desc in ex.EXPERIMENTS.items():
            sys.stdout.write(f"{name:14s} {desc}\n")
        return
    if not _EXPERIMENT.value:
        raise app.UsageError(f"--experiment is required; one of {sorted(ex.EXPERIMENTS)}")
    if _EXPERIMENT.value not in ex.EXPERIMENTS:
        raise app.UsageError(
            f"--experiment={_EXPERIMENT.value}: unknown; one of {sorted(ex.EXPERIMENTS)}"
        )
    try:
        rep = run(
            _EXPERIMENT.value,
            _BUDGET.value,
            workers=_WORKERS.value,
            processes=_PROCESSES.value,
            config=_CONFIG.value,
            out=_OUT.value,
            report_only=_REPORT_ONLY.value,
            max_cells=_MAX_CELLS.value,
            command="python -m sc2agents.bin.study " + shlex.join(sys.argv[1:]),
        )
    except ValueError as e:
        raise app.UsageError(str(e)) from e
    sys.stdout.write(f"report: {rep}\n")


if __name__ == "__main__":
    app.run(main)
