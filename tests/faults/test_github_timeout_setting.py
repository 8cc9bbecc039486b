"""DEPLOYER_GITHUB_TIMEOUT, the setting the slow-answer fault test relies on: whole seconds, at least 1."""

from __future__ import annotations

import pytest

from action.config import DEFAULT_GITHUB_TIMEOUT_S, ConfigError, load

KEYS = {"DEPLOYER_GITHUB_TOKEN": "t", "DEPLOYER_OPENROUTER_API_KEY": "k"}


def test_default_and_a_given_value() -> None:
    assert load(KEYS).github_timeout == DEFAULT_GITHUB_TIMEOUT_S == 30
    assert load({**KEYS, "DEPLOYER_GITHUB_TIMEOUT": " 5 "}).github_timeout == 5


@pytest.mark.parametrize("value", ["abc", "2.5", "0", "-3"])
def test_a_wrong_value_is_a_config_error_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="DEPLOYER_GITHUB_TIMEOUT"):
        load({**KEYS, "DEPLOYER_GITHUB_TIMEOUT": value})
