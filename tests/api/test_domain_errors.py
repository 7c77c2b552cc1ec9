"""A service's domain error reaches the client as the HTTP answer a DRF exception of its kind gave."""

import json

import pytest
from rest_framework import exceptions

from leaderboard import errors as domain
from leaderboard.api.errors import exception_handler


def answer(exc) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    return response.status_code, json.loads(json.dumps(response.data))


@pytest.mark.parametrize(
    ("refusal", "same_as"),
    [
        (domain.Invalid("No such task.", field="task"), exceptions.ValidationError({"task": "No such task."})),
        (domain.Invalid("Bad input."), exceptions.ValidationError("Bad input.")),
        (domain.Missing("No metric 7 here."), exceptions.NotFound("No metric 7 here.")),
        (domain.NotAllowed("Only the creator."), exceptions.PermissionDenied("Only the creator.")),
    ],
)
def test_a_domain_error_answers_as_the_drf_exception_it_replaces(refusal, same_as):
    assert answer(refusal) == answer(same_as)


def test_an_invalid_field_is_named_in_error_and_errors():
    assert answer(domain.Invalid("No such task.", field="task")) == (
        400,
        {"error": "task: No such task.", "errors": {"task": "No such task."}},
    )


def test_a_conflict_is_a_409_with_its_message():
    assert answer(domain.Conflict("Taken.", field="name")) == (409, {"error": "Taken.", "detail": "Taken."})
