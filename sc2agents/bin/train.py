r"""Train an offline learner: ``python -m sc2agents.bin.train --config=configs/<name>.py``.

Examples::

    python -m sc2agents.bin.train --config=configs/smoke.py
    python -m sc2agents.bin.train --config=configs/bc_minigames.py --config.learner.lr=1e-4 \
        --config.run.steps=20000 --config.run.seed=3
    python -m sc2agents.bin.train --config=configs/quickstart.py:dqn   # get_config("dqn")
    python -m sc2agents.bin.train --resume=runs/bc_minigames/bc__0__20260101-120000

The config file's ``get_config()`` returns the five-section ConfigDict of
`sc2agents.training.config.experiment`; every field can be overridden with
``--config.<section>.<field>=value``. The resolved config is validated before anything is built
(errors name the key, e.g. ``config.learner.lr: must be > 0, got -1.0``), then the run writes
``runs/<config>/<learner>__<seed>__<time>/`` (``config.json``, ``metrics.jsonl``, TensorBoard
events, ``checkpoints/``). ``--resume=RUN_DIR`` continues a run from its last checkpoint with its
own stored config; a ``--config.run.run_dir`` that already holds a run is resumed automatically
(and refused if its stored config differs). View the logs with ``tensorboard --logdir runs``.

A simulator task whose dataset does not exist yet (``data.path`` empty or missing, with
``data.build_if_missing``) gets a small one built first (see `sc2agents.training.parts`).
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

from absl import app, flags, logging
from ml_collections import config_flags

from sc2agents.training import config as tc

_FLAGS: dict[str, Any] = {}


def define_flags() -> None:
    """Define the program's flags (idempotent).

    Called at program start rather than import, so that importing this module (tests, other
    programs) defines no flags; ml_collections reads the ``--config.*`` overrides from sys.argv.
    """
    if _FLAGS:
        return
    _FLAGS["config"] = config_flags.DEFINE_config_file(
        "config",
        "configs/smoke.py",
        "Experiment config file (get_config() -> experiment ConfigDict).",
    )
    _FLAGS["resume"] = flags.DEFINE_string(
        "resume", None, "Run dir to resume from its last checkpoint, with the config stored there."
    )
    _FLAGS["components"] = flags.DEFINE_string(
        "components",
        "sc2agents.training.parts:default_components",
        "module:function returning the loop's `Components` (data, learner, evaluator factories); "
        "the default is the real dataset, learner registry and simulator evaluator.",
    )


def run_dir_for(exp: tc.ExperimentConfig, now: datetime.datetime | None = None) -> pathlib.Path:
    """``<out_dir>/<config>/<learner>__<seed>__<YYYYmmdd-HHMMSS>`` (or ``run.run_dir`` if set)."""
    if exp.run.run_dir:
        return pathlib.Path(exp.run.run_dir)
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = pathlib.Path(exp.run.out_dir) / exp.name / f"{exp.learner_name}__{exp.run.seed}__{stamp}"
    path, k = base, 1
    while path.exists():  # Two runs started in the same second.
        path, k = base.with_name(f"{base.name}_{k}"), k + 1
    return path


def _load_components(spec: str) -> Any:
    module, _, fn = spec.partition(":")
    if not fn:
        raise app.UsageError(f"--components={spec!r}: expected module:function")
    return getattr(importlib.import_module(module), fn)()


def _explain_override_error(argv: Sequence[str], error: Exception) -> str:
    """Turn an ml_collections override failure into a message naming the config key."""
    path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), "configs/smoke.py")
    try:
        spec = importlib.util.spec_from_file_location("_train_config", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cfg = module.get_config()
    except Exception:  # The file itself is broken: ml_collections' message is the best we have.
        return f"{error}"
    for arg in argv:
        if not arg.startswith("--config."):
            continue
        key = arg[2:].split("=", 1)[0]
        node: Any = cfg
        walked = "config"
        for part in key.split(".")[1:]:
            keys = list(node.keys()) if hasattr(node, "keys") else []
            if part not in keys:
                return (
                    f"{walked}.{part}: unknown key (from {arg}); {walked} has "
                    f"{', '.join(sorted(map(str, keys)))}"
                )
            node, walked = node[part], f"{walked}.{part}"
    return f"{error}"


def _parse_flags(argv: list[str]) -> list[str]:
    try:
        return flags.FLAGS(argv)
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
        sys.stderr.write(f"FATAL bad config: {_explain_override_error(argv, e)}\n")
        sys.exit(2)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        if _FLAGS["resume"].value:
            run_dir = pathlib.Path(_FLAGS["resume"].value)
            stored = run_dir / "config.json"
            if not stored.exists():
                raise tc.ConfigError(f"--resume={run_dir}: no config.json there (not a run dir?)")
            from sc2agents.utils.checkpoint import load_json

            exp = tc.resolve(load_json(stored))
        else:
            path = config_flags.get_config_filename(flags.FLAGS["config"]).split(":")[0]
            name = pathlib.Path(path).stem
            exp = tc.resolve(_FLAGS["config"].value, name=name)
            run_dir = run_dir_for(exp)
            if (run_dir / "config.json").exists():
                logging.info("run dir %s exists: resuming it", run_dir)
        from sc2agents.training import loop

        components = _load_components(_FLAGS["components"].value)
        loop.Trainer(exp, run_dir, components).run()
    except tc.ConfigError as e:
        sys.stderr.write(f"FATAL bad config: {e}\n")
        sys.exit(2)
    logging.info("done: %s", run_dir)
    print(run_dir)  # The one line scripts (quickstart) read back.


def entry_point() -> None:
    """Console-script entry (``sc2agents-train``)."""
    define_flags()
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    entry_point()
