"""A synthetic storage-form dataset on disk, for training tests that must not need the simulator.

Observations are valid storage form (every categorical value below its ``storage_scale``); the
demonstrator moves to the one "beacon" cell of ``player_relative`` (so BC has something to fit).
"""

from __future__ import annotations

import pathlib

import numpy as np

from sc2agents.data.dataset import DatasetWriter
from sc2agents.data.episodes import Episode
from sc2agents.envs import features

_MOVE = features.FUNCTION_IDS["Move_screen"]
_NOOP = features.FUNCTION_IDS["no_op"]


def _frame(rng: np.random.Generator, specs: tuple, size: int) -> tuple[np.ndarray, tuple]:
    channels = features.storage_channels(specs)
    layers = np.zeros((len(channels), size, size), np.uint8)
    beacon = (int(rng.integers(size)), int(rng.integers(size)))
    for c, spec in enumerate(channels):
        if spec.name == "player_relative":
            layers[c, beacon[1], beacon[0]] = 3  # Neutral (the beacon).
    return layers, beacon


def episode(rng: np.random.Generator, size: int, steps: int, index: int) -> Episode:
    keys = ("minimap", "minimap_unit_type", "screen", "screen_unit_type", "player")
    obs: dict[str, list] = {k: [] for k in (*keys, "available_actions")}
    fns, args = [], []
    for _ in range(steps + 1):
        mm, _ = _frame(rng, features.MINIMAP_LAYERS, size)
        sc, beacon = _frame(rng, features.SCREEN_LAYERS, size)
        avail = np.zeros(features.NUM_FUNCTIONS, bool)
        avail[[_NOOP, _MOVE]] = True
        obs["minimap"].append(mm)
        obs["minimap_unit_type"].append(np.zeros((size, size), np.uint16))
        obs["screen"].append(sc)
        obs["screen_unit_type"].append(np.zeros((size, size), np.uint16))
        obs["player"].append(rng.random(11).astype(np.float32))
        obs["available_actions"].append(avail)
        fn, a = features.encode_action((_MOVE, [[0], list(beacon)]), size, size)
        fns.append(fn)
        args.append(a)
    return Episode(
        observations={k: np.stack(v) for k, v in obs.items()},
        actions={"function": np.array(fns[:steps]), "args": np.stack(args[:steps])},
        rewards=rng.random(steps).astype(np.float32),
        terminated=bool(index % 2),
        truncated=not bool(index % 2),
        info={"source": f"synthetic/{index}", "map": "MoveToBeacon"},
    )


def write_dataset(
    path: pathlib.Path, *, size: int = 16, episodes: int = 6, steps: int = 12
) -> None:
    rng = np.random.default_rng(0)
    with DatasetWriter(path, metadata={"source": "synthetic"}) as w:
        for i in range(episodes):
            w.add_episode(episode(rng, size, steps, i))
