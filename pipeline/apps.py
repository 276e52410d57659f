from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug the model-choice check into the settings service's seam
        (workspaces.model_choice_port): workspaces, below the pipeline, cannot import it.
        Imported here, not at the top, because Django loads this module before any model."""
        from pipeline.llm.model_choice import model_choice_check
        from workspaces.model_choice_port import model_choice_checker_register

        model_choice_checker_register(model_choice_check)
