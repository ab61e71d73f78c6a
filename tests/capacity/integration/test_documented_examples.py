"""The request examples /docs offers ("Try it out") are accepted as they are, in order: a
cluster, a factory, a machine, a change to each, a window, a change to it, a CSV import (only
the machine id of the examples is replaced by the one just made)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import OP, SUP
from tests.helpers import documented_example

pytestmark = pytest.mark.integration


def test_each_documented_request_example_is_accepted(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()

    def post(path: str, body: dict, headers: dict, status: int = 201, **params: str) -> dict:
        response = client.post(path.format(**params), headers=headers, json=body)
        assert response.status_code == status, (path, response.text)
        return response.json()

    post("/v1/clusters", documented_example(doc, "post", "/v1/clusters"), OP)
    factory = post("/v1/factories", documented_example(doc, "post", "/v1/factories"), SUP)
    machine = post("/v1/factories/{f}/machines",
                   documented_example(doc, "post", "/v1/factories/{factory_id}/machines"), SUP,
                   f=factory["id"])
    for path, example in ((f"/v1/factories/{factory['id']}", "/v1/factories/{factory_id}"),
                          (f"/v1/machines/{machine['id']}", "/v1/machines/{machine_id}")):
        changed = client.patch(path, headers=SUP, json=documented_example(doc, "patch", example))
        assert changed.status_code == 200, changed.text
    window = post("/v1/machines/{m}/windows",
                  documented_example(doc, "post", "/v1/machines/{machine_id}/windows"), SUP,
                  m=machine["id"])
    patched = client.patch(f"/v1/windows/{window['id']}", headers=SUP,
                           json=documented_example(doc, "patch", "/v1/windows/{window_id}"))
    assert patched.status_code == 200, patched.text

    csv = documented_example(doc, "post", "/v1/windows:import", "text/csv")
    example_machine = csv.splitlines()[1].split(",")[0]
    imported = client.post("/v1/windows:import", headers=SUP | {"Content-Type": "text/csv"},
                           content=csv.replace(example_machine, machine["id"]).encode())
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == len(csv.splitlines()) - 1
