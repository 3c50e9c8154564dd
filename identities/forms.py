"""Forms for workload identities. They check shapes; `identities.services` decides and saves."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from governance.forms import PersonChoiceField, active_people

from .models import IdentitySource, WorkloadIdentity
from .services import WORKLOAD_FIELDS


class WorkloadForm(forms.ModelForm):
    owner = PersonChoiceField(queryset=active_people(), help_text="The person answerable for what this workload does.")

    class Meta:
        model = WorkloadIdentity
        fields = WORKLOAD_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "slug": forms.TextInput(attrs={"data-slug-from": "id_name"}),
        }
        help_texts = {
            "slug": "Short name used in URLs and logs, e.g. pr-coding-agent.",
            "workflow": "The one workflow this identity runs. Only workflows you own are listed.",
        }

    def __init__(self, *args, workflows, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].queryset = workflows
        self.fields["owner"].queryset = active_people()
        self.fields["identity_source"].queryset = IdentitySource.objects.order_by("name")

    def _post_clean(self):
        # The service validates the model (and permissions); the form checks shapes only.
        pass

    def service_fields(self):
        return {name: self.cleaned_data[name] for name in WORKLOAD_FIELDS if name in self.cleaned_data}


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name", max_length=100, required=False, help_text="Where the key will live, e.g. “prod runner”."
    )


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Recorded in the audit trail and shown to the workload's owner.",
    )


class ReactivateForm(forms.Form):
    reason = forms.CharField(
        label="Why is it safe again?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Recorded in the audit trail, e.g. what was fixed since it was suspended.",
    )


class ThrottledSignIn:
    """A refused or throttled sign-in says why (wait, or locked) instead of "wrong password"."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            reason = getattr(self.request, "sign_in_refusal", None)
            if reason:
                raise ValidationError(reason, code="throttled")
            raise


class SignInForm(ThrottledSignIn, AuthenticationForm):
    pass


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    pass
