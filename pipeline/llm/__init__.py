"""The LLM gateway: `complete(stage=, prompt=, schema=, model=, context=)` → (parsed, Usage).

Providers: `offline` (deterministic rules over the knowledge base, the default without an
API key) and `openai` (the official SDK, any OpenAI-compatible server).
"""

from pipeline.llm.errors import LLMError, LLMPermanentError, LLMTransientError
from pipeline.llm.gateway import complete
from pipeline.llm.usage import CallContext, Usage

__all__ = [
    "CallContext",
    "LLMError",
    "LLMPermanentError",
    "LLMTransientError",
    "Usage",
    "complete",
]
