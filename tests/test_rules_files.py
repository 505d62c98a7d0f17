"""Rule files are refused on any mistake, naming the file, the rule and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from support import make_settings
from wardwatch.bootstrap import build_container
from wardwatch.kernel.clock import FixedClock
from wardwatch.kernel.errors import ConfigError
from wardwatch.rules.loader import load_rules, parse_pack
from wardwatch.rules.spec import RuleError

GOOD = """
schema: wardwatch.rules/v1
rules:
  - id: X1
    version: 2.1.0
    severity: blue
    title: {vi: "Cửa {door_id}", zh-Hans: "门 {door_id}", en: "Door {door_id}: {denied}"}
    description: {vi: "Mô tả", zh-Hans: "描述", en: "Description"}
    window: {sliding: {length: 5m}}
    group_by: [door_id]
    measures:
      denied: {count: door_events, where: {result: denied}}
    condition: denied >= 2
"""


def rule_text(**changes: str) -> str:
    text = GOOD
    for key, new in changes.items():
        old = key.replace("__", " ")
        assert old in text, old
        text = text.replace(old, new)
    return text


def refusal(text: str) -> str:
    with pytest.raises(RuleError) as raised:
        parse_pack(textwrap.dedent(text), "site/rules.yaml", "site/rules.yaml")
    return str(raised.value)


def test_a_good_file_loads_and_its_hash_follows_its_content() -> None:
    [(rule, enabled)] = parse_pack(GOOD, "a.yaml", "a.yaml")
    assert enabled and (rule.id, rule.version, rule.severity.value) == ("X1", "2.1.0", "blue")
    [(same, _)] = parse_pack(GOOD.replace("{result: denied}", "{ result: denied }"), "b.yaml", "b.yaml")
    assert same.hash == rule.hash, "formatting is not content"
    [(reworded, _)] = parse_pack(GOOD.replace('en: "Description"', 'en: "Other"'), "c.yaml", "c.yaml")
    assert reworded.hash != rule.hash and len(rule.hash) == 64


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"severity: blue": "severity: purple"},
            "rule X1: severity: Input should be 'blue', 'yellow' or 'red'",
        ),
        ({"group_by:": "colour: red\n    group_by:"}, "rule X1: colour: unknown key"),
        (
            {"{result: denied}": "{result: denied, mood: angry}"},
            "rule X1: measures.denied.where: mood: unknown field",
        ),
        ({"condition: denied >= 2": "condition: denied >= "}, "rule X1: condition: does not compile as CEL"),
        (
            {"condition: denied >= 2": "condition: refused >= 2"},
            "rule X1: condition: names refused, which is not a measure",
        ),
        (
            {"condition: denied >= 2": "condition: denied + 1"},
            "rule X1: condition: gives IntType, not true or false",
        ),
        (
            {"{length: 5m}": "{length: 5 minutes}"},
            "rule X1: window.sliding.length: '5 minutes' is not a duration",
        ),
        ({"[door_id]": "[category]"}, "rule X1: group_by.0: 'category' is not a field of what denied counts"),
        ({'vi: "Mô tả", ': ""}, "rule X1: description.vi: Field required"),
        (
            {"Door {door_id}: {denied}": "Door {gate}"},
            "rule X1: title.en: names gate: not a label or measure",
        ),
        ({"version: 2.1.0": "version: two"}, "rule X1: version: must be a version"),
        (
            {"{sliding: {length: 5m}}": "{sliding: {length: 5m}, day: {}}"},
            "rule X1: window: holds exactly one",
        ),
        (
            {"{count: door_events, where: {result: denied}}": "{count: procedures}"},
            "rule X1: window.sliding: a sliding window counts door events",
        ),
        (
            {"where: {result: denied}}": "where: {result: denied}, join: other}"},
            "rule X1: measures.denied.join: only a measure of a procedure window",
        ),
        (
            {"schema: wardwatch.rules/v1": "schema: v2"},
            "site/rules.yaml: schema: must be 'wardwatch.rules/v1'",
        ),
    ],
)
def test_each_mistake_is_refused_naming_file_rule_and_field(change: dict[str, str], expected: str) -> None:
    message = refusal(rule_text(**change))
    assert message.startswith("site/rules.yaml"), message
    assert expected in message, message


def test_a_procedure_window_checks_its_joins_and_fields() -> None:
    text = rule_text(
        **{
            "{sliding: {length: 5m}}": (
                "{procedure: {where: {anaesthesia: general}, from: start - 30m, to: start + 10m}}"
            ),
            "group_by: [door_id]": "group_by: [room_id]",
            "Door {door_id}: {denied}": "Op {procedure_ref}",
            "Cửa {door_id}": "Ca {procedure_ref}",
            "门 {door_id}": "手术 {procedure_ref}",
            "{count: door_events, where: {result: denied}}": "{count: entries, same: {room_id: theatre}}",
        }
    )
    assert "measures.denied.same.room_id: 'theatre' is not a field of an operation" in refusal(text)
    joined = text.replace("same: {room_id: theatre}", "join: ops")
    assert "measures.denied.join: 'ops' is not a procedure measure of this rule" in refusal(joined)
    far = refusal(text.replace("start - 30m", "start - 13h"))
    assert "window.procedure.from: 'start - 13h' reaches further than 12h from the operation" in far


def test_a_directory_replaces_a_builtin_rule_and_refuses_duplicates(tmp_path: Path) -> None:
    builtin = load_rules().get("R7")
    assert builtin is not None
    tightened = GOOD.replace("id: X1", "id: R7")
    (tmp_path / "ours.yaml").write_text(tightened)
    rules = load_rules(directories=[tmp_path])
    replaced = rules.get("R7")
    assert replaced is not None and replaced.version == "2.1.0" and replaced.origin.endswith("ours.yaml")
    (tmp_path / "again.yaml").write_text(tightened)
    with pytest.raises(RuleError, match=r"ours\.yaml: rule R7: already defined in .*again\.yaml"):
        load_rules(directories=[tmp_path])
    assert [r.id for r in load_rules(disabled=["R3"]).disabled] == ["R3"]
    with pytest.raises(RuleError, match=r"rules\.disabled: names rules that do not exist: R42"):
        load_rules(disabled=["R42"])


def test_a_server_with_a_bad_rule_file_refuses_to_start(tmp_path: Path, database_url: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text(rule_text(**{"condition: denied >= 2": "condition: denied >"}))
    settings = make_settings(tmp_path / "data", database_url, rules={"directories": [str(rules)]})
    with pytest.raises(ConfigError, match=r"rules: .*broken\.yaml: rule X1: condition"):
        build_container(settings, clock=FixedClock(), create_keys=True)
