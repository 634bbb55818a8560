"""install_maps: copies the bundled maps into $SC2PATH/Maps, idempotently, with clear errors."""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys

import pytest

from sc2agents.envs import maps

REPO = pathlib.Path(__file__).resolve().parents[2]
MINI_GAMES = sorted(p.name for p in (REPO / "maps" / "mini_games").glob("*.SC2Map"))


def _fake_game(root: pathlib.Path) -> pathlib.Path:
    (root / "Versions" / "Base75689").mkdir(parents=True)
    return root


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_maps_are_pysc2s_mini_games():
    assert MINI_GAMES == sorted(
        f"{m.filename}.SC2Map" for m in maps.MAPS.values() if m.kind == "mini_game"
    )
    for name in MINI_GAMES:  # byte-identical to the copies inside pysc2_evolved
        assert _digest(REPO / "maps" / "mini_games" / name) == _digest(
            maps.PYSC2_MAPS_DIR / "mini_games" / name
        )
    readme = (REPO / "maps" / "README.md").read_text()
    assert "Apache" in readme and all(n in readme for n in MINI_GAMES)


def test_install_copies_then_is_idempotent(tmp_path):
    game = _fake_game(tmp_path / "StarCraftII")
    first = maps.install_maps(game)
    assert sorted(pathlib.PurePosixPath(r).name for r in first.copied) == MINI_GAMES
    for name in MINI_GAMES:
        dst = game / "Maps" / "mini_games" / name
        assert _digest(dst) == _digest(REPO / "maps" / "mini_games" / name)
    mtimes = {p: p.stat().st_mtime_ns for p in (game / "Maps").rglob("*.SC2Map")}
    second = maps.install_maps(game)
    assert (
        second.copied == [] and second.replaced == [] and len(second.unchanged) == len(MINI_GAMES)
    )
    assert mtimes == {p: p.stat().st_mtime_ns for p in (game / "Maps").rglob("*.SC2Map")}
    # A damaged copy is replaced; the game then finds every map where PySC2 looks.
    (game / "Maps" / "mini_games" / "MoveToBeacon.SC2Map").write_bytes(b"truncated")
    third = maps.install_maps(game)
    assert third.replaced == ["mini_games/MoveToBeacon.SC2Map"]
    for name in ("MoveToBeacon", "DefeatRoaches"):
        assert maps.locate_map(name, game).is_file()


def test_dry_run_writes_nothing(tmp_path):
    game = _fake_game(tmp_path / "g")
    report = maps.install_maps(game, dry_run=True)
    assert len(report.copied) == len(MINI_GAMES) and not (game / "Maps").exists()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sc2agents.bin.install_maps", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        timeout=120,
    )


def test_cli_installs_and_reports(tmp_path):
    game = _fake_game(tmp_path / "sc2")
    res = _cli(env={"SC2PATH": str(game)})
    assert res.returncode == 0, res.stderr
    assert f"{len(MINI_GAMES)} copied" in res.stdout
    res = _cli(f"--sc2path={game}", env={"SC2PATH": ""})
    assert res.returncode == 0 and f"{len(MINI_GAMES)} already installed" in res.stdout


@pytest.mark.parametrize("setup, expected", [("missing", "which does not exist"),
                                             ("empty", "has no Base<build> folder")])  # fmt: skip
def test_cli_clear_error_when_sc2path_is_wrong(tmp_path, setup, expected):
    target = tmp_path / "game"
    if setup == "empty":
        target.mkdir()
    res = _cli(env={"SC2PATH": str(target)})
    assert res.returncode != 0
    assert expected in res.stderr and str(target) in res.stderr and "SC2.4.10.zip" in res.stderr
    assert not (target / "Maps").exists()
