"""Report writer: Markdown tables (means and 95% CIs over seeds) and PNG plots (matplotlib Agg).

`write_report(experiment, results, out_dir, ...)` writes ``<out_dir>/report.md`` and the figures
next to it; it is called after every run of ``bin/study`` (also on a partial, resumed run: the
report covers the cells finished so far and says how many are missing).
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sc2agents.study import experiments as ex
from sc2agents.study import metrics

__all__ = ["fmt", "markdown_table", "write_report"]


def fmt(mean: float, ci: float | None = None, digits: int = 3) -> str:
    """``mean ± ci`` (or ``mean``; ``–`` for NaN)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    s = f"{mean:.{digits}f}"
    if ci is not None and not (isinstance(ci, float) and math.isnan(ci)):
        s += f" ± {ci:.{digits}f}"
    return s


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _flat(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = {k: r.get(k) for k in ("method", "task", "seed", "data_mult", "variant")}
        row["data_episodes"] = r.get("dataset_episodes")
        row.update(ex.flat_metrics(r))
        rows.append(row)
    return rows


def _value_bins(results: Sequence[Mapping[str, Any]]) -> list[int]:
    for r in results:
        if r.get("value"):
            return [b["lo"] for b in r["value"]["bins"]]
    return []


def _value_section(
    results: Sequence[Mapping[str, Any]],
    out: pathlib.Path,
    groups: Sequence[str],
    tag: str,
    budget: ex.Budget | None = None,
) -> list[str]:
    flat = _flat(results)
    if budget is not None:  # reference rows: the constant "mean training return" predictor
        for task in dict.fromkeys(r["task"] for r in results):
            base = ex.constant_baseline(task, budget)
            if base is not None:
                row = {g: "" for g in groups}
                row.update({"method": "const (train mean)", "task": task})
                row.update(ex.flat_metrics({"value": base}))
                flat.append(row)
    los = _value_bins(results)
    if not los:
        return ["No value results yet."]
    keys = (
        ["abs_error", "bias"] + [f"abs_error_d{lo}" for lo in los] + [f"bias_d{lo}" for lo in los]
    )
    keys += [f"rel_error_d{lo}" for lo in los]
    agg = metrics.aggregate_cells(flat, groups, keys)
    used = [lo for lo in los if any(not math.isnan(a[f"abs_error_d{lo}"]) for a in agg)]
    edges = results[0]["value"]["edges"]
    hi_of = dict(zip(edges, edges[1:], strict=False))
    lines = [
        "Mean absolute error |Q(s,a) - G| and mean bias (Q - G) against the true discounted "
        "return G of held-out goal-reaching episodes; 95% t-interval over seeds. "
        "`const (train mean)` predicts the mean training return everywhere (the reference a "
        "learner must beat).",
        "",
        markdown_table(
            [*groups, "n", "mean abs error", "mean bias"],
            [
                [
                    *(a[g] for g in groups),
                    a["n"],
                    fmt(a["abs_error"], a["abs_error_ci"]),
                    fmt(a["bias"], a["bias_ci"]),
                ]
                for a in agg
            ],
        ),
        "",
        "Absolute error by distance to the episode end (agent steps):",
        "",
        markdown_table(
            [*groups, *(f"d∈[{lo},{hi_of[lo]})" for lo in used)],
            [
                [
                    *(a[g] for g in groups),
                    *(fmt(a[f"abs_error_d{lo}"], a[f"abs_error_d{lo}_ci"]) for lo in used),
                ]
                for a in agg
            ],
        ),
        "",
        "Bias (Q - G) by distance to the episode end:",
        "",
        markdown_table(
            [*groups, *(f"d∈[{lo},{hi_of[lo]})" for lo in used)],
            [
                [
                    *(a[g] for g in groups),
                    *(fmt(a[f"bias_d{lo}"], a[f"bias_d{lo}_ci"]) for lo in used),
                ]
                for a in agg
            ],
        ),
        "",
    ]
    # Figure: one panel per task, |err| vs distance, one line per (other) group.
    plt = _plt()
    tasks_ = list(dict.fromkeys(a["task"] for a in agg))
    fig, axes = plt.subplots(1, len(tasks_), figsize=(5.5 * len(tasks_), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks_, strict=True):
        for a in (a for a in agg if a["task"] == task):
            label = " ".join(str(a[g]) for g in groups if g != "task")
            xs, ys, es = [], [], []
            for lo in used:
                y = a[f"abs_error_d{lo}"]
                if not math.isnan(y):
                    xs.append(math.sqrt(max(lo, 0.5) * hi_of[lo]))
                    ys.append(y)
                    e = a[f"abs_error_d{lo}_ci"]
                    es.append(0.0 if math.isnan(e) else e)
            if xs:
                ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("distance to episode end (agent steps)")
        ax.set_ylabel("|Q - true return|")
        ax.set_title(task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    name = f"{tag}_error_by_distance.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    lines += [f"![value error by distance]({name})", ""]
    return lines


def _metric_section(
    results: Sequence[Mapping[str, Any]],
    out: pathlib.Path,
    groups: Sequence[str],
    keys: Sequence[str],
    title: str,
    plot_x: str | None,
    tag: str,
) -> list[str]:
    flat = _flat(results)
    agg = metrics.aggregate_cells(flat, groups, keys)
    present = [k for k in keys if any(not math.isnan(a[k]) for a in agg)]
    if not present:
        return []
    lines = [
        title,
        "",
        markdown_table(
            [*groups, "n", *present],
            [
                [*(a[g] for g in groups), a["n"], *(fmt(a[k], a[f"{k}_ci"]) for k in present)]
                for a in agg
            ],
        ),
        "",
    ]
    if plot_x:
        plt = _plt()
        fig, axes = plt.subplots(1, len(present), figsize=(5 * len(present), 3.8), squeeze=False)
        others = [g for g in groups if g != plot_x]
        for ax, k in zip(axes[0], present, strict=True):
            series: dict[tuple, list[tuple[float, float, float]]] = {}
            for a in agg:
                series.setdefault(tuple(a[g] for g in others), []).append(
                    (a[plot_x], a[k], a[f"{k}_ci"])
                )
            for lab, pts in series.items():
                pts.sort(key=lambda p: p[0])
                xs = [p[0] for p in pts]
                ax.errorbar(
                    xs if isinstance(xs[0], (int, float)) else range(len(xs)),
                    [p[1] for p in pts],
                    yerr=[0 if math.isnan(p[2]) else p[2] for p in pts],
                    marker="o",
                    capsize=3,
                    label=" ".join(map(str, lab)),
                )
                if not isinstance(xs[0], (int, float)):
                    ax.set_xticks(range(len(xs)), xs)
            if plot_x in ("data_mult", "n_samples"):
                ax.set_xscale("log", base=2)
            ax.set_xlabel(plot_x)
            ax.set_ylabel(k)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"{tag}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        lines += [f"![{tag}]({name})", ""]
    return lines


def write_report(
    experiment: str,
    results: Sequence[Mapping[str, Any]],
    out_dir: str | pathlib.Path,
    *,
    budget: ex.Budget,
    budget_name: str,
    total_cells: int,
    command: str = "",
) -> pathlib.Path:
    """Write ``<out_dir>/report.md`` (+ PNGs) for the finished cells; returns its path."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Study: {experiment}",
        "",
        ex.EXPERIMENTS[experiment] + ".",
        "",
        f"- budget: `{budget_name}`; cells finished: {len(results)} / {total_cells}",
        f"- command: `{command}`" if command else "",
        f"- tasks: {', '.join(budget.tasks)}; methods: {', '.join(budget.methods)}; "
        f"seeds: {list(budget.seeds)}; {budget.steps} gradient steps of batch "
        f"{budget.batch_size}; encoder `{budget.encoder}`",
        f"- data: replay dataset `{budget.replay_path}`"
        if experiment == "replays"
        else f"- data: {budget.episodes} {budget.quality} episodes (x multiplier), "
        f"{budget.size}px layers",
        "",
    ]
    if experiment != "replays":
        for task in budget.tasks:
            for mult in budget.data_multipliers if experiment == "data_scaling" else (1,):
                q = ex.dataset_quality(task, budget, mult)
                if q:
                    lines.append(
                        f"- behaviour data {task} x{mult}: {q['episodes']:.0f} episodes, "
                        f"{100 * q['success']:.0f}% reach the goal, mean length "
                        f"{q['length']:.0f} steps"
                    )
        lines.append("")
    if results:
        secs = [float(r.get("seconds", 0.0)) for r in results]
        lines += [f"- compute: {sum(secs) / 60:.1f} cell-minutes in total", ""]
    if experiment == "value_bias":
        lines += _value_section(results, out, ("method", "task"), "value_bias", budget)
    elif experiment == "data_scaling":
        lines += _value_section(results, out, ("method", "data_mult", "task"), "data_scaling")
        lines += _metric_section(
            results,
            out,
            ("method", "data_mult"),
            ["abs_error", "policy_success", "policy_progress"],
            "Overall value error and policy success vs data multiplier:",
            "data_mult",
            "data_scaling_curves",
        )
    elif experiment == "extraction":
        lines += _metric_section(
            results,
            out,
            ("method", "variant", "task"),
            ["policy_success", "policy_progress", "policy_length_rel", "abs_error"],
            "Policy extraction on the same critic (success = goal reached before the limit; "
            "progress = beacons reached / K on BeaconChain, a win on the melee):",
            None,
            "extraction",
        )
    elif experiment == "test_time":
        rows = []
        for r in results:
            for name, pol in (r.get("policies") or {}).items():
                rows.append(
                    {
                        "method": r["method"],
                        "task": r["task"],
                        "n_samples": int(name.split("_")[-1]),
                        "success": pol["success"],
                        "progress": pol["progress"],
                    }
                )
        agg = metrics.aggregate_cells(
            rows, ("method", "task", "n_samples"), ["success", "progress"]
        )
        lines += [
            "Best-of-N: N actions sampled from the BC actor, the critic's best executed "
            "(N = 1 is the BC actor alone).",
            "",
            markdown_table(
                ["method", "task", "N", "n", "success", "progress"],
                [
                    [
                        a["method"],
                        a["task"],
                        a["n_samples"],
                        a["n"],
                        fmt(a["success"], a["success_ci"]),
                        fmt(a["progress"], a["progress_ci"]),
                    ]
                    for a in agg
                ],
            ),
            "",
        ]
        if agg:
            plt = _plt()
            fig, ax = plt.subplots(figsize=(5, 3.8))
            for key in dict.fromkeys((a["method"], a["task"]) for a in agg):
                pts = [a for a in agg if (a["method"], a["task"]) == key]
                ax.errorbar(
                    [a["n_samples"] for a in pts],
                    [a["progress"] for a in pts],
                    yerr=[0 if math.isnan(a["progress_ci"]) else a["progress_ci"] for a in pts],
                    marker="o",
                    capsize=3,
                    label=" ".join(key),
                )
            ax.set_xscale("log", base=2)
            ax.set_xlabel("N (sampled actions)")
            ax.set_ylabel("progress (beacons / K)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(out / "test_time.png", dpi=110)
            plt.close(fig)
            lines += ["![test time](test_time.png)", ""]
    elif experiment == "replays":
        lines += _metric_section(
            results,
            out,
            ("method",),
            [
                "macro_accuracy",
                "macro_accuracy_majority",
                "brier",
                "brier_constant",
                "ece",
                "held_out_games",
            ],
            "Held-out games: next-macro-action accuracy (BC) against the majority-class "
            "baseline; win-prediction Brier score and ECE (MC value) against a constant "
            "predictor:",
            None,
            "replays",
        )
    (out / "report.md").write_text("\n".join(x for x in lines if x is not None) + "\n")
    _ = np  # numpy is used through metrics; keep the import explicit for type checkers
    return out / "report.md"
