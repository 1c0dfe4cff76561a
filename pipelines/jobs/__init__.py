"""Background jobs: one runner for every kind, ``submit`` to start one, recovery after a dead worker.

A job kind is a member of :class:`pipelines.jobs.kinds.JobKind` (its value is both the ``kind``
stored with the job and its ARQ task name) and one :class:`pipelines.jobs.task.JobType` entry
beside it: the task function that does the work, the request it takes, its progress entries and
timeout. Everything else is shared:

- :mod:`pipelines.jobs.submit` records a job and puts it on the queue;
- :mod:`pipelines.jobs.runner` starts it, beats its heartbeat (which also sees a cancel), records
  and publishes its progress, finishes it and words its errors; ``cancel_job`` cancels one;
- :mod:`pipelines.jobs.queue` names the queue and builds the ARQ worker's functions;
- :mod:`pipelines.jobs.recovery` queues again the jobs a dead worker left behind.

This module imports nothing, so a task module may import :mod:`pipelines.jobs.task` while
:mod:`pipelines.jobs.kinds` imports the task modules.
"""
