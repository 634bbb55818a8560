"""The embedded StarCraft II simulator: vectorised numpy games with PySC2 observations/actions.

Modules: `units` (real unit data), `state` (struct-of-arrays `SimState`), `scenarios` (maps and
triggers, `register_scenario`), `dynamics` (movement and combat), `actions` (PySC2 `FunctionCall`
semantics), `observe` (feature layers), `engine` (`SimEngine`: N games stepped together) and
`sc2_env` (`SimSC2Env`: a drop-in for PySC2's `SC2Env`). The Gymnasium front ends and the renderer
build on `SimEngine` (see docs/internal_api.md).
"""

from __future__ import annotations

from sc2agents.envs.sim.engine import SimEngine, StepResult
from sc2agents.envs.sim.sc2_env import SimSC2Env
from sc2agents.envs.sim.scenarios import SCENARIOS, Scenario, get_scenario, register_scenario
from sc2agents.envs.sim.state import SimState

# The economy mini-games and the melee (issue 3) register their scenarios on import; last, since
# they build on the modules above.
from sc2agents.envs.sim import economy as _economy  # noqa: E402,F401  isort: skip
from sc2agents.envs.sim import melee as _melee  # noqa: E402,F401  isort: skip

__all__ = [
    "SCENARIOS",
    "Scenario",
    "SimEngine",
    "SimSC2Env",
    "SimState",
    "StepResult",
    "get_scenario",
    "register_scenario",
]
