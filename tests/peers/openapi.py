"""Check HTTP traffic against a vendor's own OpenAPI description.

Every request a fake receives is matched to an operation of the description (method and
path template), its query parameters and JSON body are validated against the declared
parameters and request schema, and the fake's answer is validated against the response
schema for its status code. A mismatch raises `ContractViolation`, which fails the test
that caused it: a fake that drifts from the vendor's API cannot pass silently.

The descriptions are trimmed copies of the vendors' published ones (`specs/`): Jira
Cloud platform REST v3 (developer.atlassian.com) and GitHub REST (github/rest-api-
description, through the @octokit/openapi package).
"""

import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

SPECS = Path(__file__).parent / "specs"


class ContractViolation(AssertionError):
    pass


@cache
def load(name):
    return OpenApiDescription(json.loads((SPECS / name).read_text(encoding="utf-8")))


class OpenApiDescription:
    def __init__(self, spec):
        self.spec = spec
        self.routes = []
        for template, item in spec["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
            self.routes.append((re.compile(pattern + "$"), template, item))
        # Literal templates before templated ones, so /issue/{key}/comment never shadows /issue.
        self.routes.sort(key=lambda r: r[1].count("{"))

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.spec
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def operation(self, method, path):
        for pattern, template, item in self.routes:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()], item.get("parameters", [])
        raise ContractViolation(f"{method} {path} is not an operation of the vendor's API description")

    def _validate(self, schema, value, where, validator_class):
        root = {**schema, "components": self.spec.get("components", {})}
        errors = sorted(validator_class(root, format_checker=oas30_format_checker).iter_errors(value), key=str)
        if errors:
            best = errors[0]
            path = "/".join(str(p) for p in best.absolute_path)
            raise ContractViolation(f"{where}: {best.message[:400]} (at /{path})")

    def check_request(self, method, url, body=None):
        parts = urlsplit(url)
        template, op, shared = self.operation(method, parts.path)
        where = f"{method} {template} request"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        params = [self.resolve(p) for p in [*shared, *op.get("parameters", [])]]
        declared = {p["name"] for p in params if p.get("in") == "query"}
        for name in query:
            if name not in declared:
                raise ContractViolation(f"{where}: unknown query parameter “{name}”")
        for param in params:
            if param.get("in") == "query" and param.get("required") and param["name"] not in query:
                raise ContractViolation(f"{where}: missing required query parameter “{param['name']}”")
        content = (self.resolve(op.get("requestBody") or {}).get("content") or {}).get("application/json")
        if body is not None and content is None:
            raise ContractViolation(f"{where}: the operation takes no JSON body")
        if content is not None:
            if body is None and self.resolve(op["requestBody"]).get("required"):
                raise ContractViolation(f"{where}: a JSON body is required")
            if body is not None and "schema" in content:
                self._validate(content["schema"], body, where, OAS30WriteValidator)
        return template

    def check_response(self, method, url, status, body=None):
        template, op, _ = self.operation(method, urlsplit(url).path)
        where = f"{method} {template} response {status}"
        responses = op.get("responses", {})
        response = responses.get(str(status)) or responses.get("default")
        if response is None:
            raise ContractViolation(f"{where}: status {status} is not declared")
        content = (self.resolve(response).get("content") or {}).get("application/json")
        if content and "schema" in content and body is not None:
            self._validate(content["schema"], body, where, OAS30ReadValidator)

    def example(self, method, template, status="200"):
        """The vendor's own example response, as a starting point for a fake's answer."""
        op = self.spec["paths"][template][method.lower()]
        content = self.resolve(op["responses"][str(status)])["content"]["application/json"]
        examples = content.get("examples") or {}
        if examples:
            first = self.resolve(next(iter(examples.values())))
            return json.loads(json.dumps(first["value"]))
        return json.loads(json.dumps(content.get("example")))
