"""The outside world on 127.0.0.1: GitHub REST emulator and Pages host, OpenRouter stand-in, evaluator."""
