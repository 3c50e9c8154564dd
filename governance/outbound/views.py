"""Webhook subscription pages: the list, a new subscription (its secret shown once), one
subscription with its delivery log, and the buttons that change, rotate and replay.

Administrators manage subscriptions; auditors see them and their logs. The secret is
never shown again after it was made.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from governance import permissions
from governance.outbound.forms import SubscriptionForm
from governance.outbound.models import WebhookDelivery, WebhookSubscription
from governance.outbound.services import create_subscription, replay_delivery, rotate_secret, update_subscription
from governance.portal import SERVICE_ERRORS, apply_field_errors, done, error_message, error_status, paginate


def _may_see(user):
    permissions.require(permissions.is_admin(user) or permissions.is_auditor(user))


@login_required
def subscription_list(request):
    _may_see(request.user)
    context = {
        "subscriptions": WebhookSubscription.objects.all(),
        "can_manage": permissions.is_admin(request.user),
        "form": SubscriptionForm(),
    }
    return render(request, "governance/webhooks/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_create(request):
    permissions.require(permissions.is_admin(request.user), "Only administrators manage webhooks.")
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription, secret = create_subscription(
                name=data["name"], url=data["url"], event_types=data["event_types"], by=request.user
            )
        except SERVICE_ERRORS as exc:
            apply_field_errors(form, exc)
        else:
            return _show_secret(request, subscription, secret, created=True)
    status = 400 if form.errors else 200
    return render(request, "governance/webhooks/form.html", {"form": form}, status=status)


def _show_secret(request, subscription, secret, *, created):
    context = {"subscription": subscription, "secret": secret, "created": created}
    return render(request, "governance/webhooks/secret.html", context)


def _subscription(request, pk):
    _may_see(request.user)
    return get_object_or_404(WebhookSubscription, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_detail(request, pk):
    subscription = _subscription(request, pk)
    can_manage = permissions.is_admin(request.user)
    initial = {"name": subscription.name, "url": subscription.url, "event_types": subscription.event_types,
               "enabled": subscription.enabled}  # fmt: skip
    form = SubscriptionForm(request.POST or None, initial=initial)
    form.fields["name"].disabled = True
    status = 200
    if request.method == "POST":
        permissions.require(can_manage, "Only administrators manage webhooks.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                update_subscription(
                    subscription, url=data["url"], event_types=data["event_types"], enabled=data["enabled"]
                )
            except SERVICE_ERRORS as exc:
                apply_field_errors(form, exc)
            else:
                return done(request, "Subscription saved.", reverse("webhooks:subscription_detail", args=[pk]))
        status = 400
    deliveries = paginate(request, WebhookDelivery.objects.filter(subscription=subscription))
    context = {"subscription": subscription, "form": form, "page": deliveries, "can_manage": can_manage}
    return render(request, "governance/webhooks/detail.html", context, status=status)


@login_required
@require_POST
def subscription_rotate(request, pk):
    subscription = _subscription(request, pk)
    permissions.require(permissions.is_admin(request.user), "Only administrators manage webhooks.")
    subscription, secret = rotate_secret(subscription)
    return _show_secret(request, subscription, secret, created=False)


@login_required
@require_POST
def delivery_replay(request, pk, delivery_pk):
    subscription = _subscription(request, pk)
    permissions.require(permissions.is_admin(request.user), "Only administrators replay deliveries.")
    delivery = get_object_or_404(WebhookDelivery, subscription=subscription, pk=delivery_pk)
    target = reverse("webhooks:subscription_detail", args=[pk])
    try:
        replay_delivery(delivery)
    except SERVICE_ERRORS as exc:
        context = {"message": error_message(exc), "back": target}
        return render(request, "governance/webhooks/refused.html", context, status=error_status(exc))
    return done(request, f"Delivery {delivery.message_id} will be sent again.", target)
