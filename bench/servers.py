"""Processes of `make bench` and `make faults`: gunicorn with the production settings, Celery, wrk."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The production server settings the figures are taken with (docs/performance.md): sync
# workers, two per core. While one waits for its decision's commit to be flushed, another
# has the core.
GUNICORN_WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))


class BenchError(RuntimeError):
    """Something failed (not a slow figure): `make bench` exits non-zero."""


def own_evidence_trail(name):
    """Signing keys and a checkpoint file for this run only, in var/<name>/trail, emptied.

    The run's database is new each time; checkpoints another database's chains left in the
    default file would make `verify_evidence` report a rewrite that never happened.
    """
    trail = ROOT / "var" / name / "trail"
    if trail.exists():
        for path in sorted(trail.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    (trail / "keys").mkdir(parents=True, exist_ok=True)
    return {
        "EVIDENCE_SIGNING_KEY_DIR": str(trail / "keys"),
        "EVIDENCE_CHECKPOINT_FILE": str(trail / "checkpoints.jsonl"),
    }


def start_gunicorn(port, log_path, *, wsgi="bench.wsgi", ready=None, workers=GUNICORN_WORKERS):
    """gunicorn serving `wsgi` on `port` with `workers` processes; returns once `ready(base_url)` is true.

    The default readiness probe is the benchmark's reference view.
    """
    base = f"http://127.0.0.1:{port}"
    ready = ready or (lambda url: requests.post(f"{url}/bench/reference/1", json={}, timeout=2).status_code == 200)
    command = [
        str(BIN / "gunicorn"),
        wsgi,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    log = open(log_path, "ab")  # noqa: SIM115 (kept open for the process's life)
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            if ready(base):
                return process
        except requests.RequestException:
            pass
        time.sleep(0.3)
    stop(process)
    raise BenchError(f"gunicorn did not answer on port {port}; see {log_path}")


def start_worker(log_path, *, name=None, concurrency=2, command="worker"):
    """A Celery worker (or `command="beat"`) for the project, in its own process group."""
    argv = [str(BIN / "celery"), "-A", "governance", command, "--loglevel", "WARNING"]
    if command == "worker":
        argv += ["--concurrency", str(concurrency)] + (["-n", f"{name}@%h"] if name else [])
    log = open(log_path, "ab")  # noqa: SIM115
    return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_rss_mb(master):
    """The largest resident set of the gunicorn master's worker processes, in MB."""
    children = []
    for task in Path(f"/proc/{master.pid}/task").iterdir():
        children += (task / "children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    if not sizes:
        raise BenchError("no gunicorn worker found to measure")
    return max(sizes)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def lua_script(body, headers):
    lines = ['wrk.method = "POST"', f"wrk.body = [=[{body}]=]"]
    lines += [f'wrk.headers["{name}"] = [=[{value}]=]' for name, value in headers.items()]
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    handle.write("\n".join(lines) + "\n")
    handle.close()
    return handle.name


def wrk(url, script, *, seconds, connections=32, threads=2):
    """Run wrk; return {"rps", "p99_ms", "requests"}. Raises BenchError on errors or non-2xx answers."""
    out = subprocess.run(
        # A long timeout: on a busy machine a slow answer is a slow figure, not an error.
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            script,
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise BenchError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
    text = out.stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if "Non-2xx or 3xx responses" in text or (errors and any(int(n) for n in errors.groups()[:3])):
        raise BenchError(f"wrk saw errors against {url}:\n{text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    return {"rps": rps, "p99_ms": p99, "requests": total, "timeouts": int(errors.group(4)) if errors else 0}
