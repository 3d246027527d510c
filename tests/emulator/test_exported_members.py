"""``zyntro_async.testing.__all__`` is exactly its public surface."""

from __future__ import annotations

import zyntro_async.testing as testing


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("zyntro_async.testing")
    }
    assert public <= set(testing.__all__)
    assert testing.__all__ == sorted(testing.__all__, key=lambda n: (not n.isupper(), n))
    for name in testing.__all__:
        assert hasattr(testing, name), name
