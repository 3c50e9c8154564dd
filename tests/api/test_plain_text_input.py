"""The authorization check's input without DRF's per-request fields: the same answers.

`plain_text_input` either returns exactly what the serializer validates to, or None
(the serializer then runs and reports the errors); never a different answer.
"""

import pytest

from approvals.api.serializers import AuthorizeSerializer, CompleteTaskSerializer
from governance.api.strict import plain_text_input

VALID = {"workflow": "wf", "scope": "jira:incident:read"}
CASES = [
    VALID,
    {**VALID, "task_ref": "run-1", "resource": "INC-1", "action": "comment"},
    {**VALID, "task_ref": "  padded  ", "resource": ""},
    {"workflow": "  ", "scope": "x"},
    {"workflow": "wf"},
    {**VALID, "unknown": "field"},
    {**VALID, "task_ref": None},
    {**VALID, "task_ref": 12},
    {**VALID, "task_ref": True},
    {**VALID, "scope": ["a"]},
    {**VALID, "scope": "a\x00b"},
    {**VALID, "scope": "a\ud800b"},
    {**VALID, "workflow": "w" * 100},
    {**VALID, "workflow": "w" * 101},
    {**VALID, "resource": "r" * 501},
    {**VALID, "scope": "é ✓ 漢字"},
    [],
    "text",
]


@pytest.mark.parametrize("data", CASES)
def test_the_fast_check_agrees_with_the_serializer(data):
    serializer = AuthorizeSerializer(data=data)
    fast = plain_text_input(AuthorizeSerializer, data)
    if fast is None:
        return  # the serializer answers, whatever it says
    assert serializer.is_valid(), (data, serializer.errors)
    assert fast == dict(serializer.validated_data)


def test_valid_plain_text_takes_the_fast_path():
    assert plain_text_input(AuthorizeSerializer, VALID) == {**VALID, "task_ref": "", "resource": "", "action": ""}
    assert plain_text_input(AuthorizeSerializer, {**VALID, "task_ref": " x "})["task_ref"] == "x"


def test_a_serializer_with_more_than_plain_text_always_builds_itself():
    # Its workflow is a slug the caller must be able to see: not plain text.
    assert plain_text_input(CompleteTaskSerializer, {"workflow": "wf", "task_ref": "x"}) is None
