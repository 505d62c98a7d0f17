"""A rule's condition: a CEL expression over its measures, compiled at load, memoised at run.

``cel-python`` interprets CEL in Python; even compiled, one evaluation costs about a
hundred microseconds. A condition is a pure function of a handful of small integers, so
each distinct set of measure values is evaluated once and remembered: at a thousand
events a second the engine evaluates CEL only when a window reaches values no window had.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Tree

log = logging.getLogger(__name__)

CACHE_SIZE = 4096


class ConditionError(ValueError):
    """The condition does not compile, names something that is not a measure, or is not boolean."""


def _identifiers(tree: Tree) -> set[str]:  # type: ignore[type-arg]
    found: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "ident" and node.children:
            found.add(str(node.children[0]))
    return found


class Condition:
    """A compiled CEL condition over named integer measures."""

    def __init__(self, text: str, measures: Iterable[str]) -> None:
        self.text = text
        self.names = tuple(sorted(measures))
        env = celpy.Environment(runner_class=celpy.CompiledRunner)
        try:
            ast = env.compile(text)
        except CELParseError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "syntax error"
            raise ConditionError(f"does not compile as CEL: {first}") from None
        unknown = sorted(_identifiers(ast) - set(self.names))
        if unknown:
            raise ConditionError(
                f"names {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not a measure"
                f" of this rule (measures: {', '.join(self.names) or 'none'})"
            )
        try:
            self._program = env.program(ast)
        except Exception as exc:
            raise ConditionError(f"does not compile as CEL: {exc}") from None
        self._cache: OrderedDict[tuple[int, ...], bool] = OrderedDict()
        self._lock = threading.Lock()
        for probe in (0, 1, 3):
            self.holds(dict.fromkeys(self.names, probe))

    def holds(self, measures: Mapping[str, int]) -> bool:
        key = tuple(int(measures[name]) for name in self.names)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        activation = {name: celtypes.IntType(value) for name, value in zip(self.names, key, strict=True)}
        try:
            result = self._program.evaluate(activation)
        except Exception as exc:
            raise ConditionError(f"cannot be evaluated: {exc}") from None
        if isinstance(result, CELEvalError):
            raise ConditionError(f"cannot be evaluated: {result.args[0] if result.args else result}")
        if not isinstance(result, celtypes.BoolType | bool):
            raise ConditionError(f"gives {type(result).__name__}, not true or false")
        verdict = bool(result)
        with self._lock:
            self._cache[key] = verdict
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return verdict
