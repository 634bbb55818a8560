"""Console programs (pysc2 `bin/` style): `python -m sc2agents.bin.<verb>`, `sc2agents-<verb>`."""
