"""The API's train settings carry the sealed hold-out share to the run's TrainConfig, checked as the CLI's."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from api_support import PROJECT
from fastapi.testclient import TestClient

from hamacho_core.api.schemas import TrainRequest
from hamacho_core.config import project_train_config


def test_holdout_split_reaches_the_train_config(workspace: Path) -> None:
    assert TrainRequest().holdout_split == 0.0  # off unless asked
    options = TrainRequest(holdout_split=0.2).model_dump()
    assert project_train_config(workspace / PROJECT, options).holdout_split == 0.2


def test_bad_holdout_splits_are_422(shared_client: TestClient) -> None:
    url = f"/v1/projects/{quote(PROJECT)}/train"
    for body, words in (({"holdout_split": 0.9}, "holdout_split"), ({"holdout_split": -0.1}, "holdout_split"),
                        ({"holdout_split": 0.02}, "--holdout-split must be 0"),
                        ({"holdout_split": 0.2, "no_bad_mode": True}, "no-bad-mode")):
        answer = shared_client.post(url, json=body)
        assert answer.status_code == 422, answer.text
        assert words in answer.text
