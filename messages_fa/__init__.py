"""Every user-facing string of the bot and Persian formatting.

This package imports nothing of ours, so any layer may use it.
"""
