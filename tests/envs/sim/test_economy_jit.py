"""The numba kernels of the economy, the bots and the fog give the numpy reference's state.

`economy_jit` (available_hook, workers), `bots_jit` (the bot's census) and
`dynamics_jit.visibility_kernel` (fog of war) each replace numpy code that stays the reference
behind ``SC2AGENTS_SIM_JIT=0`` / `dynamics.set_jit`. Here whole games are played on both paths
and the whole state (economy extras included), the available actions and the rewards are
compared after *every* step, in situations chosen to reach every branch: bots of several levels
that build, refine gas, train and fight; random agents whose commands cancel jobs (refunds),
send workers anywhere and start constructions; nearly empty mineral fields (depletion, bouncing,
lost jobs); a mid-game kill of a Command Center (workers without a base). Each kernel is also
checked alone on random states.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.sim_throughput import random_actions
from sc2agents.envs.sim import bots, dynamics, dynamics_jit, economy, units
from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim.engine import SimEngine

needs_numba = pytest.mark.skipif(not dynamics_jit.AVAILABLE, reason="numba is not installed")


def _snapshot(eng: SimEngine) -> dict[str, np.ndarray]:
    st = eng.state
    out = {
        f.name: getattr(st, f.name).copy()
        for f in dataclasses.fields(st)
        if isinstance(getattr(st, f.name), np.ndarray)
    }
    out.update({f"extra[{k}]": v.copy() for k, v in st.extra.items()})
    for p in range(st.num_players):
        out[f"available[{p}]"] = eng.available_mask(p).copy()
    return out


def _play(
    jit: bool,
    map_name: str,
    steps: int,
    games: int,
    bot_levels: list,
    agents: int,
    seed: int,
    poke=None,
) -> list[dict[str, np.ndarray]]:
    """Play ``steps`` steps (random agents, then bots); snapshot after each one."""
    dynamics.set_jit(jit)
    eng = SimEngine(map_name, games, seed=seed, num_players=agents, bots=bot_levels)
    rng = np.random.default_rng(seed)
    eng.reset()
    snaps = []
    for t in range(steps):
        if poke is not None:
            poke(eng, t)
        fns, argss = [], []
        for p in range(agents):
            a = random_actions(rng, eng.available_mask(p))
            fns.append(a["function"])
            argss.append(a["args"])
        fn = np.array(fns, np.int64).reshape(agents, games)
        args = np.array(argss, np.int64).reshape(agents, games, 13)
        res = eng.step_encoded(fn, args)
        done = res.terminated | res.truncated
        snap = _snapshot(eng)
        snap["reward"] = res.reward.copy()
        snap["done"] = done
        snaps.append(snap)
        if done.any():
            eng.reset(np.flatnonzero(done))
    return snaps


def _assert_same_every_step(a, b) -> None:
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        diff = [k for k in x if not np.array_equal(x[k], y[k])]
        assert not diff, f"numba and numpy paths differ at step {t} in {diff}"


def _compare(*args, **kw) -> list[dict[str, np.ndarray]]:
    ref = _play(False, *args, **kw)
    _assert_same_every_step(ref, _play(True, *args, **kw))
    return ref


def _scarce_minerals(eng: SimEngine, t: int) -> None:
    """Leave 7-12 minerals in every field at the start: fields empty after one or two trips."""
    if t == 0:
        st = eng.state
        field = st.alive & (st.type_idx == units.type_index(B.MINERAL))
        st.extra["resource"][field] = 7.0 + (np.arange(field.sum()) % 6)


def _kill_a_base(eng: SimEngine, t: int) -> None:
    """Mid-way, destroy player 1's Command Center in game 0 (its miners lose their drop-off)
    and every building of player 2 in game 1 (the game ends: melee reward, reset)."""
    if t == 40:
        st = eng.state
        cc = st.alive[0] & (st.type_idx[0] == units.type_index(B.COMMAND_CENTER))
        st.health[0, cc & (st.owner[0] == 1)] = -1.0
        struct = st.alive[1] & units.TABLE.structure[st.type_idx[1]] & (st.owner[1] == 2)
        st.health[1, struct] = -1.0


@needs_numba
def test_bots_building_and_fighting_match_numpy(path):
    """Two bots that build depots, barracks, a refinery, train and attack: every step equal."""
    snaps = _compare("Simple64", 560, 3, ["hard", "medium_hard"], 0, 5)
    seen = set()
    for s in snaps:
        seen.update(int(t) for t in np.unique(s["type_idx"][s["alive"]]))
    for raw in (B.SUPPLY_DEPOT, B.BARRACKS, B.REFINERY, B.MARINE, B.MARAUDER):
        assert units.type_index(raw) in seen, f"the games never had a {raw}"
    assert (snaps[-1]["extra[collected]"][..., 1] > 0).any(), "nobody mined gas"
    assert any(s["extra[job]"].max() == 3 for s in snaps), "nobody built"


@needs_numba
def test_random_agent_against_a_bot_matches_numpy(path):
    """Random commands cancel jobs (refunds), send workers anywhere, place buildings."""
    snaps = _compare("Simple64", 150, 6, ["cheat_insane"], 1, 2)
    assert any((s["extra[building]"]).any() for s in snaps)


@needs_numba
def test_depleted_fields_and_lost_bases_match_numpy(path):
    """Fields that run out (footprint freed, workers bounce or go idle), a base that dies."""

    def poke(eng, t):
        _scarce_minerals(eng, t)
        _kill_a_base(eng, t)

    snaps = _compare("Simple64", 120, 3, ["very_hard"], 1, 4, poke=poke)
    mineral = units.type_index(B.MINERAL)
    first, last = snaps[0], snaps[-1]
    gone = (first["type_idx"] == mineral) & first["alive"] & ~last["alive"]
    assert gone.any(), "no mineral field ran out"
    assert any(s["done"][1] and s["reward"][0, 1] == 1 for s in snaps), "game 1 did not end"


@needs_numba
@pytest.mark.parametrize("name", ["CollectMineralsAndGas", "BuildMarines"])
def test_economy_minigames_with_the_scripted_bot_match_numpy(path, name):
    snaps = _compare(name, 160, 3, [bots.ECONOMY_PROFILES[name]], 0, 1)
    assert snaps[-1]["extra[collected]"].sum() > 0


# ---------------------------------------------------------------- each kernel alone


def _random_melee_state(seed: int, games: int = 6) -> SimEngine:
    """A melee engine after a few bot steps, then shuffled: random positions (edges included),
    owners, orders, selections and unfinished buildings."""
    eng = SimEngine("Simple64", games, seed=seed, num_players=0, bots=["hard", "hard"])
    eng.reset()
    for _ in range(30):
        eng.step_encoded(np.zeros((0, games), np.int64), np.zeros((0, games, 13), np.int64))
    st = eng.state
    rng = np.random.default_rng(seed)
    live = st.alive & (st.owner != 16)
    st.pos[live] = rng.uniform(-0.5, 64.5, (int(live.sum()), 2)).astype(np.float32)
    st.owner[live] = rng.integers(1, 3, int(live.sum()))
    st.order[live] = rng.integers(0, 7, int(live.sum()))
    st.selected[:] = rng.random(st.selected.shape) < 0.3
    st.extra["building"][live] = rng.random(int(live.sum())) < 0.2
    st.alive[live] = rng.random(int(live.sum())) < 0.9
    return eng


@needs_numba
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_visibility_kernel_matches_numpy(path, seed):
    eng = _random_melee_state(seed)
    assert dynamics._row_tables(eng._sight) is not None, "the kernel would not run"
    st = eng.state
    rng = np.random.default_rng(seed)
    st.visibility[:] = rng.integers(0, 3, st.visibility.shape)
    out = []
    for jit in (False, True):
        dynamics.set_jit(jit)
        vis = st.visibility.copy()
        s2 = dataclasses.replace(st, visibility=vis)
        for p in range(st.num_players):
            dynamics.update_visibility(s2, p, eng._sight)
        out.append(vis)
    np.testing.assert_array_equal(out[0], out[1])
    assert (out[0] == 2).any() and (out[0] == 1).any()


@needs_numba
@pytest.mark.parametrize("map_size", [(40, 30), (64, 64), (96, 72)])
def test_visibility_kernel_on_other_map_sizes(path, map_size):
    """Narrow maps use one bit mask per row, maps wider than 64 cells stamp cell by cell."""
    from sc2agents.envs.sim.state import SimState

    rng = np.random.default_rng(sum(map_size))
    st = SimState.allocate(4, 40, 2, map_size)
    seeing = np.flatnonzero(units.TABLE.sight > 0)
    raw = units.TABLE.raw_id[rng.choice(seeing, (4, 40))]
    w, h = map_size
    pos = rng.uniform(-1, 1, (4, 40, 2)) * 2 + rng.uniform(0, 1, (4, 40, 2)) * (w, h)
    st.spawn(np.arange(4), raw, rng.integers(1, 3, (4, 40)), pos.astype(np.float32))
    st.alive &= rng.random(st.alive.shape) < 0.7
    st.visibility[:] = rng.integers(0, 3, st.visibility.shape)
    sight = [SimEngine._sight_stencil(r) for r in units.TABLE.sight]
    out = []
    for jit in (False, True):
        dynamics.set_jit(jit)
        s2 = dataclasses.replace(st, visibility=st.visibility.copy())
        for p in range(2):
            dynamics.update_visibility(s2, p, sight)
        out.append(s2.visibility)
    np.testing.assert_array_equal(out[0], out[1])
    assert (out[0] == 2).any() and (out[0] < 2).any()


def test_stencils_that_are_not_centred_runs_keep_the_numpy_path():
    stencils = [(np.array([0, 0]), np.array([0, 2]))] * units.TABLE.sight.size
    assert dynamics._row_tables(stencils) is None


@needs_numba
@pytest.mark.parametrize("seed", [0, 1])
def test_available_hook_kernel_matches_numpy(path, seed):
    eng = _random_melee_state(seed)
    for p in range(2):
        masks = []
        for jit in (False, True):
            dynamics.set_jit(jit)
            m = np.zeros((eng.num_envs, 573), bool)
            eng.scenario.available_hook(eng, p, m)
            masks.append(m)
        np.testing.assert_array_equal(masks[0], masks[1])
        assert masks[0].any()


@needs_numba
@pytest.mark.parametrize("level", ["medium", "cheat_vision"])
def test_bot_census_matches_numpy(path, level):
    """The bot's decisions (functions and arguments) on shuffled states, both paths."""
    out = []
    for jit in (False, True):
        eng = _random_melee_state(3)
        dynamics.set_jit(jit)
        b = bots.Bots(eng, [bots.bot_params(level)] * 2, [0, 1])
        b.reset(np.arange(eng.num_envs))
        acts = [b.act(eng) for _ in range(3)]
        out.append((acts, b.threat_steps.copy(), b.attacking.copy()))
    for (fa, aa), (fb, ab) in zip(out[0][0], out[1][0], strict=True):
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(aa, ab)
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][2], out[1][2])


