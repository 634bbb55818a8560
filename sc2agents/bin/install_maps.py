"""Copy the bundled ``.SC2Map`` files into the game's ``Maps`` folder.

Usage::

    python -m sc2agents.bin.install_maps                 # into $SC2PATH/Maps
    python -m sc2agents.bin.install_maps --sc2path=~/StarCraftII --dry_run

Idempotent: maps already installed with the same bytes are left alone. Exits with a clear message
(what it looked at, how to install the game) when ``SC2PATH`` is unset or wrong.
"""

from __future__ import annotations

import sys

from absl import app, flags

from sc2agents.envs import maps

_SC2PATH = flags.DEFINE_string("sc2path", None, "Game folder (holds Versions/); default $SC2PATH.")
_SOURCE = flags.DEFINE_string("source", None, "Folder of maps to copy; default the repo's maps/.")
_DRY_RUN = flags.DEFINE_bool("dry_run", False, "Only report what would be copied.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        report = maps.install_maps(_SC2PATH.value, _SOURCE.value, dry_run=_DRY_RUN.value)
    except (maps.SC2NotFoundError, FileNotFoundError) as e:
        sys.exit(f"install_maps: {e}")
    verb = "would copy" if _DRY_RUN.value else "copied"
    for rel in report.copied:
        print(f"{verb}: {rel}")
    for rel in report.replaced:
        print(f"{'would replace' if _DRY_RUN.value else 'replaced'} (content differed): {rel}")
    print(
        f"{len(report.copied)} {verb}, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} already installed, in {report.target}"
    )


def entry_point() -> None:
    """Console script ``sc2agents-install-maps``."""
    app.run(main)


if __name__ == "__main__":
    entry_point()
