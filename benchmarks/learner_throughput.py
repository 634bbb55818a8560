"""Learner updates/s with the real sampler feeding it, against a bare torch loop of its network.

For every learner (`sc2agents.learners.LEARNERS`), encoder preset and batch size (and device: CPU,
plus CUDA when present), in the same process:

* **learner**: the real pipeline of ``bin/train``: a simulator dataset on disk (built once with
  `sc2agents.data.sim_rollouts`, cached under ``--dir``), the learner's own sampler
  (`sc2agents.training.parts.sampler_config_for`), the background `Prefetcher` (uint8 until on the
  device) and ``learner.update(batch)``;
* **bare**: the learner's largest trainable module (its actor / Q / value network, i.e. the same
  encoder and head), ``forward`` on one batch that already sits on the device, a scalar of its
  outputs, ``backward`` and an ``Adam`` step: the cost floor of training that network.

``ratio`` = learner updates/s / bare updates/s (target >= 0.8). A learner that trains more than
that one network per update (an actor plus a critic, a critic ensemble, target networks, a goal
encoder) pays for it, so two more bounds are measured, each a bare loop of plain network calls
on the same in-memory batch with the same (fused) Adam:

* **bare-all**: forward + backward + Adam of *every* trainable network of the learner once, on
  ``s`` (``s, g`` for goal-conditioned ones), plus one forward of every frozen (target) network;
  ``ratio_all_networks`` = learner / bare-all.
* **bare-passes**: every network pass the algorithm itself needs (`algorithm_passes`, from the
  learner's config), trained passes with forward + backward, the others forward only under
  ``no_grad``; ``ratio_passes`` = learner / bare-passes. Per learner (its default config;
  ``[no grad]`` = forward only):

  ====== =======================================================================================
  bc     actor(s)
  dqn    q(s); q_target(s') [no grad]; q(s') [no grad, double DQN's online argmax];
         actor(s) when actor_loss != greedy
  cql    as dqn
  mc     q(s); actor(s)  (the actor loss reuses q(s), detached)
  sharsa per head j: q_j(s), q_target_j(s) [no grad]; v(s); v(s') [no grad]; actor(s);
         double: the same again for q_low / v_low
  crl    per member e: phi_e(s), psi_e(g) (state goals; reward goals: a parameter); actor(s, g)
         (actor(s) for reward goals)
  qrl    z on the stacked [s; s'; g] (one pass at 3B); actor(s, g); dynamics(s) for ddpgbc
  ====== =======================================================================================

  The cost of the factored-action reductions (greedy max, CQL's logsumexp, the DDPG+BC
  expectation) and of the losses stays on the learner's side of every ratio. Each bare pass
  prepares its own inputs; the learners share that weight-free preparation between networks
  that encode the same tensor (`spatial.shared_preprocessing`), which is why a multi-network
  learner can exceed 1.0 against bare-passes.

A learner with ``ratio < 0.8`` but ``ratio_passes >= 0.8`` is *limited by its extra networks*
(the passes its algorithm needs), not by overhead; the JSON lists ``learners_below_target``
(``ratio``), ``learners_limited_by_extra_networks`` and ``learners_below_target_passes``
(overhead above the passes bound: the ones to fix).
``wait_frac`` is the share of the learner's wall time spent waiting for a batch (the sampler must
not be the bottleneck: ~0).

**Clock.** On a CPU device with one torch thread (the default) each loop is timed by the CPU time of
the thread that runs it (``time.thread_time``), so other jobs on a shared machine do not move
the figures; ``updates_per_s`` and every ``ratio*`` use it, and ``*_wall`` repeat them in wall
time (which also contains the batch waits, ``wait_frac``). The sampler runs in the prefetcher's
own thread and is not in the learner's CPU time (on an unshared machine it overlaps the update);
``wait_frac`` shows whether it ever stalls the learner. On CUDA, or with ``--threads`` other than
1, both clocks are wall time.

The loops run in alternating rounds (bare, bare-all, bare-passes, learner, bare, ...) and each
ratio is the median of its per-round ratios, so load that the clock does see hits all alike.

Usage: ``python benchmarks/learner_throughput.py [--quick] [--json=PATH] [--learners=bc,dqn]
[--presets=fullyconv_lite,resnet_full] [--batch_sizes=32,256] [--devices=cpu,cuda]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import statistics
import sys
import time
from collections.abc import Mapping
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sc2agents.data import samplers  # noqa: E402
from sc2agents.data.dataset import DatasetWriter, open_dataset  # noqa: E402
from sc2agents.data.prefetch import Prefetcher  # noqa: E402
from sc2agents.learners import LEARNERS  # noqa: E402
from sc2agents.networks import optimizers  # noqa: E402
from sc2agents.training import config as tc  # noqa: E402
from sc2agents.training import parts  # noqa: E402

TARGET = 0.8


def build_dataset(root: pathlib.Path, size: int, episodes: int) -> pathlib.Path:
    """A MoveToBeacon dataset (scripted demonstrator with noise) at ``size`` x ``size``, cached."""
    from sc2agents.data import sim_rollouts

    path = root / f"MoveToBeacon_{size}_{episodes}ep"
    if (path / "manifest.json").exists():
        return path
    cfg = sim_rollouts.SimRolloutConfig(
        map_name="MoveToBeacon", policy="mixed", episodes=episodes, screen_size=size,
        minimap_size=size, seed=0,
    )  # fmt: skip
    with DatasetWriter(path, metadata={"source": "sim", "map": "MoveToBeacon"}) as w:
        for task in sim_rollouts.plan_tasks(cfg):
            w.add_episodes(sim_rollouts.rollout(task, cfg))
    return path


def make_learner(name: str, preset: str, obs_spec: Any, size: int, device: torch.device) -> Any:
    cls = tc.learner_config_class(name)
    fields = {f.name for f in dataclasses.fields(cls)}
    config = cls(**({"encoder": preset} if "encoder" in fields else {}))
    action_spec = {"screen_size": size, "minimap_size": size}
    return LEARNERS[name](config, obs_spec, action_spec, device=device), config


def _fields(config: Any) -> dict[str, Any]:
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name != "learner_name"
    }


def modules_of(learner: Any) -> list[tuple[str, torch.nn.Module]]:
    """The learner's networks; containers (ensembles: ModuleList/ModuleDict) are expanded."""
    out: list[tuple[str, torch.nn.Module]] = []
    seen: set[int] = set()

    def add(name: str, m: torch.nn.Module) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        if isinstance(m, torch.nn.ModuleDict):
            for k, sub in m.items():
                add(f"{name}.{k}", sub)
        elif isinstance(m, torch.nn.ModuleList):
            for i, sub in enumerate(m):
                add(f"{name}[{i}]", sub)
        elif type(m).forward is not torch.nn.Module.forward:
            out.append((name, m))

    for k, m in vars(learner).items():
        if isinstance(m, torch.nn.Module):
            add(k, m)
    return out


