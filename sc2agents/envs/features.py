"""The one feature and action table of sc2agents, derived from PySC2's own definitions.

Everything that touches observations or actions reads this module: the simulator's renderer
(`envs/sim/observe.py`), the real-game wrapper (`envs/pysc2_env.py`), the dataset builders and the
encoders (`networks/`). It is *derived* from `pysc2_evolved.lib.features` and
`pysc2_evolved.lib.actions` at import time, never hand-copied, so layer indices, scales and
function ids agree with PySC2 layer by layer and id by id.

Besides PySC2's raw layers this module defines the *storage form* used by datasets and networks:
every layer as an unsigned integer array that an encoder can embed (categorical) or log-scale
(scalar) directly:

* categorical layers keep their value, except `unit_type`, whose raw SC2 ids (up to 1962) are mapped
  to a dense vocabulary index (`UNIT_TYPE_VOCAB`, 0 = no unit) and stored as uint16;
* scalar layers with `scale <= 256` are stored as uint8 unchanged (clipped);
* scalar layers with a larger scale (hit points, energy, shields, ...) are log-quantised to uint8:
  ``round(255 * log1p(x) / log1p(scale))``; `storage_to_log1p` inverts that to ``log1p(x)``,
  which is what the SC2LE encoders feed the network anyway.

Example:
    >>> from sc2agents.envs import features
    >>> features.MINIMAP["player_relative"].categorical
    True
    >>> features.FUNCTION_IDS["Move_screen"]
    331
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pysc2_evolved.lib import actions as sc2_actions
from pysc2_evolved.lib import buffs as sc2_buffs
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import units as sc2_units

__all__ = [
    "ARG_TYPES",
    "FUNCTIONS",
    "FUNCTION_ARG_MASK",
    "FUNCTION_IDS",
    "LayerSpec",
    "MINIMAP",
    "MINIMAP_LAYERS",
    "NUM_ARG_TYPES",
    "NUM_FUNCTIONS",
    "PLAYER_FIELDS",
    "SCORE_CUMULATIVE_FIELDS",
    "SCREEN",
    "SCREEN_LAYERS",
    "SPATIAL_ARG_TYPES",
    "UNIT_TYPE_VOCAB",
    "decode_action",
    "encode_action",
    "layer_to_storage",
    "observation_to_storage",
    "storage_to_log1p",
]


class LayerKind(enum.Enum):
    """How an encoder treats a layer."""

    CATEGORICAL = "categorical"
    SCALAR = "scalar"


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One feature layer, as PySC2 defines it plus our storage form.

    Attributes:
        name: PySC2 layer name, e.g. ``"player_relative"``.
        index: channel index in ``feature_screen`` / ``feature_minimap``.
        layer_set: ``"screen"`` or ``"minimap"``.
        scale: PySC2's scale (number of categories, or the nominal maximum of a scalar).
        kind: categorical or scalar.
        storage_dtype: numpy dtype of the storage form.
        storage_scale: number of distinct storage values (categories for an embedding).
        log_quantised: True when the storage form is ``round(255*log1p(x)/log1p(scale))``.
    """

    name: str
    index: int
    layer_set: str
    scale: int
    kind: LayerKind
    storage_dtype: type
    storage_scale: int
    log_quantised: bool

    @property
    def categorical(self) -> bool:
        return self.kind is LayerKind.CATEGORICAL


