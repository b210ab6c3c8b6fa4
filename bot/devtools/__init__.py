"""Developer tools, not part of what runs in production: the loopback Bot API server (tests,
benchmarks, the playground) and the playground itself. Nothing in production imports them; the
command line reaches the playground only when asked for it (`manshahrdaram shell`, or no token
configured), and import-linter checks that (pyproject.toml)."""
