"""The alert domain without a database: matchers, the route tree, inhibition, the flush
decision, redaction, and the configuration that refuses what it cannot route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import make_settings
from wardwatch.alerts.config import AlertSettings
from wardwatch.alerts.model import (
    ActiveAlert,
    AlertStatus,
    InhibitionIndex,
    InhibitRule,
    Matcher,
    Member,
    decide_flush,
    fingerprint,
    matches_everything,
)
from wardwatch.alerts.notifiers import redact_url, scrub
from wardwatch.alerts.routing import Routing
from wardwatch.bootstrap import build_container
from wardwatch.kernel.config import load_settings
from wardwatch.kernel.errors import ConfigError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def labels(
    severity: str, rule: str = "R1", facility: str = "F1", source: str = "rule", **more: str
) -> dict[str, str]:
    return {
        "severity": severity,
        "rule_id": rule,
        "facility_id": facility,
        "source": source,
        "day": "2026-12-01",
        **more,
    }


def test_matchers_parse_like_alertmanager_and_anchor_their_expressions() -> None:
    assert Matcher.parse('severity="red"').matches({"severity": "red"})
    assert Matcher.parse('severity!="red"').matches({"severity": "blue"})
    assert Matcher.parse('rule_id=~"R[12]"').matches({"rule_id": "R2"})
    assert not Matcher.parse('rule_id=~"R[12]"').matches({"rule_id": "R12"}), "anchored"
    assert Matcher.parse('room!~"OR.*"').matches({})
    quoted = Matcher.parse(r'room="say \"hi\""')
    assert quoted.value == 'say "hi"' and Matcher.parse(quoted.text()) == quoted
    for bad in ("severity=red", 'sev-erity="red"', 'x=~"("', 'x=="y"'):
        with pytest.raises(ValueError):
            Matcher.parse(bad)
    assert matches_everything([Matcher.parse('rule_id=~".*"')])
    assert not matches_everything([Matcher.parse('rule_id="R3"')])


def test_the_default_tree_sends_each_colour_to_its_receiver_and_policy() -> None:
    routing = Routing.from_settings(AlertSettings())
    for severity, receiver in (
        ("blue", "facility_supervisor"),
        ("yellow", "legal_representative"),
        ("red", "enforcement_team"),
    ):
        (route,) = routing.routes_for(labels(severity))
        assert route.receiver == receiver
        assert routing.policy_for([route]) is not None and routing.policy_for([route]).name == severity  # type: ignore[union-attr]
        assert route.group_by == ("facility_id", "rule_id", "day")
    (notifier,) = routing.routes_for(labels("red", source="notifier"))
    assert notifier.receiver == "administrators" and notifier.group_wait == timedelta(0)
    assert routing.policy_for([notifier]) is None


def test_continue_sends_an_alert_down_more_than_one_route() -> None:
    settings = AlertSettings(
        route={
            "receiver": "facility_supervisor",
            "group_by": ["facility_id"],
            "group_wait_s": 1,
            "group_interval_s": 2,
            "repeat_interval_s": 3,
            "routes": [
                {"matchers": ['rule_id="R4"'], "receiver": "enforcement_team", "continue": True},
                {"matchers": ['severity="red"'], "receiver": "supervisors"},
                {"matchers": ['severity="red"'], "receiver": "administrators"},
            ],
        }
    )
    routing = Routing.from_settings(settings)
    assert [r.receiver for r in routing.routes_for(labels("red", rule="R4"))] == [
        "enforcement_team",
        "supervisors",
    ]
    assert [r.receiver for r in routing.routes_for(labels("red", rule="R1"))] == ["supervisors"]
    assert [r.receiver for r in routing.routes_for(labels("blue"))] == ["facility_supervisor"]
    assert routing.routes_for(labels("blue"))[0].repeat_interval == timedelta(seconds=3)


def test_red_inhibits_only_yellow_and_blue_of_its_own_facility_and_rule() -> None:
    rule = InhibitRule(
        (Matcher.parse('severity="red"'),),
        (Matcher.parse('severity=~"yellow|blue"'),),
        ("facility_id", "rule_id"),
    )
    red = ActiveAlert("red", labels("red"), "/r/")
    same = [ActiveAlert(s, labels(s), "/r/") for s in ("yellow", "blue")]
    others = [
        ActiveAlert("other-rule", labels("yellow", rule="R2"), "/r/"),
        ActiveAlert("other-facility", labels("yellow", facility="F2"), "/r/"),
        ActiveAlert("red-elsewhere", labels("red", facility="F3"), "/r/"),
    ]
    index = InhibitionIndex([rule], [red, *same, *others])
    assert [index.inhibitors(a) for a in same] == [["red"], ["red"]]
    assert [index.inhibitors(a) for a in others] == [[], [], []]
    assert index.inhibitors(red) == []


def member(key: str, status: AlertStatus = AlertStatus.FIRING, count: int = 1, muted: bool = False) -> Member:
    return Member(key, key, count, status, muted)


def test_the_flush_decision_is_alertmanagers_notification_log_with_acknowledgement() -> None:
    hour = timedelta(hours=1)
    first = decide_flush([member("a"), member("b")], frozenset(), None, NOW, hour, True)
    assert (first.reason, first.firing) == ("firing", ("a", "b"))
    same = decide_flush(
        [member("a"), member("b")], first.notified_after, NOW, NOW + 5 * timedelta(minutes=1), hour, True
    )
    assert same.reason is None and same.notified_after == first.notified_after
    repeat = decide_flush([member("a"), member("b")], first.notified_after, NOW, NOW + hour, hour, True)
    assert repeat.reason == "repeat"
    retriggered = decide_flush(
        [member("a", count=2), member("b")], first.notified_after, NOW, NOW, hour, True
    )
    assert retriggered.reason == "firing"
    acked = decide_flush(
        [member("a", AlertStatus.ACKNOWLEDGED), member("b")],
        first.notified_after,
        NOW,
        NOW + hour,
        hour,
        True,
    )
    assert acked.reason == "repeat" and acked.firing == ("b",)
    only_acked = decide_flush(
        [member("a", AlertStatus.ACKNOWLEDGED)], frozenset({("a", 1)}), NOW, NOW + hour, hour, True
    )
    assert only_acked.reason is None and only_acked.active
    resolved = decide_flush([member("a", AlertStatus.RESOLVED)], frozenset({("a", 1)}), NOW, NOW, hour, True)
    assert (resolved.reason, resolved.resolved, resolved.active) == ("resolved", ("a",), False)
    quiet = decide_flush([member("a", AlertStatus.RESOLVED)], frozenset({("a", 1)}), NOW, NOW, hour, False)
    assert quiet.reason is None and quiet.notified_after == frozenset()
    muted = decide_flush([member("a", muted=True)], frozenset(), None, NOW, hour, True)
    assert muted.reason is None and muted.active
    never_told = decide_flush([member("a", AlertStatus.RESOLVED)], frozenset(), None, NOW, hour, True)
    assert never_told.reason is None


def test_a_fingerprint_ignores_label_order_and_names_rule_facility_and_labels() -> None:
    assert fingerprint("R1", "F", {"a": "1", "b": "2"}) == fingerprint("R1", "F", {"b": "2", "a": "1"})
    assert len({fingerprint("R1", "F", {}), fingerprint("R2", "F", {}), fingerprint("R1", "G", {}),
                fingerprint("R1", "F", {"a": "1"})}) == 4  # fmt: skip


def test_shown_targets_hide_passwords_tokens_and_unknown_query_values() -> None:
    assert redact_url("jsons://u:pw@hooks.example.org/a/Tok3nTok3nTok3n?-key=abc&method=POST") == (
        "jsons://u:****@hooks.example.org/a/****?-key=****&method=POST"
    )
    assert redact_url("mailtos://mailer:pw@smtp.example.org:587?from=a@b.org") == (
        "mailtos://mailer:****@smtp.example.org:587?from=a@b.org"
    )
    url = "json://u:pw1234@h/Tok3nTok3nTok3n"
    assert "pw1234" not in scrub(f"failed {url} with pw1234 and Tok3nTok3nTok3n", url)


def test_the_route_tree_refuses_unknown_keys_receivers_policies_and_matchers(tmp_path: Path) -> None:
    config = tmp_path / "wardwatch.yaml"
    root = "receiver: legal_representative, group_by: [], group_wait_s: 1, group_interval_s: 1"
    root += ", repeat_interval_s: 1"
    cases = {
        "alerts: {route: {recevier: x}}": "unknown setting 'alerts.route.recevier'",
        "alerts: {fallback_receiver: nobody}": "unknown receiver 'nobody'",
        "alerts: {escalation_policies: {blue: {steps: [{after_s: 5, receiver: ghost}]}}}": "receiver 'ghost'",
        f"alerts: {{route: {{{root}, routes: [{{matchers: ['severity=red']}}]}}}}": "is not of the form",
        f"alerts: {{route: {{{root}, escalation: nightly}}}}": "unknown policy 'nightly'",
        "alerts: {email: {url: 'https://example.org'}}": "mailto",
    }
    for text, message in cases.items():
        config.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_settings(tmp_path, config)


def test_an_unknown_role_or_an_unusable_url_refuses_to_start_without_quoting_it(tmp_path: Path) -> None:
    url = "notascheme://user:TopSecret1@host"
    settings = make_settings(
        tmp_path / "a",
        f"sqlite:///{tmp_path / 'a.db'}",
        alerts={"receivers": {**_defaults(), "legal_representative": {"apprise": [url]}}},
    )
    with pytest.raises(ConfigError) as refused:
        build_container(settings, create_keys=True)
    assert "alerts.receivers.legal_representative.apprise.0" in str(refused.value)
    assert "TopSecret1" not in str(refused.value)
    settings = make_settings(
        tmp_path / "b",
        f"sqlite:///{tmp_path / 'b.db'}",
        alerts={"receivers": {**_defaults(), "legal_representative": {"roles": [{"role": "chief_wizard"}]}}},
    )
    with pytest.raises(ConfigError, match="unknown role 'chief_wizard'"):
        build_container(settings, create_keys=True)


def _defaults() -> dict[str, object]:
    from test_alerts_support import receivers

    return receivers()