# --- Unit types: a dense vocabulary over every unit PySC2 knows, 0 reserved for "no unit". ---
_UNIT_ENUMS = (sc2_units.Neutral, sc2_units.Protoss, sc2_units.Terran, sc2_units.Zerg)
_ALL_UNITS = sorted({int(u) for e in _UNIT_ENUMS for u in e})
# Unit types the minigame maps use that PySC2's unit enums lack. Appended after the sorted enum ids
# so that adding one never shifts an existing index (datasets stay valid).
_EXTRA_UNITS = (
    317,  # Beacon_Protoss: MoveToBeacon's beacon (a "neutral" doodad unit in the map).
    1680,  # MineralShard (Liberty campaign mod): CollectMineralShards' shards.
)
_VOCAB_UNITS = (*_ALL_UNITS, *(u for u in _EXTRA_UNITS if u not in set(_ALL_UNITS)))
UNIT_TYPE_VOCAB: tuple[int, ...] = (0, *_VOCAB_UNITS)
"""Raw SC2 unit type id for each dense index (index 0 = empty)."""
_UNIT_TYPE_LUT = np.zeros(max(_VOCAB_UNITS) + 1, dtype=np.uint16)
_UNIT_TYPE_LUT[np.asarray(_VOCAB_UNITS)] = np.arange(1, len(_VOCAB_UNITS) + 1, dtype=np.uint16)


def unit_type_index(raw_ids: np.ndarray | int) -> np.ndarray:
    """Map raw SC2 unit type ids to the dense `UNIT_TYPE_VOCAB` index (unknown ids -> 0)."""
    return _dense(_UNIT_TYPE_LUT, np.asarray(raw_ids))


_BUFFS = sorted(int(b) for b in sc2_buffs.Buffs)
BUFF_VOCAB: tuple[int, ...] = (0, *_BUFFS)
"""Raw SC2 buff id for each dense index of the ``buffs`` layer's storage form (0 = none)."""
_BUFF_LUT = np.zeros(max(_BUFFS) + 1, dtype=np.uint8)
_BUFF_LUT[np.asarray(_BUFFS)] = np.arange(1, len(_BUFFS) + 1, dtype=np.uint8)


def _dense(lut: np.ndarray, raw_ids: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw_ids, dtype=np.int64)
    out = np.zeros(raw.shape, dtype=lut.dtype)
    ok = (raw >= 0) & (raw < lut.shape[0])
    out[ok] = lut[raw[ok]]
    return out


def _make_spec(f: Any, layer_set: str) -> LayerSpec:
    categorical = f.type == sc2_features.FeatureType.CATEGORICAL
    if f.name == "unit_type":
        return LayerSpec(
            f.name, int(f.index), layer_set, int(f.scale), LayerKind.CATEGORICAL,
            np.uint16, len(UNIT_TYPE_VOCAB), False,
        )  # fmt: skip
    if f.name == "buffs":
        return LayerSpec(
            f.name, int(f.index), layer_set, int(f.scale), LayerKind.CATEGORICAL,
            np.uint8, len(BUFF_VOCAB), False,
        )  # fmt: skip
    if categorical:
        if f.scale > 256:
            raise AssertionError(f"categorical layer {f.name} has scale {f.scale} > 256")
        return LayerSpec(
            f.name, int(f.index), layer_set, int(f.scale), LayerKind.CATEGORICAL,
            np.uint8, int(f.scale), False,
        )  # fmt: skip
    log_q = int(f.scale) > 256
    return LayerSpec(
        f.name, int(f.index), layer_set, int(f.scale), LayerKind.SCALAR,
        np.uint8, 256 if log_q else int(f.scale), log_q,
    )  # fmt: skip


SCREEN_LAYERS: tuple[LayerSpec, ...] = tuple(
    _make_spec(f, "screen") for f in sc2_features.SCREEN_FEATURES
)
MINIMAP_LAYERS: tuple[LayerSpec, ...] = tuple(
    _make_spec(f, "minimap") for f in sc2_features.MINIMAP_FEATURES
)
SCREEN: Mapping[str, LayerSpec] = {s.name: s for s in SCREEN_LAYERS}
MINIMAP: Mapping[str, LayerSpec] = {s.name: s for s in MINIMAP_LAYERS}

