"""Web sign-in that stops guessing: a run of failures for one user name or one address locks it out a while.

Failures are counted in the cache for LOGIN_LOCKOUT_SECONDS from the first of
the run; once LOGIN_FAILURE_LIMIT is reached, every sign-in for that name or
from that address is answered 429 with a message, even with the right
password, until the count expires. A success clears the name's count.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.exceptions import ValidationError

LOCKED_OUT = "Too many failed sign-ins. Wait {minutes} minutes and try again."


def _keys(request) -> list[str]:
    username = (request.POST.get("username") or "").strip().lower()
    keys = [f"login-failures:addr:{request.META.get('REMOTE_ADDR', '')}"]
    if username:
        keys.append(f"login-failures:user:{username}")
    return keys


def locked_out(request) -> bool:
    counts = cache.get_many(_keys(request))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def record_failure(request) -> None:
    for key in _keys(request):
        if not cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def clear_failures(request) -> None:
    cache.delete_many([key for key in _keys(request) if key.startswith("login-failures:user:")])


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if locked_out(request):
            # An unbound form: the password is not even checked while locked out.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            minutes = max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)
            form.cleaned_data = {}  # add_error expects a cleaned form; this one never is
            form.add_error(None, ValidationError(LOCKED_OUT.format(minutes=minutes), code="locked_out"))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure(self.request)
        return super().form_invalid(form)

    def form_valid(self, form):
        clear_failures(self.request)
        return super().form_valid(form)
