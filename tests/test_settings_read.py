"""No setting is silently ignored: every field of the scenario schema is read by the engine.

A setting counts as read when code outside ``geoengine/scenario.py`` (which only validates)
accesses it as an attribute (``settings.name``), through ``getattr(x, "name")`` or as a key of
the dumped settings (``d["name"]``). The check is static, so it sees every stage whether or not
a given run uses it.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from pydantic import BaseModel

import geoengine
from geoengine.scenario import Scenario

PACKAGE = Path(geoengine.__file__).parent


def _models(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _settings(model: type[BaseModel], prefix: str = "", seen: set[type] | None = None) -> list[tuple[str, str]]:
    """``(dotted path, field name)`` of every field under ``model``, nested models included."""
    seen = set() if seen is None else seen
    if model in seen:
        return []
    seen.add(model)
    out = []
    for name, info in model.model_fields.items():
        out.append((prefix + name, name))
        for sub in _models(info.annotation):
            out += _settings(sub, f"{prefix}{name}.", seen)
    return out


def _names_in(tree: ast.AST, *, self_too: bool) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (self_too or not (isinstance(node.value, ast.Name) and node.value.id == "self")):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # getattr(x, "n"), d["n"]
            names.add(node.value)
    return names


def _names_read() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "scenario.py":
            names |= _names_in(ast.parse(path.read_text(encoding="utf-8")), self_too=False)
    # public accessors of the settings (e.g. PatrolSettings.max_gap_for) read what they touch,
    # when the engine calls them; validators (private) do not count
    scenario = ast.parse((PACKAGE / "scenario.py").read_text(encoding="utf-8"))
    for cls in (n for n in ast.walk(scenario) if isinstance(n, ast.ClassDef)):
        for node in cls.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and node.name in names:
                names |= _names_in(node, self_too=True)
    return names


def unread_settings(root: type[BaseModel] = Scenario) -> list[str]:
    read = _names_read()
    return [path for path, name in _settings(root) if name not in read]


def test_every_scenario_setting_is_read_somewhere():
    fields = _settings(Scenario)
    assert len(fields) > 150, "the walk reaches the nested settings"
    assert unread_settings() == []


def test_a_setting_nobody_reads_is_found():
    """A dummy setting added to the schema (nested, as real ones are) fails the check."""

    class Dummy(BaseModel):
        zz_dummy_setting_never_read: int = 0

    class WithDummy(Scenario):
        zz_dummy_block_never_read: Dummy = Dummy()

    assert unread_settings(WithDummy) == ["zz_dummy_block_never_read", "zz_dummy_block_never_read.zz_dummy_setting_never_read"]
