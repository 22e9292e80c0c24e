from __future__ import annotations

from django.urls import path

from imports import views

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<uuid:public_id>/", views.import_detail, name="import-detail"),
    path("imports/<uuid:public_id>/confirm", views.import_confirm, name="import-confirm"),
    path("imports/<uuid:public_id>/discard", views.import_discard, name="import-discard"),
    path("exports/<str:kind>", views.export, name="export"),
]
