"""Acting: policies, the episode loop, evaluation against bots/minigames, and the self-play league.

Plain classes and functions only; distribution is the pool's business (`sc2agents.distributed`),
which these modules take as an argument and never import Ray through.

* `policy`: `load_policy(spec)`, epsilon-greedy, checkpoints, scripted and PySC2 agents;
* `env_loop`: `run_episode`, `run_two_agent_episode`, `run_agent_episode`;
* `evaluator`: `Evaluator`, `wilson_interval`, `REFERENCE_SCORES`, `summarize`;
* `league`: `League` (members, payoff matrix, openskill ratings, matchmaking) and `LeagueStore`;
* `self_play`: match types (`ScoreMatch`, `TwoAgentMatch`), `SelfPlayRunner`, `CheckpointWatcher`;
* `two_agent`: `SimTwoAgentEnv`, two agents of one simulator melee game as two batch slots;
* `reporting`: tables and PNG plots of evaluations and leagues.
"""

from __future__ import annotations
