"""The notifications page: how a person hears from Mandate (e-mail, Slack messages) and
which Slack users are linked to them."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from approvals.chat.models import SlackAccount
from approvals.chat.preferences import preferences_of, set_preferences, unlink_slack_account
from governance import permissions
from governance.portal import SERVICE_ERRORS, done, error_message, error_status


class PreferencesForm(forms.Form):
    email = forms.BooleanField(required=False, label="E-mail: reminders and review notices")
    slack_dm = forms.BooleanField(required=False, label="Slack: approval requests and daily notices as messages")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    permissions.require(permissions.is_person(request.user))
    current = preferences_of(request.user)
    form = PreferencesForm(request.POST or None, initial={"email": current.email, "slack_dm": current.slack_dm})
    if request.method == "POST" and form.is_valid():
        set_preferences(request.user, **form.cleaned_data)
        return done(request, "Notification preferences saved.", reverse("chat:preferences"))
    accounts = SlackAccount.objects.filter(user=request.user).select_related("connection")
    return render(request, "approvals/chat/preferences.html", {"form": form, "accounts": accounts})


@login_required
@require_POST
def slack_unlink(request, pk):
    permissions.require(permissions.is_person(request.user))
    try:
        unlink_slack_account(request.user, pk)
    except SERVICE_ERRORS as exc:
        return render(
            request, "approvals/chat/preferences.html", {"error": error_message(exc)}, status=error_status(exc)
        )
    return done(request, "The Slack user is no longer linked to you.", reverse("chat:preferences"))
