"""Every user-facing string exists in Vietnamese, Simplified Chinese and English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from wardwatch.access import events as access_events
from wardwatch.access import model as access_model
from wardwatch.access import rows as access_rows
from wardwatch.access import schedule as access_schedule
from wardwatch.alerts import model as alerts_model
from wardwatch.alerts.inbox import NoticeKind
from wardwatch.authz.model import BUILTIN_ROLES, PERMISSIONS
from wardwatch.duty import model as duty_model
from wardwatch.health import model as health_model
from wardwatch.kernel.i18n import LOCALES, catalog, negotiate, placeholders, t
from wardwatch.registry import model as registry_model

SRC = Path(__file__).resolve().parents[1] / "src" / "wardwatch"
PROBLEM_CLASSES = {
    "Problem",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Invalid",
    "Locked",
    "DutyInvalid",
}


def used_keys() -> set[str]:
    """Message keys the code can ask for, found by reading the source."""
    keys: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0] if node.args else None
            literal = (
                first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            )
            if name == "t" and literal:
                keys.add(literal)
            if name in PROBLEM_CLASSES and literal:
                keys |= {f"problem.{literal}.title", f"problem.{literal}.detail"}
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant) and path.name == "verify.py":
                    keys.add(f"audit.verify.{kw.value.value}")
                if (
                    kw.arg == "object_type"
                    and name in ("require", "require_visible")
                    and isinstance(kw.value, ast.Constant)
                ):
                    keys.add(f"object.{kw.value.value}")
        text = path.read_text("utf-8")
        keys |= {f"object.{m}" for m in re.findall(r'params=\{"object": "(\w+)"', text)}
    from wardwatch.api.problems import _STATUS_CODES
    from wardwatch.kernel import errors

    for code in [*_STATUS_CODES.values(), "http_error", "internal", "validation_failed"] + [
        c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.Problem)
    ]:
        keys |= {f"problem.{code}.title", f"problem.{code}.detail"}
    enums = {
        "org_kind": registry_model.OrgKind,
        "facility_type": registry_model.FacilityType,
        "area_type": registry_model.AreaType,
        "purpose": registry_model.Purpose,
        "door_kind": registry_model.DoorKind,
        "camera_status": registry_model.CameraStatus,
        "rollout_status": registry_model.RolloutStatus,
        "profession": access_model.Profession,
        "licence_status": access_model.LicenceStatus,
        "anaesthesia": access_model.Anaesthesia,
        "door_result": access_model.DoorResult,
        "verify_mode": access_model.VerifyMode,
        "direction": access_model.Direction,
        "procedure_status": access_model.ProcedureStatus,
        "log_kind": duty_model.LogKind,
        "breach_category": duty_model.BreachCategory,
        "breach_source": duty_model.BreachSource,
        "breach_status": duty_model.BreachStatus,
        "breach_step": duty_model.BreachStep,
        "gap_reason": duty_model.GapReason,
        "health_state": health_model.HealthState,
        "incident_status": health_model.IncidentStatus,
        "incident_event": health_model.IncidentEventKind,
    }
    for group, enum in enums.items():
        keys |= {f"{group}.{member.value}" for member in enum}
    keys |= {f"inbox.{kind.value}.{part}" for kind in NoticeKind for part in ("title", "body")}
    keys |= {f"health.reason.{code}" for code in health_model.REASON_CODES}
    keys |= {f"alerts.severity.{s.value}" for s in alerts_model.Severity}
    keys |= {f"alerts.status.{s.value}" for s in alerts_model.AlertStatus}
    keys |= {f"alerts.reason.{reason}" for reason in alerts_model.NOTIFICATION_REASONS}
    keys |= {f"access.row.{reason}" for reason in access_rows.ROW_REASONS}
    keys |= {f"access.event.{reason}" for reason in access_events.EVENT_REASONS}
    keys |= {f"access.warning.{reason}" for reason in access_model.WARNING_REASONS}
    keys |= {
        f"problem.{c}.{part}" for c in access_schedule.TIME_PROBLEMS.values() for part in ("title", "detail")
    }
    keys |= {f"role.{r}" for r in BUILTIN_ROLES} | {f"permission.{p}" for p in PERMISSIONS}
    keys.add("audit.verify.ok")
    keys.add("validation.value_error")
    return keys


@pytest.mark.parametrize("locale", LOCALES)
def test_each_catalog_has_every_key_with_matching_placeholders(locale: str) -> None:
    english = catalog("en")
    messages = catalog(locale)
    assert set(messages) == set(english), set(messages) ^ set(english)
    for key, text in english.items():
        assert messages[key].strip(), f"{locale}: {key} is empty"
        assert placeholders(messages[key]) == placeholders(text), f"{locale}: {key}"


def test_every_key_the_code_uses_is_in_the_catalogs() -> None:
    missing = sorted(used_keys() - set(catalog("en")))
    assert not missing, f"add these keys to all three catalogs: {missing}"


AUDITED_OBJECT_TYPE = re.compile(r'(?:\bobject_type=|"object_type": )"(\w+)"')


def audited_object_types() -> set[str]:
    """Object kinds the code writes into audit entries (``uow.audit``, denials' ``audit_info``)."""
    return {m for path in SRC.rglob("*.py") for m in AUDITED_OBJECT_TYPE.findall(path.read_text("utf-8"))}


def test_every_audited_object_type_has_a_label_for_the_audit_screen() -> None:
    found = audited_object_types()
    assert {"alert", "practitioner_import", "route"} <= found, "the scan finds the audited kinds"
    missing = sorted(f"object.{kind}" for kind in found if f"object.{kind}" not in catalog("en"))
    assert not missing, f"add these labels to all three catalogs: {missing}"


def test_translations_differ_from_english_where_words_are_shown() -> None:
    same = [k for k, v in catalog("vi").items() if v == catalog("en")[k] and " " in v]
    assert not same, f"untranslated Vietnamese strings: {same}"
    same_zh = [k for k, v in catalog("zh-Hans").items() if v == catalog("en")[k] and " " in v]
    assert not same_zh, f"untranslated Chinese strings: {same_zh}"


def test_language_negotiation_and_lookup() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.5") == "zh-Hans"
    assert negotiate("fr-FR, vi;q=0.8, en;q=0.5") == "vi"
    assert negotiate("de-DE") == "en"
    assert t("problem.private_zone.title", "vi") != t("problem.private_zone.title", "en")


STATIC = SRC / "web" / "static"
# A message key written in the console's scripts or markup, e.g. "web.live.status.offline".
CONSOLE_KEY = re.compile(r"(?<![\w.$])web\.[a-z0-9_]+(?:\.[a-z0-9_]+)+")
# A key put together at run time ("web.gap." + reason, `web.x.${y}`) would escape the check.
BUILT_KEY = re.compile(r"""["'`]web\.[a-z0-9_.]*(?:\.["'`]\s*\+|\$\{)""")
SHELL_WORDS = {"WardWatch", "Tiếng Việt", "简体中文", "English"}
"""The only text the shell may hold outside the catalogs: the product's name and each
language's own name in the language switch."""


def console_sources() -> dict[Path, str]:
    return {p: p.read_text("utf-8") for p in sorted(STATIC.rglob("*")) if p.suffix in (".js", ".html")}


def test_every_key_the_console_uses_is_in_every_catalog_and_served() -> None:
    from wardwatch.web.routes import console_catalog

    sources = console_sources()
    used = {key for text in sources.values() for key in CONSOLE_KEY.findall(text)}
    assert len(used) > 80, "the key pattern no longer finds the console's keys"
    for locale in LOCALES:
        missing = sorted(used - set(catalog(locale)))
        assert not missing, f"{locale}: add these console keys to all three catalogs: {missing}"
        assert used <= set(console_catalog(locale)), "the served catalog lacks keys the console uses"
    built = [f"{path.name}: {m.group(0)}" for path, text in sources.items() for m in BUILT_KEY.finditer(text)]
    assert not built, f"write console keys out in full so this test can see them: {built}"


def test_console_shell_has_no_untranslated_text() -> None:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.words: set[str] = set()

        def handle_data(self, data: str) -> None:
            if data.strip():
                self.words.add(data.strip())

    parser = Text()
    parser.feed((STATIC / "index.html").read_text("utf-8"))
    assert parser.words <= SHELL_WORDS, parser.words - SHELL_WORDS
