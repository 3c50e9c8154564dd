"""Forms of the workflow registry. They validate shapes; the services decide and save."""

from django import forms
from django.contrib.auth import get_user_model

from identities.models import IdentitySource

from .choices import RiskTier, WorkflowStatus
from .models import Workflow
from .services import WORKFLOW_FIELDS


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


def active_people():
    return get_user_model().objects.filter(is_active=True).order_by("display_name", "username")


class WorkflowForm(forms.ModelForm):
    """Register or edit a workflow. `save()` is not used: the view calls the service."""

    control_owner = PersonChoiceField(
        queryset=active_people(), help_text="The accountable person who approves and reviews access."
    )
    backup_owner = PersonChoiceField(
        queryset=active_people(), required=False, help_text="Decides when the control owner is away."
    )

    class Meta:
        model = Workflow
        fields = WORKFLOW_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "slug": forms.TextInput(attrs={"data-slug-from": "id_name"}),
        }
        help_texts = {"slug": "Short name used in URLs and by the API, e.g. pr-coding-agent."}

    def __init__(self, *args, creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["control_owner"].queryset = active_people()
        self.fields["backup_owner"].queryset = active_people()
        self.fields["identity_source"].queryset = IdentitySource.objects.order_by("name")
        if creating:
            self.fields["status"].choices = [
                (WorkflowStatus.DRAFT, WorkflowStatus.DRAFT.label),
                (WorkflowStatus.ACTIVE, WorkflowStatus.ACTIVE.label),
            ]

    def _post_clean(self):
        # Model validation belongs to the service (it also checks permissions and
        # transitions); the form only checks shapes, so skip ModelForm's instance checks.
        pass

    def service_fields(self):
        return {name: self.cleaned_data[name] for name in WORKFLOW_FIELDS if name in self.cleaned_data}


class WorkflowFilterForm(forms.Form):
    """The registry's search box and filters, read from the query string."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    risk_tier = forms.ChoiceField(label="Risk tier", required=False, choices=[("", "Any tier"), *RiskTier.choices])
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *WorkflowStatus.choices])
    owner = PersonChoiceField(label="Owner", required=False, queryset=active_people(), empty_label="Anyone")
    overdue = forms.BooleanField(label="Review overdue", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True)
        self.fields["owner"].queryset = (
            people.filter(controlled_workflows__isnull=False) | people.filter(backup_workflows__isnull=False)
        ).distinct()

    def filters(self):
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "q": data["q"].strip(),
            "risk_tier": data["risk_tier"],
            "status": data["status"],
            "owner": data["owner"],
            "overdue": data["overdue"],
        }
