"""The direction of imports between the apps (docs/decisions/0001-messages-own-their-outbox.md).

Read from the source with ``ast``, so that an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ACS = Path(__file__).resolve().parents[1] / "acs"
# Apps that messages build on: none of them may import messages.
BELOW_MESSAGES = ("core", "posts", "content", "enrollment", "appointments")
# The wire: knows addresses and bytes, nothing of the domain.
WIRE = ("acs/core/transport.py", "acs/core/sms.py")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(*apps: str) -> list[Path]:
    return sorted(path for app in apps for path in (ACS / app).rglob("*.py"))


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_nothing_imports_the_former_delivery_app():
    offenders = [
        str(path.relative_to(ACS.parent))
        for path in ACS.rglob("*.py")
        if any(_under(name, "acs.delivery") for name in _imports(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("app", BELOW_MESSAGES)
def test_lower_layers_never_import_messages(app):
    offenders = {
        str(path.relative_to(ACS.parent)): sorted(
            name for name in _imports(path) if _under(name, "acs.alerts")
        )
        for path in _modules(app)
        # Seeding the demo imports every app (it moves out of core with issue 11).
        if "management" not in path.parts
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("module", WIRE)
def test_the_wire_knows_nothing_of_the_domain(module):
    path = ACS.parent / module
    foreign = sorted(
        name for name in _imports(path) if _under(name, "acs") and not _under(name, "acs.core")
    )
    assert foreign == []


def test_the_checks_catch_a_forbidden_import(tmp_path):
    """The reader sees imports inside functions too (the cycle used to hide there)."""
    module = tmp_path / "hidden.py"
    module.write_text("def later():\n    from acs.alerts.tasks import dispatch_message\n")
    assert "acs.alerts.tasks" in _imports(module)
