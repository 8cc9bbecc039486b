"""Edit formats: one coder module per way the model may answer (`whole_files`, `edit_blocks`), each with its parser
and its prompts, behind the `Coder` protocol (`base`) that the generation loop (`action/generate.py`) drives."""
