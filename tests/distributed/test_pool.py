"""The pool contract: LocalPool always; RayPool under the `ray` marker (2-CPU local Ray)."""

from __future__ import annotations

import os
import pathlib
import sys

import numpy as np
import pytest

from sc2agents.distributed import LocalPool, WorkerLost, make_pool


def _seeded_work(item: tuple[int, int]) -> float:
    """A deterministic function of the item's seed (what an evaluation game is)."""
    seed, n = item
    return float(np.random.default_rng(seed).normal(size=n).sum())


def _fails_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd item {x}")
    return x * 10


def _uses_broadcast(item: tuple[object, int]) -> float:
    handle, i = item
    weights = handle.get()
    return float(weights["w"][i])


def _dies_once(item: tuple[str, int]) -> tuple[int, int]:
    """Kills its own process the first time it sees a given marker path (a crashed game)."""
    marker, x = item
    if x == 3 and not os.path.exists(marker):
        pathlib.Path(marker).write_text("died")
        os._exit(1)
    return x, os.getpid()


def _always_dies(x: int) -> int:
    if x == 1:
        os._exit(1)
    return x


def test_make_pool_zero_is_local_and_never_imports_ray():
    before = "ray" in sys.modules
    pool = make_pool(0)
    assert isinstance(pool, LocalPool)
    assert pool.num_workers == 0
    if not before:
        assert "ray" not in sys.modules
    with pytest.raises(ValueError, match="num_workers"):
        make_pool(-1)


def test_local_pool_yields_every_item_and_exceptions_in_place():
    pool = make_pool(0)
    out = dict(pool.map_unordered(_fails_on_odd, range(6)))
    assert sorted(out) == list(range(6))
    assert [out[i] for i in (0, 2, 4)] == [0, 20, 40]
    for i in (1, 3, 5):
        assert isinstance(out[i], ValueError) and f"odd item {i}" in str(out[i])


def test_local_pool_retry_on_reruns_then_reports():
    calls = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("game lost")
        return x

    assert list(make_pool(0).map_unordered(flaky, [7], retry_on=(ConnectionError,))) == [(7, 7)]

    def broken(x: int) -> int:
        raise ConnectionError("game lost")

    ((item, err),) = make_pool(0).map_unordered(broken, [1], retries=2, retry_on=(ConnectionError,))
    assert isinstance(err, ConnectionError)


def test_local_broadcast_round_trip():
    pool = make_pool(0)
    h = pool.broadcast({"w": np.arange(5.0)})
    out = dict(pool.map_unordered(_uses_broadcast, [(h, i) for i in range(5)]))
    assert sorted(out.values()) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_pool_evaluate_and_play_verbs():
    from sc2agents.acting.self_play import MatchSpec, ScoreMatch
    from tests.acting import fakes

    pool = make_pool(0)
    report = pool.evaluate(fakes.OraclePolicy(), fakes.ENV_ID, games=2)
    assert report.summary["minigame"]["score_mean"] == fakes.STEPS
    oracle, half = pool.broadcast(fakes.OraclePolicy()), pool.broadcast(fakes.HalfOraclePolicy())
    specs = [MatchSpec(i, "o", "h", oracle, half, i, ScoreMatch(fakes.ENV_ID)) for i in range(3)]
    out = dict(pool.play(specs))
    assert sorted(s.match_id for s in out) == [0, 1, 2]
    assert all(r.outcome == 1 for r in out.values())


@pytest.fixture(scope="module")
def ray_pool():
    ray = pytest.importorskip("ray")
    owned = not ray.is_initialized()
    pool = make_pool(2)
    yield pool
    pool.close()
    if owned:  # the pool started the local Ray instance, so closing it shuts Ray down
        assert not ray.is_initialized()


@pytest.mark.ray
def test_ray_and_local_pools_agree_for_fixed_seeds(ray_pool):
    items = [(seed, 100) for seed in range(12)]
    local = dict(make_pool(0).map_unordered(_seeded_work, items))
    remote = dict(ray_pool.map_unordered(_seeded_work, items, desc="ray"))
    assert remote == local
    errs = dict(ray_pool.map_unordered(_fails_on_odd, range(4)))
    assert errs[2] == 20 and isinstance(errs[3], ValueError)
    h = ray_pool.broadcast({"w": np.arange(5.0)})
    out = dict(ray_pool.map_unordered(_uses_broadcast, [(h, i) for i in range(5)]))
    assert sorted(out.values()) == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.ray
