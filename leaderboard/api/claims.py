"""Paper claims in the API: claim to be an author of a paper; staff or a confirmed author decide.

POST /papers/{paper_id}/claims/                           claim (a repeated claim returns the first, 200)
GET  /papers/{paper_id}/claims/                           the claims you may see (all of them for staff
                                                          and confirmed authors, else your own)
POST /papers/{paper_id}/claims/{claim_id}/approve/        staff or a confirmed author of the paper
POST /papers/{paper_id}/claims/{claim_id}/reject/
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from leaderboard import claims
from leaderboard.api.base import PlainViewSet, path_parameter
from leaderboard.models import Paper, PaperClaim


class PaperClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    paper = serializers.CharField(source="paper.slug")
    user = serializers.CharField(source="user.username")
    status = serializers.ChoiceField(choices=PaperClaim.Status.choices)
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)


PAPER = path_parameter("paper_id", "paper id (the slug of its page)")
CLAIM = path_parameter("claim_id", "claim id")


@extend_schema(parameters=[PAPER], tags=["papers"])
class PaperClaimViewSet(PlainViewSet):
    queryset = PaperClaim.objects.select_related("paper", "user", "decided_by")
    serializer_class = PaperClaimSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def _paper(self, paper_id) -> Paper:
        return self.fetch(Paper.objects.all(), "paper", slug=paper_id)

    @extend_schema(operation_id="papers_claims_list", responses=PaperClaimSerializer(many=True))
    def list(self, request, paper_id=None):
        paper = self._paper(paper_id)
        items = self.get_queryset().filter(paper=paper).order_by("-created_at", "-id")
        if not (request.user.is_staff or claims.is_confirmed_author(request.user, paper)):
            items = items.filter(user=request.user)
        return self.paginated(items, PaperClaimSerializer)

    @extend_schema(
        operation_id="papers_claims_create",
        request=None,
        responses={
            201: PaperClaimSerializer,
            200: OpenApiResponse(PaperClaimSerializer, description="you had already claimed the paper"),
        },
    )
    def create(self, request, paper_id=None):
        claim, created = claims.claim_paper(request.user, self._paper(paper_id))
        return Response(
            PaperClaimSerializer(claim).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def _decide(self, paper_id, claim_id, approve: bool) -> Response:
        claim = self.fetch(self.get_queryset().filter(paper=self._paper(paper_id)), "claim", pk=claim_id)
        claim = claims.decide_claim(claim, self.request.user, approve)
        return Response(PaperClaimSerializer(claim).data)

    @extend_schema(operation_id="papers_claims_approve", parameters=[CLAIM], request=None,
                   responses=PaperClaimSerializer)
    def approve(self, request, paper_id=None, claim_id=None):
        return self._decide(paper_id, claim_id, approve=True)

    @extend_schema(operation_id="papers_claims_reject", parameters=[CLAIM], request=None,
                   responses=PaperClaimSerializer)
    def reject(self, request, paper_id=None, claim_id=None):
        return self._decide(paper_id, claim_id, approve=False)