@needs_numba
def test_place_ok_kernel_matches_numpy(path):
    """Footprints of every size, on and off the map, on resources, buildings and free ground."""
    eng = _random_melee_state(4)
    st = eng.state
    rng = np.random.default_rng(4)
    m = 400
    e = rng.integers(0, eng.num_envs, m)
    centre = rng.uniform(-3, 67, (m, 2)).astype(np.float32)
    size = rng.integers(1, 6, m)
    out = []
    for jit in (False, True):
        dynamics.set_jit(jit)
        out.append(economy.place_ok(st, eng.scenario.buildable, e, centre, size))
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0].any() and not out[0].all()


@needs_numba
@pytest.mark.parametrize("seed", [5, 6])
def test_select_idle_and_return_cargo_kernels_match_numpy(path, seed):
    """``select_idle_worker`` (every ``select_worker`` value) and ``Harvest_Return_quick``."""
    base = _random_melee_state(seed)
    rng = np.random.default_rng(seed)
    st0 = base.state
    workers = st0.alive & units.TABLE.worker[st0.type_idx]
    st0.extra["cargo"][workers] = np.where(rng.random(int(workers.sum())) < 0.5, 5.0, 0.0)
    st0.extra["cargo_gas"][workers] = rng.random(int(workers.sum())) < 0.3
    st0.extra["job"][workers] = rng.integers(0, 4, int(workers.sum()))
    envs = np.sort(rng.choice(base.num_envs, 4, replace=False))
    act = rng.integers(0, 4, envs.size)
    out = []
    for jit in (False, True):
        dynamics.set_jit(jit)
        st = st0.copy()
        for p in range(2):
            base.scenario._select_idle(st, p, envs, act)
            base.scenario._return_cargo(st, p, envs[::2])
        out.append(st)
    a, b = out
    np.testing.assert_array_equal(a.selected, b.selected)
    np.testing.assert_array_equal(a.order, b.order)
    for k in ("job", "job_tgt", "phase", "held"):
        np.testing.assert_array_equal(a.extra[k], b.extra[k], err_msg=k)
    assert not np.array_equal(a.selected, st0.selected), "nothing was selected"
    assert not np.array_equal(a.extra["phase"], st0.extra["phase"]), "nobody returned cargo"