def n_params(m: torch.nn.Module, trainable: bool = True) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad or not trainable)


def _scalar(out: Any) -> torch.Tensor:
    """Sum of the means of every float tensor in a network's output (any nesting)."""
    if isinstance(out, torch.Tensor):
        return out.float().mean() if out.is_floating_point() else out.new_zeros((), dtype=float)
    if dataclasses.is_dataclass(out):
        out = {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}
    elif hasattr(out, "__dict__"):  # e.g. heads.FactoredQ
        out = vars(out)
    if isinstance(out, Mapping):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        parts_ = [_scalar(o) for o in out if o is not None]
        parts_ = [p for p in parts_ if p.requires_grad]
        return torch.stack(parts_).sum() if parts_ else torch.zeros(())
    return torch.zeros(())


def _call_variants(m: torch.nn.Module, batch: Any) -> Any:
    """A zero-argument call of ``m`` on the batch: ``m(obs)``, ``m(obs, goals)`` or ``m(goals)``."""
    obs, goals = batch.observations, batch.goals
    candidates = [lambda: m(obs)]
    if goals is not None:
        candidates = [lambda: m(obs, goals), *candidates, lambda: m(goals)]
    for call in candidates:
        try:
            with torch.no_grad():
                call()
            return call
        except (TypeError, KeyError, RuntimeError, AttributeError, ValueError):
            continue
    return None


