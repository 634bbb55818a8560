"""Overhead of `SimVectorEnv` over the bare `SimEngine` (env-steps/s of both, one run).

Both loops replay the same recorded random actions (`SimEngine.step_encoded` + `observe` for the
engine; `SimVectorEnv.step`, i.e. action checks, autoreset and the storage-form observation, for
the vector env) at step_mul=8, 64x64 screen and minimap. Prints ``ratio`` = vector / bare.

    python benchmarks/vector_env_overhead.py --quick --json=out/bench/vector_env_overhead.json
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

from sc2agents.agents import RandomPolicy
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.vector_env import SimVectorEnv


def measure(map_name: str, num_envs: int, steps: int) -> dict[str, float]:
    vec = SimVectorEnv(num_envs, map_name, seed=0, action_error="warn")
    obs, _ = vec.reset(seed=0)
    policy = RandomPolicy(seed=0)
    actions = []
    for _ in range(steps):
        fn, args = policy.act(obs)
        actions.append((fn, args))
        obs, *_ = vec.step({"function": fn, "args": args})
    eng = SimEngine(map_name, num_envs, seed=0, action_error="warn")
    eng.reset(seed=0)
    t = time.perf_counter()
    for fn, args in actions:
        res = eng.step_encoded(fn[None], args[None])
        done = res.terminated | res.truncated
        if done.any():
            eng.reset(np.flatnonzero(done))
        eng.observe(0)
    bare = num_envs * steps / (time.perf_counter() - t)
    vec.reset(seed=0)
    t = time.perf_counter()
    for fn, args in actions:
        vec.step({"function": fn, "args": args})
    v = num_envs * steps / (time.perf_counter() - t)
    return {"bare_steps_per_s": bare, "vector_steps_per_s": v, "ratio": v / bare}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="about a minute")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    results = {}
    for map_name in ("CollectMineralShards", "DefeatRoaches"):
        for n in (1, 16, 64):
            steps = max(20, (3000 if a.quick else 12000) // n)
            r = measure(map_name, n, min(steps, 400))
            results[f"{map_name}/{n}"] = r
            print(f"{map_name:22s} N={n:3d} bare {r['bare_steps_per_s']:8.0f} env-steps/s  "
                  f"SimVectorEnv {r['vector_steps_per_s']:8.0f} env-steps/s  "
                  f"ratio {r['ratio']:.2f}",
                  flush=True)  # fmt: skip
    if a.json:
        pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
