from django.db.models import QuerySet
from django.http import Http404

from portal.accounts.models import ApiToken, User


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created")


def api_token_of_user(*, user: User, key: str) -> ApiToken:
    """A user's own token by its public key prefix; anyone else's is a 404."""
    token = ApiToken.objects.filter(user=user, token_key=key).first()
    if token is None:
        raise Http404("No such token.")
    return token
