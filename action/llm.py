"""OpenRouter chat completions for the action: the models that exist, explicit settings, continued answers,
retries and client-side model fallback.

- Models: OpenRouter's model list (action/catalogue.py, read once) decides which configured models run, in the
  configured order (deployer/models.py); the log and `Completion.skipped` say why the others did not.
- Every request carries `max_tokens` (the caller's size or the client's, within the model's limits) and a low
  `temperature`; `cache_control` breakpoints and `response_format` go to the models that take them
  (action/llm_request.py).
- An answer cut at `max_tokens` (`finish_reason` length) is continued on the same model with the text so far as an
  assistant prefill, at most `continuations` times, the parts joined exactly; usage is summed over the parts.

Failure handling, per model, in the order planned:
- 408, 429, 5xx, timeouts and connection errors are transient: retried (bounded attempts) after `Retry-After` when
  the server sends it, else after an exponential backoff; every wait is capped.
- A 402 that says how many tokens the balance "can only afford" is about this model's price: `max_tokens` is
  lowered to that figure and the request sent again (while it stays at least MIN_ANSWER_TOKENS), else the next,
  maybe cheaper, model is tried. A 402 without that figure (no credit at all) stops everything.
- 400, 403, 404, 413, 422 (bad request, invalid or retired model, moderation, ...) fail that model at once; the next
  model is tried, since another model may accept the same request.
- 401 (the key), and a request that cannot be sent at all (a bad base URL), stop everything: no other model can
  succeed with the same key and URL.
- An HTTP 200 can still be a failure: a top-level `error`, no `choices`, `finish_reason` `error`, an answer still
  cut after every continuation, or empty content. That model has failed; the next one is tried.
Fallback is done here rather than with OpenRouter's `models` parameter, so each model's failure is reported.
The API key only ever goes into the Authorization header; messages about failures quote the server, never the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from action.catalogue import ModelCatalogue
from action.llm_answer import (
    Answer,
    AnswerError,
    Completion,
    ModelFailure,
    Usage,
    affordable_tokens,
    continued,
    error_message,
    read_answer,
)
from action.llm_request import Message, chat_body, estimate_tokens, has_images
from deployer.models import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    MIN_ANSWER_TOKENS,
    Model,
    Plan,
)
from deployer.models import plan as plan_models

__all__ = ["ChatClient", "Completion", "LLMError", "ModelFailure", "OpenRouterClient", "RetryPolicy", "Usage",
           "parse_retry_after"]
from deployer.retry import parse_retry_after

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_REFERER = "https://github.com/llm-pages-deployer/llm-pages-deployer"
DEFAULT_TITLE = "llm-pages-deployer"
DEFAULT_CONTINUATIONS = 3
LOWERINGS = 2  # 402s answered by a lower max_tokens, per model and answer
TRANSIENT_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))

Messages = list[Message]
# Messages built for the model they go to (e.g. edit blocks for a strong model, whole files for a weaker one).
MessageBuilder = Callable[[Model], Messages]


class ChatClient(Protocol):
    def complete(self, messages: Messages | MessageBuilder, *, max_tokens: int | None = None,
                 response_format: dict[str, Any] | None = None) -> Completion: ...


class LLMError(RuntimeError):
    """Every model failed or was skipped; `failures` names each model and why."""

    def __init__(self, failures: Sequence[ModelFailure]):
        self.failures = list(failures)
        super().__init__("all models failed: " + "; ".join(str(f) for f in self.failures))


class _Transient(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None, fatal: bool = False, affordable: int | None = None):
        super().__init__(reason)
        self.status = status
        self.fatal = fatal
        self.affordable = affordable  # a 402's "can only afford M"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request: `attempts` requests, waits of `backoff` * 2^n or Retry-After, each
    at most `max_wait` seconds. `sleep` is injectable so tests observe the waits."""

    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait)


