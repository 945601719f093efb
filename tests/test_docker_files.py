"""The Docker files as a user runs them.

Without a Docker engine (CI): the compose files parse with each Compose found on this machine (Debian's
docker-compose 1.29 and the `docker compose` plugin; skipped when absent), the workspace volume has a fixed name, the
`api` service waits for the app's health and for a key check that refuses exactly what `hamacho serve` refuses, the
image's health check answers within seconds of the app being ready, and every build argument and variable the
compose file reads is known to the Dockerfile and the README.

With a Docker engine, opted in (``HAMACHO_TEST_DOCKER=1``; several GB and minutes): the image is built and run as
the README says, and what a user sees is checked (healthy app as uid 1000 with the demo project, the API with its
key, a single clear failure without one, /docs without the internet).
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hamacho_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.gpu.yml", "docker-compose.ray.yml")
DEFAULT = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def _compose(name: str = "docker-compose.yml") -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def _unset(value: str) -> str:
    """``value`` as Compose interpolates it with no variable set (``${X:-d}`` -> d, ``${X}`` -> empty)."""
    return re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", re.sub(r"\$\{\w+\}", "", value))


def _healthcheck_options() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^HEALTHCHECK ((?:.*\\\n)*.*)$", text, re.M)
    assert found, "the image has no HEALTHCHECK"
    return dict(re.findall(r"--([\w-]+)=(\S+)", found.group(1)))


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|s|m|h)", duration))


def _composes() -> list[list[str]]:
    found = []
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 check=False).returncode == 0:
        found.append(["docker", "compose"])
    return found


def test_workspace_volume_has_one_name_whatever_the_folder() -> None:
    compose = _compose()
    assert _unset(compose["volumes"]["hamacho-workspace"]["name"]) == "hamacho-workspace"
    for name in COMPOSE_FILES:
        services = _compose(name)["services"].values()
        mounts = [m for s in services for m in s.get("volumes", []) if m.endswith(":/data/workspace")]
        assert all(m == "hamacho-workspace:/data/workspace" for m in mounts), (name, mounts)
    # Every container of the image mounts it: the image declares VOLUME /data/workspace, so one that does not
    # would get a new anonymous volume each time it runs.
    ours = {n: s for n, s in compose["services"].items() if s.get("image", "").startswith("hamacho")}
    unmounted = [n for n, s in ours.items() if "hamacho-workspace:/data/workspace" not in s["volumes"]]
    assert "hamacho" in ours and "api" in ours
    assert unmounted == []


def test_api_waits_for_the_apps_health_and_a_passed_key_check() -> None:
    services = _compose()["services"]
    api, check = services["api"], services["api-key-check"]
    assert api["depends_on"]["hamacho"]["condition"] == "service_healthy"
    assert api["depends_on"]["api-key-check"]["condition"] == "service_completed_successfully"
    assert check["profiles"] == api["profiles"] and check["image"] == api["image"]
    assert check["restart"] == "no", "a failed key check must not be retried"
    assert check["environment"]["HAMACHO_API_KEY"] == api["environment"]["HAMACHO_API_KEY"]


@pytest.mark.parametrize(("key", "exit_code"), [("", 1), ("short", 1), ("k" * 32, 0)])
def test_key_check_refuses_what_the_api_command_would_refuse(tmp_path: Path, key: str, exit_code: int) -> None:
    services = _compose()["services"]
    check, api = services["api-key-check"]["command"], services["api"]["command"]
    assert check[:2] == api[:2] == ["hamacho", "serve"] and "--check" in check
    assert check[check.index("--host") + 1] == api[api.index("--host") + 1]
    env = {"HAMACHO_API_KEY": key, "HAMACHO_HOME": str(tmp_path)}
    result = CliRunner().invoke(main, check[1:], env=env)
    assert result.exit_code == exit_code, result.output
    if exit_code:
        assert "HAMACHO_API_KEY" in result.output  # the reason names what to set


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/_stcore/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_image_health_check_answers_within_seconds_and_tells_ok_from_failure(
        health_server: http.server.HTTPServer) -> None:
    options = _healthcheck_options()
    assert _seconds(options["interval"]) <= 10, "the first check comes one interval after the start"
    assert _seconds(options["start-period"]) >= 60, "a slow first start must not count as unhealthy"
    assert _seconds(options["timeout"]) <= _seconds(options["interval"])
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    command = yaml.safe_load(re.search(r"^HEALTHCHECK (?:.*\\\n)*\s*CMD (\[.*\])$", text, re.M).group(1))
    assert command[:2] == ["python", "-c"]
    code = command[2].replace("8501", str(health_server.server_address[1]))
    assert code != command[2], "the check no longer asks port 8501"
    answers = []
    for status in (200, 503):
        _Health.status = status
        answers.append(subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode)
    assert answers[0] == 0 and answers[1] != 0, answers
    api = _compose()["services"]["api"]["healthcheck"]
    assert _seconds(api["interval"]) <= 10 and _seconds(api["start_period"]) >= 30


def test_build_arguments_and_variables_are_known() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.M))
    build = _compose()["services"]["hamacho"]["build"]
    assert build["context"] == "." and set(build["args"]) <= declared, (set(build["args"]), declared)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    variables = {name for f in COMPOSE_FILES for name in DEFAULT.findall((ROOT / f).read_text(encoding="utf-8"))}
    assert {"HAMACHO_PIP_INDEX_URL", "HAMACHO_EXTRA_CA_CERTS", "HAMACHO_TORCH_INDEX_URL"} <= variables
    assert [v for v in sorted(variables) if v not in readme] == [], "compose variables the README does not explain"


@pytest.mark.parametrize("compose", _composes() or [pytest.param(None, marks=pytest.mark.skip(
    reason="neither docker-compose nor the docker compose plugin is installed"))], ids=lambda c: " ".join(c or []))
@pytest.mark.parametrize("files", [("docker-compose.yml",), ("docker-compose.yml", "docker-compose.gpu.yml"),
                                   ("docker-compose.yml", "docker-compose.ray.yml")], ids=lambda f: "+".join(f))
def test_compose_files_are_valid_for_this_compose(compose: list[str], files: tuple[str, ...]) -> None:
    arguments = [a for f in files for a in ("-f", f)]
    env = {**os.environ, "RAY_AUTH_TOKEN": "x" * 32}
    env.pop("HAMACHO_API_KEY", None)
    result = subprocess.run([*compose, *arguments, "--profile", "api", "config"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["volumes"]["hamacho-workspace"]["name"] == "hamacho-workspace"
    assert resolved["services"]["api"]["depends_on"]["api-key-check"]["condition"] == \
        "service_completed_successfully"


# ------------------------------------------------------------------------------------------------------------------
# Opted in: a real build and run.

def _engine_skip_reason() -> str | None:
    if os.environ.get("HAMACHO_TEST_DOCKER") != "1":
        return "set HAMACHO_TEST_DOCKER=1 to build and run the image (several GB, several minutes)"
    if not shutil.which("docker"):
        return "no docker command"
    if subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=60).returncode != 0:
        return "the Docker engine (dockerd) is not running"
    if not _composes():
        return "neither docker-compose nor the docker compose plugin is installed"
    for port in (8501, 8000):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return f"port {port} is in use on this machine: the compose file publishes it"
    return None


def _wait_healthy(compose: list[str], env: dict[str, str], service: str, limit: float = 600) -> float:
    started = time.monotonic()
    container = subprocess.run([*compose, "ps", "-q", service], cwd=ROOT, env=env, capture_output=True, text=True,
                               check=True).stdout.strip()
    while time.monotonic() - started < limit:
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}} {{.RestartCount}}", container],
                               capture_output=True, text=True, check=True).stdout.split()
        if state[0] == "healthy":
            return time.monotonic() - started
        assert state[0] != "unhealthy", subprocess.run(["docker", "logs", "--tail", "40", container],
                                                       capture_output=True, text=True).stderr
        time.sleep(1)
    raise AssertionError(f"{service} not healthy after {limit:.0f} s")


@pytest.mark.slow
@pytest.mark.skipif(_engine_skip_reason() is not None, reason=str(_engine_skip_reason()))
def test_the_image_as_a_user_runs_it() -> None:
    import httpx

    compose = _composes()[-1]  # the plugin when there is one
    env = {**os.environ, "COMPOSE_PROJECT_NAME": "hamacho-test", "HAMACHO_VOLUME": "hamacho-test-workspace"}
    env.pop("HAMACHO_API_KEY", None)

    def run(*arguments: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose, *arguments], cwd=ROOT, env={**env, **(extra or {})}, capture_output=True,
                              text=True, timeout=3600, check=False)

    try:
        built = run("build")
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert run("up", "-d").returncode == 0
        _wait_healthy(compose, env, "hamacho")
        app = run("ps", "-q", "hamacho").stdout.strip()
        inside = subprocess.run(["docker", "exec", app, "sh", "-c", "id -u; ls /data/workspace/demo"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert inside[0] == "1000" and "good" in inside, inside
        assert httpx.get("http://127.0.0.1:8501/_stcore/health", timeout=10).text == "ok"

        refused = run("--profile", "api", "up", "-d")
        assert refused.returncode != 0, "up -d without HAMACHO_API_KEY must fail"
        assert "api-key-check" in refused.stdout + refused.stderr
        assert "without a key" in run("--profile", "api", "logs", "api-key-check").stdout
        assert run("--profile", "api", "ps", "-q", "api").stdout.strip() == "" or \
            "running" not in run("--profile", "api", "ps", "api").stdout

        key = "k" * 32
        started = run("--profile", "api", "up", "-d", extra={"HAMACHO_API_KEY": key})
        assert started.returncode == 0, started.stderr
        _wait_healthy(compose, {**env, "HAMACHO_API_KEY": key}, "api")
        api = "http://127.0.0.1:8000"
        assert httpx.get(f"{api}/v1/runs", timeout=10).status_code == 401
        assert httpx.get(f"{api}/v1/runs", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
        docs = httpx.get(f"{api}/docs", timeout=10).text
        assert not re.search(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", docs)
        for asset in re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", docs):
            assert httpx.get(f"{api}{asset}", timeout=10).status_code == 200, asset
    finally:
        run("--profile", "api", "down", "-v", "--remove-orphans")
