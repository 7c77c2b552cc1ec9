"""Web pages of the verification service (submit, submission status)."""

urlpatterns: list = []
