"""schemathesis against the live server for a bounded time: no generated call is a 5xx.

The same generator as the in-process fuzz test (tests/api/test_fuzz.py), but through
gunicorn, PostgreSQL and Redis, as a workload agent with a key.
"""

import re
import subprocess
import sys
from pathlib import Path

from ..report import info, must_be_zero

NAME = "schemathesis against the live server"


def run(world):
    seconds, examples = world.scale(45, 300), world.scale(5, 30)
    argv = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{world.base}/api/schema/",
        "--url",
        world.base,  # the schema's paths start with /api/v1
        "--phases",
        "fuzzing,stateful",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--header",
        f"Authorization: Bearer {world.keys['incident-enricher']}",
        "--max-time",
        str(seconds),
        "--report",
        "junit",
        "--report-junit-path",
        str(world.out_dir / "schemathesis.xml"),
        "--workers",
        "2",
    ]
    try:
        # In var/faults: schemathesis keeps its example cache in the working directory.
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=world.out_dir
        )
        output, timed_out = done.stdout + done.stderr, False
    except subprocess.TimeoutExpired as exc:
        output, timed_out = (
            (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace"),
            True,
        )
    (world.out_dir / "schemathesis.log").write_text(output)
    # Each failing operation is one <failure> in the JUnit report; a 5xx is a "Server error".
    report = world.out_dir / "schemathesis.xml"
    junit = report.read_text() if report.exists() else ""
    server_errors = len(re.findall(r"Server error", junit)) or len(re.findall(r"Server error", output))
    operations = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    return [
        info(NAME, "bounded to, s / examples per operation", f"{seconds} / {examples}"),
        info(NAME, "operations", operations.group(1) if operations else "?"),
        info(NAME, "test cases generated", cases.group(1) if cases else "?"),
        info(NAME, "stopped at the time bound", timed_out),
        must_be_zero(NAME, "5xx answers (schemathesis: Server error)", server_errors),
    ]
