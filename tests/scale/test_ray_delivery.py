"""docker-compose.ray.yml: a Ray head and a worker from the project's image, sharing the workspace volume."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_ray_compose_has_a_head_and_workers_on_the_shared_volume() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.ray.yml").read_text(encoding="utf-8"))
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    head, worker = compose["services"]["ray-head"], compose["services"]["ray-worker"]
    image = base["services"]["hamacho"]["image"]
    for service in (head, worker):
        assert service["image"] == image
        assert service["command"][:2] == ["ray", "start"] and "--block" in service["command"]
        assert "hamacho-workspace:/data/workspace" in service["volumes"]
        assert service["environment"]["RAY_AUTH_MODE"] == "token"
    assert "--head" in head["command"]
    port = head["command"][head["command"].index("--port") + 1]
    assert worker["command"][worker["command"].index("--address") + 1] == f"ray-head:{port}"
    assert compose["services"]["hamacho"]["environment"]["HAMACHO_RAY_ADDRESS"] == f"ray-head:{port}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose -f docker-compose.yml -f docker-compose.ray.yml up" in readme
    assert "hamacho score --address" in readme
