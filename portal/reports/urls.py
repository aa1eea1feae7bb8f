from django.urls import path

from portal.reports import views

urlpatterns = [
    path("", views.report_index, name="reports"),
]
