"""Core skills (health check, incident triage, heartbeat), their capabilities and the demo fleet."""
