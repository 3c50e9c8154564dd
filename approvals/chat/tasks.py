"""Celery task of the daily Slack notices. Thin: the work is in `digests`. Safe to run twice."""

from celery import shared_task

from approvals.chat.digests import send_chat_digests


@shared_task(name="approvals.send_chat_digests", ignore_result=True)
def send_chat_digests_task():
    """Queue today's bundled Slack direct messages (expiring access, reviews, waiting requests)."""
    return send_chat_digests()
