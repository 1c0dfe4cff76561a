"""Jobs interrupted rather than failed: Redis lost mid-job, or the process shutting down.

Either way what the job stored stays, and the job is recorded ``queued`` again (neither failed nor
left ``running``): recovery (:mod:`pipelines.jobs.recovery`) puts it back on the queue once Redis
answers again or a worker starts, and it resumes (a fetch skips its checkpointed windows) or runs
again (every other kind replaces what it stored).
"""

from __future__ import annotations

from typing import Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_LOST: Final = (RedisConnectionError, RedisTimeoutError)
"""What redis-py raises when the server is gone, restarting or unreachable."""

REDIS_LOST_MESSAGE: Final = (
    "interrupted: Redis was unreachable; queued again, it resumes once Redis answers (what it stored is kept)"
)
SHUTDOWN_MESSAGE: Final = (
    "interrupted by a shutdown; queued again, it resumes when a worker starts (what it stored is kept)"
)
