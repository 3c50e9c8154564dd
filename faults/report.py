"""Figures of the scenarios and the summary table. Only invariants fail the run, never
a slow figure: a row's `invariant` is True/False when it must hold, None when it informs."""

from dataclasses import dataclass


@dataclass
class Row:
    scenario: str
    figure: str
    value: object
    invariant: bool | None = None
    goal: str = ""


def must_be_zero(scenario, figure, value):
    return Row(scenario, figure, value, value == 0, "0")


def must_hold(scenario, figure, value, ok, goal):
    return Row(scenario, figure, value, bool(ok), goal)


def info(scenario, figure, value):
    return Row(scenario, figure, value)


def _fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(rows, title):
    lines = [title, "", "| scenario | figure | value | must be | holds |", "|---|---|---:|---|---|"]
    for row in rows:
        verdict = "—" if row.invariant is None else ("PASS" if row.invariant else "FAIL")
        lines.append(f"| {row.scenario} | {row.figure} | {_fmt(row.value)} | {row.goal or '—'} | {verdict} |")
    return "\n".join(lines)


def print_rows(rows):
    """Each scenario prints its figures as it ends; the table repeats them at the end."""
    for row in rows:
        mark = "" if row.invariant is None else (" ok" if row.invariant else " FAILED")
        print(f"    {row.figure}: {_fmt(row.value)}{mark}", flush=True)
