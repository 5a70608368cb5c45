"""The persistent map of passes/facts.py against a dict: every version, after any sequence of
sets and deletes, holds what the dict holds, hashes and compares like it, and `differ` names
exactly the keys whose entries differ (also for keys whose hashes collide). The maps grow
past `SMALL` entries and shrink below it, so both forms and their mixes are compared."""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable

import pytest

from schedlang.passes.facts import SMALL, Facts, Small, Trie, differ, facts


class Clash:
    """A key whose hash is one of three values: many keys share the trie's deepest bucket."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __hash__(self) -> int:
        return self.n % 3

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Clash) and other.n == self.n


KEYS: dict[str, Callable[[int], Hashable]] = {
    "names": lambda i: f"b{i}",
    "ints sharing low bits": lambda i: i << 20,  # split down several levels
    "equal hashes": Clash,
}


@pytest.mark.parametrize("make_key", KEYS.values(), ids=list(KEYS))
def test_versions_match_a_dict(make_key: Callable[[int], Hashable]) -> None:
    rng = random.Random(7)
    env: Facts[Hashable, int] = facts()
    plain: dict[Hashable, int] = {}
    versions: list[tuple[Facts[Hashable, int], dict[Hashable, int]]] = []
    for _ in range(2000):
        key = make_key(rng.randrange(SMALL + 18))
        if rng.random() < 0.3:
            env = env.delete(key)
            plain.pop(key, None)
        else:
            value = rng.randrange(4)
            env = env.set(key, value)
            plain[key] = value
        assert dict(env.items()) == plain and len(env) == len(plain)
        assert all(env[k] == v and k in env for k, v in plain.items())
        versions.append((env, dict(plain)))
    assert {type(v) for v, _ in versions} == {Small, Trie}
    missing = object()
    for _ in range(1500):
        (a, da), (b, db) = rng.choice(versions), rng.choice(versions)
        expected = {k for k in da.keys() | db.keys() if da.get(k, missing) != db.get(k, missing)}
        assert differ(a, b) == expected
        assert (a == b) == (da == db)
        rebuilt = facts(da)  # same entries, no node shared
        assert a == rebuilt and hash(a) == hash(rebuilt)


def test_a_step_shares_the_rest_and_differ_looks_only_at_it() -> None:
    base: Facts[str, int] = facts({f"b{i}": 0 for i in range(5000)})
    one = base.set("b17", 1)
    assert differ(base, one) == {"b17"}
    assert base.set("b17", 0) is base and base.delete("absent") is base
    assert one.delete("b17").get("b17") is None and len(one.delete("b17")) == 4999
    with pytest.raises(KeyError):
        base["absent"]
