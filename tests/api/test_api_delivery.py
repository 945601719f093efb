"""The compose service `api`: the same image and workspace volume as the app, published on loopback only."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_api_service_shares_the_workspace_on_loopback_with_a_key() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    app, api = compose["services"]["hamacho"], compose["services"]["api"]
    assert api["image"] == app["image"] and api["command"][:2] == ["hamacho", "serve"]
    assert api["volumes"] == app["volumes"] and api["environment"]["HAMACHO_HOME"] == app["environment"]["HAMACHO_HOME"]
    assert all(str(port).startswith("127.0.0.1:") for port in api["ports"])
    assert "HAMACHO_API_KEY" in api["environment"] and "/health" in " ".join(api["healthcheck"]["test"])
