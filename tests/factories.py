import factory
from django.contrib.auth import get_user_model

from portal.teams.models import Membership, Team, TeamQuota

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password(PASSWORD)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda t: t.name.lower().replace(" ", "-"))
    quota = factory.RelatedFactory("tests.factories.TeamQuotaFactory", factory_related_name="team")


class TeamQuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamQuota
        django_get_or_create = ("team",)

    team = factory.SubFactory(TeamFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)


class PredictionFactory(factory.django.DjangoModelFactory):
    """A model's prediction for an item, written directly (labeling/services/predictions.py checks
    shapes; selector tests only need rows). Pass item=..., and shapes when they matter."""

    class Meta:
        model = "labeling.Prediction"

    run_ref = factory.Sequence(lambda n: f"run-{n}")
    model_ref = "detector@1"
    shapes = factory.LazyFunction(list)
    shape_count = factory.LazyAttribute(lambda p: len(p.shapes))
