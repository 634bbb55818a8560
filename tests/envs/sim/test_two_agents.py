"""Two agents in one melee game (``players=[Agent, Agent]``): own observations, mirror symmetry."""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.env import sc2_env
from pysc2_evolved.lib import actions

from sc2agents.envs import features
from sc2agents.envs.sim import SimSC2Env
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.melee import reflect
from sc2agents.envs.sim.state import NEUTRAL

F = actions.FUNCTIONS
FN = features.FUNCTION_IDS
ARG = {n: i for i, n in enumerate(features.ARG_TYPES)}
AIF = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64))


def _units(eng: SimEngine, owner: int, env: int = 0, mirror: bool = False) -> np.ndarray:
    """``[k, 3]`` (type, x, y) of ``owner``'s units, sorted (reflected through the centre)."""
    st = eng.state
    m = st.alive[env] & (st.owner[env] == owner)
    pos = reflect(st.pos[env, m]) if mirror else st.pos[env, m]
    rows = np.column_stack([st.unit_type[env, m], np.round(pos, 2)])
    return rows[np.lexsort(rows.T[::-1])]


def test_start_positions_are_mirror_symmetric():
    eng = SimEngine("Simple64", 2, num_players=2, seed=0)
    eng.reset()
    p1, p2 = _units(eng, 1, mirror=True), _units(eng, 2)
    assert len(p1) == 13 and np.allclose(p1, p2, atol=0.011)
    assert np.allclose(_units(eng, NEUTRAL, mirror=True), _units(eng, NEUTRAL), atol=0.011)
    occ = eng.state.extra["occupied"][0]
    assert np.array_equal(occ, occ[::-1, ::-1])  # the building grid too
    # each player's camera starts on its own main, mirrored
    cam = eng.state.camera[:, 0]
    assert np.allclose(cam[1], reflect(cam[0]))


def test_two_agents_each_get_their_own_observation():
    env = SimSC2Env(
        map_name="Simple64",
        players=[sc2_env.Agent(sc2_env.Race.terran), sc2_env.Agent(sc2_env.Race.terran)],
        agent_interface_format=AIF,
        random_seed=0,
    )
    ts = env.reset()
    assert len(ts) == 2
    o0, o1 = ts[0].observation, ts[1].observation
    assert o0.player.player_id == 1 and o1.player.player_id == 2
    # the same view, mirrored: each sees its own base (and only its own units) on the screen
    own0 = (o0.feature_screen.player_relative == 1).sum()
    own1 = (o1.feature_screen.player_relative == 1).sum()
    assert own0 > 0 and abs(own0 - own1) <= 0.1 * own0
    assert (o0.feature_screen.player_relative == 4).sum() == 0
    ts = env.step([F.select_idle_worker("select_all"), F.no_op()])
    assert ts[0].observation.single_select.size + ts[0].observation.multi_select.size > 0
    assert ts[1].observation.multi_select.size == 0  # player 2 selected nothing
    assert F.Harvest_Gather_screen.id in ts[0].observation.available_actions
    assert F.Harvest_Gather_screen.id not in ts[1].observation.available_actions
    env.close()


def _rush_actions(eng: SimEngine, rng: np.random.Generator, t: int) -> tuple[np.ndarray, ...]:
    """Identical stochastic players: select everything on the screen, then at random moments
    attack-move to a random point around the enemy main."""
    n = eng.num_envs
    fn = np.zeros((2, n), np.int64)
    args = np.full((2, n, 13), -1, np.int64)
    if t == 0:
        fn[:] = FN["select_rect"]
        args[:, :, ARG["select_add"]] = 0
        args[:, :, ARG["screen"]] = 0
        args[:, :, ARG["screen2"]] = 64 * 64 - 1
        return fn, args
    m = eng.minimap_size
    for p in range(2):
        go = rng.random(n) < 0.3
        ok = go & eng.available_mask(p)[:, FN["Attack_minimap"]]
        target = np.asarray(eng.scenario.start_location(1 - p))
        pts = target + rng.uniform(-6, 6, (n, 2))
        cell = np.clip(np.floor(pts * m / 64).astype(np.int64), 0, m - 1)
        fn[p, ok] = FN["Attack_minimap"]
        args[p, ok, ARG["queued"]] = 0
        args[p, ok, ARG["minimap"]] = cell[ok, 1] * m + cell[ok, 0]
    return fn, args


@pytest.mark.slow
def test_identical_stochastic_agents_win_half_the_games():
    """64 games of two identical SCV-rush players with random timing and targets.

    Mirror-symmetric starts mean player 1 wins half of the decided games within noise
    (|wins - losses| <= 3 sqrt(decided), a 3-sigma binomial bound).
    """
    n = 64
    eng = SimEngine("Simple64", n, num_players=2, seed=7, game_steps_per_episode=9000)
    eng.reset()
    rng = np.random.default_rng(7)
    outcome = np.zeros(n)
    done = np.zeros(n, bool)
    t = 0
    while not done.all():
        res = eng.step_encoded(*_rush_actions(eng, rng, t))
        new = (res.terminated | res.truncated) & ~done
        outcome[new] = eng.episode_reward[0, new]
        done |= new
        t += 1
    wins, losses = int((outcome > 0).sum()), int((outcome < 0).sum())
    decided = wins + losses
    assert decided >= n // 2, (wins, losses)
    assert abs(wins - losses) <= 3 * np.sqrt(decided), (wins, losses)
