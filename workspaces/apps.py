import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("replydesk.config")


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        backends = getattr(settings, "BACKENDS", None)
        if backends is not None:
            logger.info(backends.describe())
