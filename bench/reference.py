"""The references: bare DRF views that parse a JSON body and look one row up by primary key.

`DurableReferenceView` also writes one row and commits it before answering, as every
authorization decision must be: the floor that durability puts under any decision
(one WAL flush per answer), measured beside the issue's reference rather than assumed.
"""

from django.db import connection
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


class DurableReferenceView(ReferenceView):
    def post(self, request, pk):
        body = request.data
        row = Workflow.objects.filter(pk=pk).values("pk", "slug", "status").first()
        # Autocommit: the row is committed (WAL flushed) before the answer is sent.
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_durable_record (workflow_id, body) VALUES (%s, %s)", [pk, str(body)])
        return Response({"row": row, "echo": len(body)})


def create_durable_table():
    """The durable reference's table, created by the benchmark in its own database only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_durable_record "
            "(id bigserial PRIMARY KEY, workflow_id bigint NOT NULL, body text NOT NULL)"
        )