class BareLoop:
    """forward + backward + Adam of ``trained`` modules (+ forward of ``frozen`` ones), one batch.

    With one trained module and no frozen ones this is the bare loop of the learner's main
    network; with all of the learner's networks it is the cost floor of its whole update.
    """

    def __init__(
        self,
        trained: list[tuple[str, torch.nn.Module]],
        frozen: list[tuple[str, torch.nn.Module]],
        batch: Any,
    ) -> None:
        self.skipped: list[str] = []
        self.trained = self._calls(trained, batch)
        self.frozen = self._calls(frozen, batch)
        params = [p for _, m in trained for p in m.parameters() if p.requires_grad]
        self.opt = optimizers.adam(params, lr=1e-4)  # The learners' Adam (fused on CPU/CUDA).

    def _calls(self, mods: list[tuple[str, torch.nn.Module]], batch: Any) -> list[Any]:
        calls = []
        for name, m in mods:
            call = _call_variants(m, batch)
            if call is None:
                self.skipped.append(name)
            else:
                calls.append(call)
        return calls

    def step(self) -> None:
        with torch.no_grad():
            for call in self.frozen:
                call()
        losses = [_scalar(call()) for call in self.trained]
        loss = torch.stack([x for x in losses if x.requires_grad]).sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def _module_at(learner: Any, path: str) -> torch.nn.Module:
    """``learner.<path>`` with ``[i]`` indexing, e.g. ``q[1]``, ``q_low_target[0]``."""
    obj: Any = learner
    for part in path.replace("]", "").split("."):
        name, _, idx = part.partition("[")
        obj = getattr(obj, name)
        if idx:
            obj = obj[int(idx)]
    return obj


def algorithm_passes(name: str, learner: Any) -> list[tuple[str, str, bool]]:
    """``(module path, input, trained)`` of every network pass one update of ``name`` needs.

    Inputs: ``s`` observations, ``s'`` next observations, ``g`` goals, ``s,g`` observations with
    goals (goal-conditioned actor), ``s|s'|g`` the three stacked into one batch. See the module
    docstring's table; ``trained`` False = forward under ``no_grad``.
    """
    c = learner.config
    if name == "bc":
        return [("actor", "s", True)]
    if name in ("dqn", "cql"):
        out = [("q", "s", True), ("q_target", "s'", False)]
        if c.double:
            out.append(("q", "s'", False))
        if learner.actor is not None:
            out.append(("actor", "s", True))
        return out
    if name == "mc":
        return [("q", "s", True), ("actor", "s", True)]
    if name == "sharsa":
        out = []
        for q, v in (("q", "v"), ("q_low", "v_low")) if c.double else (("q", "v"),):
            for j in range(c.num_qs):
                out += [(f"{q}[{j}]", "s", True), (f"{q}_target[{j}]", "s", False)]
            out += [(v, "s", True), (v, "s'", False)]
        return [*out, ("actor", "s", True)]
    if name == "crl":
        out = [(f"phi[{e}]", "s", True) for e in range(c.num_critics)]
        if learner.goal_conditioned:
            out += [(f"psi[{e}]", "g", True) for e in range(c.num_critics)]
            return [*out, ("actor", "s,g", True)]
        return [*out, ("actor", "s", True)]
    if name == "qrl":
        out = [("z", "s|s'|g", True), ("actor", "s,g", True)]
        if learner.dynamics is not None:
            out.append(("dynamics", "s", True))
        return out
    raise ValueError(f"algorithm_passes: no pass list for learner {name!r}; add one")


