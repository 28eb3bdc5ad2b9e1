"""The sidecar: watches skills_generated/, validates each skill, versions it and
hot-registers its functions with the engine (or real Inngest) as its own SDK app.

- `sidecar.validation`: the validation pipeline (`validate_source`, `dry_run`).
- `sidecar.facade`: the restricted API that skill code runs against.
"""
