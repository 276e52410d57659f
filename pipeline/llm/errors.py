"""Typed gateway errors. Callers only distinguish transient (try again later) from permanent
(a human has to look); `outcome` is the AIInteraction outcome it is recorded as.

A request the model server refused (HTTP 400/404/422, or a 5xx whose body says a parameter
is unsupported) is permanent with outcome `rejected`, its `status_code` and the server's own
words in `server_message` (the error text only, never an echo of the request), so the run
and the operator can say what the server objected to."""

from __future__ import annotations

REJECTED = "rejected"
# No model call slot was free in time (pipeline.llm.limits): no call was made.
THROTTLED = "throttled"
SERVER_MESSAGE_MAX = 240


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
        status_code: int | None = None,
        server_message: str = "",
        model: str = "",
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
        self.status_code = status_code
        self.server_message = server_message[:SERVER_MESSAGE_MAX]
        self.model = model

    def failure_reason(self) -> str:
        """What a failed run records: the outcome, and for a refusal the server's words."""
        if self.outcome == REJECTED:
            return f"llm_rejected: HTTP {self.status_code}: {self.server_message}".rstrip(": ")
        return f"llm_{self.outcome}"

    def operator_title(self) -> str:
        """The notification an operator sees when this error failed a run."""
        if self.outcome == REJECTED:
            said = f": {self.server_message}" if self.server_message else ""
            return (
                f"Drafting failed: the model server refused the request "
                f"(HTTP {self.status_code}{said}). This message needs a reply from a person."
            )
        return "Drafting failed: this message needs a reply from a person"


class LLMTransientError(LLMError):
    """Timeout, rate limit, server error, connection trouble: worth retrying later."""

    transient = True


class LLMPermanentError(LLMError):
    """Refusal, truncated output, output that never matched the schema, a rejected request:
    retrying the same prompt will not help."""


class LLMMalformedOutput(LLMError):
    """The reply did not validate against the stage schema. The gateway re-asks a bounded
    number of times, then raises it as an `LLMPermanentError`."""
