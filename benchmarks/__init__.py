"""Benchmarks of codex-actors: `python -m benchmarks.exec_overhead`, `benchmarks.startup`, `benchmarks.turn_overhead`.

Each prints a plain aligned table (units as in the code-mode spec section 6) and takes `--json PATH` to write the
rows for tooling. Targets and the latest numbers are in `benchmarks/README.md`. Not part of the installed package.
"""
