from django.urls import path

from scheduler import metrics
from scheduler.views import bookings as booking_views
from scheduler.views import fleet as fleet_views
from scheduler.views import jobs as job_views

urlpatterns = [
    path("gpus/", fleet_views.gpu_board, name="gpu-board"),
    path("gpus/<int:pk>/", fleet_views.gpu_detail, name="gpu-detail"),
    path("gpus/<int:pk>/drain/", fleet_views.gpu_drain_page, name="gpu-drain"),
    path("nodes/<int:pk>/drain/", fleet_views.node_drain_page, name="node-drain"),
    path("metrics", metrics.metrics, name="metrics"),
    path("bookings/", booking_views.booking_timeline, name="bookings"),
    path("bookings/mine/", booking_views.my_bookings, name="my-bookings"),
    path("bookings/<int:pk>/end/", booking_views.booking_change_end, name="booking-change-end"),
    path("bookings/<int:pk>/cancel/", booking_views.booking_cancel_page, name="booking-cancel"),
    path("bookings/<int:pk>/release/", booking_views.booking_release_page, name="booking-release"),
    path("bookings/feed/regenerate/", booking_views.feed_regenerate, name="booking-feed-regenerate"),
    path("bookings/feed/<str:token>.ics", booking_views.booking_feed, name="booking-feed"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/new/", job_views.job_submit_page, name="job-submit"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/cancel/", job_views.job_cancel_page, name="job-cancel"),
]
