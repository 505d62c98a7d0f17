"""Loads rule files: the built-in pack shipped in the package, then the configured directories.

A rule in a configured directory replaces the built-in rule of the same id (said in the
log), so an authority can tighten R1 without forking the package; two files of the same
layer defining one id are refused. Any error refuses the whole set, naming the file, the
rule and the field: a server never starts with half its rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wardwatch.rules.spec import PackFile, Rule, RuleError, _errors_of, build_rule

log = logging.getLogger(__name__)

BUILTIN_PACKAGE = "wardwatch.rules.builtin"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    disabled: tuple[Rule, ...] = ()

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def summary(self) -> list[dict[str, str]]:
        return [{"id": r.id, "version": r.version, "hash": r.hash} for r in self.rules]


def parse_pack(text: str, where: str, origin: str) -> list[tuple[Rule, bool]]:
    """The rules of one file with whether each is enabled; RuleError names what is wrong."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(where, f"not valid YAML ({exc})".replace("\n", " ")) from None
    if not isinstance(loaded, dict):
        raise RuleError(where, "a rule file is a mapping with 'schema' and 'rules'")
    try:
        pack = PackFile.model_validate(loaded)
    except ValidationError as exc:
        loc, message = _errors_of(exc)[0]
        if loc == "schema":
            message = "must be 'wardwatch.rules/v1'"
        raise RuleError(f"{where}: {loc}", message) from None
    out: list[tuple[Rule, bool]] = []
    seen: set[str] = set()
    for index, raw in enumerate(pack.rules):
        if not isinstance(raw, dict):
            raise RuleError(f"{where}: rules.{index}", "a rule is a mapping")
        rule = build_rule(raw, where, origin)
        if rule.id in seen:
            raise RuleError(f"{where}: rule {rule.id}", "defined twice in this file")
        seen.add(rule.id)
        out.append((rule, bool(raw.get("enabled", True))))
    return out


def builtin_files() -> list[tuple[str, str]]:
    """(name, text) of every file of the built-in pack, in name order."""
    pack = resources.files(BUILTIN_PACKAGE)
    found = [
        (entry.name, entry.read_text("utf-8")) for entry in pack.iterdir() if entry.name.endswith(".yaml")
    ]
    return sorted(found)


def _layer(files: Iterable[tuple[str, str, str]]) -> dict[str, tuple[Rule, bool]]:
    layer: dict[str, tuple[Rule, bool]] = {}
    where_of: dict[str, str] = {}
    for where, origin, text in files:
        for rule, enabled in parse_pack(text, where, origin):
            if rule.id in layer:
                raise RuleError(f"{where}: rule {rule.id}", f"already defined in {where_of[rule.id]}")
            layer[rule.id] = (rule, enabled)
            where_of[rule.id] = where
    return layer


def load_rules(
    *, builtin: bool = True, directories: Sequence[Path] = (), disabled: Iterable[str] = ()
) -> RuleSet:
    """The rules in force; raises RuleError (file, rule, field) if any file is wrong."""
    merged: dict[str, tuple[Rule, bool]] = {}
    if builtin:
        merged.update(_layer((f"builtin:{name}", f"builtin:{name}", text) for name, text in builtin_files()))
    files: list[tuple[str, str, str]] = []
    for directory in directories:
        if not directory.is_dir():
            raise RuleError(str(directory), "is not a directory of rule files")
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            try:
                files.append((str(path), str(path), path.read_text("utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise RuleError(str(path), f"cannot be read ({exc})") from None
    for rule_id, entry in _layer(files).items():
        if rule_id in merged:
            log.warning(
                "a configured rule file replaces a built-in rule",
                extra={"rule_id": rule_id, "file": entry[0].origin, "version": entry[0].version},
            )
        merged[rule_id] = entry
    off = set(disabled)
    unknown = sorted(off - set(merged))
    if unknown:
        raise RuleError("rules.disabled", f"names rules that do not exist: {', '.join(unknown)}")
    active = tuple(r for r, enabled in merged.values() if enabled and r.id not in off)
    inactive = tuple(r for r, enabled in merged.values() if not enabled or r.id in off)
    return RuleSet(tuple(sorted(active, key=lambda r: r.id)), tuple(sorted(inactive, key=lambda r: r.id)))


def describe(rule: Rule) -> dict[str, Any]:
    """A rule as the API and the log show it."""
    return {"id": rule.id, "version": rule.version, "hash": rule.hash, "origin": rule.origin}