def test_ray_pool_survives_a_killed_worker(ray_pool, tmp_path):
    pids_before = set(ray_pool.worker_pids())
    marker = str(tmp_path / "died")
    out = dict(ray_pool.map_unordered(_dies_once, [(marker, x) for x in range(6)]))
    # Every item came back exactly once, finished (the dead one was rerun on a fresh worker).
    assert sorted(k[1] for k in out) == list(range(6))
    assert all(not isinstance(v, BaseException) for v in out.values())
    assert pathlib.Path(marker).exists()
    assert ray_pool.replacements >= 1
    pids_after = set(ray_pool.worker_pids())
    assert pids_after != pids_before and len(pids_after) == 2
    # An item that kills every worker it touches is reported, not retried forever.
    res = dict(ray_pool.map_unordered(_always_dies, [0, 1, 2], retries=1))
    assert res[0] == 0 and res[2] == 2
    assert isinstance(res[1], WorkerLost)


# -- evaluation and league on the Ray pool (same module: one Ray start-up for all) ------------


def _strip(d):
    return {k: v for k, v in d.items() if not k.startswith(("wall_s", "cpu_s"))}


@pytest.mark.ray
def test_evaluator_on_ray_matches_in_process(ray_pool, tmp_path):
    from sc2agents.acting.evaluator import Evaluator
    from tests.acting import fakes

    kw = dict(opponents=[None], games=6, seed=4)
    policy = "random@eps=1.0"
    local = Evaluator(fakes.ENV_ID, **kw).evaluate(policy, desc=None)
    remote = Evaluator(fakes.ENV_ID, pool=ray_pool, **kw).evaluate(policy, desc=None)
    assert _strip(remote.summary["minigame"]) == _strip(local.summary["minigame"])
    assert [(g.seed, g.score, g.length) for g in remote.games] == [
        (g.seed, g.score, g.length) for g in local.games
    ]
    # A game whose process dies is rerun on a fresh worker and counted once.
    marker = tmp_path / "crashed"
    crash = Evaluator(
        fakes.ENV_ID, games=3, pool=ray_pool, env_kwargs={"crash_marker": str(marker)}
    ).evaluate(fakes.OraclePolicy(), desc=None)
    assert marker.exists() and crash.summary["minigame"]["games"] == 3 and not crash.errors


@pytest.mark.ray
def test_league_matches_on_ray_equal_in_process(ray_pool, tmp_path):
    from sc2agents.acting.league import LeagueStore, Member
    from sc2agents.acting.self_play import ScoreMatch, SelfPlayRunner
    from tests.acting import fakes

    members = [
        Member("oracle", "py:tests.acting.fakes:OraclePolicy", fixed=True),
        Member("eps", "py:tests.acting.fakes:OraclePolicy@eps=0.5"),
        Member("rnd", "random"),
    ]
    results = {}
    for name, pool in (("local", None), ("ray", ray_pool)):
        runner = SelfPlayRunner(
            LeagueStore(tmp_path / name), ScoreMatch(fakes.ENV_ID, games=2), members=members,
            pool=pool, seed=5, matches_per_round=8,
        )  # fmt: skip
        runner.run(8)  # one round: same pairings and seeds; results arrive in any order
        results[name] = sorted(
            (m.match_id, m.a, m.b, m.outcome, m.score_a, m.score_b) for m in runner.store.matches()
        )
        runner.store.close()
    assert results["ray"] == results["local"] and len(results["local"]) == 8


@pytest.mark.ray
@pytest.mark.slow  # a second Ray instance and two interpreters: ~30 s on 2 shared cores
def test_make_pool_joins_an_existing_cluster():
    import subprocess

    from tests.conftest import REPO

    # A throwaway loopback cluster: no auth token to hand over (real clusters: RAY_AUTH_TOKEN).
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled"}  # fmt: skip
    head = subprocess.Popen(
        [sys.executable, "-c",
         "import ray, time; ray.init(num_cpus=2, include_dashboard=False); "
         "print(ray.get_runtime_context().gcs_address, flush=True); time.sleep(300)"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        address = head.stdout.readline().strip()
        assert address, "the head process did not start Ray"
        code = (
            "from sc2agents.distributed import make_pool\n"
            f"pool = make_pool(2, ray_address={address!r})\n"
            "assert not pool._owns_ray\n"
            "print(sorted(r for _, r in pool.map_unordered(abs, [-1, -2, -3])))\n"
            "pool.close()\n"
            "import ray; assert ray.is_initialized()  # joined, so not shut down by close\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=240)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert "[1, 2, 3]" in out.stdout
    finally:
        head.terminate()
        head.wait(timeout=60)
