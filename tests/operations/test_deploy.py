"""The production process definitions in deploy/ hold together: every process restarts
whatever its exit, and what they run exists in the repository; migrations run as the
tables' owner and everything else as the app role; the processes of one deployment share
the metrics directory and the evidence keys.

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
    (tmp_path / "migrate.env").write_text("")
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


def environment_of(parsed):
    """A unit's Environment= assignments as a dict."""
    pairs = parsed["Service"].get("Environment", "").split()
    return dict(pair.split("=", 1) for pair in pairs)


COUNTING = ("mandate-web.service", "mandate-worker@.service")


@pytest.mark.parametrize("name", COUNTING)
def test_web_and_workers_count_into_one_writable_directory(name):
    service = unit(name)["Service"]
    directory = environment_of(unit(name))["PROMETHEUS_MULTIPROC_DIR"]
    assert directory == environment_of(unit("mandate-web.service"))["PROMETHEUS_MULTIPROC_DIR"], "one per host"
    # ProtectSystem=strict leaves only the runtime directories and ReadWritePaths writable.
    assert service["ProtectSystem"] == "strict"
    writable = [f"/run/{path}" for path in service["RuntimeDirectory"].split()] + service["ReadWritePaths"].split()
    assert directory in writable
    # Shared by several units: without it, the first unit to stop would delete the others' files.
    assert service["RuntimeDirectoryPreserve"] == "yes"


def test_the_metrics_documentation_describes_the_units():
    text = (ROOT / "docs" / "operations-metrics.md").read_text()
    web = unit("mandate-web.service")["Service"]
    assert environment_of(unit("mandate-web.service"))["PROMETHEUS_MULTIPROC_DIR"] in text
    assert f"RuntimeDirectory={web['RuntimeDirectory']}" in text
    assert "RuntimeDirectoryPreserve=yes" in text


def test_the_migrate_unit_migrates_as_the_owner_and_grants_the_app_role():
    service = unit("mandate-migrate.service")["Service"]
    text = (UNITS / "mandate-migrate.service").read_text()
    commands = re.findall(r"^ExecStart=(\S+)", text, flags=re.M)
    assert commands[0] == "/opt/mandate/bin/migrate"
    assert (ROOT / "bin" / "migrate").stat().st_mode & 0o111
    migrate = (ROOT / "bin" / "migrate").read_text()
    assert "manage.py migrate" in migrate and "manage.py grant_app_role" in migrate
    # The owner's credentials are required here and nowhere else.
    assert "EnvironmentFile=/etc/mandate/migrate.env" in text, service
    for name in LONG_RUNNING:
        assert "migrate.env" not in (UNITS / name).read_text(), name


@pytest.mark.parametrize("name", ("mandate-web.service", "mandate-worker@.service", "mandate-beat.service"))
def test_the_units_can_write_the_evidence_keys_and_checkpoints(name):
    assert "/var/lib/mandate" in unit(name)["Service"]["ReadWritePaths"].split()


def mounts(service):
    """{container path: volume or host path} of a compose service."""
    return {target: source for source, target, *_ in (entry.split(":") for entry in service.get("volumes", []))}


PROCESSES = ("web", "worker", "beat")


def test_compose_runs_the_processes_as_the_app_role_and_migrates_as_the_owner():
    services = compose()["services"]
    for name in (*PROCESSES, "migrate"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgres://mandate_app:"), name
    for name in PROCESSES:
        assert "MIGRATE_DATABASE_URL" not in services[name]["environment"], name
    migrate = services["migrate"]
    assert migrate["environment"]["MIGRATE_DATABASE_URL"].startswith("postgres://mandate_owner:")
    assert "exec bin/migrate" in migrate["command"][-1]
    assert migrate["environment"]["PY"] == "python", "the image has no .venv"
    assert re.search(r"^COPY bin \./bin$", (DEPLOY / "Containerfile").read_text(), flags=re.M)


def test_compose_makes_the_two_roles_on_postgresqls_first_start():
    postgres = compose()["services"]["postgres"]
    mounted = mounts(postgres)
    assert mounted["/usr/local/bin/mandate-database-roles"] == "../bin/ci-database-roles"
    init = [path for path in mounted if path.startswith("/docker-entrypoint-initdb.d/")]
    assert len(init) == 1 and init[0].endswith(".sh")
    script = (DEPLOY / mounted[init[0]]).read_text()
    assert re.search(r"^mandate-database-roles \"\$POSTGRES_DB\" mandate_owner mandate_app$", script, flags=re.M)
    environment = postgres["environment"]
    assert {"MANDATE_OWNER_PASSWORD", "MANDATE_APP_PASSWORD"} <= set(environment)
    assert environment["POSTGRES_USER"] != "mandate_owner", "the owner is no superuser"


def test_compose_shares_the_metrics_directory_and_empties_it_before_the_processes_start():
    document = compose()
    services = document["services"]
    directory = services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    volumes = {mounts(services[name]).get(directory) for name in ("web", "worker")}
    assert len(volumes) == 1 and volumes <= set(document["volumes"]), "web and workers see one directory"
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == directory
    migrate = services["migrate"]
    assert mounts(migrate)[directory] in volumes
    assert migrate["command"][-1].startswith(f"rm -f {directory}/*.db && ")
    assert not migrate["environment"]["PROMETHEUS_MULTIPROC_DIR"], "migrations count nothing, leave no file"
    for name in PROCESSES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_shares_the_evidence_keys_and_checkpoints():
    document = compose()
    services = document["services"]
    var_dir = re.search(r"MANDATE_VAR_DIR=(\S+)", (DEPLOY / "Containerfile").read_text()).group(1)
    volumes = {mounts(services[name]).get(var_dir) for name in (*PROCESSES, "migrate")}
    assert len(volumes) == 1 and volumes <= set(document["volumes"]), "one key and one checkpoint file for all"
    for name in PROCESSES:
        environment = services[name]["environment"]
        for setting in ("MANDATE_VAR_DIR", "EVIDENCE_SIGNING_KEY_DIR", "EVIDENCE_CHECKPOINT_FILE"):
            assert environment.get(setting, var_dir).startswith(var_dir), (name, setting)