PLAYER_FIELDS: tuple[str, ...] = tuple(p.name for p in sc2_features.Player)
SCORE_CUMULATIVE_FIELDS: tuple[str, ...] = tuple(s.name for s in sc2_features.ScoreCumulative)
FEATURE_UNIT_FIELDS: tuple[str, ...] = tuple(u.name for u in sc2_features.FeatureUnit)
UNIT_LAYER_FIELDS: tuple[str, ...] = tuple(u.name for u in sc2_features.UnitLayer)
"""Columns of ``single_select`` / ``multi_select`` rows (7 values each)."""


# --- Actions ---
FUNCTIONS = sc2_actions.FUNCTIONS
NUM_FUNCTIONS: int = len(sc2_actions.FUNCTIONS)
FUNCTION_IDS: Mapping[str, int] = {f.name: int(f.id) for f in sc2_actions.FUNCTIONS}
ARG_TYPES: tuple[str, ...] = tuple(t.name for t in sc2_actions.TYPES)
NUM_ARG_TYPES: int = len(ARG_TYPES)
SPATIAL_ARG_TYPES: tuple[str, ...] = ("screen", "minimap", "screen2")
ARG_TYPE_SIZES: Mapping[str, int] = {
    t.name: int(t.sizes[0]) for t in sc2_actions.TYPES if t.name not in SPATIAL_ARG_TYPES
}
"""Number of values of each non-spatial argument type (``queued`` -> 2, ...)."""

FUNCTION_ARG_MASK: np.ndarray = np.zeros((NUM_FUNCTIONS, NUM_ARG_TYPES), dtype=bool)
"""``[573, 13]``: True where function f takes an argument of type t."""
for _f in sc2_actions.FUNCTIONS:
    for _a in _f.args:
        FUNCTION_ARG_MASK[int(_f.id), int(_a.id)] = True


def spatial_size(arg_type: str, screen_size: int, minimap_size: int) -> int:
    """Side length of the grid an argument type indexes."""
    return minimap_size if arg_type == "minimap" else screen_size


def encode_action(
    call: sc2_actions.FunctionCall | tuple[int, Sequence[Sequence[int]]],
    screen_size: int,
    minimap_size: int,
) -> tuple[int, np.ndarray]:
    """Encode a PySC2 `FunctionCall` as ``(function_id, args[13])``.

    ``args[t]`` is the value of argument type ``t`` (``ARG_TYPES`` order) or -1 when the function
    does not take it. A spatial point ``(x, y)`` is stored flattened as ``y * size + x``, which is
    exactly the index of the 1x1-conv logit map an encoder produces.
    """
    fn_id, arguments = (int(call.function), call.arguments) if hasattr(call, "function") else call
    fn = sc2_actions.FUNCTIONS[int(fn_id)]
    out = np.full(NUM_ARG_TYPES, -1, dtype=np.int32)
    if len(arguments) != len(fn.args):
        raise ValueError(f"{fn.name} takes {len(fn.args)} arguments, got {len(arguments)}")
    for arg_type, value in zip(fn.args, arguments, strict=True):
        if arg_type.name in SPATIAL_ARG_TYPES:
            size = spatial_size(arg_type.name, screen_size, minimap_size)
            x, y = (int(v) for v in value)
            if not (0 <= x < size and 0 <= y < size):
                raise ValueError(f"{fn.name}: {arg_type.name} point {(x, y)} outside {size}x{size}")
            out[arg_type.id] = y * size + x
        else:
            v = int(value[0]) if isinstance(value, (list, tuple, np.ndarray)) else int(value)
            if not 0 <= v < arg_type.sizes[0]:
                raise ValueError(f"{fn.name}: {arg_type.name}={v} outside [0, {arg_type.sizes[0]})")
            out[arg_type.id] = v
    return int(fn_id), out


