"""Doubles that ship with the agent: a request-keyed script, an in-process scripted model,
a replaying step runner, and a sidecar API double. Tests, the benchmark and the eval's
self-check use them; nothing in the running agent imports this package.
"""
