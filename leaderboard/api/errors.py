"""Errors in the contract's form: a 400 says what was wrong in `error`; never a 500 on bad input.

The official client shows `error` of a 400 to its user, and fixed texts for
401/403/404/409/429; `detail` stays for DRF-style callers.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leaderboard import errors as domain
from leaderboard.api.throttling import add_rate_limit_headers


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    request, view = context.get("request"), context.get("view")
    if request is not None and view is not None and getattr(request, "rate_limit", None) is None:
        exc = _counted(exc, request, view)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": describe(exc.detail), "errors": exc.detail}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"error": str(detail), "detail": str(detail)}
    if request is not None:
        add_rate_limit_headers(request, response)
    return response


def _counted(exc, request, view):
    """A request refused before DRF reached its throttles (a bad token's 401, a 403) counts all the same.

    Otherwise tokens could be guessed without limit, and such answers would lack the rate-limit headers.
    """
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied)):
        try:
            view.check_throttles(request)
        except exceptions.Throttled as throttled:
            return throttled
    return exc


def _as_api_exception(exc):
    if isinstance(exc, domain.DomainError):
        return _from_domain(exc)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.messages)
    if isinstance(exc, DataError):
        # The database's own text names tables and types; the caller gets plain words.
        return exceptions.ValidationError("A value does not fit its field (too long, or out of range).")
    if isinstance(exc, IntegrityError):
        return Conflict(_conflict_text(exc))
    if isinstance(exc, ValueError) and "NUL" in str(exc):
        return exceptions.ValidationError("Text may not contain NUL (0x00) characters.")
    if isinstance(exc, RecursionError):
        # json.loads of a body nested thousands of levels deep.
        return exceptions.ParseError("The JSON body is nested too deeply.")
    return exc


def _conflict_text(exc: IntegrityError) -> str:
    """What an IntegrityError means, in words that show no SQL, table or constraint names."""
    raw = str(exc).lower()
    if "unique" in raw or "duplicate" in raw:
        return "A record with the same unique value (such as its id or name) already exists."
    if "foreign key" in raw:
        return "This refers to a record that does not exist, or is still referred to by others."
    if "not null" in raw or "null value" in raw:
        return "A required value is missing."
    return Conflict.default_detail


def _from_domain(exc: domain.DomainError) -> exceptions.APIException:
    """A service's refusal as the HTTP answer of its kind."""
    if isinstance(exc, domain.Invalid):
        return exceptions.ValidationError({exc.field: exc.message} if exc.field else exc.message)
    if isinstance(exc, domain.NotAllowed):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, domain.Missing):
        return exceptions.NotFound(exc.message)
    return Conflict(exc.message)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with an existing record."
    default_code = "conflict"


def describe(detail, prefix: str = "") -> str:
    """DRF's nested error detail as one readable sentence: `field: message; other: message`."""
    if isinstance(detail, dict):
        parts = [describe(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}") for key, value in detail.items()]
        return "; ".join(p for p in parts if p)
    if isinstance(detail, list):
        return "; ".join(describe(item, prefix) for item in detail)
    text = str(detail)
    if prefix and prefix != "non_field_errors":
        return f"{prefix}: {text}"
    return text


def bad_request(message: str) -> Response:
    return Response({"error": message}, status=status.HTTP_400_BAD_REQUEST)


def not_found(request, exception=None):
    """handler404: an /api/ path that no route matches answers in the contract's form; pages get the site's 404."""
    if request.path.startswith("/api/"):
        message = f"No API route matches {request.path}; the routes are listed at /api/v1/docs/."
        return JsonResponse({"error": message, "detail": message}, status=404)
    return page_not_found(request, exception)
