"""Tables and plots of evaluations and leagues (rich tables; matplotlib PNGs, Agg, no pyplot).

Plots use matplotlib's object API (`Figure` + `FigureCanvasAgg`) rather than ``pyplot``: no
global backend switch, no display needed, safe in worker processes and tests.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from sc2agents.acting.evaluator import DIFFICULTIES, EvalReport
from sc2agents.acting.league import League

__all__ = [
    "eval_table",
    "league_table",
    "plot_payoff",
    "plot_rating_history",
    "plot_win_rates",
    "write_league_report",
]


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def eval_table(report: EvalReport) -> Any:
    """A `rich.table.Table` of an evaluation: one row per opponent."""
    from rich.table import Table

    table = Table(title=f"{report.policy} on {report.env_id}")
    for col in (
        "opponent",
        "games",
        "win",
        "95% CI",
        "tie",
        "loss",
        "score",
        "norm (human)",
        "length",
    ):
        table.add_column(col, justify="left" if col == "opponent" else "right")
    for opp, s in report.summary.items():
        ci = s.get("win_ci")
        score = f"{s['score_mean']:.2f} ± {s['score_sem']:.2f}" if "score_mean" in s else "-"
        table.add_row(
            opp,
            str(s.get("games", 0)),
            _fmt(s.get("win_rate")),
            f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-",
            _fmt(s.get("tie_rate")),
            _fmt(s.get("loss_rate")),
            score,
            _fmt(s.get("normalized_human")),
            _fmt(s.get("length_mean"), 1),
        )
    if report.errors:
        table.caption = f"{len(report.errors)} game(s) failed and are not counted"
    return table


def _save(fig: Any, path: str | pathlib.Path) -> pathlib.Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(p, dpi=110)
    return p


def plot_win_rates(report: EvalReport, path: str | pathlib.Path) -> pathlib.Path:
    """Win rate by opponent (difficulty) with Wilson intervals; for minigames, mean score ± sem."""
    from matplotlib.figure import Figure

    order = {d: i for i, d in enumerate(DIFFICULTIES)}  # easiest first, whatever the dict order
    names = sorted(report.summary, key=lambda n: order.get(n.split("/")[0], len(order)))
    fig = Figure(figsize=(max(4.0, 1.2 * len(names) + 3), 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(names))
    if all("win_rate" in report.summary[n] for n in names):
        rate = np.array([report.summary[n]["win_rate"] for n in names])
        tie = np.array([report.summary[n]["tie_rate"] for n in names])
        loss = np.array([report.summary[n]["loss_rate"] for n in names])
        ci = np.array([report.summary[n]["win_ci"] for n in names])
        err = np.stack([rate - ci[:, 0], ci[:, 1] - rate])
        ax.bar(x, rate, yerr=err, capsize=4, color="#4c72b0", label="win (95% Wilson CI)")
        ax.bar(x, tie, bottom=rate, color="#bbbbbb", label="tie")
        ax.bar(x, loss, bottom=rate + tie, color="#dd8452", label="loss")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share of games")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        mean = np.array([report.summary[n].get("score_mean", np.nan) for n in names])
        sem = np.array([report.summary[n].get("score_sem", 0.0) for n in names])
        ax.bar(x, mean, yerr=sem, capsize=4, color="#55a868")
        ax.set_ylabel("mean score (± s.e.m.)")
    ax.set_xticks(x, names, rotation=20)
    ax.set_title(f"{report.policy}: {report.env_id}", fontsize=9)
    return _save(fig, path)


def league_table(league: League) -> Any:
    """A `rich.table.Table` of the ratings, best first."""
    from rich.table import Table

    table = Table(title=f"league: {len(league.members)} members, {league.num_matches} matches")
    for col in ("#", "member", "ordinal", "mu", "sigma", "games", "W-D-L", "win rate", "spec"):
        table.add_column(col, justify="left" if col in ("member", "spec") else "right")
    for i, r in enumerate(league.table(), 1):
        table.add_row(
            str(i),
            r["name"] + (" (fixed)" if r["fixed"] else ""),
            f"{r['ordinal']:.2f}",
            f"{r['mu']:.2f}",
            f"{r['sigma']:.2f}",
            str(r["games"]),
            f"{r['wins']}-{r['draws']}-{r['losses']}",
            _fmt(r["win_rate"]),
            r["spec"],
        )
    return table


def plot_payoff(league: League, path: str | pathlib.Path) -> pathlib.Path:
    """Heatmap of row-vs-column win rates (members ordered by rating), games in each cell."""
    from matplotlib.figure import Figure

    names = [r["name"] for r in league.table()]
    rates = league.payoff.matrix(names)
    games = league.payoff.games_matrix(names)
    n = len(names)
    fig = Figure(figsize=(2.0 + 0.7 * n, 1.6 + 0.6 * n))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(rates), vmin=0, vmax=1, cmap="RdBu")
    fig.colorbar(im, ax=ax, label="row's win rate vs column")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    for i in range(n):
        for j in range(n):
            if games[i, j]:
                ax.text(
                    j,
                    i,
                    f"{rates[i, j]:.2f}\n({games[i, j]})",
                    ha="center",
                    va="center",
                    fontsize=7,
                )
    ax.set_title("payoff matrix", fontsize=10)
    return _save(fig, path)


def plot_rating_history(league: League, path: str | pathlib.Path) -> pathlib.Path:
    """Each member's openskill mu (± sigma band) against matches played."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    series: dict[str, list[tuple[int, float, float]]] = {}
    for step, name, mu, sigma in league.history:
        series.setdefault(name, []).append((step, mu, sigma))
    for name, pts in series.items():
        pts = [*pts, (league.num_matches, pts[-1][1], pts[-1][2])]  # extend to "now"
        arr = np.array(pts, dtype=np.float64)
        (line,) = ax.step(arr[:, 0], arr[:, 1], where="post", label=name)
        ax.fill_between(
            arr[:, 0],
            arr[:, 1] - arr[:, 2],
            arr[:, 1] + arr[:, 2],
            step="post",
            alpha=0.12,
            color=line.get_color(),
        )
    ax.set_xlabel("matches recorded")
    ax.set_ylabel("openskill mu (± sigma)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("ratings over time", fontsize=10)
    return _save(fig, path)


def write_league_report(
    league: League, out_dir: str | pathlib.Path, extra: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Write ``ratings.json`` (table, payoff, games), ``payoff.png`` and ``ratings.png``."""
    from sc2agents.utils.checkpoint import save_json

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [r["name"] for r in league.table()]
    rates = league.payoff.matrix(names)
    data = {
        "members": names,
        "table": league.table(),
        "payoff": [[None if np.isnan(v) else float(v) for v in row] for row in rates],
        "games": league.payoff.games_matrix(names).tolist(),
        "num_matches": league.num_matches,
        **dict(extra or {}),
    }
    save_json(out / "ratings.json", data)
    return {
        "ratings_json": str(out / "ratings.json"),
        "payoff_png": str(plot_payoff(league, out / "payoff.png")),
        "ratings_png": str(plot_rating_history(league, out / "ratings.png")),
    }
