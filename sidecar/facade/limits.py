"""Named numeric caps enforced at run time, in the dry run and in workers alike.

Inngest's own limits are mirrored where they exist (4 MiB per step output, 1000 steps per run);
the others keep one skill from exhausting the process it runs in before the process-level
rlimits (sidecar/validation/sandbox.py) have to step in.
"""

from __future__ import annotations

#: Inngest's cap on one step's serialized output.
MAX_STEP_OUTPUT_BYTES = 4 * 1024 * 1024
#: Steps one run of a skill may take: Inngest's cap is 1000 per run (runs started before
#: version pins moved to the store spent one on a pin step, ``loopwright-version``).
MAX_STEPS_PER_RUN = 999
#: Events one ``ctx.step.send_event`` may send.
MAX_EVENTS_PER_SEND = 100
#: Elements one ``range()`` may produce; every ``for`` loop over a range is bounded by it.
MAX_RANGE_LENGTH = 100_000
#: Elements (or characters) a sequence built by ``*``, ``+`` or padding may hold.
MAX_SEQUENCE_LENGTH = 10_000_000
#: Bits an integer built by ``*``, ``**`` or ``<<`` may hold.
MAX_INT_BITS = 65_536
#: Characters of a regular expression pattern.
MAX_REGEX_LENGTH = 1_000
#: Longest sleep or wait a step may ask for (Inngest allows up to a year).
MAX_SLEEP_MS = 366 * 24 * 3600 * 1000
#: Characters of one ``ctx.log`` message.
MAX_LOG_MESSAGE = 2_000
