"""The direction of imports between the apps (docs/decisions/0001-messages-own-their-outbox.md).

Read from the source with ``ast``, so that an import hidden inside a function counts too."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from django.urls import URLResolver, get_resolver

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


# Citizen-facing views are thin (issue 11): they parse the request into a form, call one
# service or selector, and render or redirect. Found by walking the URLconf (all but staff/
# and api/), so that a new public page is checked without being listed here.

# Lines of code in a function of a public view module, docstring, blank lines and comments
# aside: about 15 for a view, a few more for a form with several outcomes.
MOST_LINES = 20
# What a view would call to query the database itself instead of asking a selector, a
# service or a page-assembly module.
QUERYSET_CALLS = {
    "objects",
    "filter",
    "exclude",
    "order_by",
    "select_related",
    "prefetch_related",
    "annotate",
    "aggregate",
    "values_list",
    "exists",
}


def _public_view_modules() -> set[str]:
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if not str(pattern.pattern).startswith(("staff/", "api/")):
                    yield from walk(pattern.url_patterns)
            else:
                yield inspect.unwrap(pattern.callback)

    return {
        view.__module__
        for view in walk(get_resolver().url_patterns)
        if inspect.isfunction(view) and view.__module__.startswith("acs.")
    }


def _module_path(module: str) -> Path:
    return ACS.parent / (module.replace(".", "/") + ".py")


def _code_lines(source: list[str], node: ast.FunctionDef) -> int:
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    lines = source[body[0].lineno - 1 : node.end_lineno] if body else []
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def _function_lengths(path: Path) -> dict[str, int]:
    text = path.read_text()
    return {
        node.name: _code_lines(text.splitlines(), node)
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef)
    }


def test_the_public_view_modules_are_found():
    """The walk reaches the booking, enrollment and account pages (else the checks below
    would pass on nothing)."""
    modules = _public_view_modules()
    assert {
        "acs.appointments.views.public",
        "acs.enrollment.views.public",
        "acs.enrollment.views.account",
    } <= modules


def test_public_views_are_short():
    """Every function of a module that serves a citizen's page, its helpers too: a view
    cannot hide its length in a private function beside it."""
    too_long = {
        f"{module}.{name}": lines
        for module in _public_view_modules()
        for name, lines in _function_lengths(_module_path(module)).items()
        if lines > MOST_LINES
    }
    assert too_long == {}


def test_public_views_do_not_query_the_database_themselves():
    offenders = {
        module: sorted(
            {
                node.attr
                for node in ast.walk(ast.parse(_module_path(module).read_text()))
                if isinstance(node, ast.Attribute) and node.attr in QUERYSET_CALLS
            }
        )
        for module in _public_view_modules()
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_length_check_counts_code_only(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        'def view(request):\n    """Why."""\n\n    # a comment\n    form = 1\n    return form\n'
    )
    assert _function_lengths(module) == {"view": 2}
