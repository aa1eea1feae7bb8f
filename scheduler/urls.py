from django.urls import path

from scheduler import views

urlpatterns = [
    path("gpus/", views.gpu_board, name="gpu-board"),
    path("bookings/", views.booking_timeline, name="bookings"),
    path("jobs/", views.job_list, name="jobs"),
]
