"""The security tests share the fault suite's module-scoped world (GitHub, OpenRouter stand-in, evaluator)."""

from tests.faults.conftest import deployer as deployer
from tests.faults.conftest import world as world
