"""The web submission form: the same fields as POST /api/v1/submissions/."""

from django import forms

from leaderboard.verification.models import Benchmark, Submission


class SubmissionForm(forms.Form):
    benchmark = forms.ModelChoiceField(queryset=Benchmark.objects.order_by("slug"), to_field_name="slug")
    kind = forms.ChoiceField(choices=Submission.Kind.choices, widget=forms.RadioSelect, initial="predictions")
    file = forms.FileField(
        allow_empty_file=True,
        help_text="Predictions: .json {face id: [[x, y], …]} or .csv (face_id,x0,y0,…). "
        "Checkpoint: a FAN state dict (.safetensors or .pth holding tensors only).",
    )
    model_name = forms.CharField(max_length=300)
    paper_url = forms.URLField(max_length=1000, required=False)
    code_url = forms.URLField(max_length=1000, required=False)
    uses_additional_data = forms.BooleanField(required=False, label="Trained with additional data")
    private = forms.BooleanField(required=False, help_text="Only you and staff see it; it stays off the leaderboard.")
