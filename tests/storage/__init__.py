"""Contract tests of the storage interface (storage/interface.py), run against every engine."""
