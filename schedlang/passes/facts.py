"""Persistent maps for the facts of a path: a new version shares all but a few nodes with
the old one.

The path walk (passes/paths.py) keeps one set of facts per path and makes a new one at
every `let`, assignment and branch; it compares and hashes them to keep paths with equal
facts together, and joins two paths by hulling the facts that differ. With a plain dict
every one of those steps costs the number of live locals, so a body with n locals and n
joins costs n² (finding #22). Here a map is a hash trie (16 ways per level, by the key's
hash): changing one key copies the few nodes on its way (O(log n)), a map's hash is the
sum of its entries' hashes, kept up to date as it changes (O(1) to ask), and `differ`
walks two maps only where their nodes are not the same object, so comparing or joining
two versions of one map costs the size of what changed, not of the map.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=Hashable)

SMALL = 32  # entries kept in a plain dict (see Small)

_BITS = 4
_MASK = (1 << _BITS) - 1
_HASH_BITS = 64  # the key hash is cut to 64 bits; past them keys share a bucket
_WORD = (1 << 64) - 1
_EMPTY_SLOTS: tuple[object, ...] = (None,) * (1 << _BITS)
_NONE = object()  # no entry (a value may be anything hashable)


class _Node:
    """An inner node: 16 slots, each None, a leaf `(key, value)` or a node. size and hash
    are those of the entries below (hash: the sum of hash(leaf), modulo 2**64)."""

    __slots__ = ("slots", "size", "hash")

    def __init__(self, slots: tuple[object, ...], size: int, hash_: int) -> None:
        self.slots = slots
        self.size = size
        self.hash = hash_


class _Bucket:
    """Leaves whose keys' 64-bit hashes are equal (past the trie's last level)."""

    __slots__ = ("leaves", "size", "hash")

    def __init__(self, leaves: tuple[tuple[object, object], ...]) -> None:
        self.leaves = leaves
        self.size = len(leaves)
        self.hash = sum(hash(leaf) for leaf in leaves) & _WORD


_Sub = _Node | _Bucket | tuple[object, object] | None


def _size(x: _Sub) -> int:
    return 0 if x is None else 1 if type(x) is tuple else x.size  # type: ignore[union-attr]


def _hash(x: _Sub) -> int:
    return 0 if x is None else hash(x) & _WORD if type(x) is tuple else x.hash  # type: ignore[union-attr]


def _key_hash(key: object) -> int:
    return hash(key) & _WORD


def _set(x: _Sub, shift: int, h: int, leaf: tuple[object, object]) -> _Sub:
    """x with leaf in it (replacing the entry of the same key)."""
    if x is None:
        return leaf
    if type(x) is tuple:
        if x[0] == leaf[0]:
            return x if x[1] == leaf[1] else leaf  # an equal value changes nothing
        if shift >= _HASH_BITS:  # the two keys' hashes are equal
            return _Bucket((x, leaf))
        return _set(_split(x, shift), shift, h, leaf)
    if type(x) is _Bucket:
        kept = tuple(old for old in x.leaves if old[0] != leaf[0])
        return _Bucket((*kept, leaf))
    assert type(x) is _Node
    i = (h >> shift) & _MASK
    old = x.slots[i]
    new = _set(old, shift + _BITS, h, leaf)  # type: ignore[arg-type]
    return x if new is old else _with_slot(x, i, old, new)  # type: ignore[arg-type]


def _with_slot(x: _Node, i: int, old: _Sub, new: _Sub) -> _Node:
    """x with slot i's subtree `old` replaced by `new`, its size and hash kept current."""
    slots = x.slots[:i] + (new,) + x.slots[i + 1 :]
    return _Node(
        slots, x.size - _size(old) + _size(new), (x.hash - _hash(old) + _hash(new)) & _WORD
    )


def _split(leaf: tuple[object, object], shift: int) -> _Node:
    """A node holding one leaf, at the level `shift` (two keys met in one slot)."""
    i = (_key_hash(leaf[0]) >> shift) & _MASK
    slots = _EMPTY_SLOTS[:i] + (leaf,) + _EMPTY_SLOTS[i + 1 :]
    return _Node(slots, 1, _hash(leaf))


def _delete(x: _Sub, shift: int, h: int, key: object) -> _Sub:
    """x without key (x itself when key is not in it)."""
    if x is None:
        return None
    if type(x) is tuple:
        return None if x[0] == key else x
    if type(x) is _Bucket:
        kept = tuple(leaf for leaf in x.leaves if leaf[0] != key)
        if len(kept) == len(x.leaves):
            return x
        return _Bucket(kept) if kept else None
    assert type(x) is _Node
    i = (h >> shift) & _MASK
    old = x.slots[i]
    new = _delete(old, shift + _BITS, h, key)  # type: ignore[arg-type]
    if new is old:
        return x
    if x.size - _size(old) + _size(new) == 0:  # type: ignore[arg-type]
        return None
    return _with_slot(x, i, old, new)  # type: ignore[arg-type]


