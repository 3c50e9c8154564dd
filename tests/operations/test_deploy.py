"""The production process definitions in deploy/ hold together: every process restarts
whatever its exit, and what they run exists in the repository.

Containers cannot run here, so the compose file and the Containerfile are checked as
text; the systemd units are also checked by `systemd-analyze verify` where it exists.
"""

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
LONG_RUNNING = ("mandate-web.service", "mandate-worker@.service", "mandate-beat.service")


def unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def points_into_the_repository(argv):
    """The modules and files a command names exist in the repository."""
    missing = []
    for i, word in enumerate(argv):
        if word == "-c" and argv[i + 1].endswith(".py"):
            missing += [argv[i + 1]] if not (ROOT / argv[i + 1]).exists() else []
        if word.endswith(".wsgi") and not (ROOT / word.replace(".", "/")).with_suffix(".py").exists():
            missing.append(word)
        if word == "-A" and not (ROOT / argv[i + 1] / "celery.py").exists():
            missing.append(argv[i + 1])
        if word == "manage.py" and not (ROOT / word).exists():
            missing.append(word)
    return missing


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_long_running_unit_restarts_for_ever(name):
    parsed = unit(name)
    assert parsed["Service"]["Restart"] == "always"
    assert parsed["Unit"]["StartLimitIntervalSec"] == "0", "systemd would stop restarting after 5 quick exits"
    argv = parsed["Service"]["ExecStart"].split()
    assert argv[0].startswith("/opt/mandate/.venv/bin/")
    assert points_into_the_repository(argv[1:]) == []


def test_the_worker_unit_escapes_celerys_host_name():
    command = unit("mandate-worker@.service")["Service"]["ExecStart"]
    assert "-n worker%i@%%h" in command


def test_the_target_starts_everything():
    wants = unit("mandate.target")["Unit"]["Wants"].split()
    assert {"mandate-web.service", "mandate-beat.service", "mandate-migrate.service"} <= set(wants)
    assert sum(name.startswith("mandate-worker@") for name in wants) >= 2


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_units_verify(tmp_path):
    # Installed as documented, with the repository and its virtualenv in place of /opt/mandate.
    for path in UNITS.iterdir():
        text = path.read_text().replace("/opt/mandate", str(ROOT)).replace("/etc/mandate/", f"{tmp_path}/")
        text = re.sub(r"^(User|Group)=.*$", "", text, flags=re.M)  # no mandate user on a test machine
        (tmp_path / path.name).write_text(text)
    (tmp_path / "mandate.env").write_text("")
    (tmp_path / "mandate-worker@1.service").symlink_to(tmp_path / "mandate-worker@.service")
    names = [str(tmp_path / n) for n in ("mandate-web.service", "mandate-beat.service", "mandate-migrate.service")]
    names.append(str(tmp_path / "mandate-worker@1.service"))
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "warning"}
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True, env=env, check=False
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "mandate" in line and "network-online.target" not in line
    ]
    assert problems == []


def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_postgresql_redis_web_workers_and_one_beat():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["restart"] == "always", name
    assert services["beat"]["deploy"]["replicas"] == 1
    assert str(services["worker"]["deploy"]["replicas"]).startswith("${MANDATE_WORKERS")
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("migrate", "web", "worker", "beat"):
        assert points_into_the_repository(services[name]["command"]) == [], name
        assert services[name]["build"]["dockerfile"] == "deploy/Containerfile"
        environment = services[name]["environment"]
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:" in environment["DATABASE_URL"]


def test_the_containerfile_copies_what_exists_and_runs_unprivileged():
    text = (DEPLOY / "Containerfile").read_text()
    for source in re.findall(r"^COPY (\S+) ", text, flags=re.M):
        assert (ROOT / source).exists(), source
    assert re.search(r"^USER mandate$", text, flags=re.M)
    command = re.search(r"^CMD (\[.*\])$", text, flags=re.M).group(1)
    assert points_into_the_repository(yaml.safe_load(command)) == []
