"""Map registry for the real game, and where the StarCraft II install lives.

Modelled on PySC2's ``maps/lib.py``: every map is a `MapInfo` with a ``directory`` and ``filename``
relative to the game's ``Maps/`` folder. The registry is PySC2's own (the DeepMind mini-games
and the Blizzard melee maps, so names, players, step_mul and score settings agree with PySC2),
plus any ``.SC2Map`` file checked into this repository's ``maps/`` folder. ``MapInfo.to_pysc2()``
gives the PySC2 `Map` instance `SC2Env` takes.

The mini-game ``.SC2Map`` files ship in ``maps/mini_games/`` (DeepMind, Apache-2.0, see
``maps/README.md``); `install_maps` copies them into ``$SC2PATH/Maps`` (what
``python -m sc2agents.bin.install_maps`` runs). Melee maps come from Blizzard's map packs, whose
licence does not allow redistribution; the errors say where to get them.

`find_sc2` and `locate_map` are the checks that turn "the game did not start" into an error that
says what is missing, where it looked and how to fix it.

Example:
    >>> from sc2agents.envs import maps
    >>> maps.get_map("MoveToBeacon").relpath
    'mini_games/MoveToBeacon.SC2Map'
"""

from __future__ import annotations

import dataclasses
import filecmp
import os
import pathlib
import platform
import shutil
from collections.abc import Mapping
from typing import Any, Literal

from pysc2_evolved import maps as pysc2_maps
from pysc2_evolved.maps import lib as pysc2_maps_lib

__all__ = [
    "MAPS",
    "MapInfo",
    "MapNotFoundError",
    "SC2NotFoundError",
    "REPO_MAPS_DIR",
    "find_sc2",
    "get_map",
    "install_maps",
    "installed_maps",
    "locate_map",
    "map_sources",
]

REPO_MAPS_DIR = pathlib.Path(__file__).resolve().parents[2] / "maps"
"""This repository's ``maps/`` folder (mini-games checked in, user maps may be added)."""
PYSC2_MAPS_DIR = pathlib.Path(pysc2_maps.__file__).resolve().parent
"""The map files that ship inside the installed ``pysc2_evolved`` package (mini-games)."""

MapKind = Literal["mini_game", "melee", "ladder", "custom"]

_LINUX_PACKAGES = "https://github.com/Blizzard/s2client-proto#downloads"
_MAP_PACKS = "https://github.com/Blizzard/s2client-proto#map-packs"
INSTALL_HELP = (
    "How to install StarCraft II:\n"
    "  * Linux (headless): download a Linux package (e.g. SC2.4.10.zip) from "
    f"{_LINUX_PACKAGES}, `unzip -P iagreetotheeula SC2.4.10.zip -d ~` (creates ~/StarCraftII), "
    "then `export SC2PATH=~/StarCraftII`; or use docker/Dockerfile.sc2.\n"
    "  * Windows / macOS: install the free Starter Edition through the Battle.net app and run the "
    "game once; set SC2PATH if it is not in the default folder.\n"
    "Then copy the maps in: `python -m sc2agents.bin.install_maps`."
)


class SC2NotFoundError(RuntimeError):
    """No usable StarCraft II install (``SC2PATH`` unset or pointing at the wrong place)."""


class MapNotFoundError(ValueError):
    """A map name that is unknown, or a map file that is not in the game's ``Maps`` folder."""


@dataclasses.dataclass(frozen=True)
class MapInfo:
    """One map: where its file lives under ``Maps/`` and how PySC2 scores and times it.

    Attributes:
        name: map name (``MoveToBeacon``, ``Simple64``); the env id is
            ``sc2agents/PySC2-<name>-v0``.
        directory: folder under ``$SC2PATH/Maps`` (``mini_games``, ``Melee``, ...).
        filename: file name, with or without ``.SC2Map``.
        players: maximum number of players (1 for mini-games).
        kind: ``mini_game``, ``melee``, ``ladder`` or ``custom`` (a file in this repo's ``maps/``).
        step_mul: PySC2's default game steps per agent step.
        game_steps_per_episode: PySC2's episode limit in game loops (0 = none).
        score_index: -1 = win/loss reward, ``>=0`` = index into ``score_cumulative``.
        score_multiplier: reward multiplier.
        download: where to get the file when it is not bundled.
    """

    name: str
    directory: str
    filename: str
    players: int
    kind: MapKind
    step_mul: int = 8
    game_steps_per_episode: int = 0
    score_index: int = -1
    score_multiplier: float = 1.0
    download: str = _MAP_PACKS

    @property
    def relpath(self) -> str:
        """Path under the game's ``Maps`` folder, with the ``.SC2Map`` ending."""
        name = self.filename if self.filename.endswith(".SC2Map") else self.filename + ".SC2Map"
        return f"{self.directory}/{name}" if self.directory else name

    @property
    def bundled_path(self) -> pathlib.Path | None:
        """The copy of the map in this repository (or in pysc2_evolved), if there is one."""
        for root in (REPO_MAPS_DIR, PYSC2_MAPS_DIR):
            path = root / self.relpath
            if path.is_file():
                return path
        return None

    def to_pysc2(self) -> pysc2_maps_lib.Map:
        """The PySC2 `Map` instance to hand to `SC2Env` (its own class for PySC2-known maps)."""
        known = pysc2_maps_lib.get_maps()
        if self.name in known and self.kind != "custom":
            return known[self.name]()
        return _CustomMap(self)


