"""A workflow's MCP tool → scope mapping, as Mandate serves it
(`GET /api/v1/workflows/<slug>/tools/`).

Entries come in precedence order (an exact name before any pattern, then narrower patterns,
then lower access levels), so the first entry whose pattern matches the whole tool name —
case-sensitively, shell-style `* ? [...]` — decides the scope. A tool no entry matches is
covered by no entitlement, and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class ToolEntry:
    pattern: str
    scope: str
    access_level: str
    exact: bool

    def matches(self, tool: str) -> bool:
        return tool == self.pattern if self.exact else fnmatchcase(tool, self.pattern)


@dataclass(frozen=True)
class ToolMapping:
    workflow: str
    entries: tuple[ToolEntry, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolMapping:
        entries = tuple(
            ToolEntry(
                pattern=str(item["pattern"]),
                scope=str(item["scope"]),
                access_level=str(item.get("access_level", "")),
                exact=bool(item.get("exact", False)),
            )
            for item in data.get("tools", [])
        )
        return cls(workflow=str(data.get("workflow", "")), entries=entries)

    def entry_for(self, tool: str) -> ToolEntry | None:
        return next((entry for entry in self.entries if entry.matches(tool)), None)

    def scope_for(self, tool: str) -> str | None:
        entry = self.entry_for(tool)
        return entry.scope if entry else None
