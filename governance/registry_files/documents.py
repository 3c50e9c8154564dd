"""Reading registry files: YAML with every value's line kept, checked against the schema,
merged into one document, with each problem reported as `file:line: message`.

A file is refused as a whole: every problem is collected (syntax, schema, duplicates
across files, unknown people, sources, queues and entitlements) before anything is
raised, so one run lists them all.
"""

import hashlib
from dataclasses import dataclass, field

import yaml
from jsonschema import Draft202012Validator

from approvals.models import QueueConnection
from governance.exceptions import InvalidInput
from governance.models import Entitlement, Policy, Workflow
from identities.models import IdentitySource, User, WorkloadIdentity

from .schema import ENTITLEMENT, POLICY, SCHEMA, WORKFLOW, WORKLOAD

NESTED = ("policies", "workloads")
# The model each kind of object is, for its fields' defaults (one source: the models).
MODELS = {"entitlement": Entitlement, "workflow": Workflow, "policy": Policy, "workload": WorkloadIdentity}
SHAPES = {"entitlement": ENTITLEMENT, "workflow": WORKFLOW, "policy": POLICY, "workload": WORKLOAD}


def field_names(kind):
    """The fields of `kind` in the format's order (nested lists aside)."""
    return [name for name in SHAPES[kind]["properties"] if name not in NESTED]


def defaults(kind):
    model = MODELS[kind]
    values = {}
    for name in field_names(kind):
        model_field = model._meta.get_field(name)
        values[name] = None if model_field.is_relation else model_field.get_default()
    return values


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.message}"


class RegistryFileError(InvalidInput):
    """The files cannot be applied; `problems` lists every one with its file and line."""

    def __init__(self, problems):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.message))
        count = len(self.problems)
        by_place = {}
        for problem in self.problems:
            by_place.setdefault(f"{problem.file}:{problem.line}", []).append(problem.message)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the registry files; first: {self.problems[0]}",
            field_errors=by_place,
        )


@dataclass
class Document:
    """The merged content of one or more files: `data` in the canonical shape (every field
    present, defaults filled in), `where` mapping paths to `file:line`."""

    data: dict
    files: list = field(default_factory=list)
    where: dict = field(default_factory=dict)

    def location(self, kind, ref, name=None):
        return self.where.get((kind, ref, name)) or self.where.get((kind, ref)) or ("", 0)


# --- YAML with lines -------------------------------------------------------------------


# Aliases let a small file expand enormously ("billion laughs"); a registry is far smaller.
MAX_NODES = 200_000


class _TooLarge(Exception):
    pass


def _to_python(node, loader, path, lines, problems, filename, budget):
    budget[0] -= 1
    if budget[0] < 0 or len(path) > 20:
        raise _TooLarge
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                problems.append(Problem(filename, key_node.start_mark.line + 1, f"Keys are text, not {key!r:.40}."))
                continue
            if key in result:
                problems.append(Problem(filename, key_node.start_mark.line + 1, f"“{key}” is given twice."))
            result[key] = _to_python(value_node, loader, (*path, key), lines, problems, filename, budget)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, loader, (*path, index), lines, problems, filename, budget)
            for index, item in enumerate(node.value)
        ]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "\x00" in value:
        problems.append(Problem(filename, node.start_mark.line + 1, "Text may not contain NUL characters."))
    return value


def read_yaml(filename, content):
    """(data, {path: line}, problems) of one file."""
    lines, problems = {}, []
    loader = yaml.SafeLoader(content)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, [Problem(filename, 1, "The file is empty.")]
        data = _to_python(node, loader, (), lines, problems, filename, [MAX_NODES])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return None, lines, [Problem(filename, (mark.line + 1) if mark else 1, f"Not valid YAML: {exc.problem}.")]
    except yaml.YAMLError as exc:
        return None, lines, [Problem(filename, 1, f"Not valid YAML: {exc}.")]
    except (_TooLarge, RecursionError):
        return None, lines, [Problem(filename, 1, "The file nests too deeply or expands too far (aliases).")]
    finally:
        loader.dispose()
    return data, lines, problems


def _dotted(path):
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the file)"


def _line_of(lines, path):
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def schema_problems(filename, data, lines):
    problems = []
    for error in Draft202012Validator(SCHEMA).iter_errors(data):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                where = _line_of(lines, (*path, name))
                problems.append(Problem(filename, where, f"{_dotted((*path, name))}: unknown field “{name}”."))
            continue
        problems.append(Problem(filename, _line_of(lines, path), f"{_dotted(path)}: {error.message}"))
    return problems


# --- Merging ---------------------------------------------------------------------------


def _complete(kind, values):
    """Every field of `kind`, in order, with the model's default where the file says nothing."""
    base = defaults(kind)
    return {name: values.get(name, base[name]) for name in field_names(kind)}