class _CustomMap(pysc2_maps_lib.Map):
    """A PySC2 `Map` built from a `MapInfo` (maps PySC2 does not define itself).

    The class attribute ``filename`` stays None so PySC2's registry (`maps.get_maps`, which keys on
    the class name) never sees this class and cannot report a duplicate; everything is per instance.
    """

    def __init__(self, info: MapInfo) -> None:
        self._info = info
        self.directory = info.directory
        self.filename = info.filename
        self.players = info.players
        self.step_mul = info.step_mul
        self.game_steps_per_episode = info.game_steps_per_episode
        self.score_index = info.score_index
        self.score_multiplier = info.score_multiplier
        self.download = info.download

    @property
    def name(self) -> str:
        return self._info.name


def _kind_of(cls: type) -> MapKind:
    module = cls.__module__.rsplit(".", 1)[-1]
    return {"mini_games": "mini_game", "melee": "melee"}.get(module, "ladder")  # type: ignore[return-value]


def _build_registry() -> dict[str, MapInfo]:
    registry: dict[str, MapInfo] = {}
    for name, cls in sorted(pysc2_maps_lib.get_maps().items()):
        if not cls.filename:  # battle.net-only ladder maps: no local file to install
            continue
        registry[name] = MapInfo(
            name=name,
            directory=cls.directory,
            filename=cls.filename,
            players=int(cls.players or 2),
            kind=_kind_of(cls),
            step_mul=int(cls.step_mul),
            game_steps_per_episode=int(cls.game_steps_per_episode),
            score_index=int(cls.score_index),
            score_multiplier=float(cls.score_multiplier),
            download=cls.download or _MAP_PACKS,
        )
    # Files dropped into this repository's maps/ that PySC2 does not know: one player in
    # mini_games/, two elsewhere (a user can always pass a MapInfo of their own).
    if REPO_MAPS_DIR.is_dir():
        for path in sorted(REPO_MAPS_DIR.rglob("*.SC2Map")):
            if path.stem in registry:
                continue
            rel = path.relative_to(REPO_MAPS_DIR)
            directory = rel.parent.as_posix() if rel.parent != pathlib.Path(".") else ""
            registry[path.stem] = MapInfo(
                name=path.stem,
                directory=directory,
                filename=path.name,
                players=1 if directory == "mini_games" else 2,
                kind="custom",
                score_index=0 if directory == "mini_games" else -1,
                download=str(path),
            )
    return registry


MAPS: Mapping[str, MapInfo] = _build_registry()
"""Every known map by name."""


def get_map(name: str | MapInfo) -> MapInfo:
    """Look a map up by name (``MoveToBeacon``, ``Simple64``, or a ``.SC2Map`` path's stem).

    Raises:
        MapNotFoundError: unknown name; the message lists the known maps.
    """
    if isinstance(name, MapInfo):
        return name
    stem = pathlib.PurePath(str(name)).name.removesuffix(".SC2Map")
    if stem in MAPS:
        return MAPS[stem]
    raise MapNotFoundError(
        f"unknown map {name!r}. Known maps: mini-games "
        f"{', '.join(n for n, m in MAPS.items() if m.kind == 'mini_game')}; "
        f"melee {', '.join(n for n, m in MAPS.items() if m.kind == 'melee')}; "
        f"custom (files in {REPO_MAPS_DIR}) "
        f"{', '.join(n for n, m in MAPS.items() if m.kind == 'custom') or 'none'}; "
        f"plus {sum(m.kind == 'ladder' for m in MAPS.values())} ladder maps."
    )


def default_sc2_path() -> pathlib.Path:
    """Where PySC2 looks for the game when ``SC2PATH`` is not set, on this platform."""
    system = platform.system()
    if system == "Windows":
        return pathlib.Path("C:/Program Files (x86)/StarCraft II")
    if system == "Darwin":
        return pathlib.Path("/Applications/StarCraft II")
    return pathlib.Path("~/StarCraftII").expanduser()


