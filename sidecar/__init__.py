"""The sidecar: watches skills_generated/, validates each skill, versions it and
hot-registers its functions with the engine (or real Inngest) as its own SDK app.

- `sidecar.validation`: the validation pipeline (`validate_source`, `dry_run`).
- `sidecar.facade`: the restricted API that skill code runs against.
- `sidecar.registry`, `sidecar.lifecycle`, `sidecar.approval`: versions, states, approval.
- `sidecar.app`, `sidecar.publisher`, `sidecar.execution`, `sidecar.workers`: serving and
  running skills (swap, sync, version pinning, sandboxed worker processes).
- `sidecar.service`, `sidecar.api`, `sidecar.cli`: the assembled sidecar and its surfaces.

See README.md beside this file for the data flow.
"""
