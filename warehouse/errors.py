"""Errors raised by the warehouse (ClickHouse bar store, Postgres catalog).

The tree::

    WarehouseError
    ├── WarehouseClientError      the caller asked for something wrong (HTTP 4xx)
    │   ├── NotFound              no such dataset / row
    │   ├── Conflict              it exists already, or is in use
    │   └── InvalidQuery          a value or identifier that is not allowed
    └── WarehouseServerError      the store failed (HTTP 5xx)
        ├── Unavailable           cannot reach or open the store
        ├── StorageFull           the store's disk has no room for the write (HTTP 507)
        └── QueryBudgetExceeded   a query ran past its time budget
"""

from __future__ import annotations


class WarehouseError(Exception):
    """Base of every warehouse error."""


class WarehouseClientError(WarehouseError):
    """The request is wrong; the caller must change it."""


class NotFound(WarehouseClientError):
    """The named thing does not exist."""


class Conflict(WarehouseClientError):
    """The thing exists already or is held by something else."""


class InvalidQuery(WarehouseClientError):
    """A value or identifier that the warehouse does not accept."""


class WarehouseServerError(WarehouseError):
    """A store failed."""


class Unavailable(WarehouseServerError):
    """A store cannot be reached or opened."""


class StorageFull(WarehouseServerError):
    """The disk under a store has no room for a write; the write was stopped."""


class QueryBudgetExceeded(WarehouseServerError):
    """A query ran past its time budget."""
