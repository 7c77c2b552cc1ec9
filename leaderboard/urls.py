from django.contrib import admin
from django.urls import include, path

from leaderboard import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("paper/<slug:slug>", views.paper_detail, name="paper"),
    path("paper/<slug:slug>/", views.paper_detail),
]
