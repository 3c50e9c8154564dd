"""Forms of the approval pages. They check shapes and the policy's visible limits so a
person gets a validation message instead of a denied request; the services decide."""

import uuid

from django import forms

from governance.models import Policy

from .choices import Decision
from .policy import human_duration

DURATIONS = [15 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600, 8 * 3600]


def duration_choices(limit=None):
    return [(s, human_duration(s)) for s in DURATIONS if limit is None or s <= limit]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices)
    comment = forms.CharField(
        label="Comment", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == Decision.DENY and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say why you deny, so the requester knows what to change.")
        return data


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Reason for revoking", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ExtendForm(forms.Form):
    duration_seconds = forms.TypedChoiceField(label="Extend to", coerce=int, choices=duration_choices())
    justification = forms.CharField(
        label="Why it is still needed", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, limit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duration_seconds"].choices = duration_choices(limit) or duration_choices()[:1]
        self.fields["duration_seconds"].help_text = "From now. The policy decides again, as for a new request."


REQUIRED_BY_POLICY = {
    "task_ref": "This access needs the ticket, run or job it is for.",
    "justification": "Say why you need this access.",
}


class RequestAccessForm(forms.Form):
    """A person asks for one entitlement in one workflow, for one task, for a while."""

    policy = forms.TypedChoiceField(label="Access", coerce=int, help_text="Entitlements grouped by workflow.")
    duration_seconds = forms.TypedChoiceField(label="For how long", coerce=int, choices=duration_choices())
    task_ref = forms.CharField(
        label="Task reference", required=False, max_length=200, help_text="The ticket, run or job this access is for."
    )
    justification = forms.CharField(
        label="Justification", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, policies, **kwargs):
        kwargs["initial"] = {"idempotency_key": uuid.uuid4().hex, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.policies = {p.pk: p for p in policies}
        groups = {}
        for policy in policies:
            label = f"{policy.entitlement.scope} — {policy.entitlement.name or policy.entitlement.target_system}"
            groups.setdefault(policy.workflow.name, []).append((policy.pk, label))
        self.fields["policy"].choices = [("", "Choose the access you need"), *groups.items()]
        # What each policy asks for; the chosen one marks the fields (portal.js follows a new choice).
        self.requirements = {
            pk: {"task_ref": p.task_ref_required, "justification": p.justification_required}
            for pk, p in self.policies.items()
        }
        chosen = self.data.get("policy") if self.is_bound else self.initial.get("policy")
        needs = self.requirements.get(int(chosen) if str(chosen or "").isdigit() else None, {})
        for name, message in REQUIRED_BY_POLICY.items():
            self.fields[name].required = needs.get(name, False)
            self.fields[name].error_messages["required"] = message

    def clean_policy(self):
        policy = self.policies.get(self.cleaned_data["policy"])
        if policy is None:
            raise forms.ValidationError("Choose one of the listed entitlements.")
        return policy

    def clean(self):
        data = super().clean()
        policy = data.get("policy")
        if not isinstance(policy, Policy):
            return data
        limit = min(policy.max_ttl_seconds, policy.entitlement.max_lifetime_seconds)
        if data.get("duration_seconds") and data["duration_seconds"] > limit:
            self.add_error(
                "duration_seconds", f"The longest this access can be granted for is {human_duration(limit)}."
            )
        for name, message in REQUIRED_BY_POLICY.items():
            if self.requirements[policy.pk][name] and not (data.get(name) or "").strip() and name not in self.errors:
                self.add_error(name, message)
        return data