def _crowded_sites(jit: bool):
    """Seven SCVs of two games reach their sites in one sub-step: overlapping depots, a barracks
    without a finished depot, two refineries on one geyser, a site on the minerals."""
    dynamics.set_jit(jit)
    eng = SimEngine("Simple64", 2, seed=0, num_players=2)
    eng.reset()
    st = eng.state
    X = st.extra
    sc = eng.scenario
    T = units.type_index
    scv = np.flatnonzero(st.alive[0] & (st.type_idx[0] == T(B.SCV)) & (st.owner[0] == 1))
    geyser = np.flatnonzero(st.alive[0] & (st.type_idx[0] == T(B.GEYSER)))[0]
    mineral = np.flatnonzero(st.alive[0] & (st.type_idx[0] == T(B.MINERAL)))[0]
    sites = [
        (B.SUPPLY_DEPOT, (22.0, 24.0)),
        (B.SUPPLY_DEPOT, (23.0, 24.0)),  # overlaps the first: fails
        (B.BARRACKS, (26.5, 20.5)),  # no finished depot: fails
        (B.REFINERY, tuple(st.pos[0, geyser])),
        (B.REFINERY, tuple(st.pos[0, geyser])),  # same geyser: fails
        (B.SUPPLY_DEPOT, tuple(np.round(st.pos[0, mineral]))),  # on the minerals: fails
        (B.SUPPLY_DEPOT, (22.0, 28.0)),
    ]
    e = np.zeros(len(sites), np.int64)
    u = scv[: len(sites)]
    for (raw, xy), w in zip(sites, u, strict=True):
        X["job"][0, w] = 3
        X["phase"][0, w] = 5
        X["job_type"][0, w] = T(raw) + 1
        X["job_pos"][0, w] = xy
    # game 1: the same first two sites
    e = np.r_[e, 1, 1]
    u = np.r_[u, scv[:2]]
    for w, (raw, xy) in zip(scv[:2], sites[:2], strict=True):
        X["job"][1, w] = 3
        X["phase"][1, w] = 5
        X["job_type"][1, w] = T(raw) + 1
        X["job_pos"][1, w] = xy
    new_phase = np.full(e.size, 5, np.int8)
    sc._start_construction(st, e, u, st.owner[e, u], new_phase, np.ones(e.size, bool))
    return st, new_phase


@needs_numba
def test_construction_starts_match_numpy_on_crowded_sites(path):
    (a, pa), (b, pb) = _crowded_sites(False), _crowded_sites(True)
    np.testing.assert_array_equal(pa, pb)
    for f in dataclasses.fields(a):
        va = getattr(a, f.name)
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, getattr(b, f.name), err_msg=f.name)
    for k in a.extra:
        np.testing.assert_array_equal(a.extra[k], b.extra[k], err_msg=k)
    # sites 0, 3 and 6 of game 0 and site 0 of game 1 start; the others fail
    assert pa.tolist() == [6, 0, 0, 6, 0, 0, 6, 6, 0]
    assert a.extra["building"].sum() == 4
