"""Loopwright: a self-extending agent platform on durable Inngest functions."""

__version__ = "0.1.0"
