"""Web pages of the knowledge base and the accounts."""

from django.contrib.auth import views as auth_views
from django.urls import path

from leaderboard import views
from leaderboard.login_throttle import ThrottledLoginView

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("tasks/", views.browse, name="browse"),
    path("sota/", views.browse, name="sota"),
    path("task/<slug:slug>", views.task_detail, name="task"),
    path("task/<slug:slug>/", views.task_detail),
    path(
        "sota/<slug:slug>.csv",
        views.leaderboard_detail,
        {"fmt": "csv"},
        name="leaderboard-csv",
    ),
    path(
        "sota/<slug:slug>.json",
        views.leaderboard_detail,
        {"fmt": "json"},
        name="leaderboard-json",
    ),
    path("sota/<slug:slug>", views.leaderboard_detail, name="leaderboard"),
    path("sota/<slug:slug>/", views.leaderboard_detail),
    path("datasets/", views.dataset_list, name="datasets"),
    path("dataset/<slug:slug>", views.dataset_detail, name="dataset"),
    path("dataset/<slug:slug>/", views.dataset_detail),
    path("papers/", views.paper_list, name="papers"),
    path("paper/<slug:slug>", views.paper_detail, name="paper"),
    path("paper/<slug:slug>/", views.paper_detail),
    path("paper/<slug:slug>/claim/", views.paper_claim, name="paper-claim"),
    path("methods/", views.method_list, name="methods"),
    path("method/<slug:slug>", views.method_detail, name="method"),
    path("method/<slug:slug>/", views.method_detail),
    path("author/<slug:slug>", views.author_detail, name="author"),
    path("author/<slug:slug>/", views.author_detail),
    path("search/", views.search, name="search"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        ThrottledLoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/token/", views.token_create, name="token-create"),
    path("accounts/token/revoke/", views.token_revoke, name="token-revoke"),
]
