"""The production settings plus the reference view; used only by the benchmark's server."""

from governance.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
