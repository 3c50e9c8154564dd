"""API of access reviews: campaigns (with progress and items) and their items' decisions.

A workflow's owners decide; auditors read; everyone else, workloads included, sees no
review at all (404). Decisions go through `governance.reviews.decide_items`, which locks
the campaign, re-checks who may decide and applies separation of duties (403), refuses
an item decided already or a closed review (409), and ends access at once on a revoke.
"""

from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import permissions as rules
from governance.api.schema import error
from governance.api.viewsets import ReadOnlyViewSet
from governance.choices import ReviewOutcome
from governance.filtersets import ReviewCampaignFilterSet, ReviewItemFilterSet
from governance.models import ReviewItem
from governance.permissions import require
from governance.reviews.api.serializers import (
    BulkReviewDecisionSerializer,
    ReviewCampaignDetailSerializer,
    ReviewCampaignSerializer,
    ReviewDecisionSerializer,
    ReviewItemSerializer,
)
from governance.reviews.services import decide_item, decide_items

DECIDE_DENIED = "Only the workflow's control owner, backup owner or an administrator decides its access review."
DECIDE_ERRORS = {
    403: error(403, "Not an owner of the workflow (auditors read only), or certifying your own access."),
    409: error(409, "An item was decided already, or the review is closed."),
}
ITEM_RELATED = ("grant", "workload", "policy", "owner", "decided_by")


def campaigns_visible_to(user):
    """The campaigns the caller may see, with their progress counted in the same query."""
    return (
        rules.visible_campaigns(user)
        .select_related("workflow", "closed_by")
        .annotate(
            items_total=Count("items"),
            items_decided=Count("items", filter=~Q(items__outcome=ReviewOutcome.PENDING)),
        )
    )


@extend_schema_view(
    list=extend_schema(summary="List the access reviews the caller may see (owners: their workflows'; auditors: all)"),
    retrieve=extend_schema(summary="An access review, with its progress and every item"),
)
class ReviewCampaignViewSet(ReadOnlyViewSet):
    serializer_class = ReviewCampaignSerializer
    filterset_class = ReviewCampaignFilterSet
    ordering_fields = ["due_at", "opened_at", "closed_at"]
    ordering = ["-opened_at"]

    def visible(self, user):
        campaigns = campaigns_visible_to(user)
        if self.action in ("retrieve", "decide"):
            items = ReviewItem.objects.select_related(*ITEM_RELATED).order_by("kind", "pk")
            campaigns = campaigns.prefetch_related(Prefetch("items", queryset=items))
        return campaigns

    def get_serializer_class(self):
        return ReviewCampaignDetailSerializer if self.action == "retrieve" else ReviewCampaignSerializer

    @extend_schema(
        summary="Decide several items of this review the same way (all or none)",
        request=BulkReviewDecisionSerializer,
        responses={200: ReviewCampaignDetailSerializer, **DECIDE_ERRORS},
        description="Answers the review as it stands afterwards; it completes when its last item is decided.",
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        campaign = self.get_object()
        require(rules.can_decide_review(request.user, campaign), DECIDE_DENIED)
        serializer = BulkReviewDecisionSerializer(data=request.data, context={"campaign": campaign})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decide_items(campaign, data["items"], by=request.user, decision=data["decision"], comment=data["comment"])
        campaign = self.visible(request.user).get(pk=campaign.pk)
        return Response(ReviewCampaignDetailSerializer(campaign, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="List the items of the access reviews the caller may see"),
    retrieve=extend_schema(summary="One item of an access review"),
)
class ReviewItemViewSet(ReadOnlyViewSet):
    serializer_class = ReviewItemSerializer
    filterset_class = ReviewItemFilterSet
    ordering_fields = ["kind", "outcome", "decided_at", "campaign__due_at"]
    ordering = ["-campaign__opened_at", "kind", "pk"]

    def visible(self, user):
        return rules.visible_review_items(user).select_related("campaign__workflow", *ITEM_RELATED)

    @extend_schema(
        summary="Decide one item: certify, revoke or suspend, with a comment",
        request=ReviewDecisionSerializer,
        responses={200: ReviewItemSerializer, **DECIDE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        item = self.get_object()
        require(rules.can_decide_review(request.user, item.campaign), DECIDE_DENIED)
        serializer = ReviewDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decide_item(item, by=request.user, decision=data["decision"], comment=data["comment"])
        return Response(ReviewItemSerializer(self.visible(request.user).get(pk=item.pk)).data)