class PassesLoop:
    """The bare loop of `algorithm_passes`: forward (+ backward) of each pass, one fused Adam."""

    def __init__(self, learner: Any, passes: list[tuple[str, str, bool]], batch: Any) -> None:
        obs, nxt, goals = batch.observations, batch.next_observations, batch.goals
        stacked = None
        if nxt is not None and goals is not None:
            stacked = {k: torch.cat([obs[k], nxt[k], goals[k]]) for k in obs}
        inputs = {
            "s": (obs,),
            "s'": (nxt,),
            "g": (goals,),
            "s,g": (obs, goals),
            "s|s'|g": (stacked,),
        }
        self.calls: list[tuple[Any, bool]] = []
        params: dict[int, torch.nn.Parameter] = {}
        for path, inp, trained in passes:
            m = _module_at(learner, path)
            args = inputs[inp]
            if any(a is None for a in args):
                raise ValueError(f"pass {path}({inp}): the batch lacks that input")
            self.calls.append((lambda m=m, args=args: m(*args), trained))
            if trained:
                params.update({id(p): p for p in m.parameters() if p.requires_grad})
        self.opt = optimizers.adam(list(params.values()), lr=1e-4)

    def step(self) -> None:
        losses = []
        for call, trained in self.calls:
            if trained:
                losses.append(_scalar(call()))
            else:
                with torch.no_grad():
                    call()
        loss = torch.stack([x for x in losses if x.requires_grad]).sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _wall_only(device: torch.device) -> bool:
    """Thread CPU time is the loop's cost only on CPU with one intra-op thread."""
    return device.type != "cpu" or torch.get_num_threads() != 1


def _timed(fn: Any, n: int, device: torch.device) -> tuple[float, float]:
    """``(calls/s of wall time, calls/s of this thread's CPU time)`` of ``n`` calls of ``fn``.

    With one torch thread on a CPU device every op runs on the calling thread, so its CPU time is
    the loop's cost whatever else shares the machine; on CUDA both entries are wall time.
    """
    _sync(device)
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(n):
        fn()
    _sync(device)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    if _wall_only(device):
        cpu = wall
    return n / wall, n / max(cpu, 1e-9)


