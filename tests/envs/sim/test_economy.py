"""Economy mechanics of the simulator (sim.economy) on CollectMineralsAndGas and BuildMarines.

Reference rates: PiousFlea, "Harvested minerals per minute", TL.net 2010
(https://tl.net/forum/viewpost.php?post_id=5888322): ~42 minerals per game minute per worker up to
2 per patch, 672 per game minute for 16 workers on 8 patches, 816 for 24 (saturated).
"""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.lib import actions

from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim import economy
from sc2agents.envs.sim.engine import SimEngine
from tests.envs.sim.helpers import screen_px

F = actions.FUNCTIONS
LOOPS_PER_GAME_MINUTE = 960  # 60 game seconds at "normal", 16 loops each


def _step(eng: SimEngine, call=None, steps: int = 1):
    res = None
    for _ in range(steps):
        res = eng.step([[call or F.no_op()] * eng.num_envs])
        call = None
    return res


def _slots(eng: SimEngine, raw: int, owner: int | None = None) -> np.ndarray:
    st = eng.state
    m = st.alive[0] & (st.unit_type[0] == raw)
    if owner is not None:
        m &= st.owner[0] == owner
    return np.flatnonzero(m)


def _px(eng, xy):
    return screen_px(eng, xy)


def _engine(name: str = "BuildMarines", workers: int | None = None) -> SimEngine:
    eng = SimEngine(name, 1, seed=0, step_mul=8)
    eng.reset()
    if workers is not None:
        scv = _slots(eng, B.SCV)
        if workers < scv.size:
            eng.state.alive[0, scv[workers:]] = False
        elif workers > scv.size:
            extra = np.full((1, workers - scv.size, 2), 36.0, np.float32)
            economy.spawn(eng.state, np.array([0]), B.SCV, 1, extra)
        eng._invalidate()
    return eng


def _send_all_to_mine(eng: SimEngine) -> None:
    _step(eng, F.select_idle_worker("select_all"))
    patch = _slots(eng, B.MINERAL)[3]
    _step(eng, F.Harvest_Gather_screen("now", _px(eng, eng.state.pos[0, patch])))


