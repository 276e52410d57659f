import logging

from django.apps import AppConfig

logger = logging.getLogger("replydesk.config")


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        backends = getattr(settings, "BACKENDS", None)
        if backends is not None:
            logger.info(backends.describe())
