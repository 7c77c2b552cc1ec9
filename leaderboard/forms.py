"""Forms of the web site: leaderboard filters and account sign-up."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class LeaderboardFilterForm(forms.Form):
    """What the leaderboard page shows: which rows (extra training data) and the ranking metric."""

    EXTRA_CHOICES = (
        ("all", "All results"),
        ("without", "Without extra training data"),
        ("with", "With extra training data only"),
    )
    ORDER_CHOICES = (("best", "Best first"), ("worst", "Worst first"))

    extra = forms.ChoiceField(choices=EXTRA_CHOICES, required=False, label="Extra training data")
    metric = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)
    order = forms.ChoiceField(choices=ORDER_CHOICES, required=False, widget=forms.HiddenInput)

    def uses_additional_data(self) -> bool | None:
        """None shows every row; True/False keeps rows with/without extra training data."""
        choice = self.cleaned_data.get("extra") if self.is_valid() else "all"
        return {"with": True, "without": False}.get(choice or "all")


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False,
        help_text="Optional; only used to tell you about your submissions.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
