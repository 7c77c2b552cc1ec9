"""The web submission form: the same fields as POST /api/v1/submissions/."""

from django import forms

from leaderboard.verification.models import Benchmark, Submission

KIND_CHOICES = [
    (Submission.Kind.PREDICTIONS, "Predictions file (.json or .csv): the server scores your landmarks"),
    (Submission.Kind.CHECKPOINT, "Model checkpoint (.safetensors or .pth): the server runs the model"),
]


def _optional_link(label: str, help_text: str, placeholder: str) -> forms.URLField:
    return forms.URLField(
        max_length=1000, required=False, label=label, help_text=help_text,
        widget=forms.URLInput(attrs={"placeholder": placeholder}),
    )


class SubmissionForm(forms.Form):
    benchmark = forms.ModelChoiceField(
        queryset=Benchmark.objects.order_by("slug"),
        to_field_name="slug",
        empty_label="Choose a benchmark",
        help_text="Each benchmark's page lists its faces and offers a sample predictions file.",
    )
    kind = forms.ChoiceField(
        label="What you upload", choices=KIND_CHOICES, widget=forms.RadioSelect, initial="predictions"
    )
    file = forms.FileField(
        label="File to upload",
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.csv,.safetensors,.pth"}),
        help_text="Predictions: JSON {\"<face id>\": [[x, y], …]} or CSV rows face_id,x0,y0,x1,y1,…, in 0-based "
        "pixels of the original image, one entry per face. Check it first with python -m evaluator validate. "
        "Checkpoint: a FAN state dict (.safetensors, or .pth holding tensors only).",
    )
    model_name = forms.CharField(
        max_length=300,
        label="Model name",
        help_text="As the leaderboard should show it, e.g. AWing or MyNet-small.",
    )
    paper_url = _optional_link(
        "Paper URL (arXiv or PDF)",
        "Optional. The verified result counts as the paper's once you are a confirmed author or staff "
        "confirm the link.",
        "https://arxiv.org/abs/…",
    )
    code_url = _optional_link("Code URL (repository)", "Optional. Shown beside the result.", "https://github.com/…")
    uses_additional_data = forms.BooleanField(
        required=False,
        label="Trained with additional data",
        help_text="Tick it if the model saw data beyond the benchmark's own training set.",
    )
    private = forms.BooleanField(
        required=False,
        label="Private submission",
        help_text="Only you and staff see it, and it stays off the leaderboard.",
    )
