from django.urls import path

from labeling import views

urlpatterns = [
    path("labeling/", views.labeling_home, name="labeling"),
]
