from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Receive drafts' `messages_erased` (message retention), answer the review service's
        question about a draft's stages (drafts.review_ports) and plug the model-choice check
        into the settings service's seam (workspaces.model_choice_port): the apps below the
        pipeline cannot import it. Imported here, not at the top, because Django loads this
        module before any model, and these modules import models."""
        from drafts.review_ports import text_origin_register
        from drafts.signals import messages_erased
        from pipeline.artifacts import draft_text_origin
        from pipeline.llm.model_choice import model_choice_check
        from pipeline.retention import messages_erased_receive
        from workspaces.model_choice_port import model_choice_checker_register

        messages_erased.connect(messages_erased_receive, dispatch_uid="pipeline.messages_erased")
        text_origin_register(draft_text_origin)
        model_choice_checker_register(model_choice_check)