def _merge(parsed, problems):
    """One canonical document from the parsed files; duplicates are problems."""
    entitlements, workflows, where = {}, {}, {}
    seen_workloads = {}

    def place(key, filename, lines, path, item):
        where[key] = (filename, _line_of(lines, path))
        for name in item:
            where[(*key, name)] = (filename, _line_of(lines, (*path, name)))

    def duplicate(key, filename, line, what):
        first = where.get(key)
        problems.append(Problem(filename, line, f"{what} is also described at {first[0]}:{first[1]}."))

    for filename, data, lines in parsed:
        for index, item in enumerate(data.get("entitlements") or []):
            key, path = ("entitlement", item["scope"]), ("entitlements", index)
            if key in where:
                duplicate(key, filename, _line_of(lines, path), f"Entitlement {item['scope']}")
                continue
            place(key, filename, lines, path, item)
            entitlements[item["scope"]] = _complete("entitlement", item)
        for index, item in enumerate(data.get("workflows") or []):
            slug, path = item["slug"], ("workflows", index)
            if ("workflow", slug) in where:
                duplicate(("workflow", slug), filename, _line_of(lines, path), f"Workflow {slug}")
                continue
            place(("workflow", slug), filename, lines, path, item)
            workflow = _complete("workflow", item)
            workflow["policies"], workflow["workloads"] = [], []
            for p_index, policy in enumerate(item.get("policies") or []):
                ref, p_path = f"{slug}/{policy['entitlement']}", (*path, "policies", p_index)
                if ("policy", ref) in where:
                    duplicate(("policy", ref), filename, _line_of(lines, p_path), f"The policy for {ref}")
                    continue
                place(("policy", ref), filename, lines, p_path, policy)
                workflow["policies"].append(_complete("policy", policy))
            for w_index, workload in enumerate(item.get("workloads") or []):
                w_path = (*path, "workloads", w_index)
                if workload["slug"] in seen_workloads:
                    duplicate(("workload", workload["slug"]), filename, _line_of(lines, w_path), "This workload")
                    continue
                seen_workloads[workload["slug"]] = slug
                place(("workload", workload["slug"]), filename, lines, w_path, workload)
                workflow["workloads"].append(_complete("workload", workload))
            workflows[slug] = workflow
    data = {
        "version": 1,
        "entitlements": [entitlements[scope] for scope in sorted(entitlements)],
        "workflows": [sort_nested(workflows[slug]) for slug in sorted(workflows)],
    }
    return data, where


def sort_nested(workflow):
    workflow["policies"] = sorted(workflow["policies"], key=lambda p: p["entitlement"])
    workflow["workloads"] = sorted(workflow["workloads"], key=lambda w: w["slug"])
    return workflow


def read_files(files):
    """Parse, check and merge `files` ([(name, content)]); raise RegistryFileError with
    every problem, or return the `Document`."""
    problems, parsed, stored = [], [], []
    for filename, content in files:
        stored.append({"name": filename, "sha256": hashlib.sha256(content.encode()).hexdigest(), "content": content})
        data, lines, found = read_yaml(filename, content)
        if data is not None and not found:
            found = schema_problems(filename, data, lines)
        problems.extend(found)
        if data is not None and not found:
            parsed.append((filename, data, lines))
    if problems:
        raise RegistryFileError(problems)
    data, where = _merge(parsed, problems)
    document = Document(data=data, files=stored, where=where)
    problems.extend(reference_problems(document))
    if problems:
        raise RegistryFileError(problems)
    return document


# --- References ------------------------------------------------------------------------


def reference_problems(document):
    """People, sources, queues and entitlements the files name but nobody registered."""
    data, problems = document.data, []
    people = set(User.objects.filter(is_active=True).values_list("username", flat=True))
    sources = set(IdentitySource.objects.values_list("slug", flat=True))
    queues = set(QueueConnection.objects.values_list("name", flat=True))
    scopes = {e["scope"] for e in data["entitlements"]} | set(Entitlement.objects.values_list("scope", flat=True))

    def check(kind, ref, name, value, known, what):
        if value is not None and value not in known:
            file, line = document.location(kind, ref, name)
            problems.append(Problem(file, line, f"{ref}: {name}: no {what} “{value}”."))

    for entitlement in data["entitlements"]:
        check("entitlement", entitlement["scope"], "resource_owner", entitlement["resource_owner"], people, "person")
    for workflow in data["workflows"]:
        slug = workflow["slug"]
        for name in ("control_owner", "backup_owner"):
            check("workflow", slug, name, workflow[name], people, "active person")
        check("workflow", slug, "identity_source", workflow["identity_source"], sources, "identity source")
        check("workflow", slug, "queue", workflow["queue"], queues, "ticket queue")
        for policy in workflow["policies"]:
            ref = f"{slug}/{policy['entitlement']}"
            check("policy", ref, "entitlement", policy["entitlement"], scopes, "entitlement")
        for workload in workflow["workloads"]:
            ref = workload["slug"]
            check("workload", ref, "owner", workload["owner"], people, "active person")
            check("workload", ref, "identity_source", workload["identity_source"], sources, "identity source")
    return problems
