"""URLs of the audit pages (namespace `audit`)."""

from django.urls import path

from . import audit_views as views

app_name = "audit"

urlpatterns = [
    path("workflows/<slug:slug>/evidence/export/", views.export_workflow, name="export"),
    path("workflows/<slug:slug>/alignment/", views.workflow_report, name="workflow_report"),
    path("evidence/export/", views.export_portfolio, name="portfolio_export"),
    path("alignment/", views.portfolio_report, name="portfolio_report"),
    path("findings/", views.findings, name="findings"),
    path("findings/recompute/", views.recompute, name="findings_recompute"),
]