def bench_one(
    name: str, preset: str, batch_size: int, device: torch.device, ds_path: pathlib.Path,
    size: int, rounds: int, updates: int, warmup: int,
) -> dict[str, Any]:  # fmt: skip
    ds = open_dataset(ds_path)
    torch.manual_seed(0)
    learner, config = make_learner(name, preset, ds.observation_spec, size, device)
    exp = tc.resolve(
        {"learner": {"name": name, **_fields(config)}, "env": {"screen_size": size,
         "minimap_size": size}}, name="bench",
    )  # fmt: skip
    scfg = parts.sampler_config_for(exp, LEARNERS[name])
    sampler = samplers.Sampler(ds, scfg, seed=0)
    mods = modules_of(learner)
    trainable = [(k, m) for k, m in mods if n_params(m) > 0]
    frozen = [(k, m) for k, m in mods if n_params(m) == 0 and n_params(m, trainable=False) > 0]
    main_name, main = max(trainable, key=lambda km: n_params(km[1]))
    batch = sampler.sample(batch_size).to(device)
    bare = BareLoop([(main_name, main)], [], batch)
    bare_all = BareLoop(trainable, frozen, batch)
    passes = algorithm_passes(name, learner)
    bare_passes = PassesLoop(learner, passes, batch)
    prefetcher = Prefetcher(sampler, batch_size, device, num_batches_ahead=4)
    try:
        for _ in range(warmup):
            learner.update(next(prefetcher))
            bare.step()
            bare_all.step()
            bare_passes.step()
        loops = {"bare": bare.step, "bare_all": bare_all.step, "bare_passes": bare_passes.step}
        rates: dict[str, list[tuple[float, float]]] = {k: [] for k in (*loops, "learner")}
        waited0, t_learn = prefetcher._waited, 0.0  # noqa: SLF001 - the prefetcher's own counter.
        for _ in range(rounds):
            for k, fn in loops.items():
                rates[k].append(_timed(fn, updates, device))
            t0 = time.perf_counter()
            rates["learner"].append(
                _timed(lambda: learner.update(next(prefetcher)), updates, device)
            )
            t_learn += time.perf_counter() - t0
        wait_frac = (prefetcher._waited - waited0) / max(t_learn, 1e-9)  # noqa: SLF001
    finally:
        prefetcher.close()

    def med(k: str, clock: int) -> float:
        return statistics.median(r[clock] for r in rates[k])

    def ratio(k: str, clock: int) -> float:  # Median of the per-round ratios.
        return statistics.median(
            lr[clock] / br[clock] for lr, br in zip(rates["learner"], rates[k], strict=True)
        )

    cpu = 1  # The headline clock: this thread's CPU time (wall time on CUDA, see _timed).
    ups = med("learner", cpu)
    return {
        "learner": name,
        "preset": preset,
        "batch_size": batch_size,
        "device": str(device),
        "resolution": size,
        "clock": "wall" if _wall_only(device) else "thread_cpu",
        "updates_per_s": ups,
        "samples_per_s": ups * batch_size,
        "bare_updates_per_s": med("bare", cpu),
        "ratio": ratio("bare", cpu),
        "ratio_rounds": [
            lr[cpu] / br[cpu] for lr, br in zip(rates["learner"], rates["bare"], strict=True)
        ],
        "bare_all_updates_per_s": med("bare_all", cpu),
        "ratio_all_networks": ratio("bare_all", cpu),
        "bare_passes_updates_per_s": med("bare_passes", cpu),
        "ratio_passes": ratio("bare_passes", cpu),
        "updates_per_s_wall": med("learner", 0),
        "ratio_wall": ratio("bare", 0),
        "ratio_all_networks_wall": ratio("bare_all", 0),
        "ratio_passes_wall": ratio("bare_passes", 0),
        "passes": [f"{p}({i}){'' if t else ' no-grad'}" for p, i, t in passes],
        "wait_frac": wait_frac,
        "bare_module": f"{main_name} ({type(main).__name__}, {n_params(main):,} params)",
        "trainable_modules": [k for k, _ in trainable],
        "frozen_modules": [k for k, _ in frozen],
        "bare_all_skipped": bare_all.skipped,
        "learner_params": sum(n_params(m) for _, m in trainable),
    }


