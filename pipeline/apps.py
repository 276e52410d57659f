from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Receive drafts' `messages_erased` (message retention). Imported here, not at the
        top, because Django loads this module before any model, and these modules import
        models."""
        from drafts.signals import messages_erased
        from pipeline.retention import messages_erased_receive

        messages_erased.connect(messages_erased_receive, dispatch_uid="pipeline.messages_erased")