@dataclass
class OpenRouterClient:
    api_key: str = field(repr=False)
    models: Sequence[str]
    base_url: str = DEFAULT_BASE_URL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: tuple[float, float] = (10.0, 300.0)
    referer: str = DEFAULT_REFERER
    title: str = DEFAULT_TITLE
    max_tokens: int = DEFAULT_MAX_TOKENS  # an answer's budget when the caller gives none
    temperature: float | None = DEFAULT_TEMPERATURE
    continuations: int = DEFAULT_CONTINUATIONS
    log: Callable[[str], None] = lambda _message: None
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    catalogue: ModelCatalogue | None = None  # share one between the clients of a run; default: the client's own
    requests_sent: int = field(default=0, init=False)
    spent: Usage = field(default_factory=Usage, init=False)  # every answer billed, failed models' included
    _plan: Plan | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.models = [m.strip() for m in self.models if m and m.strip()]
        if not self.models:
            raise ValueError("at least one model is required")
        if not self.api_key:
            raise ValueError("an OpenRouter API key is required")
        if self.catalogue is None:
            self.catalogue = ModelCatalogue(self.base_url, self.api_key, self.session)

    def plan(self) -> Plan:
        """The models this client tries, in order (OpenRouter's list read on first use); logged once."""
        if self._plan is None:
            assert self.catalogue is not None
            self._plan = plan_models(self.models, self.catalogue.listing())
            problem = f" ({self.catalogue.problem})" if self.catalogue.problem else ""
            self.log(f"models: {self._plan.describe()}{problem}")
        return self._plan

    def complete(self, messages: Messages | MessageBuilder, *, max_tokens: int | None = None,
                 response_format: dict[str, Any] | None = None) -> Completion:
        """The first model's successful answer, trying each planned model in order; LLMError when all fail.

        `messages` may be a function of the model, for prompts that differ by model (`Model.strong`).
        `max_tokens` sizes the expected answer (default: the client's); `response_format` goes to the models that
        support it. `Completion.attempts` counts every HTTP request made for this answer, retries, continuations
        and failed models included."""
        chosen = self.plan()
        passed = [ModelFailure(model, why) for model, why in chosen.skipped]
        start = self.requests_sent
        for model in chosen.models:
            sent = messages(model) if callable(messages) else messages
            prompt_tokens = estimate_tokens(sent)
            wanted = max_tokens or self.max_tokens
            reason = _unfit(model, sent, prompt_tokens, wanted)
            if reason:
                passed.append(ModelFailure(model.id, reason))
                self.log(f"model {model.id} skipped: {reason}")
                continue
            try:
                result = self._answer(model, sent, wanted, response_format)
            except _Failed as exc:
                passed.append(ModelFailure(model.id, str(exc), exc.status))
                self.log(f"model {model.id} failed: {exc}")
                if exc.fatal:
                    break
                continue
            if passed:
                self.log(f"model {model.id} answered after: " + "; ".join(str(f) for f in passed))
            return Completion(result.content, result.model, result.usage, result.finish_reason,
                              attempts=self.requests_sent - start, continuations=result.continuations,
                              skipped=tuple(passed), strong=model.strong, max_tokens=result.max_tokens)
        raise LLMError(passed)

    def _answer(self, model: Model, messages: Messages, budget: int,
                response_format: dict[str, Any] | None) -> _Joined:
        """One model's whole answer: continued while cut at max_tokens, max_tokens lowered on an affordable 402."""
        text, usage, continuations, lowerings = "", Usage(), 0, 0
        prompt_tokens = estimate_tokens(messages)
        while True:
            prefill = text.rstrip()
            budget = model.budget(budget, prompt_tokens + estimate_tokens([{"content": prefill}]))
            if budget < 1:
                raise _Failed(f"the answer so far fills the model's {model.context_length}-token context", 200)
            body = chat_body(model, messages, max_tokens=budget, temperature=self.temperature,
                             response_format=response_format, prefill=prefill)
            try:
                answer = self._with_retries(model.id, body)
            except _Failed as exc:
                afford = exc.affordable
                if exc.status != 402 or afford is None:
                    raise
                if lowerings >= LOWERINGS or afford >= budget or afford < MIN_ANSWER_TOKENS:
                    raise _Failed(f"{exc} (max_tokens {budget}; at least {MIN_ANSWER_TOKENS} needed)", 402) from None
                self.log(f"model {model.id}: the balance affords {afford} tokens: max_tokens {budget} -> {afford}")
                budget, lowerings = afford, lowerings + 1
                continue
            usage += answer.usage
            text = continued(prefill, answer.content)
            if answer.finish_reason != "length":
                break
            if continuations >= self.continuations:
                raise _Failed(f"the answer was still cut off at max_tokens {budget} after {continuations} "
                              "continuation(s) (finish_reason length)", 200)
            continuations += 1
            self.log(f"model {model.id}: answer cut at max_tokens {budget} ({len(text)} characters so far): "
                     f"continuing ({continuations} of {self.continuations})")
        if not text.strip():
            raise _Failed("empty content", 200)
        return _Joined(text, answer.model, answer.finish_reason, usage, continuations, budget)

    def _with_retries(self, model: str, body: dict[str, Any]) -> Answer:
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.retry.sleep,
            before_sleep=lambda s: self.log(
                f"model {model}: {s.outcome.exception() if s.outcome else ''}; "
                f"retrying in {s.next_action.sleep if s.next_action else 0:.1f}s"
            ),
            reraise=True,
        )
        try:
            return retrying(self._request, model, body)
        except _Transient as exc:
            raise _Failed(f"{exc} (gave up after {self.retry.attempts} attempts)", exc.status) from None

    def _request(self, model: str, body: dict[str, Any]) -> Answer:
        headers = {
            "Authorization": f"Bearer {self.api_key}", "HTTP-Referer": self.referer, "X-Title": self.title,
        }
        url = f"{self.base_url.rstrip('/')}/chat/completions"
        self.requests_sent += 1
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise _Transient("the request timed out") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"connection error ({type(exc).__name__})") from None
        except requests.RequestException as exc:  # a bad base URL and the like: the same for every model
            raise _Failed(f"the request could not be sent ({type(exc).__name__}: {exc})", fatal=True) from None
        try:
            data: object = response.json()
        except ValueError:
            data = None
        status = response.status_code
        if status != 200:
            reason = f"HTTP {status}: {error_message(response.text or response.reason or '', data)}"
            if status in TRANSIENT_STATUSES:
                raise _Transient(reason, status, parse_retry_after(response.headers.get("Retry-After")))
            afford = affordable_tokens(reason) if status == 402 else None
            raise _Failed(reason, status, fatal=status == 401 or (status == 402 and afford is None),
                          affordable=afford)
        if data is None:
            raise _Failed("HTTP 200 with a body that is not JSON", 200)
        try:
            answer = read_answer(data, model)
        except AnswerError as exc:
            raise _Failed(str(exc), 200) from None
        self.spent += answer.usage
        return answer


@dataclass(frozen=True)
class _Joined:
    content: str
    model: str
    finish_reason: str
    usage: Usage
    continuations: int
    max_tokens: int


def _unfit(model: Model, messages: Messages, prompt_tokens: int, wanted: int) -> str:
    """Why this model cannot take this request at all ("" when it can)."""
    if model.images is False and has_images(messages):
        return "takes no images (architecture.input_modalities), and the prompt has some"
    room = model.budget(wanted, prompt_tokens)
    if room < min(wanted, MIN_ANSWER_TOKENS):
        return (f"its limits (context {model.context_length}, output {model.max_completion_tokens} tokens) leave "
                f"{max(room, 0)} tokens for an answer to this prompt of about {prompt_tokens}")
    return ""


