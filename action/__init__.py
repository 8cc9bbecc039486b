"""The action: inside a GitHub runner, turn one brief into a live Pages site and notify the evaluator."""
