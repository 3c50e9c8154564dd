"""Settings for the test suite: the production settings with a throwaway key.

DEBUG stays off so tests exercise production behaviour; only what cannot work in a test
client (HTTPS redirects) is relaxed. Everything else still comes from the environment, so
CI points DATABASE_URL at PostgreSQL and the same suite runs there.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "0123456789" * 5)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; test-only accounts
