"""The label routes: relabel, list, undo through the API (key, JSON errors, files restored by hash)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

import pytest
from api_support import KEY, LIMITS, PROJECT
from fastapi.testclient import TestClient

from hamacho_core.api import create_app

LABELS = f"/v1/projects/{quote(PROJECT)}/labels"


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def client(workspace: Path):
    with TestClient(create_app(workspace, KEY, LIMITS, accelerator="cpu"), raise_server_exceptions=False) as found:
        found.headers["Authorization"] = f"Bearer {KEY}"
        yield found


def test_relabel_list_and_undo(client: TestClient, workspace: Path) -> None:
    data = workspace / PROJECT / "data"
    before = _digest(data)
    good = sorted((data / "good").glob("*.png"))[0].relative_to(data).as_posix()
    bad = sorted((data / "bad").rglob("*.png"))[0].relative_to(data).as_posix()
    made = [client.post(LABELS, json={"picture": good, "label": "defect", "defect_type": "新しい傷"}),
            client.post(LABELS, json={"picture": bad, "label": "good", "why": "false alarm"}),
            client.post(LABELS, json={"picture": sorted((data / "good").glob("*.png"))[1].relative_to(data).as_posix(),
                                      "label": "excluded", "why": "blurred"})]
    assert [r.status_code for r in made] == [201, 201, 201], [r.text for r in made]
    first = made[0].json()
    assert first["after"] == "defect:新しい傷" and first["who"] == "api" and first["sha256"] == before[good]
    assert (data / first["picture"]).is_file()
    listed = client.get(LABELS).json()
    assert [c["id"] for c in listed["changes"]] == [r.json()["id"] for r in made] and listed["refused"] == []
    for response in reversed(made):
        undone = client.post(f"{LABELS}/{response.json()['id']}/undo")
        assert undone.status_code == 201 and undone.json()["action"] == "undo", undone.text
    assert _digest(data) == before
    assert len(client.get(LABELS).json()["changes"]) == 6


def test_bad_label_requests_are_json_errors(client: TestClient, workspace: Path) -> None:
    data = workspace / PROJECT / "data"
    good = sorted((data / "good").glob("*.png"))[0].relative_to(data).as_posix()
    for body, status, words in (
            ({"picture": good, "label": "excluded"}, 422, "why"),
            ({"picture": good, "label": "good"}, 422, "already"),
            ({"picture": "good/none.png", "label": "good"}, 422, "not a picture"),
            ({"picture": "../../x.png", "label": "good"}, 422, "leave"),
            ({"picture": good, "label": "defect", "defect_type": "a/b"}, 422, "type"),
            ({"picture": good, "label": "maybe"}, 422, "label")):
        response = client.post(LABELS, json=body)
        assert response.status_code == status and set(response.json()) == {"error"}, response.text
        assert words in response.json()["error"], response.text
    for url, method in ((f"{LABELS}/nope/undo", "POST"), ("/v1/projects/nothing/labels", "GET"),
                        ("/v1/projects/..%2F/labels", "GET")):
        response = client.request(method, url)
        assert response.status_code == 404 and set(response.json()) == {"error"}, response.text


def test_label_routes_need_the_key(workspace: Path) -> None:
    with TestClient(create_app(workspace, KEY, LIMITS)) as client:
        for method, url in (("GET", LABELS), ("POST", LABELS), ("POST", f"{LABELS}/x/undo")):
            response = client.request(method, url)
            assert response.status_code == 401 and "HAMACHO_API_KEY" in response.json()["error"]


def test_doctor_names_a_planted_duplicate_and_its_action_works(client: TestClient, workspace: Path) -> None:
    data = workspace / PROJECT / "data"
    source = sorted((data / "bad").rglob("*.png"))[0]
    (data / "good" / "copy.png").write_bytes(source.read_bytes())
    doctor = f"/v1/projects/{quote(PROJECT)}/doctor"
    answer = client.post(doctor, json={"features": False})
    assert answer.status_code == 200, answer.text
    [finding] = [f for f in answer.json()["findings"] if f["kind"] == "duplicate"]
    assert finding["pictures"][0] == "good/copy.png" and finding["action"] == "exclude"
    done = client.post(LABELS, json={"picture": finding["pictures"][0], "label": "excluded", "why": finding["kind"]})
    assert done.status_code == 201 and not (data / "good" / "copy.png").exists()
    assert client.post(doctor, json={"features": "maybe"}).status_code == 422
    assert client.post("/v1/projects/nothing/doctor").status_code == 404


def test_label_routes_answer_as_their_schema_says(client: TestClient, workspace: Path) -> None:
    from jsonschema import Draft202012Validator

    spec = client.get("/openapi.json").json()
    routes = spec["paths"]["/v1/projects/{project}/labels"]
    undo_route = spec["paths"]["/v1/projects/{project}/labels/{change_id}/undo"]["post"]

    def check(operation: dict, status: str, body: dict) -> None:
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": spec["components"]}).validate(body)

    assert routes["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("LabelRequest")
    data = workspace / PROJECT / "data"
    good = sorted((data / "good").glob("*.png"))[0].relative_to(data).as_posix()
    made = client.post(LABELS, json={"picture": good, "label": "excluded", "why": "blurred"})
    check(routes["post"], "201", made.json())
    check(routes["get"], "200", client.get(LABELS).json())
    check(undo_route, "201", client.post(f"{LABELS}/{made.json()['id']}/undo").json())
