"""An OpenRouter-compatible stand-in (`deployer sandbox openrouter`): same routes, shapes and failure modes."""
