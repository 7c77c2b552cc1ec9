"""Small template helpers of the web site."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def metric_value(row, metric):
    """The row's MetricValue for `metric` (a Metric), or None when the row lacks it."""
    return row.values.get(metric.name)


@register.filter
def sort_number(value) -> str:
    """The exact value as a plain number for the in-page sorter; empty when missing."""
    if value is None or value.value is None:
        return ""
    return format(value.value.normalize(), "f")


@register.filter
def first_code_url(result) -> str:
    """The first code link listed with a result (the archive's rows carry their own)."""
    for link in result.code_links or []:
        url = link.get("url") if isinstance(link, dict) else link
        if url:
            return url
    return ""


@register.inclusion_tag("includes/provenance.html")
def provenance_badge(result):
    return {"result": result}


@register.inclusion_tag("includes/pagination.html", takes_context=True)
def pagination(context, page, label="Pages"):
    return {"page": page, "label": label, "request": context["request"]}