@pytest.mark.parametrize("workers,reference", [(8, 336), (16, 672), (24, 816)])
def test_mining_income_per_minute_matches_sc2(workers, reference):
    eng = _engine("BuildMarines", workers)
    _send_all_to_mine(eng)
    _step(eng, steps=20 * 16 // 8)  # 20 game seconds to spread over the patches
    start = eng.state.extra["collected"][0, 0, 0]
    _step(eng, steps=LOOPS_PER_GAME_MINUTE // 8)
    income = eng.state.extra["collected"][0, 0, 0] - start
    assert abs(income - reference) <= 0.1 * reference, (workers, income, reference)
    # workers spread over the 8 patches (SC2's "bouncing"): 1, 2, 3 per patch
    tgt = eng.state.extra["job_tgt"][0][eng.state.extra["job"][0] == 1]
    counts = np.bincount(tgt)[tgt.min() :]
    assert counts.max() - counts.min() <= 1


def test_collect_minerals_and_gas_reward_is_collected_total_and_time_limit():
    eng = SimEngine("CollectMineralsAndGas", 1, seed=0, step_mul=8)
    eng.reset()
    obs = eng.observe()
    assert obs["player"][0, 1] == 50 and obs["player"][0, 3] == 12 and obs["player"][0, 4] == 15
    assert _slots(eng, B.MINERAL).size == 16 and _slots(eng, B.GEYSER).size == 4
    _send_all_to_mine(eng)
    total = 0.0
    res = None
    steps = 0
    while True:
        res = _step(eng)
        total += float(res.reward[0, 0])
        steps += 1
        if res.truncated[0] or res.terminated[0]:
            break
    assert eng.state.game_loop[0] == 300 * 16  # 300 game seconds
    assert res.truncated[0] and not res.terminated[0]
    collected = eng.state.extra["collected"][0, 0].sum()
    assert total == pytest.approx(collected) and collected > 0.9 * 12 * 42 * 5  # 12 workers
    assert eng.state.score_cumulative[0, 0, 0] == round(collected)
    assert eng.state.score_cumulative[0, 0, 7] == round(eng.state.extra["collected"][0, 0, 0])


def test_gas_needs_a_refinery_and_gives_4_per_trip():
    eng = _engine("CollectMineralsAndGas")
    eng.state.extra["minerals"][0, 0] = 1000
    scv = _slots(eng, B.SCV)[0]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    gey = _slots(eng, B.GEYSER)[0]
    # gathering from a bare geyser does nothing
    _step(eng, F.Harvest_Gather_screen("now", _px(eng, eng.state.pos[0, gey])))
    assert eng.state.extra["job"][0, scv] == 0
    _step(eng, F.Build_Refinery_screen("now", _px(eng, eng.state.pos[0, gey])))
    assert eng.state.extra["minerals"][0, 0] == 1000 - 75
    _step(eng, steps=(30 * 16 + 200) // 8)
    ref = _slots(eng, B.REFINERY)
    assert ref.size == 1 and not eng.state.extra["building"][0, ref[0]]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    _step(eng, F.Harvest_Gather_screen("now", _px(eng, eng.state.pos[0, ref[0]])))
    _step(eng, steps=60)
    gas = eng.state.extra["collected"][0, 0, 1]
    assert gas > 0 and gas % 4 == 0
    assert eng.observe()["player"][0, 2] == gas  # vespene in the player vector


def test_supply_block_stops_training():
    eng = _engine("BuildMarines")
    eng.state.extra["minerals"][0, 0] = 1000
    cc = _slots(eng, B.COMMAND_CENTER)[0]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, cc])))
    for _ in range(5):  # 12/15 supply: only 3 more SCVs fit
        _step(eng, F.Train_SCV_quick("now"))
    assert (eng.state.extra["queue"][0, cc] > 0).sum() == 3
    assert eng.state.extra["minerals"][0, 0] == 1000 - 3 * 50
    obs = eng.observe()
    assert obs["player"][0, 3] == 15 and obs["player"][0, 4] == 15  # food used (queued) / cap
    _step(eng, steps=3 * 17 * 16 // 8 + 10)  # three SCVs of 17 game seconds
    assert _slots(eng, B.SCV).size == 15
    _step(eng, F.Train_SCV_quick("now"))  # still available, but supply blocked: nothing queued
    _step(eng, steps=40)
    assert _slots(eng, B.SCV).size == 15
    assert (eng.state.extra["queue"][0, cc] > 0).sum() == 0
    assert eng.state.extra["minerals"][0, 0] == 1000 - 3 * 50


def test_barracks_needs_a_depot_and_buildings_take_their_build_time():
    eng = _engine("BuildMarines")
    eng.state.extra["minerals"][0, 0] = 1000
    scv = _slots(eng, B.SCV)[0]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    avail = eng.available_mask(0)[0]
    barracks_fn = F.Build_Barracks_screen.id
    assert not avail[barracks_fn] and avail[F.Build_SupplyDepot_screen.id]
    with pytest.raises(ValueError, match="not available"):
        _step(eng, F.Build_Barracks_screen("now", _px(eng, (38.5, 28.5))))
    _step(eng, F.Build_SupplyDepot_screen("now", _px(eng, (38.0, 38.0))))
    assert eng.state.extra["minerals"][0, 0] == 900
    # wait until the construction starts, then time it
    start = None
    done_at = None
    for _ in range(200):
        _step(eng)
        depot = _slots(eng, B.SUPPLY_DEPOT)
        if depot.size and start is None:
            start = int(eng.state.game_loop[0])
            assert eng.state.health[0, depot[0]] < 100  # starts at 10%
        if depot.size and not eng.state.extra["building"][0, depot[0]]:
            done_at = int(eng.state.game_loop[0])
            break
    assert start is not None and done_at is not None
    assert abs((done_at - start) - 30 * 16) <= 8  # 30 game s (21 s faster), one step of slack
    assert eng.state.health[0, depot[0]] == pytest.approx(400, abs=1)
    assert eng.observe()["player"][0, 4] == 23  # 15 + 8 supply
    # now the barracks can be built (the depot is finished)
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    assert eng.available_mask(0)[0, barracks_fn]


def test_placement_rejects_occupied_sites():
    eng = _engine("BuildMarines")
    eng.state.extra["minerals"][0, 0] = 1000
    scv = _slots(eng, B.SCV)[0]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    cc = eng.state.pos[0, _slots(eng, B.COMMAND_CENTER)[0]]
    _step(eng, F.Build_SupplyDepot_screen("now", _px(eng, cc)))  # on the command center
    assert eng.state.extra["minerals"][0, 0] == 1000
    assert eng.state.extra["job"][0, scv] == 0


def test_dead_scvs_stop_mining_and_construction_pauses():
    eng = _engine("BuildMarines")
    _send_all_to_mine(eng)
    _step(eng, steps=40)
    scv = _slots(eng, B.SCV)
    eng.state.health[0, scv] = 0  # the next step's dynamics remove them
    _step(eng)
    before = eng.state.extra["collected"][0, 0, 0]
    _step(eng, steps=200)
    assert _slots(eng, B.SCV).size == 0
    assert eng.state.extra["collected"][0, 0, 0] == before
    assert (eng.state.extra["job"][0] > 0).sum() == 0


def test_build_marines_restricted_actions_and_reward():
    eng = _engine("BuildMarines")
    scv = _slots(eng, B.SCV)[0]
    _step(eng, F.select_point("select", _px(eng, eng.state.pos[0, scv])))
    avail = eng.available_mask(0)[0]
    for name in ("Build_Refinery_screen", "Build_Factory_screen", "Attack_screen"):
        assert not avail[getattr(F, name).id], name
    for name in ("Harvest_Gather_screen", "Build_SupplyDepot_screen", "select_idle_worker"):
        assert avail[getattr(F, name).id], name


@pytest.mark.parametrize("name,minimum", [("BuildMarines", 12), ("CollectMineralsAndGas", 2300)])
def test_scripted_economy_bot_plays_the_minigames(name, minimum):
    from sc2agents.envs.sim.bots import ECONOMY_PROFILES

    loops = 5 * 60 * 16  # 5 game minutes
    eng = SimEngine(
        name,
        1,
        seed=0,
        num_players=0,
        bots=[ECONOMY_PROFILES[name]],
        game_steps_per_episode=loops,
    )
    eng.reset()
    empty_fn = np.zeros((0, 1), np.int64)
    empty_args = np.zeros((0, 1, 13), np.int64)
    while eng.state.game_loop[0] < loops:
        eng.step_encoded(empty_fn, empty_args)
    score = eng.episode_reward[0, 0]
    assert score >= minimum, score
