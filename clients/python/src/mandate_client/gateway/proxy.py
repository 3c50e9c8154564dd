"""The gateway: MCP in front, MCP behind, Mandate deciding in between.

- `tools/list` shows only the upstream tools some entitlement of the workflow covers (the
  mapping lives in Mandate, `GET /api/v1/workflows/<slug>/tools/`, re-read at most every
  `mapping_ttl` seconds).
- `tools/call` of a tool no entitlement covers is refused. Otherwise `ensure_access`
  runs (the authorization check, then the task's access request) with the task
  reference from the call's `_meta["mandate/task_ref"]`, or the session's `--task-ref`.
  On allow the call goes upstream; on a pending request or a denial the model gets a
  tool error saying what is pending and who approves, or why not. Either way the call is
  recorded in the workflow's evidence: tool, target (`_meta["mandate/target"]`), outcome,
  task, grant, the SHA-256 of the arguments and of the result — never their content.
- Where the client supports elicitation, the connected person is asked before a new
  request is filed; their answer is its justification, and a refusal files nothing.
- Every call is checked online, so a suspension, revocation or completed task stops the
  next call. Mandate unreachable means no call goes through (fail closed).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp import Client
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import NoBackChannelError

from ..access import ensure_access
from ..client import Mandate, sha256_of
from ..errors import AccessDenied, AccessPending, MandateError
from ..tools import ToolMapping

logger = logging.getLogger("mandate_client.gateway")

JUSTIFICATION_FORM: Any = {
    "type": "object",
    "properties": {"justification": {"type": "string", "title": "Why does the agent need this?"}},
    "required": ["justification"],
}
ANSWER_KEY = "mandate/justification"
TASK_META_KEY = "mandate/task_ref"
TARGET_META_KEY = "mandate/target"
MAX_LIST_PAGES = 100


@dataclass(frozen=True)
class GatewaySettings:
    workflow: str
    task_ref: str = ""
    on_behalf_of: str | None = None
    duration_seconds: int = 900
    justification: str = ""
    wait: float | None = None
    mapping_ttl: float = 10.0
    # How long a call's answer may wait for its evidence to reach Mandate.
    evidence_budget: float = 0.5


def tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


class Gateway:
    def __init__(self, mandate: Mandate, upstream: Client, settings: GatewaySettings) -> None:
        self.mandate = mandate
        self.upstream = upstream
        self.settings = settings
        self._mapping: ToolMapping | None = None
        self._mapping_at = float("-inf")

    async def mapping(self) -> ToolMapping:
        if self._mapping is None or time.monotonic() - self._mapping_at > self.settings.mapping_ttl:
            self._mapping = await asyncio.to_thread(self.mandate.tool_mapping, self.settings.workflow)
            self._mapping_at = time.monotonic()
        return self._mapping

    # ------------------------------------------------------------------ tools/list
    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        mapping = await self.mapping()
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            page = await self.upstream.list_tools(cursor=cursor)
            tools.extend(tool for tool in page.tools if mapping.entry_for(tool.name) is not None)
            cursor = page.next_cursor
            if not cursor:
                break
        return types.ListToolsResult(tools=tools)

    # ------------------------------------------------------------------ tools/call
    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        result = await self._call(params, ctx)
        # The call's evidence goes out before its answer (within the budget): what an agent
        # did just before a suspension is still recorded, since a suspended key may send nothing.
        await asyncio.to_thread(self.mandate.flush, self.settings.evidence_budget)
        return result

    async def _call(
        self, params: types.CallToolRequestParams, ctx: ServerRequestContext[Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        name, arguments = params.name, params.arguments or {}
        meta: dict[str, Any] = dict(params.meta or {})
        task = str(meta.get(TASK_META_KEY) or self.settings.task_ref)
        target = str(meta.get(TARGET_META_KEY) or "")
        arguments_sha = sha256_of(arguments)

        def record(outcome: str, summary: str, grant: int | None = None) -> None:
            self.mandate.record(
                "tool_call",
                tool_name=name,
                target_resource=target,
                task_ref=task,
                outcome=outcome,
                summary=summary[:1000],
                grant=grant,
                payload_sha256=arguments_sha,
            )

        def refused(message: str) -> types.CallToolResult:
            record("blocked", message)
            return tool_error(message)

        try:
            entry = (await self.mapping()).entry_for(name)
        except MandateError as exc:
            return refused(f"Mandate could not be asked ({exc.message}); the call was not made.")
        if entry is None:
            return refused(
                f"The tool “{name}” is not covered by any entitlement of workflow “{self.settings.workflow}”; "
                "Mandate refuses it. Its owners can add it to an entitlement."
            )
        access = functools.partial(
            ensure_access,
            self.mandate,
            entry.scope,
            workflow=self.settings.workflow,
            task_ref=task,
            duration_seconds=self.settings.duration_seconds,
            justification=self.settings.justification or f"MCP tool “{name}” through the Mandate gateway.",
            on_behalf_of=self.settings.on_behalf_of,
            resource=target,
            action=name,
            wait=self.settings.wait,
            confirm=self._confirmation(ctx, name, params.input_responses),
        )
        try:
            decision = await anyio.to_thread.run_sync(access)
        except AskThePerson as ask:
            # 2026-07-28 connections have no back channel: the question travels in the result
            # and the client calls again with the answer.
            form = types.ElicitRequestFormParams(message=ask.message, requested_schema=JUSTIFICATION_FORM)
            return types.InputRequiredResult(input_requests={ANSWER_KEY: types.ElicitRequest(params=form)})
        except AccessPending as exc:
            return refused(
                f"{exc.message} The call was not made. Tell the user who must approve; "
                "once approved, call the tool again with the same arguments."
            )
        except AccessDenied as exc:
            return refused(f"{exc.message} The call was not made.")
        except MandateError as exc:
            return refused(f"Mandate could not be asked ({exc.message}); the call was not made.")
        try:
            result = await self.upstream.call_tool(name, arguments, meta=_forwarded(meta))
        except Exception as exc:
            record("error", f"Upstream error: {type(exc).__name__}", decision.grant)
            logger.warning("Upstream call of %s failed: %s", name, exc)
            return tool_error(f"The tool “{name}” failed upstream: {exc}")
        result_sha = sha256_of(result.model_dump(mode="json", by_alias=True))
        record(
            "failure" if result.is_error else "success",
            f"{entry.scope}; arguments sha256 {arguments_sha}; result sha256 {result_sha}",
            decision.grant,
        )
        return result

    def _confirmation(
        self, ctx: ServerRequestContext[Any], tool: str, responses: dict[str, Any] | None
    ) -> Callable[[str], str | None] | None:
        """Where the client supports elicitation, a `confirm` for `ensure_access` asking the
        connected person before a request is filed: over the back channel on handshake-era
        connections, through an input-required result (answered on the next call) otherwise."""
        answered = (responses or {}).get(ANSWER_KEY)
        if isinstance(answered, types.ElicitResult):
            justification = str((answered.content or {}).get("justification") or "")
            return lambda question: justification if answered.action == "accept" else None
        wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
        try:
            supported = ctx.session.check_client_capability(wanted)
        except Exception:  # a session without capability information: ask nobody
            supported = False
        if not supported:
            return None

        def confirm(question: str) -> str | None:
            message = f"The agent wants to call “{tool}”, which needs approval. {question}"
            try:
                answer = anyio.from_thread.run(ctx.session.elicit_form, message, JUSTIFICATION_FORM)
            except NoBackChannelError:
                raise AskThePerson(message) from None
            if answer.action != "accept":
                return None
            return str((answer.content or {}).get("justification") or "")

        return confirm


class AskThePerson(Exception):  # noqa: N818 (a question, not an error)
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _forwarded(meta: dict[str, Any]) -> Any:
    """The caller's `_meta` without Mandate's own keys and the protocol's reserved ones."""
    kept = {
        key: value
        for key, value in meta.items()
        if key not in (TASK_META_KEY, TARGET_META_KEY) and not key.startswith("io.modelcontextprotocol/")
    }
    return kept or None
