"""Round robin of the simulator's built-in bots on Simple64: win-rate matrix and ladder plot.

Every pair of difficulty levels (very_easy ... cheat_insane, `sc2agents.envs.sim.bots.LEVELS`) plays
``--games`` games (half with each level as player 1, so the start position cannot favour a side),
all games of a pair stepped together in one `SimEngine` with both players bots
(``num_players=0, bots=[a, b]``). A game ends when one side has no buildings (win/loss) or at the
map's time limit (tie).

The strength claim it checks: each level beats the level below it more often than not, i.e. its
win rate (wins / games; ties are not wins) against the level below is > 0.5 for every adjacent
pair. It prints the win-rate matrix (row level vs column level), the adjacent-pair ladder with
Wilson 95% intervals, ``monotone: yes/no``, and writes a plot (PNG: heatmap + ladder).

Usage:
    python benchmarks/bot_ladder.py                 # full round robin, 100 games per pair
    python benchmarks/bot_ladder.py --quick         # adjacent pairs only, 16 games each (~minutes)
    python benchmarks/bot_ladder.py --json=ladder.json --plot=ladder.png --games=200
    python benchmarks/bot_ladder.py --max_gap=2          # pairs at most 2 levels apart
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pathlib
import sys
import time

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sc2agents.envs.sim.bots import LEVELS  # noqa: E402
from sc2agents.envs.sim.engine import SimEngine  # noqa: E402


def play(a: str, b: str, games: int, seed: int, minutes: float | None = None) -> np.ndarray:
    """Outcomes (+1 a wins, -1 b wins, 0 tie) of ``games`` games of ``a`` (player 1) vs ``b``."""
    loops = int(minutes * 60 * 22.4) if minutes else None
    eng = SimEngine(
        "Simple64", games, num_players=0, bots=[a, b], seed=seed, game_steps_per_episode=loops
    )
    eng.reset()
    fn = np.zeros((0, games), np.int64)
    args = np.zeros((0, games, 13), np.int64)
    out = np.zeros(games)
    done = np.zeros(games, bool)
    while not done.all():
        res = eng.step_encoded(fn, args)
        new = (res.terminated | res.truncated) & ~done
        out[new] = eng.episode_reward[0, new]
        done |= new
    return out


def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, c - h), min(1.0, c + h)


def run(games: int, pairs: list[tuple[int, int]], seed: int, minutes: float | None) -> dict:
    names = list(LEVELS)
    k = len(names)
    wins = np.zeros((k, k))
    played = np.zeros((k, k))
    ties = np.zeros((k, k))
    t0 = time.perf_counter()
    for n, (i, j) in enumerate(tqdm(pairs, desc="pairs")):
        half = games // 2
        r1 = play(names[i], names[j], half, seed + 2 * n, minutes)
        r2 = -play(names[j], names[i], games - half, seed + 2 * n + 1, minutes)
        r = np.concatenate([r1, r2])
        wins[i, j] += (r > 0).sum()
        wins[j, i] += (r < 0).sum()
        ties[i, j] += (r == 0).sum()
        ties[j, i] += (r == 0).sum()
        played[i, j] += r.size
        played[j, i] += r.size
    rate = np.divide(wins, played, out=np.full_like(wins, np.nan), where=played > 0)
    ladder = []
    for i in range(1, k):
        n_g = int(played[i, i - 1])
        lo, hi = wilson(wins[i, i - 1], n_g)
        ladder.append(
            {
                "level": names[i],
                "below": names[i - 1],
                "games": n_g,
                "wins": int(wins[i, i - 1]),
                "ties": int(ties[i, i - 1]),
                "win_rate": float(rate[i, i - 1]) if n_g else None,
                "ci95": [lo, hi],
            }
        )
    monotone = all(r["games"] > 0 and r["win_rate"] > 0.5 for r in ladder)
    return {
        "levels": names,
        "games_per_pair": games,
        "win_rate": [[None if np.isnan(x) else float(x) for x in row] for row in rate],
        "ladder": ladder,
        "monotone": monotone,
        "seconds": time.perf_counter() - t0,
    }


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = result["levels"]
    rate = np.array([[np.nan if x is None else x for x in row] for row in result["win_rate"]])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6))
    im = ax1.imshow(rate, vmin=0, vmax=1, cmap="RdBu")
    ax1.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax1.set_yticks(range(len(names)), names)
    ax1.set_title("win rate of row vs column")
    for (i, j), v in np.ndenumerate(rate):
        if not np.isnan(v):
            ax1.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax1)
    lad = result["ladder"]
    x = np.arange(len(lad))
    y = [r["win_rate"] if r["win_rate"] is not None else np.nan for r in lad]
    lo = [r["ci95"][0] for r in lad]
    hi = [r["ci95"][1] for r in lad]
    yerr = np.maximum(0.0, [np.subtract(y, lo), np.subtract(hi, y)])  # rounding at p = 0 or 1
    ax2.errorbar(x, y, yerr=yerr, fmt="o-", capsize=3)
    ax2.axhline(0.5, color="grey", ls="--")
    ax2.set_xticks(x, [f"{r['level']}\nvs {r['below']}" for r in lad], rotation=60, ha="right")
    ax2.set_ylim(0, 1)
    ax2.set_title("ladder: each level vs the level below (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="adjacent pairs, 16 games each")
    ap.add_argument("--games", type=int, default=None, help="games per pair (default 100)")
    ap.add_argument("--adjacent", action="store_true", help="adjacent pairs only")
    ap.add_argument(
        "--max_gap", type=int, default=None, help="only pairs at most this many levels apart"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=None, help="time limit (real minutes)")
    ap.add_argument("--json", default=None, help="write the result here")
    ap.add_argument("--plot", default="bot_ladder.png", help="ladder plot (PNG)")
    a = ap.parse_args()
    games = a.games or (16 if a.quick else 100)
    k = len(LEVELS)
    if a.quick or a.adjacent:
        pairs = [(i, i - 1) for i in range(1, k)]
    else:
        gap = a.max_gap or k
        pairs = [(j, i) for i, j in itertools.combinations(range(k), 2) if j - i <= gap]
    result = run(games, pairs, a.seed, a.minutes)
    names = result["levels"]
    w = max(len(n) for n in names)
    print("win rate (row vs column), Simple64, games per pair:", games)
    print(" " * w + " " + " ".join(f"{n[:6]:>6}" for n in names))
    for i, n in enumerate(names):
        row = result["win_rate"][i]
        print(f"{n:>{w}} " + " ".join("     -" if x is None else f"{x:6.2f}" for x in row))
    print("\nladder (level vs the level below):")
    for r in result["ladder"]:
        print(
            f"  {r['level']:>{w}} vs {r['below']:<{w}} win rate {r['win_rate']:.2f} "
            f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}] ({r['wins']}/{r['games']}, "
            f"{r['ties']} ties)"
        )
    print(f"monotone: {'yes' if result['monotone'] else 'no'}  ({result['seconds']:.0f} s)")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(result, indent=2))
        print("json:", a.json)
    if a.plot:
        plot(result, a.plot)
        print("plot:", a.plot)


if __name__ == "__main__":
    main()
