"""The floor plan holds: no import circles, each module imports only its own layer or lower
ones, no oversized files, and every import inside a function says why it is there.

The layers, lowest first, are the ones ARCHITECTURE.md draws. A module's layer is the
first pattern of `LAYERS` (read top-down, web first) that matches its dotted name.
"""

import ast
import subprocess
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("approvals", "governance", "identities")
MAX_LINES = 400

REGISTRY, LIFECYCLE, OVERSIGHT, WEB = 1, 2, 3, 4
LAYER_NAMES = {REGISTRY: "registry", LIFECYCLE: "lifecycle", OVERSIGHT: "queues and oversight", WEB: "web and API"}

# First match wins, so the doors in (views, API, admin…) are named before the features
# whose packages hold them.
LAYERS = [
    (
        WEB,
        [
            "*.api",
            "*.api.*",
            "*.views",
            "*.views.*",
            "*.urls",
            "*.*_urls",
            "*.admin",
            "*.forms",
            "*.filtersets",
            "*.webhooks",
            "*.middleware",
            "*.apps",
            "*.demo",
            "*.management",
            "*.management.*",
            "*.context_processors",
            "*.templatetags",
            "*.templatetags.*",
            "governance.audit_views",
            "governance.portal",
            "governance.health",
            "governance.wsgi",
            "governance.asgi",
            "governance.celery",
            "governance.schedule",
            "governance.urls",
            "identities.oidc",
            "identities.scim",
            "identities.scim.*",
        ],
    ),
    (
        REGISTRY,
        [
            "*.models",
            "*.models.*",
            "*.choices",
            "*.signals",
            "governance.exceptions",
            "governance.dispatch",
            "governance.environment",
            "governance.logs",
            "governance.settings*",
            "governance.permissions",
            "governance.roles",
            "governance.secret_box",
            "governance.database_roles",
            "governance.verify_export",
            "governance.mcp_tools",
            "approvals.policy",
            "approvals.tickets",
            "approvals.tickets.*",
            "identities.principals",
            "identities.demo_accounts",
        ],
    ),
    (
        LIFECYCLE,
        [
            "approvals.services",
            "approvals.services.*",
            "governance.services",
            "governance.services.*",
            "governance.changes",
            "governance.changes.*",
            "identities.services",
            "approvals.tokens",
            "approvals.tasks",
            "identities.leavers",
            "identities.provisioning",
            "identities.ldap_sync",
            "identities.signin",
            "identities.tasks",
        ],
    ),
    (
        OVERSIGHT,
        [
            "approvals.queues",
            "approvals.queues.*",
            "approvals.chat",
            "approvals.chat.*",
            "approvals.selectors",
            "governance.reviews",
            "governance.reviews.*",
            "governance.evidence",
            "governance.evidence.*",
            "governance.findings",
            "governance.findings.*",
            "governance.dossier",
            "governance.dossier.*",
            "governance.outbound",
            "governance.outbound.*",
            "governance.alignment",
            "governance.alignment.*",
            "governance.selectors",
            "governance.search",
            "governance.timeline",
            "governance.tasks",
            "governance.metrics",
            "governance.metrics.*",
            "governance.registry_files",
            "governance.registry_files.*",
        ],
    ),
]

# Wiring that Django or Celery runs once the registry is ready, and the command line entry.
LOCAL_IMPORTS_ALLOWED_IN = {"manage.py"}


def source_files():
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in listed.stdout.split():
        path = Path(name)
        if path.parts[0] in APPS and "migrations" not in path.parts:
            yield path


def module_of(path):
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module):
    if module == "governance":
        return WEB  # the project package starts the Celery app with Django, as Celery's docs do
    if module in APPS:
        return REGISTRY  # an app package's __init__ holds nothing
    for layer, patterns in LAYERS:
        if any(fnmatch(module, pattern) for pattern in patterns):
            return layer
    return None


def imports_of(path, modules):
    """(module imported, line, inside a function?) for each project module `path` imports."""
    tree = ast.parse((ROOT / path).read_text())
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rpartition(".")[0]
    local_lines = {
        node.lineno
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.append((name, node.lineno, node.lineno in local_lines))
    return found


def graph():
    files = list(source_files())
    modules = {module_of(path): path for path in files}
    return modules, {module: imports_of(path, modules) for module, path in modules.items()}


def circles(edges):
    """Groups of modules that import each other, directly or around a loop (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in {t for t, _line, _local in edges.get(node, ()) if t != node}:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_circle():
    _modules, edges = graph()
    assert circles(edges) == []


def test_every_module_has_a_layer():
    modules, _edges = graph()
    assert [m for m in modules if layer_of(m) is None] == []


def test_a_module_imports_only_its_own_layer_or_lower_ones():
    modules, edges = graph()
    upward = [
        f"{modules[module]}:{line} ({LAYER_NAMES[layer_of(module)]}) imports {target} ({LAYER_NAMES[layer_of(target)]})"
        for module, targets in edges.items()
        for target, line, _local in targets
        if layer_of(module) and layer_of(target) and layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_source_file_is_over_the_limit():
    sizes = {str(path): len((ROOT / path).read_text().splitlines()) for path in source_files()}
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}


def test_each_import_inside_a_function_says_why():
    unexplained = []
    for path in source_files():
        lines = (ROOT / path).read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        local = sorted(
            {
                (node.lineno, node.end_lineno)
                for function in ast.walk(tree)
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            }
        )
        explained_until = {}  # end line of an import -> whether it was explained
        for start, end in local:
            previous = start - 1
            while previous > 0 and not lines[previous - 1].strip():
                previous -= 1  # a blank line between two imports of one block
            above = lines[start - 2].strip() if start > 1 else ""
            said = "#" in lines[start - 1] or above.startswith("#") or explained_until.get(previous, False)
            explained_until[end] = said
            if not said and str(path) not in LOCAL_IMPORTS_ALLOWED_IN:
                unexplained.append(f"{path}:{start}")
    assert unexplained == []
