from django.apps import AppConfig


class AutosendConfig(AppConfig):
    name = "autosend"
    default_auto_field = "django.db.models.BigAutoField"
