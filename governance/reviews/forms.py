"""The form behind the review page's certify / revoke buttons (one item or many)."""

from django import forms

from governance.reviews.services import DECISIONS


class ReviewDecisionForm(forms.Form):
    items = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": "Choose at least one item."})
    decision = forms.ChoiceField(choices=[(d, d.title()) for d in DECISIONS])
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        # Any item of this campaign may be named; whether it is still pending is the service's call (409).
        self.fields["items"].choices = [(pk, pk) for pk in campaign.items.values_list("pk", flat=True)]