def verdict(row: Mapping[str, Any]) -> str:
    """``ok`` (ratio >= target), ``extra networks`` (only its required passes miss it), else
    ``overhead``."""
    if row["ratio"] >= TARGET:
        return "ok"
    return "extra networks" if row["ratio_passes"] >= TARGET else "overhead"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 learners, 1 preset, batch 32 (~1 min)")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--dir", default="/tmp/sc2agents_bench_learner", help="dataset cache dir")
    ap.add_argument("--learners", default=None, help="comma list (default: all registered)")
    ap.add_argument("--presets", default=None, help="default fullyconv_lite,resnet_full")
    ap.add_argument("--batch_sizes", default=None, help="default 32,256")
    ap.add_argument("--devices", default=None, help="default cpu (+cuda when present)")
    ap.add_argument("--resolution", type=int, default=None, help="screen/minimap side (64)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--updates", type=int, default=None, help="updates per round and loop")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (0: torch's default). 1 by default: on a shared 2-core CPU "
        "extra threads spin and slow both loops ~10x; the ratio compares like with like anyway",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    quick = args.quick
    learners = (args.learners or ("bc,dqn" if quick else ",".join(sorted(LEARNERS)))).split(",")
    learners = [n for n in learners if n in LEARNERS] or sorted(LEARNERS)[:1]
    presets = (args.presets or ("fullyconv_lite" if quick else "fullyconv_lite,resnet_full")).split(
        ","
    )
    batch_sizes = [int(b) for b in (args.batch_sizes or ("32" if quick else "32,256")).split(",")]
    has_cuda = torch.cuda.is_available()
    devices = args.devices or ("cuda" if quick and has_cuda else "cpu,cuda" if has_cuda else "cpu")
    size = args.resolution or (32 if quick else 64)
    rounds = args.rounds or (3 if quick else 3)
    updates = args.updates or (4 if quick else 10)

    console = Console(stderr=True, width=160)
    t0 = time.perf_counter()
    ds_path = build_dataset(pathlib.Path(args.dir), size, 16 if quick else 48)
    console.print(f"dataset {ds_path} ready in {time.perf_counter() - t0:.0f} s")
    rows = []
    for device_name in devices.split(","):
        device = torch.device(device_name)
        for preset in presets:
            for bs in batch_sizes:
                for name in learners:
                    gpu = device.type == "cuda"
                    n_upd = updates * (5 if gpu else 1)
                    t = time.perf_counter()
                    row = bench_one(
                        name, preset, bs, device, ds_path, size, rounds, n_upd, warmup=2
                    )
                    row["wall_s"] = time.perf_counter() - t
                    rows.append(row)
                    console.print(
                        f"{name:7s} {preset:15s} b={bs:<4d} {device_name:5s} "
                        f"{row['updates_per_s']:8.2f} upd/s  bare {row['bare_updates_per_s']:8.2f}"
                        f"  ratio {row['ratio']:.2f} (all networks {row['ratio_all_networks']:.2f},"
                        f" passes {row['ratio_passes']:.2f}; wall {row['ratio_wall']:.2f}/"
                        f"{row['ratio_all_networks_wall']:.2f}/{row['ratio_passes_wall']:.2f})"
                        f"  wait {row['wait_frac']:.3f}"
                    )

    clock = rows[0]["clock"] if rows else "wall"
    table = Table(
        title=f"learner throughput ({size}x{size} layers, {clock} clock, target ratio >= {TARGET})"
    )
    for col in ("learner", "preset", "batch", "device", "upd/s", "samples/s", "bare upd/s",
                "ratio", "ratio all nets", "ratio passes", "wall: ratio/all/passes", "wait",
                "verdict"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["learner"], r["preset"], str(r["batch_size"]), r["device"],
            f"{r['updates_per_s']:.2f}", f"{r['samples_per_s']:.0f}",
            f"{r['bare_updates_per_s']:.2f}", f"{r['ratio']:.2f}",
            f"{r['ratio_all_networks']:.2f}", f"{r['ratio_passes']:.2f}",
            f"{r['ratio_wall']:.2f}/{r['ratio_all_networks_wall']:.2f}/{r['ratio_passes_wall']:.2f}",
            f"{r['wait_frac']:.3f}",
            verdict(r),
        )  # fmt: skip
    Console(width=160).print(table)
    below = sorted({r["learner"] for r in rows if r["ratio"] < TARGET})
    below_all = sorted({r["learner"] for r in rows if r["ratio_all_networks"] < TARGET})
    below_passes = sorted({r["learner"] for r in rows if r["ratio_passes"] < TARGET})
    limited = sorted(set(below) - set(below_passes))
    out = {
        "benchmark": "learner_throughput",
        "target_ratio": TARGET,
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
        "cuda": torch.cuda.get_device_name(0) if has_cuda else None,
        "learners_below_target": below,
        "learners_below_target_all_networks": below_all,
        "learners_limited_by_extra_networks": limited,
        "learners_below_target_passes": below_passes,
        "min_ratio": min(r["ratio"] for r in rows),
        "max_wait_frac": max(r["wait_frac"] for r in rows),
        "rows": rows,
    }
    print(
        f"ratio min {out['min_ratio']:.2f}; below {TARGET}: {below or 'none'}; "
        f"below {TARGET} against all their networks: {below_all or 'none'}; "
        f"limited by their extra networks (ratio_passes >= {TARGET}): {limited or 'none'}; "
        f"below {TARGET} against their algorithm's passes: {below_passes or 'none'}"
    )
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
