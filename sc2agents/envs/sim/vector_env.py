"""Gymnasium front ends of the simulator: `SimVectorEnv` (native batched) and `SimGymEnv`.

`SimVectorEnv` is a `gymnasium.vector.VectorEnv` over one `SimEngine` running ``num_envs`` games in
lock-step, in the style of Gymnasium's ``CartPoleVectorEnv``: no sub-processes, one engine step per
vector step, observations computed for all games at once.

* Observations are the *storage form* of `features.observation_to_storage` (uint8 feature layers,
  uint16 dense ``unit_type``, float32 ``player``, bool ``available_actions``) plus ``game_loop``,
  batched over the games; `single_observation_space` describes one game. The engine renders them
  directly in that form (`SimEngine.observe_storage`, no int32 layers); with ``copy=True`` (the
  default, as Gymnasium's ``SyncVectorEnv``) each step returns fresh arrays, with ``copy=False``
  read-only views of the renderer's buffers that the next `step` / `reset` overwrites.
* Actions are ``{"function": int [N], "args": int [N, 13]}`` in `features.encode_action` layout
  (spatial points flattened ``y * size + x``, -1 for arguments a function does not take), decoded
  with `features.decode_action`. An action outside the action space, or a function that is not
  available, raises a `ValueError` naming the game and the function (``action_error="raise"``,
  PySC2's behaviour) or is replaced by ``no_op`` with a warning (``action_error="warn"``).
* Autoreset mode is ``NEXT_STEP``: the step after a game ends resets that game, ignores its action
  and returns its first observation with reward 0 (Gymnasium's default mode).
* ``info["episode"]`` at the end of a game holds its return ``r``, length ``l`` (agent steps) and
  ``score`` (PySC2 ``score_cumulative[0]``), with the mask ``info["_episode"]`` (the layout of
  Gymnasium's ``RecordEpisodeStatistics``).

`SimGymEnv` is the single-game `gymnasium.Env` (unbatched spaces), passing
`gymnasium.utils.env_checker.check_env`.

Example:
    >>> import gymnasium
    >>> import sc2agents.envs  # registers the ids
    >>> envs = gymnasium.make_vec("sc2agents/Sim-MoveToBeacon-v0", num_envs=4)  # doctest: +SKIP
    >>> obs, info = envs.reset(seed=0)  # doctest: +SKIP
    >>> obs["screen"].shape  # doctest: +SKIP
    (4, 26, 64, 64)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import gymnasium
import numpy as np
from absl import logging
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from sc2agents.envs import features

__all__ = ["SimGymEnv", "SimVectorEnv", "storage_observation_space", "action_space"]

_GAME_LOOPS_PER_SECOND = 22.4
_NO_OP = features.FUNCTION_IDS["no_op"]


class StorageConverter:
    """Batched ``[N, C, H, W]`` raw layers -> storage form, equal to `features.layers_to_storage`.

    Same result, built for the step path: every layer is converted with a lookup table computed
    once from `features.layer_to_storage` itself (so the two cannot disagree), all-zero layers
    (the many a minigame does not use) are skipped, and the output is written in place instead of
    stacked. `features.layers_to_storage` computes ``log1p`` in float per pixel and re-stacks, which
    costs more than the simulator's whole step at 64 games.
    """

    def __init__(self, specs: tuple[features.LayerSpec, ...]) -> None:
        self._specs = specs
        self._channels = features.storage_channels(specs)
        self._luts: list[tuple[int, int, np.ndarray]] = []  # (raw index, max value, lut)
        for spec in self._channels:
            hi = spec.scale if spec.log_quantised else (255 if spec.name != "buffs" else 0)
            if spec.name == "buffs":
                hi = max(features.BUFF_VOCAB) + 1  # one past the last buff: maps to 0 (unknown)
            lut = features.layer_to_storage(spec, np.arange(hi + 1, dtype=np.int64))
            self._luts.append((spec.index, hi, lut.astype(np.uint8)))
        # Layers whose storage value is the raw value (clipped to uint8): the fast dense path.
        self._identity = [
            not spec.log_quantised and spec.name != "buffs" for spec in self._channels
        ]
        unit = next(s for s in specs if s.name == "unit_type")
        self._unit_index = unit.index
        self._unit_hi = max(features.UNIT_TYPE_VOCAB) + 1  # one past: maps to 0 (unknown)
        ids = np.arange(self._unit_hi + 1, dtype=np.int64)
        self._unit_lut = features.unit_type_index(ids).astype(np.uint16)
        self._unit_lut[-1] = 0

    def __call__(self, stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(layers uint8 [N, C-1, H, W], unit_type uint16 [N, H, W])``."""
        stack = np.asarray(stack)
        n, _, h, w = stack.shape
        hw = h * w
        layers = np.zeros((n, len(self._channels), h, w), dtype=np.uint8)
        unit_type = np.zeros((n, h, w), dtype=np.uint16)
        # The footprint: pixels showing a unit. Unit layers (hit points, selection, ...) are
        # non-zero only there, so they are converted at these few pixels; a layer with non-zero
        # pixels elsewhere (terrain, visibility) is detected by counting and converted densely.
        ut = stack[:, self._unit_index].reshape(-1)
        foot = np.flatnonzero(ut != 0)
        unit_type.reshape(-1)[foot] = np.take(self._unit_lut, ut[foot], mode="clip")
        game, pix = np.divmod(foot, hw)
        flat_layers = layers.reshape(n, len(self._channels), hw)
        for c, (idx, _, lut) in enumerate(self._luts):
            plane = stack[:, idx]
            if plane.dtype == np.int32:
                # max over the uint32 view is the cheapest test for an all-zero layer (most are)
                # and tells at once whether every value is a valid uint8 (negatives are huge).
                top = int(plane.view(np.uint32).max())
                if top == 0:
                    continue
                in_byte_range = top <= 255
            else:
                if not plane.any():
                    continue
                in_byte_range = _in_byte_range(plane)
            values = plane.reshape(-1)[foot]
            if np.count_nonzero(values) == np.count_nonzero(plane):
                flat_layers[game, c, pix] = np.take(lut, values, mode="clip")
            elif self._identity[c] and in_byte_range:
                np.copyto(layers[:, c], plane, casting="unsafe")  # values are storage values
            else:
                np.take(lut, plane, mode="clip", out=layers[:, c])
        return layers, unit_type


