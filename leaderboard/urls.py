from django.contrib import admin
from django.urls import include, path

from leaderboard import views
from leaderboard.login_throttle import guard_admin_login

handler404 = "leaderboard.api.errors.not_found"

urlpatterns = [
    path("admin/login/", guard_admin_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("leaderboard.verification.api_urls")),
    path("api/v1/", include("leaderboard.api.urls")),
    path("", include("leaderboard.verification.urls")),
    path("", include("leaderboard.web_urls")),
]
