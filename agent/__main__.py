"""``python -m agent``: serve the agent (its Inngest functions and its HTTP API) with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from agent.app import create_app
from agent.config import AgentSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = AgentSettings.from_env()
    app = create_app(settings)
    uvicorn.run(app, host=settings.service.host, port=settings.service.port, log_level="warning")


if __name__ == "__main__":
    main()
