"""A newcomer's first commands: `make run`'s script, then `manage.py` in another shell.

These run the real scripts as subprocesses on a throw-away data directory (SQLite and the
file-system broker), the way a person types them.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def clean_env(**extra):
    """The environment of a fresh shell: none of the suite's database or broker settings."""
    dropped = {"DATABASE_URL", "MIGRATE_DATABASE_URL", "DATABASE_APP_ROLE", "REDIS_URL", "TEST_REDIS_URL"}
    dropped |= {"MANDATE_VAR_DIR", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, **extra}


def manage(*args, env):
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_command_on_a_database_never_made_says_so_in_one_line_and_creates_nothing(tmp_path):
    var_dir = tmp_path / "var"
    env = clean_env(MANDATE_VAR_DIR=str(var_dir), MANDATE_ENV_FILE=str(tmp_path / "none.env"))

    run = manage("issue_api_key", "--user", "fiona", env=env)

    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "No database at" in run.stderr and "make run" in run.stderr
    assert not (var_dir / "mandate.sqlite3").exists()


def test_a_command_on_an_empty_database_says_to_migrate(tmp_path):
    (tmp_path / "mandate.sqlite3").touch()  # a file with no tables, as an interrupted start leaves it
    env = clean_env(MANDATE_VAR_DIR=str(tmp_path), MANDATE_ENV_FILE=str(tmp_path / "none.env"))

    run = manage("issue_scim_token", "entra", "--create", env=env)

    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "has no tables yet" in run.stderr and "migrate" in run.stderr


@pytest.mark.celery_worker
def test_make_run_is_found_by_later_commands_and_ctrl_c_stops_it_at_once(tmp_path):
    port, env_file = free_port(), tmp_path / "dot.env"
    env = clean_env(MANDATE_VAR_DIR=str(tmp_path / "var"), MANDATE_ENV_FILE=str(env_file), PORT=str(port))
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 - the server writes to it until the end
    # As a terminal starts it: its own process group, SIGINT not ignored.
    run = subprocess.Popen(
        ["bin/run-dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                assert run.poll() is None, (tmp_path / "run.log").read_text()
                time.sleep(1)
        else:
            pytest.fail("make run did not become healthy: " + (tmp_path / "run.log").read_text())

        # Another shell, without MANDATE_VAR_DIR: the remembered data directory is used.
        assert env_file.read_text().splitlines() == [f"MANDATE_VAR_DIR={tmp_path / 'var'}"]
        later = clean_env(MANDATE_ENV_FILE=str(env_file))
        key = manage("issue_api_key", "--user", "fiona", env=later)
        assert key.returncode == 0, key.stderr
        assert key.stdout.startswith("mdt_") and key.stdout.count("\n") == 1

        os.killpg(run.pid, signal.SIGINT)
        started = time.monotonic()
        run.wait(timeout=20)
        stopped_in = time.monotonic() - started
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    log.seek(0)
    after_start = log.read().split("Stop with Ctrl-C.", 1)[1].strip()
    assert after_start.splitlines() == ["Stopping Mandate…", "Stopped."]
    assert run.returncode == 0
    assert stopped_in < 6, f"took {stopped_in:.1f} s to stop"
    assert processes_with(f"MANDATE_VAR_DIR={tmp_path / 'var'}") == []


def processes_with(variable):
    """Pids of the processes whose environment holds `variable` (web, worker, beat of one run)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if variable.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            pass  # ended meanwhile, or not ours to read
    return found
