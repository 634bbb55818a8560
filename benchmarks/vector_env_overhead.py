"""Overhead of `SimVectorEnv` over the bare `SimEngine` (env-steps/s of both, one run).

Both loops replay the same recorded random actions (`SimEngine.step_encoded` + `observe_storage`
for the engine, i.e. the storage-form observation rendered directly; `SimVectorEnv.step`, i.e.
action checks, autoreset and the same observation, copied (``copy=True``, the default) or as views
(``copy=False``), for the vector env) at step_mul=8, 64x64 screen and minimap. Times are CPU
seconds of this process (the machine is shared). Prints ``ratio`` = vector / bare.

    python benchmarks/vector_env_overhead.py --quick --json=out/bench/vector_env_overhead.json
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sc2agents.agents import RandomPolicy  # noqa: E402
from sc2agents.envs.sim.engine import SimEngine  # noqa: E402
from sc2agents.envs.sim.vector_env import SimVectorEnv  # noqa: E402


def measure(map_name: str, num_envs: int, steps: int) -> dict[str, float]:
    vec = SimVectorEnv(num_envs, map_name, seed=0, action_error="warn")
    views = SimVectorEnv(num_envs, map_name, seed=0, action_error="warn", copy=False)
    obs, _ = vec.reset(seed=0)
    policy = RandomPolicy(seed=0)
    actions = []
    for _ in range(steps):
        fn, args = policy.act(obs)
        actions.append((fn, args))
        obs, *_ = vec.step({"function": fn, "args": args})
    eng = SimEngine(map_name, num_envs, seed=0, action_error="warn")
    eng.reset(seed=0)
    t = time.process_time()
    for fn, args in actions:
        res = eng.step_encoded(fn[None], args[None])
        done = res.terminated | res.truncated
        if done.any():
            eng.reset(np.flatnonzero(done))
        eng.observe_storage(0)
    bare = num_envs * steps / (time.process_time() - t)
    out = {"bare_steps_per_s": bare}
    for key, env in (("vector", vec), ("vector_no_copy", views)):
        env.reset(seed=0)
        t = time.process_time()
        for fn, args in actions:
            env.step({"function": fn, "args": args})
        out[f"{key}_steps_per_s"] = num_envs * steps / (time.process_time() - t)
    out["ratio"] = out["vector_steps_per_s"] / bare
    out["ratio_no_copy"] = out["vector_no_copy_steps_per_s"] / bare
    return out


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
            print(f"{map_name:22s} N={n:3d} bare {r['bare_steps_per_s']:8.0f} env-steps/CPU-s  "
                  f"SimVectorEnv {r['vector_steps_per_s']:8.0f} (ratio {r['ratio']:.2f}), "
                  f"copy=False {r['vector_no_copy_steps_per_s']:8.0f} "
                  f"(ratio {r['ratio_no_copy']:.2f})",
                  flush=True)  # fmt: skip
    if a.json:
        pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
