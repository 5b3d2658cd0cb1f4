"""The structured constraints behind ZebraLogic-style clues, and their truth in an assignment.

A puzzle with ``N`` houses and ``M`` attributes has, per attribute, ``N`` values that are a permutation across the
houses. A :class:`Ref` names one value of one attribute by index (``Ref(attr, value)``), i.e. "the person who has
that value"; an :class:`Assignment` gives, for every attribute and value, the house (0-based) it is in.

Every clue is a :class:`Clue`: a :class:`ClueKind` and one or two refs, plus a house for the positional kinds. The
solver (:mod:`npr.eval.zebra.solver`) reads only these, never the English text, so the text can be checked against
them independently. Houses are 0-based here and rendered 1-based ("first") in the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

# positions[attr][value] == house (0-based) holding that value.
Assignment = tuple[tuple[int, ...], ...]


class ClueKind(Enum):
    """The clue types. Positional kinds take one ref and a house; relational kinds take two refs."""

    AT = "at"  # A lives in house h
    NOT_AT = "not_at"  # A does not live in house h
    SAME = "same"  # A is B
    NOT_SAME = "not_same"  # A is not B
    LEFT_OF = "left_of"  # A is somewhere to the left of B
    RIGHT_OF = "right_of"  # A is somewhere to the right of B
    DIRECT_LEFT = "direct_left"  # A is directly left of B
    DIRECT_RIGHT = "direct_right"  # A is directly right of B
    NEXT_TO = "next_to"  # A and B are next to each other
    ONE_BETWEEN = "one_between"  # one house between A and B
    TWO_BETWEEN = "two_between"  # two houses between A and B

    @property
    def positional(self) -> bool:
        """Whether the clue pins or excludes a house number (one ref and a house) rather than relating two refs."""
        return self in (ClueKind.AT, ClueKind.NOT_AT)

    @property
    def direct(self) -> bool:
        """Whether the clue states a fact outright ("lives in the third house", "is the Dane").

        The rest (negations, left-of, next-to, between) only narrow the possibilities and need chained reasoning;
        the difficulty knob trades direct clues for these.
        """
        return self in (ClueKind.AT, ClueKind.SAME)

    def relation(self, first: int, second: int) -> bool:
        """Whether houses ``first`` (of ref A) and ``second`` (of ref B) satisfy a two-ref kind."""
        if self is ClueKind.SAME:
            return first == second
        if self is ClueKind.NOT_SAME:
            return first != second
        if self is ClueKind.LEFT_OF:
            return first < second
        if self is ClueKind.RIGHT_OF:
            return first > second
        if self is ClueKind.DIRECT_LEFT:
            return first + 1 == second
        if self is ClueKind.DIRECT_RIGHT:
            return first == second + 1
        if self is ClueKind.NEXT_TO:
            return abs(first - second) == 1
        if self is ClueKind.ONE_BETWEEN:
            return abs(first - second) == 2
        if self is ClueKind.TWO_BETWEEN:
            return abs(first - second) == 3
        raise ValueError(f"{self} relates a ref to a house, not two refs")

    def min_houses(self) -> int:
        """The fewest houses for which a true clue of this kind can exist."""
        if self is ClueKind.ONE_BETWEEN:
            return 3
        if self is ClueKind.TWO_BETWEEN:
            return 4
        return 2


class Ref(NamedTuple):
    """One value of one attribute, by index: "the person whose ``attr``-th attribute has its ``value``-th value"."""

    attr: int
    value: int


@dataclass(frozen=True)
class Clue:
    """One structured clue. ``house`` is set exactly for the positional kinds.

    Attributes:
        kind: what the clue asserts.
        refs: ``(A,)`` for positional kinds, ``(A, B)`` with ``A != B`` for relational kinds.
        house: the 0-based house of an ``AT`` / ``NOT_AT`` clue, else ``None``.
    """

    kind: ClueKind
    refs: tuple[Ref, ...]
    house: int | None = None

    def __post_init__(self) -> None:
        if self.kind.positional:
            if len(self.refs) != 1 or self.house is None:
                raise ValueError(f"a {self.kind.value} clue takes one ref and a house, got {self.refs}, {self.house}")
            if self.house < 0:
                raise ValueError(f"houses are 0-based and non-negative, got {self.house}")
        else:
            if len(self.refs) != 2 or self.house is not None:
                raise ValueError(f"a {self.kind.value} clue takes two refs and no house, got {self.refs}, {self.house}")
            if self.refs[0] == self.refs[1]:
                raise ValueError(f"a {self.kind.value} clue must relate two different refs, got {self.refs}")

    def holds(self, positions: Assignment) -> bool:
        """Whether the clue is true in ``positions`` (``positions[attr][value]`` = 0-based house)."""
        first = positions[self.refs[0].attr][self.refs[0].value]
        if self.kind is ClueKind.AT:
            return first == self.house
        if self.kind is ClueKind.NOT_AT:
            return first != self.house
        second = positions[self.refs[1].attr][self.refs[1].value]
        return self.kind.relation(first, second)

    def canonical(self) -> tuple[object, ...]:
        """A key equal for clues that say the same thing (``A next to B`` = ``B next to A``, ``A right of B`` =
        ``B left of A``), so the generator never offers one fact twice in different words."""
        kind, refs = self.kind, self.refs
        if kind is ClueKind.RIGHT_OF:
            kind, refs = ClueKind.LEFT_OF, (refs[1], refs[0])
        elif kind is ClueKind.DIRECT_RIGHT:
            kind, refs = ClueKind.DIRECT_LEFT, (refs[1], refs[0])
        elif kind in (ClueKind.SAME, ClueKind.NOT_SAME, ClueKind.NEXT_TO, ClueKind.ONE_BETWEEN, ClueKind.TWO_BETWEEN):
            refs = tuple(sorted(refs))
        return (kind.value, refs, self.house)


@dataclass(frozen=True)
class ClueSet:
    """The structured form of a puzzle: its size and clues, all a solver needs.

    Attributes:
        houses: the number of houses ``N`` (and of values per attribute).
        attributes: the number of attributes ``M``.
        clues: the constraints; every ref must index an existing attribute and value, every house an existing one.
    """

    houses: int
    attributes: int
    clues: tuple[Clue, ...]

    def __post_init__(self) -> None:
        if self.houses < 1 or self.attributes < 1:
            raise ValueError(f"a clue set needs at least one house and attribute, got {self.houses}x{self.attributes}")
        for clue in self.clues:
            for ref in clue.refs:
                if not (0 <= ref.attr < self.attributes and 0 <= ref.value < self.houses):
                    raise ValueError(
                        f"clue {clue} refers to attribute {ref.attr} value {ref.value}, outside the "
                        f"{self.houses} houses x {self.attributes} attributes of this puzzle"
                    )
            if clue.house is not None and clue.house >= self.houses:
                raise ValueError(f"clue {clue} names house {clue.house} (0-based) of only {self.houses}")

    def holds(self, positions: Assignment) -> bool:
        """Whether every clue is true in ``positions``."""
        return all(clue.holds(positions) for clue in self.clues)
