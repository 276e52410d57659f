"""Operator pages of the pipeline app."""

from django.urls import path

from pipeline import views

urlpatterns = [
    path("knowledge/", views.knowledge_page, name="knowledge"),
]
