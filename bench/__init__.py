"""Benchmarks of the «من شهردارم» bot (run on demand, not part of the test suite).

``python -m bench.journey`` — 1,000 simulated citizens against the loopback Bot API; see README.md.
"""
