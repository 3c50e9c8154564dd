#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    # A machine without a SECRET_KEY is a developer's: let `manage.py` commands run there
    # with development defaults. Production always sets SECRET_KEY, so this never applies
    # to it; the web server (wsgi.py) and Celery never get this default.
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line  # after the environment is settled

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
