"""Web pages of the knowledge base."""

from django.urls import path

from leaderboard import views

urlpatterns = [
    path("paper/<slug:slug>", views.paper_detail, name="paper"),
    path("paper/<slug:slug>/", views.paper_detail),
]
