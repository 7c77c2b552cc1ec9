"""Paper claims: who is a confirmed author of a paper, and whether a result's paper link counts.

A verified result names its paper by the submitter's word (the submission's
paper URL). The result counts as that paper's (on the paper page, in the
paper's results in the API, among a dataset's papers) only when its link is
confirmed: the submitter was a confirmed author of the paper (an approved
claim) or staff when it was published, or staff confirmed the link since.
`link_confirmed` is that rule, written once; every write path asks it, and
every read filters on the stored answer (`Result.paper_link_confirmed`).

A user claims a paper (`claim_paper`); staff, or an author of the paper
whose own claim is approved, decide the claim (`decide_claim`). Approving it
confirms the links of the claimant's verified results to that paper.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leaderboard.errors import NotAllowed
from leaderboard.models import Paper, PaperClaim, Result

Status = PaperClaim.Status


def is_confirmed_author(user, paper: Paper | None) -> bool:
    """Whether `user` holds an approved claim to `paper`."""
    if paper is None or user is None or not user.is_authenticated:
        return False
    return PaperClaim.objects.filter(paper=paper, user=user, status=Status.APPROVED).exists()


def link_confirmed(submitter, paper: Paper | None) -> bool:
    """Whether a result `submitter` links to `paper` counts as the paper's.

    No paper: nothing to confirm. Staff and confirmed authors of the paper
    confirm their own links; anyone else's link waits for a claim or staff.
    """
    if paper is None:
        return True
    if submitter is not None and submitter.is_authenticated and submitter.is_staff:
        return True
    return is_confirmed_author(submitter, paper)


def confirmed(through: str = "") -> Q:
    """The results whose paper link counts (a filter for every read of a paper's results).

    `through` names the relation to the result from another model, e.g. "results".
    """
    return Q(**{f"{through}__paper_link_confirmed" if through else "paper_link_confirmed": True})


def paper_results(paper: Paper) -> QuerySet[Result]:
    """The results that count as `paper`'s."""
    return Result.objects.filter(confirmed(), paper=paper)


def linked_paper(result: Result) -> Paper | None:
    """The paper to show beside a result: none while its link is unconfirmed."""
    return result.paper if result.paper_link_confirmed else None


def submitter(result: Result):
    """The user who submitted a verified result (its submission's owner), else who created it."""
    verification = getattr(result, "verification", None)
    return verification.owner if verification is not None else result.created_by


# --- writes ------------------------------------------------------------------------------


def claim_paper(user, paper: Paper) -> tuple[PaperClaim, bool]:
    """Record `user`'s claim to be an author of `paper`; a repeated claim returns the first one.

    Returns (claim, created).
    """
    if user is None or not user.is_authenticated:
        raise NotAllowed("Sign in to claim a paper.")
    existing = PaperClaim.objects.filter(paper=paper, user=user).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return PaperClaim.objects.create(paper=paper, user=user), True
    except IntegrityError:  # a concurrent request made the same claim
        return PaperClaim.objects.get(paper=paper, user=user), False


def may_decide(user, claim: PaperClaim) -> bool:
    """Staff, or a confirmed author of the paper deciding someone else's claim."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return user.pk != claim.user_id and is_confirmed_author(user, claim.paper)


def decide_claim(claim: PaperClaim, by, approve: bool) -> PaperClaim:
    """Approve or reject a claim; approving confirms the claimant's verified results on the paper.

    Rejecting a claim approved before leaves the links it confirmed as they are (staff may have
    confirmed them too); staff correct a row's paper in the admin.
    """
    if not may_decide(by, claim):
        raise NotAllowed(
            f"Only staff or an author of “{claim.paper.title}” whose own claim is approved may decide "
            "claims to it; claim the paper yourself and ask staff to approve your claim."
        )
    with transaction.atomic():
        claim.status = Status.APPROVED if approve else Status.REJECTED
        claim.decided_by = by
        claim.decided_at = timezone.now()
        claim.save(update_fields=["status", "decided_by", "decided_at"])
        if approve:
            confirm_links(claimed_results(claim))
    return claim


def claimed_results(claim: PaperClaim) -> QuerySet[Result]:
    """The claimant's verified results linked to the claimed paper."""
    return Result.objects.filter(paper_id=claim.paper_id, verification__owner_id=claim.user_id)


def confirm_links(results: QuerySet[Result]) -> int:
    """Count `results` as their papers' (staff's confirmation, or an approved claim's)."""
    changed = results.filter(paper_link_confirmed=False).update(paper_link_confirmed=True)
    if changed:
        _pages_changed()
    return changed


def _pages_changed() -> None:
    """update() sends no signals: start a new cache generation (now and on commit) by hand."""
    from leaderboard import cache

    cache.bump()