def _leaves(x: _Sub) -> Iterator[tuple[object, object]]:
    if x is None:
        return
    if type(x) is tuple:
        yield x
    elif type(x) is _Bucket:
        yield from x.leaves
    else:
        for s in x.slots:  # type: ignore[union-attr]
            if s is not None:
                yield from _leaves(s)  # type: ignore[arg-type]


def _differ(x: _Sub, y: _Sub, out: set[object]) -> None:
    """Add to out the keys whose entries differ between x and y (present in one only, or
    with different values). Subtrees that are the same object are skipped."""
    if x is y:
        return
    if type(x) is _Node and type(y) is _Node:
        for a, b in zip(x.slots, y.slots, strict=True):
            if a is not b:
                _differ(a, b, out)  # type: ignore[arg-type]
        return
    if type(x) is tuple and type(y) is tuple:
        if x != y:
            out.add(x[0])
            out.add(y[0])
        return
    mine = dict(_leaves(x))
    theirs = dict(_leaves(y))
    out.update(k for k in mine.keys() | theirs.keys() if mine.get(k, _NONE) != theirs.get(k, _NONE))


class Small(dict[K, V]):
    """Up to `SMALL` entries: a plain dict (never changed once made), copied on every change.
    For the few locals of a usual body that is faster than any trie, and lookups are the
    dict's own."""

    __slots__ = ("_hash",)
    _hash: int

    def __hash__(self) -> int:  # type: ignore[override]
        return self._hash

    def set(self, key: K, value: V) -> Facts[K, V]:
        old = self.get(key, _NONE)
        if old == value:
            return self
        h = self._hash + hash((key, value))
        if old is not _NONE:
            h -= hash((key, old))
        if len(self) >= SMALL and old is _NONE:
            return Trie._of(_set(_trie(self), 0, _key_hash(key), (key, value)))
        out = Small(self)
        out[key] = value
        out._hash = h & _WORD
        return out

    def delete(self, key: K) -> Facts[K, V]:
        if key not in self:
            return self
        out = Small(self)
        del out[key]
        out._hash = (self._hash - hash((key, self[key]))) & _WORD
        return out


class Trie(Mapping[K, V], Generic[K, V]):
    """More than `SMALL` entries: the hash trie (it stays one if it shrinks)."""

    __slots__ = ("_root",)
    _root: _Sub

    @classmethod
    def _of(cls, root: _Sub) -> Trie[K, V]:
        out = cls.__new__(cls)
        out._root = root
        return out

    def __getitem__(self, key: K) -> V:
        x = self._root
        h = _key_hash(key)
        shift = 0
        while True:
            if type(x) is _Node:
                x = x.slots[(h >> shift) & _MASK]  # type: ignore[assignment]
                shift += _BITS
            elif type(x) is tuple:
                if x[0] == key:
                    return x[1]  # type: ignore[return-value]
                raise KeyError(key)
            elif type(x) is _Bucket:
                for k, v in x.leaves:
                    if k == key:
                        return v  # type: ignore[return-value]
                raise KeyError(key)
            else:
                raise KeyError(key)

    def __iter__(self) -> Iterator[K]:
        for k, _ in _leaves(self._root):
            yield k  # type: ignore[misc]

    def __len__(self) -> int:
        return _size(self._root)

    def __hash__(self) -> int:
        return _hash(self._root)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trie | Small):
            return NotImplemented
        if hash(self) != hash(other) or len(self) != len(other):
            return False
        return not differ(self, other)

    def __repr__(self) -> str:
        return f"Trie({dict(self.items())!r})"

    def set(self, key: K, value: V) -> Facts[K, V]:
        root = _set(self._root, 0, _key_hash(key), (key, value))
        return self if root is self._root else Trie._of(root)

    def delete(self, key: K) -> Facts[K, V]:
        root = _delete(self._root, 0, _key_hash(key), key)
        return self if root is self._root else Trie._of(root)


# Facts hash and compare alike in either form: the hash is the sum of the entries' hashes.
Facts = Small[K, V] | Trie[K, V]


def facts(items: Mapping[K, V] | None = None) -> Facts[K, V]:
    """Facts holding items."""
    entries = dict(items or {})
    if len(entries) > SMALL:
        return Trie._of(_trie(entries))
    out: Small[K, V] = Small(entries)
    out._hash = sum(hash(leaf) for leaf in entries.items()) & _WORD
    return out


def _trie(items: Mapping[K, V]) -> _Sub:
    root: _Sub = None
    for k, v in items.items():
        root = _set(root, 0, _key_hash(k), (k, v))
    return root


def differ(a: Facts[K, V], b: Facts[K, V]) -> set[K]:
    """The keys whose entries differ between a and b: for two tries, in time about the
    number of nodes the two do not share."""
    if type(a) is Small and type(b) is Small:
        return {k for k, _ in a.items() ^ b.items()}
    out: set[object] = set()
    if type(a) is Trie and type(b) is Trie:
        _differ(a._root, b._root, out)
    else:  # one grew past SMALL: compare entry by entry
        mine, theirs = dict(a.items()), dict(b.items())
        out.update(
            k for k in mine.keys() | theirs.keys() if mine.get(k, _NONE) != theirs.get(k, _NONE)
        )
    return out  # type: ignore[return-value]
