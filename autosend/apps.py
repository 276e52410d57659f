from django.apps import AppConfig


class AutosendConfig(AppConfig):
    name = "autosend"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug auto-send into the pipeline's hand-over seam (pipeline.autosend_port) and the
        review service's sends (drafts.review_ports), and receive drafts' `human_replied`.
        Imported here, not at the top, because Django loads this module before any model,
        and these modules import models."""
        from autosend.port import AutoSend, ReviewSends, human_replied_receive
        from drafts.review_ports import review_sends_register
        from drafts.signals import human_replied
        from pipeline.autosend_port import autosend_port_register

        autosend_port_register(AutoSend())
        review_sends_register(ReviewSends())
        human_replied.connect(human_replied_receive, dispatch_uid="autosend.human_replied")
