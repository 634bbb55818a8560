"""Mechanics of the simulator: poke the state, step, check against SC2's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs.sim import units
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.state import Order
from tests.envs.sim.helpers import F, arena, noop, place

MARINE = int(sc2_units.Terran.Marine)
MARAUDER = int(sc2_units.Terran.Marauder)
ZERGLING = int(sc2_units.Zerg.Zergling)
BANELING = int(sc2_units.Zerg.Baneling)
ROACH = int(sc2_units.Zerg.Roach)
ZEALOT = int(sc2_units.Protoss.Zealot)


def _shots(eng, target: int, loops: int) -> list[tuple[int, float]]:
    """(game loop, damage) of every hit ``target`` takes, stepping one loop at a time."""
    st = eng.state
    hits = []
    last = st.health[0, target] + st.shield[0, target]
    for _ in range(loops):
        noop(eng)
        now = st.health[0, target] + st.shield[0, target] if st.alive[0, target] else 0.0
        if now < last:
            hits.append((int(st.game_loop[0]), float(last - now)))
        last = now
        if not st.alive[0, target]:
            break
    return hits


def _hold(eng, slot: int) -> None:
    eng.state.order[0, slot] = Order.HOLD


def test_unit_table_conversions():
    m = units.BY_NAME["Marine"]
    # Liquipedia: cooldown 0.61 s and speed 3.15 at "faster" (22.4 loops per real second).
    assert m.cooldown_loops == pytest.approx(0.61 * 22.4, abs=0.15)
    assert m.speed_per_loop == pytest.approx(3.15 / 22.4, rel=1e-3)
    assert units.BY_NAME["Zergling"].cooldown_loops == pytest.approx(0.497 * 22.4, abs=0.1)
    assert units.BY_NAME["Roach"].cooldown_loops == pytest.approx(1.43 * 22.4, abs=0.2)
    b = units.BY_NAME["Baneling"]
    assert (b.damage, b.bonus, b.splash, b.suicide) == (16, 19, 2.2, True)
    assert units.type_index(units.BEACON) >= 0 and units.type_index(units.MINERAL_SHARD) >= 0
    with pytest.raises(KeyError, match="not in"):
        units.type_index(99999)


def test_marine_kills_zergling_in_ceil_35_over_6_shots_at_its_cooldown():
    eng = arena()
    place(eng, MARINE, 1, (30.0, 32.0))
    z = place(eng, ZERGLING, 2, (33.0, 32.0))
    _hold(eng, z)  # the zergling stays put (out of its melee range) and never hits back
    hits = _shots(eng, z, 200)
    assert len(hits) == math.ceil(35 / 6) == 6
    assert [d for _, d in hits[:-1]] == [6.0] * 5
    assert not eng.state.alive[0, z]
    gaps = np.diff([t for t, _ in hits])
    period = units.BY_NAME["Marine"].cooldown_loops
    assert np.all(np.abs(gaps - period) <= 1.0), gaps


def test_armor_reduces_damage_and_bonus_applies():
    eng = arena()
    place(eng, MARINE, 1, (29.0, 32.0))
    r = place(eng, ROACH, 2, (33.0, 32.0))
    _hold(eng, r)
    eng.state.health[0, r] = 1000.0  # keep it alive; the roach (range 4) cannot reach
    hits = _shots(eng, r, 40)
    assert hits and all(d == 5.0 for _, d in hits)  # 6 - armor 1

    eng = arena()
    place(eng, MARAUDER, 1, (28.0, 32.0))
    r = place(eng, ROACH, 2, (33.5, 32.0))
    _hold(eng, r)
    hits = _shots(eng, r, 40)
    assert hits[0][1] == 19.0  # 10 + 10 vs armored - 1 armor


def test_shields_absorb_first_without_armor():
    eng = arena()
    place(eng, MARINE, 1, (28.0, 32.0))
    z = place(eng, ZEALOT, 2, (32.0, 32.0))
    _hold(eng, z)
    st = eng.state
    noop(eng)
    assert st.shield[0, z] == 44.0 and st.health[0, z] == 100.0
    st.shield[0, z] = 0.0
    st.cooldown[0, 0] = 0.0
    noop(eng)
    assert st.health[0, z] == 95.0  # 6 - 1 armor once the shields are gone


def test_baneling_splash_hits_inside_radius_only_and_dies():
    eng = arena()
    st = eng.state
    near = [place(eng, MARINE, 1, xy) for xy in [(31.0, 32.0), (30.0, 33.0), (31.0, 30.6)]]
    far = place(eng, MARINE, 1, (26.0, 32.0))
    for s in [*near, far]:
        _hold(eng, s)
        st.cooldown[0, s] = 100.0  # the marines do not shoot in this test
    ally = place(eng, ZERGLING, 2, (33.2, 33.0))
    _hold(eng, ally)
    bane = place(eng, BANELING, 2, (31.9, 32.0))  # edge distance 0.15 < range 0.25
    noop(eng)
    assert not st.alive[0, bane]
    inside = [s for s in near if np.linalg.norm(st.pos[0, s] - [31.9, 32.0]) - 0.375 <= 2.2]
    assert len(inside) == 3
    for s in inside:
        assert st.health[0, s] == 45 - (16 + 19)  # +19 vs light
    assert st.health[0, far] == 45
    assert st.health[0, ally] == 35  # no friendly splash


def test_overkill_shots_are_not_fired_and_marines_retarget():
    eng = arena()
    st = eng.state
    ms = [place(eng, MARINE, 1, (27.0, 26.0 + 1.0 * i)) for i in range(10)]
    for s in ms:
        _hold(eng, s)
    a = place(eng, ZERGLING, 2, (30.5, 30.5))
    b = place(eng, ZERGLING, 2, (31.5, 31.0))
    for z in (a, b):
        _hold(eng, z)
    noop(eng)
    fired = st.cooldown[0, ms] > 0
    assert not st.alive[0, a] or not st.alive[0, b]
    other = b if not st.alive[0, a] else a
    # Exactly 6 shots went to the dead one (ceil(35/6)); every other fired shot hit the other.
    on_other = 35 - st.health[0, other]
    assert 6 * fired.sum() == 6 * 6 + on_other
    assert fired.sum() < 10  # shots that would only overkill were held back...
    noop(eng)
    held = ~fired
    assert (st.cooldown[0, np.array(ms)[held]] > 0).any()  # ...and fired at the next target
    assert st.health[0, other] < 35 - on_other or not st.alive[0, other]


def test_move_speed_and_arrival():
    eng = arena()
    m = place(eng, MARINE, 1, (24.0, 32.0))
    st = eng.state
    st.order[0, m] = Order.MOVE
    st.target_pos[0, m] = (40.0, 32.0)
    noop(eng, 16)  # one game second at "normal": 2.25 cells
    assert st.pos[0, m, 0] - 24.0 == pytest.approx(2.25, abs=1e-3)
    noop(eng, 200)
    assert np.allclose(st.pos[0, m], (40.0, 32.0), atol=1e-3)
    assert st.order[0, m] == Order.IDLE


def test_units_separate_and_do_not_overlap():
    eng = arena(step_mul=8)
    st = eng.state
    ms = [place(eng, MARINE, 1, (26.0 + 0.1 * i, 30.0 + 0.5 * i)) for i in range(6)]
    for s in ms:
        st.order[0, s] = Order.MOVE
        st.target_pos[0, s] = (36.0, 32.0)
    noop(eng, 30)
    p = st.pos[0, ms]
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(len(ms)) * 9
    assert d.min() > 0.6  # radii 0.375 each: they went around / pushed each other
    assert np.linalg.norm(p.mean(0) - (36.0, 32.0)) < 2.0


def test_moving_unit_goes_around_a_unit_holding_position():
    eng = arena(step_mul=2)
    st = eng.state
    m = place(eng, MARINE, 1, (24.0, 32.0))
    block = place(eng, MARINE, 1, (28.0, 32.0))
    _hold(eng, block)
    st.order[0, m] = Order.MOVE
    st.target_pos[0, m] = (34.0, 32.0)
    closest = 9.0
    for _ in range(60):
        noop(eng)
        closest = min(closest, float(np.linalg.norm(st.pos[0, m] - st.pos[0, block])))
    assert np.linalg.norm(st.pos[0, m] - (34.0, 32.0)) < 0.5
    assert closest > 0.6
    assert np.linalg.norm(st.pos[0, block] - (28.0, 32.0)) < 0.5


def test_idle_enemy_waits_until_attacked_then_fights():
    eng = arena(step_mul=8)
    st = eng.state
    r = place(eng, ROACH, 2, (40.0, 32.0))
    m = place(eng, MARINE, 1, (24.0, 32.0))
    noop(eng, 10)
    assert np.allclose(st.pos[0, r], (40.0, 32.0))  # nothing in range: idle
    # The marine walks to 5.5 cells (in its range 5, outside the roach's 4) and attacks.
    st.order[0, m] = Order.ATTACK_UNIT
    st.target_unit[0, m] = r
    for _ in range(30):
        noop(eng)
        if st.health[0, r] < 145:
            break
    assert st.health[0, r] < 145 and st.aggro[0, r]  # provoked
    noop(eng, 30)
    assert st.pos[0, r, 0] < 39.5  # it closed in to its range 4 (the marine shoots from 5)
    assert st.health[0, m] < 45 or not st.alive[0, m]


def test_attack_move_engages_enemies_on_the_way():
    eng = arena(step_mul=8)
    st = eng.state
    m = place(eng, MARINE, 1, (22.0, 32.0))
    z = place(eng, ZERGLING, 2, (30.0, 32.5))
    _hold(eng, z)
    st.order[0, m] = Order.ATTACK_MOVE
    st.target_pos[0, m] = (42.0, 32.0)
    noop(eng, 40)
    assert not st.alive[0, z]
    assert st.pos[0, m, 0] > 30.0  # then it went on


def test_beacon_respawns_when_reached_and_rewards_one():
    eng = SimEngine("MoveToBeacon", 3, seed=1)
    eng.reset()
    st = eng.state
    st.pos[1, 0] = st.pos[1, 1]  # put game 1's marine on its beacon
    res = eng.step([[F.no_op()] * 3])
    assert res.reward.tolist() == [[0.0, 1.0, 0.0]]
    assert np.linalg.norm(st.pos[1, 1] - st.pos[1, 0]) >= 5.0
    assert eng.observe()["score_cumulative"][1, 0] == 1


def test_episode_ends_exactly_at_the_time_limit():
    eng = SimEngine("MoveToBeacon", 2, seed=0)
    eng.reset()
    assert eng.time_limit_loops == 120 * 16
    for t in range(240):
        res = eng.step([[F.no_op()] * 2])
        assert res.truncated.all() == (t == 239)
        assert not res.terminated.any()
    assert (eng.state.game_loop == 1920).all()
    short = SimEngine("MoveToBeacon", 1, seed=0, game_steps_per_episode=80)
    short.reset()
    assert [short.step([[F.no_op()]]).truncated[0] for _ in range(10)][-1]


def test_defeat_roaches_wave_rule():
    eng = SimEngine("DefeatRoaches", 2, seed=3)
    eng.reset()
    st = eng.state
    marines = np.flatnonzero(st.alive[0] & (st.owner[0] == 1))
    roaches = np.flatnonzero(st.alive[0] & (st.owner[0] == 2))
    assert marines.size == 9 and roaches.size == 4
    assert st.selected[0, 0, marines].all()  # preselected
    st.health[0, marines[0]] = 20.0
    st.health[0, roaches] = 0.0  # all four die this step
    res = eng.step([[F.no_op()] * 2])
    assert res.reward[0, 0] == 40.0
    own = np.flatnonzero(st.alive[0] & (st.owner[0] == 1))
    foe = np.flatnonzero(st.alive[0] & (st.owner[0] == 2))
    assert own.size == 14 and foe.size == 4
    assert st.health[0, marines[0]] == 20.0  # survivors keep their health
    xs_own, xs_foe = st.pos[0, own, 0], st.pos[0, foe, 0]
    assert (xs_own < 32).all() != (xs_foe < 32).all()  # opposite sides
    assert (xs_own < 32).all() or (xs_own > 32).all()
    # Marines killed: -1 each; all dead ends the game.
    st.health[1, st.owner[1] == 1] = 0.0
    res = eng.step([[F.no_op()] * 2])
    assert res.reward[0, 1] == -9.0 and res.terminated[1] and not res.terminated[0]


def test_determinism_for_a_seed():
    def run(seed):
        eng = SimEngine("DefeatZerglingsAndBanelings", 4, seed=seed)
        eng.reset()
        rng = np.random.default_rng(0)
        rewards = []
        for _ in range(40):
            avail = eng.observe()["available_actions"]
            calls = []
            for e in range(4):
                options = [F.no_op(), F.select_army("select")]
                if avail[e, F.Attack_screen.id]:
                    xy = rng.integers(0, 64, 2)
                    options += [F.Attack_screen("now", xy), F.Stop_quick("now")]
                calls.append(options[rng.integers(len(options))])
            rewards.append(eng.step([calls]).reward.copy())
        return np.array(rewards), eng.state.pos.copy(), eng.observe()["feature_screen"].copy()

    a, b, c = run(7), run(7), run(8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


def test_find_and_defeat_zerglings_start_and_fog():
    eng = SimEngine("FindAndDefeatZerglings", 2, seed=0)
    eng.reset()
    st = eng.state
    centre = np.array(eng.scenario.camera_start)
    zs = np.flatnonzero(st.alive[0] & (st.owner[0] == 2))
    d = np.sort(np.linalg.norm(st.pos[0, zs] - centre, axis=-1))
    assert zs.size == 25
    assert (d[:2] >= 7.4).all() and (d[:2] <= 9.6).all() and (d[2:] >= 10.4).all()
    pd = np.linalg.norm(st.pos[0, zs][:, None] - st.pos[0, zs][None], axis=-1) + np.eye(25) * 99
    assert pd.min() >= 4.9
    vis = eng.visible_units(0)[0, zs]
    assert 1 <= vis.sum() <= 4  # only the near ones are visible through the fog
    mm = eng.observe()["feature_minimap"][0]
    assert set(np.unique(mm[1])) <= {0, 1, 2} and (mm[1] == 0).any() and (mm[1] == 2).any()
