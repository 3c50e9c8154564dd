"""`/api/v1/findings/`: governance problems found in the data, read-only.

Auditors read every finding; a workflow's control and backup owners read their
workflows'; anyone else (other people, workloads) is refused with 403, as in the portal.
Open findings come first by default (`?resolved=true` lists the resolved ones).
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from governance import permissions as rules
from governance.api.strict import StrictModelSerializer
from governance.api.viewsets import ReadOnlyViewSet
from governance.filtersets import FindingFilterSet
from governance.models import Finding
from governance.permissions import require


class FindingSerializer(StrictModelSerializer):
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    fix_url = serializers.SerializerMethodField(help_text="Where the problem is fixed (absolute URL).")

    class Meta:
        model = Finding
        fields = [
            "id",
            "kind",
            "severity",
            "workflow",
            "subject_type",
            "subject_id",
            "title",
            "detail",
            "fix_url",
            "fix_label",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
            "is_open",
        ]
        read_only_fields = fields

    def get_fix_url(self, finding) -> str:
        request = self.context.get("request")
        if finding.fix_url and request is not None:
            return request.build_absolute_uri(finding.fix_url)
        return finding.fix_url


@extend_schema_view(
    list=extend_schema(summary="List findings (auditors: all; owners: their workflows')"),
    retrieve=extend_schema(summary="A finding"),
)
class FindingViewSet(ReadOnlyViewSet):
    serializer_class = FindingSerializer
    filterset_class = FindingFilterSet
    ordering_fields = ["first_seen_at", "last_seen_at", "severity", "kind"]
    ordering = ["-first_seen_at", "-id"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        user = request.user
        require(
            rules.is_auditor(user) or rules.managed_workflows(user).exists(),
            "Only auditors and workflow owners can read findings.",
        )

    def visible(self, user):
        return rules.visible_findings(user).select_related("workflow")
