"""Typed gateway errors. Callers only distinguish transient (try again later) from permanent
(a human has to look); `outcome` is the AIInteraction outcome it is recorded as."""

from __future__ import annotations


class LLMError(Exception):
    """An LLM call that gave no usable answer. The message never contains prompt or reply text."""

    transient = False

    def __init__(
        self,
        outcome: str,
        detail: str = "",
        *,
        retry_after: float | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        reasoning_tokens: int = 0,
        cached_tokens: int = 0,
        request_id: str = "",
    ) -> None:
        super().__init__(f"{outcome}: {detail}" if detail else outcome)
        self.outcome = outcome
        self.detail = detail
        self.retry_after = retry_after
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.reasoning_tokens = reasoning_tokens
        self.cached_tokens = cached_tokens
        self.request_id = request_id


class LLMTransientError(LLMError):
    """Timeout, rate limit, server error, connection trouble: worth retrying later."""

    transient = True


class LLMPermanentError(LLMError):
    """Refusal, truncated output, output that never matched the schema, a rejected request:
    retrying the same prompt will not help."""


class LLMMalformedOutput(LLMError):
    """The reply did not validate against the stage schema. The gateway re-asks a bounded
    number of times, then raises it as an `LLMPermanentError`."""
