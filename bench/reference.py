"""The reference: a bare DRF view that parses a JSON body and looks one row up by primary key."""

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.models import Workflow


class ReferenceView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def post(self, request, pk):
        body = request.data
        row = Workflow.objects.filter(pk=pk).values("pk", "slug", "status").first()
        return Response({"row": row, "echo": len(body)})
