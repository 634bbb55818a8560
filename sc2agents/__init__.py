"""sc2agents: offline RL for StarCraft II on the real game (PySC2) or an embedded simulator.

Importing the package is cheap: no torch CUDA init, no pysc2 game process, no Ray.
"""

from __future__ import annotations

__version__ = "0.1.0"
