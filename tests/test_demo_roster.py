"""The demo is on duty from its first minute: a shift about to hand over, the next operator, a gap."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from wardwatch.api.app import create_app
from wardwatch.cli import app
from wardwatch.demo import DEMO_PASSWORD, HANDOVER_IN, NEXT_OPERATOR


def signed_in(client: TestClient, username: str) -> dict[str, str]:
    """Sign in as the console does; the CSRF header its writes need."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"x-csrf-token": response.json()["csrf_token"]}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_demo_roster_lets_operator_hand_over_to_the_next_operator_and_shows_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    data = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--data", str(data), "--seed-only"])
    assert result.exit_code == 0, result.output
    assert NEXT_OPERATOR in result.output, "the next operator is listed with the demo accounts"
    from wardwatch.instance import open_instance
    from wardwatch.kernel.config import load_settings

    container = open_instance(load_settings(data))
    try:
        now = container.clock.now()
        app_ = create_app(container, manage_lifecycle=False)
        with TestClient(app_) as client:
            headers = signed_in(client, "operator")
            shifts: list[dict[str, Any]] = client.get("/api/v1/duty/shifts").json()
            mine = [s for s in shifts if s["operators"][0]["username"] == "operator"]
            current = next(s for s in mine if at(s["starts_at"]) <= now < at(s["ends_at"]))
            assert current["taken"], "operator's shift on now is taken"
            assert at(current["ends_at"]) - now <= HANDOVER_IN, "and ends soon"
            following = next(s for s in shifts if s["starts_at"] == current["ends_at"])
            assert [o["username"] for o in following["operators"]] == [NEXT_OPERATOR]
            coverage = client.get("/api/v1/duty/coverage").json()
            assert len(coverage["facilities"]) == 4
            for facility in coverage["facilities"]:
                assert [o["username"] for o in facility["on_duty"]] == ["operator"]
                unstaffed = [g for g in facility["gaps"] if g["reason"] == "unstaffed"]
                assert any(at(g["end"]) - at(g["start"]) == timedelta(hours=4) for g in unstaffed), facility
            written = client.post(
                f"/api/v1/duty/shifts/{current['id']}/handover",
                json={"summary": "Nothing unusual; the clinic's theatre alerts are still open."},
                headers=headers,
            )
            assert written.status_code == 201, written.text
            handover = written.json()
            assert handover["to_shift_id"] == following["id"]
            assert set(handover["checked"]) == {"incident", "alert"} and handover["unavailable"] == []
        with TestClient(app_) as client:
            headers = signed_in(client, NEXT_OPERATOR)
            acknowledged = client.post(
                f"/api/v1/duty/handovers/{handover['id']}/acknowledge",
                json={"note": "taken"},
                headers=headers,
            )
            assert acknowledged.status_code == 200, acknowledged.text
            assert acknowledged.json()["acknowledged_by_name"] == NEXT_OPERATOR
            assert client.get(f"/api/v1/duty/shifts/{following['id']}").json()["taken"]
        with TestClient(app_) as client:
            signed_in(client, "operator2")
            coverage = client.get("/api/v1/duty/coverage").json()
            (quarantine,) = coverage["facilities"]
            assert [o["username"] for o in quarantine["on_duty"]] == ["operator2"]
            assert quarantine["gaps"], "the quarantine centre's roster has a hole too"
    finally:
        container.close()
