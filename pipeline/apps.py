from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Receive drafts' `messages_erased` (message retention) and answer the review
        service's question about a draft's stages (drafts.review_ports). Imported here, not
        at the top, because Django loads this module before any model, and these modules
        import models."""
        from drafts.review_ports import text_origin_register
        from drafts.signals import messages_erased
        from pipeline.artifacts import draft_text_origin
        from pipeline.retention import messages_erased_receive

        messages_erased.connect(messages_erased_receive, dispatch_uid="pipeline.messages_erased")
        text_origin_register(draft_text_origin)
