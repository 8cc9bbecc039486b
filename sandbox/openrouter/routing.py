"""Whether an attempt on one model can be served, and which parameters that model honours.

Pure. In order, as OpenRouter routes: a retired slug has no endpoints (404); with `provider.require_parameters`
a model that does not list every parameter sent has none either (404); then the account must afford the
reservation (402, billing.py). An attempt that fails here moves on to the next model of `models` ([FB]).
"""

from __future__ import annotations

from typing import Any

from sandbox.openrouter.billing import Account, check_affordable
from sandbox.openrouter.errors import ApiError
from sandbox.openrouter.models import Model
from sandbox.openrouter.validate import ChatRequest, Retired

# Observed bodies: {"error": {"message": ..., "code": 404}} with no metadata (Alishahryar1/free-claude-code#144
# for a retired slug; AventurasTeam/Aventuras#48 and block/buzz#3018 for require_parameters).
ROUTING_DOCS = "To learn more about provider routing, visit: https://openrouter.ai/docs/guides/routing/provider-selection"


def admit(candidate: Model | Retired, chat: ChatRequest, account: Account) -> Model:
    if isinstance(candidate, Retired):
        raise ApiError(404, f"No endpoints found for {candidate.id}.")
    if chat.require_parameters and not all(candidate.supports(p) for p in chat.parameters):
        raise ApiError(404, f"No endpoints found that can handle the requested parameters. {ROUTING_DOCS}")
    check_affordable(account, candidate, chat.prompt_tokens, chat.max_tokens)
    return candidate


def honoured_format(model: Model, chat: ChatRequest) -> dict[str, Any] | None:
    """The request's `response_format` if the model supports it; otherwise it is ignored ([API], [PROV]): "the
    parameter is ignored. The rest are forwarded to the underlying model API"."""
    fmt = chat.response_format
    if fmt is None:
        return None
    needed = "structured_outputs" if fmt["type"] == "json_schema" else "response_format"
    return fmt if model.supports(needed) else None
