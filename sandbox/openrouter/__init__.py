"""An OpenRouter-compatible stand-in (`deployer sandbox openrouter`): same routes, shapes and failure modes."""

# The stand-in writes and bills like real models by default (varied answers, $1 of credit). Until the action
# survives that (issue 15, next wave), every stand-in started for the existing tests, the benchmarks and the demo
# passes these options: one constant, so that wave removes it (and its uses) in one edit.
CLEAN_UNTIL_ACTION_SURVIVES = ("--style", "clean", "--credits", "1000")
