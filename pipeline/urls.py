"""Operator pages of the pipeline app."""

from django.urls import path

from pipeline import views

urlpatterns = [
    path("knowledge/", views.knowledge_page, name="knowledge"),
    path(
        "knowledge/<uuid:document_id>/",
        views.knowledge_document_page,
        name="knowledge-document",
    ),
]
