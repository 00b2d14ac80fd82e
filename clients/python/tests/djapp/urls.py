from django.urls import path

from . import views

urlpatterns = [
    path("notes/", views.create),
    path("notes/<int:pk>/", views.show),
    path("notes/<int:pk>/edit", views.edit),
    path("notes/<int:pk>/delete", views.delete),
    path("login", views.sign_in),
    path("logout", views.sign_out),
]