def find_sc2(sc2path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Return the game folder (the one holding ``Versions/``), or say exactly what is wrong.

    Args:
        sc2path: explicit folder; defaults to ``$SC2PATH``, then PySC2's platform default.

    Raises:
        SC2NotFoundError: the folder is missing, or has no ``Versions/Base*/`` game binary.
    """
    if sc2path is not None:
        base, origin = pathlib.Path(sc2path).expanduser(), "the sc2path argument"
    elif os.environ.get("SC2PATH"):
        base, origin = pathlib.Path(os.environ["SC2PATH"]).expanduser(), "SC2PATH"
    else:
        base, origin = default_sc2_path(), "SC2PATH is not set, so the default"
    if not base.is_dir():
        raise SC2NotFoundError(
            f"StarCraft II not found: {origin} points at {base}, which does not exist.\n"
            + INSTALL_HELP
        )
    versions = base / "Versions"
    builds = sorted(p.name for p in versions.glob("Base*")) if versions.is_dir() else []
    if not builds:
        raise SC2NotFoundError(
            f"StarCraft II not found: {origin} points at {base}, but {versions} has no "
            "Base<build> folder with a game binary (SC2PATH must be the folder that holds "
            "Versions/, Maps/ and Libs/).\n" + INSTALL_HELP
        )
    return base


def installed_maps(sc2path: str | os.PathLike[str]) -> list[str]:
    """The ``.SC2Map`` files under ``<sc2path>/Maps``, as paths relative to it."""
    root = pathlib.Path(sc2path) / "Maps"
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.SC2Map"))


def locate_map(name: str | MapInfo, sc2path: str | os.PathLike[str]) -> pathlib.Path:
    """Find the map file where the game reads it: ``<sc2path>/Maps/<dir>/<file>``.

    Like PySC2's ``RunConfig.map_data`` it also accepts the ``(<players>)<file>`` spelling of
    Blizzard's map packs.

    Raises:
        MapNotFoundError: says where it looked, which maps are installed, and how to install.
    """
    info = get_map(name)
    maps_dir = pathlib.Path(sc2path) / "Maps"
    rel = pathlib.PurePosixPath(info.relpath)
    candidates = [maps_dir / rel, maps_dir / rel.parent / f"({info.players}){rel.name}"]
    for path in candidates:
        if path.is_file():
            return path
    have = installed_maps(sc2path)
    if info.bundled_path is not None:
        fix = "Install the bundled maps with `python -m sc2agents.bin.install_maps`."
    else:
        fix = f"Download it from {info.download} and unzip it into {maps_dir}."
    raise MapNotFoundError(
        f"map {info.name} not found: looked for {' and '.join(str(c) for c in candidates)}. "
        f"Installed maps in {maps_dir}: {', '.join(have) if have else 'none'}. {fix}"
    )


def map_sources(source: str | os.PathLike[str] | None = None) -> dict[str, pathlib.Path]:
    """The ``.SC2Map`` files to install, keyed by their path relative to ``Maps/``.

    Defaults to this repository's ``maps/`` folder, falling back to the mini-games inside the
    installed pysc2_evolved package when the repository folder is absent (a wheel install).
    """
    roots = [pathlib.Path(source)] if source is not None else [REPO_MAPS_DIR, PYSC2_MAPS_DIR]
    for root in roots:
        if not root.is_dir():
            continue
        found = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.SC2Map"))}
        if found:
            return found
    raise FileNotFoundError(f"no .SC2Map files under {', '.join(str(r) for r in roots)}")


@dataclasses.dataclass
class InstallReport:
    """What `install_maps` did: relative paths copied, already up to date, replaced."""

    target: pathlib.Path
    copied: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    replaced: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": str(self.target),
            "copied": self.copied,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
        }


def install_maps(
    sc2path: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    *,
    dry_run: bool = False,
) -> InstallReport:
    """Copy the bundled maps into ``<sc2path>/Maps``; idempotent.

    A file already there with the same bytes is left alone; one with other bytes is replaced
    (the bundled copy is the one PySC2's map configs were written for).

    Args:
        sc2path: game folder; defaults to ``$SC2PATH`` (checked with `find_sc2`).
        source: folder of maps to copy (default: this repository's ``maps/``).
        dry_run: report what would happen without writing.

    Raises:
        SC2NotFoundError: ``sc2path``/``SC2PATH`` is not a game install.
    """
    base = find_sc2(sc2path)
    target = base / "Maps"
    report = InstallReport(target=target)
    for rel, src in map_sources(source).items():
        dst = target / rel
        if dst.is_file():
            if filecmp.cmp(src, dst, shallow=False):
                report.unchanged.append(rel)
                continue
            report.replaced.append(rel)
        else:
            report.copied.append(rel)
        if not dry_run:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(dst.name + ".tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)  # atomic: a game reading the map never sees half a file
    return report
