"""The environment, read strictly: `env` (django-environ, with the project's `.env` file if
there is one) and `env_secret` for secrets that may come from a file."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `.env` beside manage.py; `make run` remembers its data directory there (MANDATE_VAR_DIR).
ENV_FILE = Path(env.str("MANDATE_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.exists():
    environ.Env.read_env(ENV_FILE, overwrite=False)

# Where the embedded defaults keep their files (SQLite database, file-system broker, keys).
VAR_DIR = Path(env.str("MANDATE_VAR_DIR", default=str(BASE_DIR / "var")))


def env_secret(name):
    """A secret from `NAME`, or from the file named by `NAME_FILE` (Docker/Kubernetes secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return env.str(name, default="")
