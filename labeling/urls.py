from django.urls import path

from labeling import views

urlpatterns = [
    path("labeling/", views.labeling_home, name="labeling"),
    path("labeling/datasets/<int:pk>/", views.dataset_page, name="dataset"),
    path("labeling/datasets/<int:pk>/upload/", views.upload_page, name="dataset-upload"),
    path("labeling/datasets/<int:pk>/versions/", views.version_create_page, name="dataset-version-create"),
    path("labeling/items/<int:pk>/", views.item_page, name="item"),
]
