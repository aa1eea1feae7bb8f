"""Runtime environments over REST: read-only, for every signed-in user (site admins register them
in the Django admin). docs/jobs.md "Runtime environments"."""

from rest_framework.generics import ListAPIView

from scheduler.api.job_serializers import RuntimeEnvironmentSerializer
from scheduler.models import RuntimeEnvironment
from scheduler.services.environments import environment_default


class EnvironmentListView(ListAPIView):
    serializer_class = RuntimeEnvironmentSerializer

    def get_queryset(self):
        if not getattr(self, "swagger_fake_view", False):
            environment_default()  # a fresh install lists the shipped one, as a job submitted now would get it
        return RuntimeEnvironment.objects.all()
