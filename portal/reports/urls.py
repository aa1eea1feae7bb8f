from django.urls import path

from portal.reports import views

urlpatterns = [
    path("", views.report_index, name="reports"),
    path("quotas/", views.quota_report_page, name="report-quotas"),
    path("<slug:name>/", views.report_page, name="report"),
]
