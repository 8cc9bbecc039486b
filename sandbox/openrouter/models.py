"""The stand-in's model catalogue, in the shape of OpenRouter's `GET /api/v1/models`.

Any id under `sandbox/` is valid (so tests can name models freely, e.g. to fail one and fall back to another);
`:free` variants of listed models are valid too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL = "openai/gpt-4o-mini"
SANDBOX_PREFIX = "sandbox/"
CREATED = 1_735_689_600  # a fixed date: the catalogue does not change between runs


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    context_length: int
    prompt_price: float  # USD per token
    completion_price: float
    vision: bool = True

    @property
    def free(self) -> bool:
        return self.id.endswith(":free")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self.free:
            return 0.0
        return round(prompt_tokens * self.prompt_price + completion_tokens * self.completion_price, 10)

    def as_dict(self) -> dict[str, Any]:
        inputs = ["text", "image"] if self.vision else ["text"]
        price = "0" if self.free else None
        return {
            "id": self.id,
            "canonical_slug": self.id.removesuffix(":free"),
            "hugging_face_id": None,
            "name": self.name,
            "created": CREATED,
            "description": f"{self.name} as played by the llm-pages-deployer sandbox.",
            "context_length": self.context_length,
            "architecture": {
                "modality": "+".join(inputs) + "->text",
                "input_modalities": inputs,
                "output_modalities": ["text"],
                "tokenizer": "Other",
                "instruct_type": None,
            },
            "pricing": {
                "prompt": price or f"{self.prompt_price:.10f}".rstrip("0").rstrip("."),
                "completion": price or f"{self.completion_price:.10f}".rstrip("0").rstrip("."),
                "request": "0",
                "image": "0",
            },
            "top_provider": {
                "context_length": self.context_length,
                "max_completion_tokens": 16_384,
                "is_moderated": False,
            },
            "per_request_limits": None,
            "supported_parameters": [
                "max_tokens", "temperature", "top_p", "stop", "seed", "response_format", "structured_outputs",
            ],
            "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
            "supported_voices": None,
            "links": {"details": f"/api/v1/models/{self.id}/endpoints"},
        }


CATALOGUE: tuple[Model, ...] = (
    Model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128_000, 0.00000015, 0.0000006),
    Model("openai/gpt-4o", "OpenAI: GPT-4o", 128_000, 0.0000025, 0.00001),
    Model("openai/gpt-4.1-mini", "OpenAI: GPT-4.1 Mini", 1_047_576, 0.0000004, 0.0000016),
    Model("anthropic/claude-sonnet-4", "Anthropic: Claude Sonnet 4", 200_000, 0.000003, 0.000015),
    Model("google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", 1_048_576, 0.0000003, 0.0000025),
    Model("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B Instruct (free)", 65_536, 0, 0, False),
    Model("sandbox/builtin", "Sandbox: built-in app generator", 1_000_000, 0.000001, 0.000002),
)


class Catalogue:
    def __init__(self, extra_ids: list[str] | None = None):
        self.models: dict[str, Model] = {m.id: m for m in CATALOGUE}
        for model_id in extra_ids or []:
            self.models.setdefault(model_id, _sandbox_model(model_id))

    def get(self, model_id: str) -> Model | None:
        """The model for a valid id (listed, a `:free` variant of a listed one, or any `sandbox/...`), else None."""
        if model_id in self.models:
            return self.models[model_id]
        base = model_id.removesuffix(":free")
        if base != model_id and base in self.models:
            m = self.models[base]
            return Model(model_id, f"{m.name} (free)", m.context_length, 0, 0, m.vision)
        if model_id.startswith(SANDBOX_PREFIX) and len(model_id) > len(SANDBOX_PREFIX):
            return _sandbox_model(model_id)
        return None

    def listing(self) -> dict[str, Any]:
        data = [m.as_dict() for m in self.models.values()]
        return {"data": data, "total_count": len(data), "links": {"next": None}}


def _sandbox_model(model_id: str) -> Model:
    return Model(model_id, f"Sandbox: {model_id}", 1_000_000, 0.000001, 0.000002)