def decode_action(
    function_id: int, args: Sequence[int] | np.ndarray, screen_size: int, minimap_size: int
) -> sc2_actions.FunctionCall:
    """Inverse of `encode_action`: build the PySC2 `FunctionCall`."""
    fn = sc2_actions.FUNCTIONS[int(function_id)]
    arguments: list[list[int]] = []
    for arg_type in fn.args:
        v = int(args[arg_type.id])
        if v < 0:
            raise ValueError(f"{fn.name} needs argument {arg_type.name}, got none (-1)")
        if arg_type.name in SPATIAL_ARG_TYPES:
            size = spatial_size(arg_type.name, screen_size, minimap_size)
            arguments.append([v % size, v // size])
        else:
            arguments.append([v])
    return sc2_actions.FunctionCall(fn.id, arguments)


# --- Storage form ---
def layer_to_storage(spec: LayerSpec, layer: np.ndarray) -> np.ndarray:
    """Convert one raw PySC2 layer (any leading shape) to its storage form."""
    x = np.asarray(layer)
    if spec.name == "unit_type":
        return unit_type_index(x)
    if spec.name == "buffs":
        return _dense(_BUFF_LUT, x)
    if spec.log_quantised:
        q = np.rint(255.0 * np.log1p(np.maximum(x, 0).astype(np.float32)) / np.log1p(spec.scale))
        return np.clip(q, 0, 255).astype(np.uint8)
    return np.clip(x, 0, 255).astype(np.uint8)


def layers_to_storage(specs: Sequence[LayerSpec], stack: np.ndarray) -> dict[str, np.ndarray]:
    """Convert a raw ``[..., C, H, W]`` stack to storage: uint8 layers plus a uint16 unit_type.

    Returns ``{"layers": uint8 [..., C-1, H, W], "unit_type": uint16 [..., H, W]}``; ``layers``
    keeps the PySC2 channel order with the unit_type channel removed (see `storage_channels`).
    """
    stack = np.asarray(stack)
    parts = []
    unit_type = None
    for spec in specs:
        plane = stack[..., spec.index, :, :]
        if spec.name == "unit_type":
            unit_type = unit_type_index(plane)
        else:
            parts.append(layer_to_storage(spec, plane))
    assert unit_type is not None
    return {"layers": np.stack(parts, axis=-3), "unit_type": unit_type}


def storage_channels(specs: Sequence[LayerSpec]) -> tuple[LayerSpec, ...]:
    """The layers of a ``layers`` storage array, in channel order (unit_type removed)."""
    return tuple(s for s in specs if s.name != "unit_type")


def storage_to_log1p(spec: LayerSpec, stored: np.ndarray) -> np.ndarray:
    """``log1p(raw value)`` of a stored scalar layer (what SC2LE encoders consume)."""
    x = np.asarray(stored, dtype=np.float32)
    if spec.log_quantised:
        return x * (np.log1p(spec.scale) / 255.0)
    return np.log1p(x)


def observation_to_storage(obs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Turn a PySC2 observation (env or simulator) into the compact form datasets and nets use.

    Keys: ``minimap`` uint8 ``[10, H, W]``, ``minimap_unit_type`` uint16 ``[H, W]``, ``screen``
    uint8 ``[26, H, W]`` and ``screen_unit_type`` (when ``feature_screen`` is present), ``player``
    float32 ``[11]``, ``available_actions`` bool ``[573]``.
    """
    out: dict[str, np.ndarray] = {}
    mm = layers_to_storage(MINIMAP_LAYERS, obs["feature_minimap"])
    out["minimap"], out["minimap_unit_type"] = mm["layers"], mm["unit_type"]
    if "feature_screen" in obs and np.asarray(obs["feature_screen"]).size:
        sc = layers_to_storage(SCREEN_LAYERS, obs["feature_screen"])
        out["screen"], out["screen_unit_type"] = sc["layers"], sc["unit_type"]
    out["player"] = np.asarray(obs["player"], dtype=np.float32)
    mask = np.zeros(NUM_FUNCTIONS, dtype=bool)
    mask[np.asarray(obs["available_actions"], dtype=np.int64)] = True
    out["available_actions"] = mask
    return out
