"""Shared pytest configuration for the whole test tree.

Kept deliberately small: suite-specific fixtures live next to their suite (for example
tests/conformance/conftest.py starts the engine and the SDK apps).
"""
