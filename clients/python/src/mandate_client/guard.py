"""`guard`: put any tool function under Mandate, as a decorator or a context manager,
sync or async.

    @mandate.guard("jira:incident:write", task_ref="INC-4711", justification="Post the summary.")
    def add_comment(issue: str, body: str) -> dict: ...

Before each call it runs `ensure_access` (check; file or reuse the task's request; raise
`AccessPending` / `AccessDenied`, or wait for the decision with `wait=<seconds>`); after the
call it records a `tool_call` event with the outcome, the grant used and the SHA-256 of
the arguments (never the arguments themselves). `task_ref` and `resource` may be callables
receiving the call's arguments, e.g. `task_ref=lambda issue, **_: issue`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .access import ensure_access
from .client import sha256_of
from .errors import AccessDenied, AccessPending
from .models import Decision

if TYPE_CHECKING:
    from .client import Mandate

F = TypeVar("F", bound=Callable[..., Any])
TextOrFunction = str | Callable[..., str] | None


class Guard:
    def __init__(
        self,
        client: Mandate,
        scope: str,
        *,
        workflow: str | None = None,
        task_ref: TextOrFunction = None,
        resource: TextOrFunction = None,
        tool_name: str | None = None,
        duration_seconds: int = 900,
        justification: str = "",
        on_behalf_of: str | None = None,
        wait: float | None = None,
        offline: bool = False,
    ) -> None:
        self.client = client
        self.scope = scope
        self.workflow = workflow
        self.task_ref = task_ref
        self.resource = resource
        self.tool_name = tool_name
        self.duration_seconds = duration_seconds
        self.justification = justification
        self.on_behalf_of = on_behalf_of
        self.wait = wait
        self.offline = offline
        self.decision: Decision | None = None

    # ------------------------------------------------------------------ the two halves
    def check(self, *args: Any, tool: str | None = None, **kwargs: Any) -> Decision:
        """Before a call: an allowing Decision, or AccessPending / AccessDenied (recorded as blocked)."""
        task, resource = self._text(self.task_ref, args, kwargs), self._text(self.resource, args, kwargs)
        name = tool or self.tool_name or self.scope
        try:
            return ensure_access(
                self.client,
                self.scope,
                workflow=self.workflow or self.client._workflow(None),
                task_ref=task if task is not None else self.client._task(None),
                duration_seconds=self.duration_seconds,
                justification=self.justification,
                on_behalf_of=self.on_behalf_of,
                resource=resource or "",
                action=name,
                wait=self.wait,
                offline=self.offline,
            )
        except (AccessPending, AccessDenied) as exc:
            self.client.record(
                "tool_call",
                tool_name=name,
                target_resource=resource or "",
                task_ref=task,
                outcome="blocked",
                summary=exc.message[:1000],
            )
            raise

    def done(
        self,
        decision: Decision,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        tool: str | None,
        error: BaseException | None,
    ) -> None:
        """After a call: record the tool call with its outcome."""
        self.client.record(
            "tool_call",
            tool_name=tool or self.tool_name or self.scope,
            target_resource=self._text(self.resource, args, kwargs) or "",
            task_ref=self._text(self.task_ref, args, kwargs),
            outcome="success" if error is None else "error",
            summary="" if error is None else f"{type(error).__name__}: {error}"[:1000],
            payload_sha256=sha256_of({"args": list(args), "kwargs": kwargs}),
            grant=None if decision.offline else decision.grant,
        )

    # ------------------------------------------------------------------ decorator
    def __call__(self, func: F) -> F:
        tool = self.tool_name or getattr(func, "__name__", None)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                decision = await asyncio.to_thread(functools.partial(self.check, *args, tool=tool, **kwargs))
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    self.done(decision, args, kwargs, tool=tool, error=exc)
                    raise
                self.done(decision, args, kwargs, tool=tool, error=None)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            decision = self.check(*args, tool=tool, **kwargs)
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                self.done(decision, args, kwargs, tool=tool, error=exc)
                raise
            self.done(decision, args, kwargs, tool=tool, error=None)
            return result

        return wrapper  # type: ignore[return-value]

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> Decision:
        self.decision = self.check()
        return self.decision

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.decision is not None:
            self.done(self.decision, (), {}, tool=None, error=exc)

    async def __aenter__(self) -> Decision:
        self.decision = await asyncio.to_thread(self.check)
        return self.decision

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    @staticmethod
    def _text(value: TextOrFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        if callable(value):
            return str(value(*args, **kwargs))
        return value


def guard(workflow: str, scope: str, *, client: Mandate | None = None, **options: Any) -> Guard:
    """A guard for `scope` in `workflow`; the client defaults to `Mandate.from_env()` (made once)."""
    return Guard(client or default_client(), scope, workflow=workflow, **options)


_default: Mandate | None = None


def default_client() -> Mandate:
    global _default
    if _default is None:
        from .client import Mandate

        _default = Mandate.from_env()
    return _default
