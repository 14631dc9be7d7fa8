"""The direction of imports between the apps and modules of acs (docs/architecture.md,
docs/decisions/0001-messages-own-their-outbox.md): no cycles, no borrowed private names,
services that never import tasks, and seeding (acs/demo) as the only code that imports every
app.

Read from the source with ``ast``, so that an import hidden inside a function counts too."""

from __future__ import annotations

import ast
import inspect
from collections import defaultdict
from collections.abc import Collection, Iterator
from functools import cache
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


# The module graph of acs ----------------------------------------------------------------------
#
# One node per module of acs (a package is its ``__init__``), one edge per import, wherever it
# is written (a function, a method). Migrations are left out: makemigrations writes them,
# nothing imports them, and they keep old import paths on purpose. Each app's ``apps.py``
# stays in: Django imports it by name, nothing else does, so it cannot close a cycle.


def _name(path: Path) -> str:
    parts = path.relative_to(ACS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_name(path): path for path in ACS.rglob("*.py") if "migrations" not in path.parts}


def _targets(name: str, path: Path, modules: Collection[str]) -> Iterator[tuple[str, str]]:
    """(module imported, name taken from it or "") for each import in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: ``from .x import y``
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule, "") if submodule in modules else (base, alias.name)


def _edges(name: str, path: Path, modules: Collection[str]) -> set[str]:
    """The modules of acs that importing ``name`` runs. ``import a.b.c`` runs ``a/__init__``
    and ``a/b/__init__`` too, except the importer's own packages, which are already running."""
    own = {name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1)}
    edges = set()
    for target, _taken in _targets(name, path, modules):
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            module = ".".join(parts[:end])
            if module in modules and (module == target or module not in own):
                edges.add(module)
    edges.discard(name)
    return edges


@cache
def _graph() -> dict[str, set[str]]:
    sources = _sources()
    return {name: _edges(name, path, sources) for name, path in sources.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle of each group of modules that import each other (strongly connected
    components, Tarjan), written as the path round it: ``[a, b, c, a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = {stack.pop()}
            while node not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_round_trip(graph, group) for group in groups]


def _round_trip(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest way from the group's first module back to itself (breadth first)."""
    start = min(group)
    paths = {nxt: [start, nxt] for nxt in sorted(graph[start] & group)}
    queue = list(paths)
    while queue:
        node = queue.pop(0)
        if start in graph[node]:
            return [*paths[node], start]
        for nxt in sorted(graph[node] & group):
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return sorted(group)  # not reached: a strongly connected group has a way round


def test_no_module_imports_one_that_imports_it_back():
    cycles = [" → ".join(cycle) for cycle in _cycles(_graph())]
    assert cycles == []


def test_the_cycle_check_sees_a_cycle_hidden_in_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_imports_inside_functions_and_packages_run(tmp_path):
    package = tmp_path / "acs" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from acs.shop.tasks import send\n")
    (package / "tasks.py").write_text("def send():\n    from acs.shop import services\n")
    modules = {"acs.shop", "acs.shop.tasks", "acs.shop.services"}
    assert _edges("acs.shop.tasks", package / "tasks.py", modules) == {"acs.shop.services"}
    (package / "other.py").write_text("from acs.shop.tasks import send\n")
    # ``acs.shop.other`` runs inside ``acs.shop``; ``acs.elsewhere`` would run its __init__.
    assert _edges("acs.shop.other", package / "other.py", modules) == {"acs.shop.tasks"}
    assert _edges("acs.elsewhere", package / "other.py", modules) == {
        "acs.shop",
        "acs.shop.tasks",
    }


# Private names stay in their module ---------------------------------------------------------


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _reached_through_modules(name: str, path: Path, modules: Collection[str]) -> set[str]:
    """``module._name`` written in ``path`` where ``module`` is an acs module it imported
    (``from acs.appointments import availability`` then ``availability._local_times``)."""
    aliases = {}
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
                if full in modules and (alias.asname or isinstance(node, ast.ImportFrom)):
                    aliases[alias.asname or alias.name] = full
    return {
        f"{aliases[node.value.id]}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and _private(node.attr)
    }


def _private_imports() -> list[str]:
    sources = _sources()
    found = {
        f"{name} imports {module}.{taken}"
        for name, path in sources.items()
        for module, taken in _targets(name, path, sources)
        if _private(taken) and module != name
    }
    found.update(
        f"{name} imports {reached}"
        for name, path in sources.items()
        for reached in _reached_through_modules(name, path, sources)
    )
    return sorted(found)


def test_no_module_imports_another_modules_private_name():
    """A ``_name`` is its module's own business: another module that needs it needs a
    public function (with a docstring that says what it promises)."""
    assert _private_imports() == []


def test_the_private_name_check_sees_one_taken_or_reached(tmp_path):
    module = tmp_path / "borrower.py"
    module.write_text("def later():\n    from acs.shop.booking import _helper\n")
    assert list(_targets("acs.borrower", module, {"acs.shop.booking"})) == [
        ("acs.shop.booking", "_helper")
    ]
    module.write_text("from acs.shop import booking\n\nbooking._helper()\nbooking.public()\n")
    assert _reached_through_modules("acs.borrower", module, {"acs.shop.booking"}) == {
        "acs.shop.booking._helper"
    }


# Services enqueue, tasks call services ------------------------------------------------------


def _is_service(name: str) -> bool:
    parts = name.split(".")
    return "services" in parts or "selectors" in parts or name.startswith("acs.core.outbox")


def test_services_send_tasks_by_name_and_never_import_a_tasks_module():
    """Tasks import services to call them; a service that imported a tasks module back would
    close a cycle. Services queue work by the task's name (``core.queues.task_send``)."""
    offenders = sorted(
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if _is_service(name)
        for target in targets
        if target.rpartition(".")[2] == "tasks"
    )
    assert offenders == []


# Seeding: the only code that imports every app --------------------------------------------

# The apps that hold the product's data; seeding a post and the demo touches every one.
DATA_APPS = ("core", "posts", "content", "appointments", "enrollment", "alerts", "staff")


def _apps_imported() -> dict[str, set[str]]:
    imported: dict[str, set[str]] = defaultdict(set)
    for name, targets in _graph().items():
        app = name.split(".")[1] if name.count(".") else ""
        imported[app].update(target.split(".")[1] for target in targets if target.count("."))
    return imported


def test_only_demo_imports_every_app():
    every = [app for app, apps in _apps_imported().items() if set(DATA_APPS) - {app} <= apps]
    assert every == ["demo"]


def test_nothing_but_demo_imports_demo():
    offenders = sorted(
        name
        for name, targets in _graph().items()
        if not _under(name, "acs.demo") and any(_under(target, "acs.demo") for target in targets)
    )
    assert offenders == []


def _task_names_sent() -> dict[str, str]:
    """``{task name: module}`` for every ``task_send("<name>", …)`` in acs."""
    sent = {}
    for name, path in _sources().items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "task_send"
                and node.args
            ):
                assert isinstance(node.args[0], ast.Constant), f"{name}: name the task in full"
                sent[node.args[0].value] = name
    return sent


def test_every_task_sent_by_name_exists():
    """A name is checked by nobody at import time: a typo would queue work no worker runs."""
    from acs.celery import app

    sent = _task_names_sent()
    assert sent, "the check found no task_send call"
    assert {task: module for task, module in sent.items() if task not in app.tasks} == {}


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
