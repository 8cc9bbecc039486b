"""The `verify` input reaches `deployer run` as DEPLOYER_VERIFY; a value that is not a boolean is a clear error."""

from __future__ import annotations

import pytest

from action.config import ConfigError, load

BASE = {"DEPLOYER_GITHUB_TOKEN": "t", "DEPLOYER_OPENROUTER_API_KEY": "k"}


def test_verification_is_on_by_default_and_can_be_turned_off() -> None:
    assert load(BASE).verify is True and load(BASE).verify_local_only is False
    assert load({**BASE, "DEPLOYER_VERIFY": "false"}).verify is False
    assert load({**BASE, "DEPLOYER_VERIFY": " TRUE "}).verify is True
    assert load({**BASE, "DEPLOYER_VERIFY": ""}).verify is True  # an empty input means the default
    assert load({**BASE, "DEPLOYER_VERIFY_LOCAL_ONLY": "1"}).verify_local_only is True


def test_a_value_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(ConfigError, match="DEPLOYER_VERIFY must be true or false, not 'maybe'"):
        load({**BASE, "DEPLOYER_VERIFY": "maybe"})
