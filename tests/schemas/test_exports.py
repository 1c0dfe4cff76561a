"""The public surface of ``schemas`` is deliberate: a sorted ``__all__`` of what it re-exports."""

from __future__ import annotations

import schemas


def test_all_is_sorted_and_complete():
    assert schemas.__all__ == sorted(schemas.__all__, key=lambda name: (not name.isupper(), name))
    for name in schemas.__all__:
        assert hasattr(schemas, name), name
