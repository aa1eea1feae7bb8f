"""What `OPTIONS` answers: DRF's name, description, renders and parses, without DRF's per-method field
lists. Those it finds by calling the view's get_object(), which views that look objects up through an
access module (docs/architecture.md) do not have: a 500. The fields are in the OpenAPI schema
(/api/schema/)."""

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    def determine_actions(self, request, view):
        return {}