def _in_byte_range(plane: np.ndarray) -> bool:
    return bool(plane.min() >= 0 and plane.max() <= 255)


def _layer_highs(specs: tuple[features.LayerSpec, ...], size: int) -> np.ndarray:
    """Per-channel upper bound of a storage-form ``layers`` array, broadcast to ``[C, H, W]``."""
    highs = [
        s.storage_scale - 1 if s.categorical else 255 for s in features.storage_channels(specs)
    ]
    return np.broadcast_to(
        np.asarray(highs, dtype=np.uint8)[:, None, None], (len(highs), size, size)
    ).copy()


def storage_observation_space(screen_size: int, minimap_size: int) -> spaces.Dict:
    """Observation space of one game: the storage form plus ``game_loop``."""
    vocab_high = len(features.UNIT_TYPE_VOCAB) - 1
    mm_high = _layer_highs(features.MINIMAP_LAYERS, minimap_size)
    sc_high = _layer_highs(features.SCREEN_LAYERS, screen_size)
    return spaces.Dict(
        {
            "minimap": spaces.Box(0, mm_high, dtype=np.uint8),
            "minimap_unit_type": spaces.Box(
                0, vocab_high, (minimap_size, minimap_size), dtype=np.uint16
            ),
            "screen": spaces.Box(0, sc_high, dtype=np.uint8),
            "screen_unit_type": spaces.Box(
                0, vocab_high, (screen_size, screen_size), dtype=np.uint16
            ),
            "player": spaces.Box(0.0, np.inf, (len(features.PLAYER_FIELDS),), dtype=np.float32),
            "available_actions": spaces.MultiBinary(features.NUM_FUNCTIONS),
            "game_loop": spaces.Box(0, 2**31 - 1, (1,), dtype=np.int64),
        }
    )


def _arg_highs(screen_size: int, minimap_size: int) -> np.ndarray:
    out = np.zeros(features.NUM_ARG_TYPES, dtype=np.int64)
    for i, name in enumerate(features.ARG_TYPES):
        if name in features.SPATIAL_ARG_TYPES:
            size = features.spatial_size(name, screen_size, minimap_size)
            out[i] = size * size - 1
        else:
            out[i] = features.ARG_TYPE_SIZES[name] - 1
    return out


def action_space(screen_size: int, minimap_size: int) -> spaces.Dict:
    """Action space of one game: function id and the 13 arguments (`encode_action` layout)."""
    high = _arg_highs(screen_size, minimap_size)
    return spaces.Dict(
        {
            "function": spaces.Discrete(features.NUM_FUNCTIONS),
            "args": spaces.Box(-1, high, (features.NUM_ARG_TYPES,), dtype=np.int64),
        }
    )


class SimVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` simulated games of one minigame as a Gymnasium vector env.

    Args:
        num_envs: number of games stepped together.
        map_name: scenario name (``MoveToBeacon``, ``DefeatRoaches``, ...).
        screen_size: side of ``feature_screen`` (square).
        minimap_size: side of ``feature_minimap`` (square).
        step_mul: game loops per agent step.
        game_steps_per_episode: time limit in game loops (None: the map's own limit).
        disable_fog: turn fog of war off.
        action_error: ``"raise"`` a ValueError for an unavailable function or bad argument, or
            ``"warn"`` and play ``no_op`` instead.
        render_mode: None or ``"rgb_array"`` (`render` returns one frame per game).
        render_size: side of rendered frames in pixels.
        seed: seed of the first reset when `reset` gets none.
        copy: return fresh observation arrays each step (True) or read-only views of the
            renderer's buffers, valid until the next `step` / `reset` (False: saves a copy of
            ~10 MB per step at 64 games; copy what you keep).
        **engine_kwargs: passed on to `SimEngine`.
    """

    metadata: dict[str, Any] = {
        "render_modes": ["rgb_array"],
        "render_fps": _GAME_LOOPS_PER_SECOND / 8,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        map_name: str = "MoveToBeacon",
        *,
        screen_size: int = 64,
        minimap_size: int = 64,
        step_mul: int = 8,
        game_steps_per_episode: int | None = None,
        disable_fog: bool = False,
        action_error: Literal["raise", "warn"] = "raise",
        render_mode: str | None = None,
        render_size: int = 512,
        seed: int | None = None,
        copy: bool = True,
        **engine_kwargs: Any,
    ) -> None:
        from sc2agents.envs.sim.engine import SimEngine  # lazy: keeps registration cheap

        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if action_error not in ("raise", "warn"):
            raise ValueError(f"action_error must be 'raise' or 'warn', got {action_error!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.num_envs = int(num_envs)
        self.map_name = map_name
        self.screen_size = int(screen_size)
        self.minimap_size = int(minimap_size)
        self.step_mul = int(step_mul)
        self.action_error = action_error
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self._seed = seed
        self.copy = bool(copy)
        self.engine = SimEngine(
            map_name,
            num_envs=self.num_envs,
            screen_size=self.screen_size,
            minimap_size=self.minimap_size,
            step_mul=self.step_mul,
            game_steps_per_episode=game_steps_per_episode,
            seed=seed,
            disable_fog=disable_fog,
            action_error=action_error,
            **engine_kwargs,
        )
        self.metadata = dict(self.metadata)
        self.metadata["render_fps"] = _GAME_LOOPS_PER_SECOND / self.step_mul
        self.single_observation_space = storage_observation_space(
            self.screen_size, self.minimap_size
        )
        self.single_action_space = action_space(self.screen_size, self.minimap_size)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gymnasium.vector.utils.batch_space(
            self.single_action_space, self.num_envs
        )
        self._arg_high = _arg_highs(self.screen_size, self.minimap_size)
        self._arg_limit = self._arg_high + 1
        from sc2agents.envs.sim import actions_jit, dynamics

        # `actions_jit.check_kernel` counts the invalid actions (numba path); numpy names them.
        self._check = actions_jit.check_kernel
        self._jit = dynamics.jit_enabled
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._returns = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._needs_reset = True
        self._warned = 0
        self._last_obs_available = np.zeros((self.num_envs, features.NUM_FUNCTIONS), bool)

    # --- observations ---
    def _observe(self) -> dict[str, np.ndarray]:
        # Rendered in the storage form by the engine (no int32 layers, no conversion); `player`
        # and `game_loop` are fresh arrays, the rest are the engine's buffers and cached mask.
        out = self.engine.observe_storage(0)
        if self.copy:
            for key in ("minimap", "minimap_unit_type", "screen", "screen_unit_type"):
                out[key] = out[key].copy()
            out["available_actions"] = out["available_actions"].copy()
        else:
            mask = out["available_actions"].view()
            mask.flags.writeable = False
            out["available_actions"] = mask
        return out

    # --- actions ---
    def _encode(
        self, actions: Mapping[str, Any], available: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate a batch of actions (vectorised); returns ``(function [N], args [N, 13])``.

        Games being autoreset get no_op, and so do invalid actions with ``action_error="warn"``.
        """
        fn, args = action_batch(actions, self.num_envs, "SimVectorEnv")
        if not (np.issubdtype(fn.dtype, np.integer) and np.issubdtype(args.dtype, np.integer)):
            raise ValueError(
                f"SimVectorEnv.step: actions must be integers, got {fn.dtype} / {args.dtype}"
            )
        if self._jit():  # one compiled pass while every action is valid
            out_fn = np.empty(self.num_envs, np.int64)  # fresh: the caller's are never modified
            out_args = np.empty((self.num_envs, features.NUM_ARG_TYPES), np.int64)
            if not self._check(
                fn, args, available, features.FUNCTION_ARG_MASK, self._arg_limit,
                self._autoreset, _NO_OP, out_fn, out_args,
            ):  # fmt: skip
                return out_fn, out_args
        fn = fn.astype(np.int64)  # copies: the caller's arrays are never modified
        args = args.astype(np.int64)
        fn[self._autoreset] = _NO_OP
        args[self._autoreset] = -1
        bad_id = (fn < 0) | (fn >= features.NUM_FUNCTIONS)
        safe = np.where(bad_id, _NO_OP, fn)
        unavailable = ~available[np.arange(self.num_envs), safe]
        used = features.FUNCTION_ARG_MASK[safe]
        bad_arg = used & ((args < 0) | (args > self._arg_high))
        bad = bad_id | unavailable | bad_arg.any(axis=1)
        if bad.any():
            problems = [
                self._problem(int(i), int(fn[i]), args[i], bad_arg[i], bool(unavailable[i]))
                for i in np.flatnonzero(bad)
            ]
            if self.action_error == "raise":
                more = f" (and {len(problems) - 1} more games)" if len(problems) > 1 else ""
                raise ValueError(problems[0] + more)
            if self._warned < 10:
                self._warned += 1
                logging.warning("%s; playing no_op instead", "; ".join(problems[:3]))
            fn[bad] = _NO_OP
            args[bad] = -1
        return fn, args

    def _problem(
        self, i: int, fn: int, args: np.ndarray, bad_arg: np.ndarray, unavailable: bool
    ) -> str:
        if not 0 <= fn < features.NUM_FUNCTIONS:
            return f"game {i}: unknown function id {fn} (valid: 0..{features.NUM_FUNCTIONS - 1})"
        name = features.FUNCTIONS[fn].name
        if unavailable:
            return f"game {i}: function {name} (id {fn}) is not available now"
        if bad_arg.any():
            t = int(np.flatnonzero(bad_arg)[0])
            return (
                f"game {i}: function {name} (id {fn}): argument {features.ARG_TYPES[t]}="
                f"{int(args[t])} outside [0, {int(self._arg_high[t])}]"
            )
        return f"game {i}: function {name} (id {fn}): bad action"  # pragma: no cover

    # --- gymnasium API ---
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset all games (or those of ``options["reset_mask"]``); returns ``(obs, info)``."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"SimVectorEnv.reset: seed must be one int (the engine seeds all games from it), "
                f"got {type(seed).__name__}"
            )
        if seed is None and self._needs_reset and self._seed is not None:
            seed = self._seed
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(
                    f"reset: options['reset_mask'] must be bool [{self.num_envs}], got {mask.shape}"
                )
            ids = np.flatnonzero(mask)
        else:
            ids = np.arange(self.num_envs)
        self.engine.reset(ids, seed=seed)
        self._autoreset[ids] = False
        self._returns[ids] = 0.0
        self._lengths[ids] = 0
        self._needs_reset = False
        obs = self._observe()
        self._last_obs_available = obs["available_actions"]
        return obs, {}

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One agent step of every game (games that ended last step are reset instead)."""
        if self._needs_reset:
            raise RuntimeError("SimVectorEnv.step called before reset()")
        available = self._last_obs_available
        fn, args = self._encode(actions, available)
        result = self.engine.step_encoded(fn[None], args[None])
        reward = np.asarray(result.reward, dtype=np.float32).reshape(-1, self.num_envs)[0].copy()
        terminated = np.asarray(result.terminated, dtype=bool).copy()
        truncated = np.asarray(result.truncated, dtype=bool).copy()
        info: dict[str, Any] = {}
        resetting = self._autoreset.copy()
        if resetting.any():
            ids = np.flatnonzero(resetting)
            self.engine.reset(ids)
            reward[ids], terminated[ids], truncated[ids] = 0.0, False, False
            self._returns[ids], self._lengths[ids] = 0.0, 0
        live = ~resetting
        self._returns[live] += reward[live]
        self._lengths[live] += 1
        done = terminated | truncated
        if done.any():
            score = np.asarray(self.engine.state.score_cumulative)[0, :, 0].astype(np.float64)
            info["episode"] = {
                "r": np.where(done, self._returns, 0.0),
                "l": np.where(done, self._lengths, 0),
                "score": np.where(done, score, 0.0),
            }
            info["_episode"] = done.copy()
        self._autoreset = done
        obs = self._observe()
        self._last_obs_available = obs["available_actions"]
        return obs, reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One ``uint8 [render_size, render_size, 3]`` frame per game (``rgb_array`` mode)."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() called without a render_mode; make the env with render_mode='rgb_array'"
            )
            return None
        from sc2agents.envs.sim.render import render_rgb

        return tuple(render_rgb(self.engine, i, 0, self.render_size) for i in range(self.num_envs))


def action_batch(
    actions: Mapping[str, Any], num_envs: int, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check a batched action dict's keys and shapes; return ``(function [N], args [N, 13])``.

    Shared by `SimVectorEnv` and the real game's `PySC2VectorEnv`, so both reject the same input
    with the same message (``owner`` names the env in it).
    """
    if not isinstance(actions, Mapping) or not {"function", "args"} <= set(actions):
        raise ValueError(
            f"{owner}.step: actions must be a dict with 'function' [N] and 'args' [N, 13], got "
            f"{type(actions).__name__}"
        )
    fn = np.asarray(actions["function"]).reshape(-1)
    args = np.asarray(actions["args"])
    if fn.shape != (num_envs,) or args.shape != (num_envs, features.NUM_ARG_TYPES):
        raise ValueError(
            f"{owner}.step: expected function [{num_envs}] and args "
            f"[{num_envs}, {features.NUM_ARG_TYPES}], got {fn.shape} and {args.shape}"
        )
    return fn, args


class OneGameEnv(gymnasium.Env):
    """One game of a batched vector env as a `gymnasium.Env` (its unbatched spaces).

    The shared single-game adapter of `SimGymEnv` and the real game's `PySC2GymEnv`: a subclass
    builds ``self._vec`` (a one-game vector env) and calls `_adopt`. After a game ends call `reset`;
    stepping an ended game raises. ``_INFO_KEYS`` lists per-game info entries passed through.
    """

    _INFO_KEYS: tuple[str, ...] = ()
    _vec: Any

    def _adopt(self, render_mode: str | None) -> None:
        self.render_mode = render_mode
        self.metadata = dict(self.metadata, render_fps=self._vec.metadata["render_fps"])
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._done = True

    @staticmethod
    def _unbatch(obs: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (v[0] if isinstance(v, np.ndarray) and v.ndim else v) for k, v in obs.items()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        obs, _ = self._vec.reset(seed=seed)
        self._done = False
        return self._unbatch(obs), {}

    def step(
        self, action: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        name = type(self).__name__
        if self._done:
            raise RuntimeError(f"{name}.step: the game has ended (or not started); call reset()")
        if not isinstance(action, Mapping) or not {"function", "args"} <= set(action):
            raise ValueError(
                f"{name}.step: action must be a dict with 'function' and 'args' [13], got "
                f"{type(action).__name__}"
            )
        batched = {
            "function": np.asarray(action["function"]).reshape(1),
            "args": np.asarray(action["args"]).reshape(1, -1),
        }
        obs, reward, terminated, truncated, vinfo = self._vec.step(batched)
        info: dict[str, Any] = {k: vinfo[k][0] for k in self._INFO_KEYS}
        if "episode" in vinfo:
            info["episode"] = {k: v[0] for k, v in vinfo["episode"].items()}
        self._done = bool(terminated[0] or truncated[0])
        return self._unbatch(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def close(self) -> None:
        self._vec.close()


class SimGymEnv(OneGameEnv):
    """One simulated game as a `gymnasium.Env` (unbatched spaces of `SimVectorEnv`).

    Takes the keyword arguments of `SimVectorEnv` (except ``num_envs``). After a game ends call
    `reset`; stepping an ended game raises.
    """

    metadata: dict[str, Any] = {
        "render_modes": ["rgb_array"],
        "render_fps": _GAME_LOOPS_PER_SECOND / 8,
    }

    def __init__(
        self, map_name: str = "MoveToBeacon", render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if "num_envs" in kwargs:
            raise ValueError("SimGymEnv is one game; use SimVectorEnv for num_envs")
        self._vec = SimVectorEnv(1, map_name, render_mode=render_mode, **kwargs)
        self.map_name = map_name
        self._adopt(render_mode)

    @property
    def engine(self) -> Any:
        """The underlying one-game `SimEngine`."""
        return self._vec.engine

    def render(self) -> np.ndarray | None:
        frames = self._vec.render()
        return None if frames is None else frames[0]
