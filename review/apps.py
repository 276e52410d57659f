from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """The operator's review surface: the queue, the draft page and the drafts API. It
    renders drafts with the pipeline's artifacts and auto-send's verdicts and sends, so it
    stands above autosend (docs/architecture.md, "Layers")."""

    name = "review"
    default_auto_field = "django.db.models.BigAutoField"
