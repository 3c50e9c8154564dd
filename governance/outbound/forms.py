"""Forms of the webhook subscription pages."""

from django import forms

from governance.choices import WebhookEvent


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, label="Address", assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    enabled = forms.BooleanField(required=False, initial=True)
