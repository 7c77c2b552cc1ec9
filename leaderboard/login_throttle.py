"""Sign-in that stops guessing: a run of failures for one user name or one address locks it out a while.

Failed authentications (Django's user_login_failed signal, from the site's and
the admin's login forms alike) are counted in the cache for
LOGIN_LOCKOUT_SECONDS from the first of the run; once LOGIN_FAILURE_LIMIT is
reached, every sign-in for that name or from that address is answered 429 with
a message, even with the right password, until the count expires. A success
clears the name's count.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver

LOCKED_OUT = "Too many failed sign-ins. Wait {minutes} minutes and try again."


def _address(request) -> str:
    """The caller's address; behind the trusted proxy (SECURE_PROXY_SSL_HEADER), the one it appended.

    Without this, every caller behind the proxy would share its address, and one
    guesser would lock everyone out.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _keys(request) -> list[str]:
    username = (request.POST.get("username") or "").strip().lower()
    keys = [f"login-failures:addr:{_address(request)}"]
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


@receiver(user_login_failed, dispatch_uid="login_throttle.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    if request is not None and request.method == "POST":
        record_failure(request)


@receiver(user_logged_in, dispatch_uid="login_throttle.succeeded")
def _on_success(sender, request=None, user=None, **kwargs):
    if request is not None and request.method == "POST":
        clear_failures(request)


def locked_out_response(request, view):
    """The login page with the lock-out message, answered 429; the password is not even checked."""
    form = view.get_form_class()(request, initial={"username": request.POST.get("username", "")})
    minutes = max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)
    form.cleaned_data = {}  # add_error expects a cleaned form; this one never is
    form.add_error(None, ValidationError(LOCKED_OUT.format(minutes=minutes), code="locked_out"))
    return view.render_to_response(view.get_context_data(form=form), status=429)


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if locked_out(request):
            return locked_out_response(request, self)
        return super().post(request, *args, **kwargs)


def guard_admin_login(admin_login):
    """The admin's login view, refused in the same way while the name or address is locked out."""

    def login(request, extra_context=None):
        if request.method == "POST" and locked_out(request):
            return locked_out_response(request, ThrottledLoginView(request=request, kwargs={}))
        return admin_login(request, extra_context)

    return login
