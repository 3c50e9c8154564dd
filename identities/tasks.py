"""Periodic jobs of the identities app. Thin wrappers: the work is in the services."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from .ldap_sync import DirectoryError, sync_ldap

logger = logging.getLogger(__name__)


@shared_task(name="identities.sync_ldap", ignore_result=True)
def sync_ldap_directory():
    """Sync the LDAP directory; quietly nothing when it is not configured.

    A run still going when the next is due is left alone (a cache lock): two runs would
    only repeat each other's work, as every change is idempotent. An unreachable
    directory is logged and tried again at the next run.
    """
    if not settings.LDAP_SYNC_ENABLED:
        return None
    if not cache.add("identities:sync_ldap:running", True, timeout=3600):
        logger.info("LDAP sync already running; skipped")
        return None
    try:
        return sync_ldap().as_dict()
    except DirectoryError as exc:
        logger.error("LDAP sync failed: %s", exc)
        return None
    finally:
        cache.delete("identities:sync_ldap:running")
