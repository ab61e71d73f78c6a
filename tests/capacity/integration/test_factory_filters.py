"""GET /v1/factories narrowed by cluster and by tier verification: the operator's queue of
tiers to verify, cluster by cluster."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import OP, PROBLEM, SUP, build_site, create_cluster
from tests.helpers import bearer

pytestmark = pytest.mark.integration

TANGSHAN_SUP = bearer("firm-s9", "supplier", "tangshan")


def _ids(client: TestClient, headers: dict = OP, **params: str) -> set[str]:
    response = client.get("/v1/factories", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return {f["id"] for f in response.json()["items"]}


def test_the_operator_lists_the_tiers_still_to_verify_per_cluster(client: TestClient) -> None:
    create_cluster(client)
    create_cluster(client, "tangshan")
    checked, waiting = (build_site(client, windows=0).factory_id for _ in range(2))
    far = client.post("/v1/factories", headers=TANGSHAN_SUP, json={
        "cluster_id": "tangshan", "name": "Tangshan Forge", "lat": 39.63, "lon": 118.18,
        "declared_tier": "basic", "sme": True, "certifications": []})
    assert far.status_code == 201, far.text
    far_id = far.json()["id"]
    assert client.post(f"/v1/factories/{checked}/tier-verification", headers=OP,
                       json={"tier": "advanced"}).status_code == 200

    assert _ids(client, verified="false") == {waiting, far_id}
    assert _ids(client, verified="false", cluster_id="qhd-auto") == {waiting}
    assert _ids(client, verified="true") == {checked}
    assert _ids(client, cluster_id="tangshan") == {far_id}
    assert _ids(client) == {checked, waiting, far_id}
    # a supplier's list stays its own, filters or not
    assert _ids(client, SUP, verified="false") == {waiting}
    assert _ids(client, SUP, cluster_id="tangshan") == set()


@pytest.mark.parametrize(("params", "field"), [
    ({"cluster_id": "qhd-autp"}, "query.cluster_id"),  # a typo is not an empty cluster
    ({"verified": "maybe"}, "query.verified"),
])
def test_bad_filters_are_422_naming_the_field(client: TestClient, params: dict,
                                              field: str) -> None:
    create_cluster(client)
    response = client.get("/v1/factories", headers=OP, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]
