"""Security middleware Django 5.2 lacks: a Content-Security-Policy, and API errors raised before a view.

The site's pages load scripts only from its own static files (no inline
<script>, no on…= handlers; tests/site/test_security.py checks the templates),
so the policy allows scripts from 'self' alone. Inline style attributes stay
allowed: the admin and a few templates use them, and they run no code.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class ApiBodyErrorsMiddleware:
    """An /api/ body too large for DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 {"error": …}, not Django's HTML 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        too_large = _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Multipart uploads (verification submissions) have their own, larger limit.
        if too_large and request.path.startswith("/api/") and not request.content_type.startswith("multipart/"):
            return _too_large()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return _too_large()
        if isinstance(exception, TooManyFieldsSent):
            return JsonResponse({"error": "The request has too many fields."}, status=400)
        return None


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return JsonResponse({"error": f"The request body is larger than the {size} this API accepts."}, status=413)
