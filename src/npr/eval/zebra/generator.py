"""Choosing the clues of a ZebraLogic-style puzzle for a known solution, and the difficulty knob that steers it.

The algorithm (all randomness from the caller's ``random.Random``):

1. **Grow.** Keep two *witnesses*: solutions of the clues so far found by the solver (at first, any two). Sample a
   candidate clue that is true in the hidden solution, its kind drawn by the profile's weights; accept it only if
   it is false in some witness, i.e. it rules out an assignment the clues still allow. (A clue true in every
   witness leaves at least two solutions, so it cannot finish the puzzle yet.) Re-solve after each accepted clue;
   stop when exactly one solution is left.
2. **Prune.** Try dropping each clue in an order set by the profile; drop it if the rest still has exactly one
   solution. The result is minimal: no single clue can be removed.
3. **Pad** (easy only). Add redundant clues, a set share of the minimal set's size: dropped clues first (direct
   ones before relational ones), then fresh true clues sampled by the profile's weights if too few were dropped.
4. **Shuffle** the final clues for presentation.

The difficulty knob (:data:`PROFILES`) changes exactly three things:

* ``weights``: how often each clue kind is sampled in step 1. "easy" favours direct clues (``AT`` "lives in the
  third house", ``SAME`` "is the Dane"); "hard" favours negations and spatial relations (``NOT_AT``,
  ``NOT_SAME``, left/right, next to, between) and rarely pins a house;
* ``removal``: the order of step 2. "easy" tries dropping relational clues first, so the direct ones survive;
  "hard" tries dropping direct clues first, so the minimal set leans on relational reasoning; "medium" is random;
* ``redundancy``: the number of redundant clues added in step 3, as a share of the minimal set's size: 0.3 for
  "easy", 0 otherwise, so "medium" and "hard" puzzles are minimal.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from npr.eval.zebra.clues import Assignment, Clue, ClueKind, ClueSet, Ref
from npr.eval.zebra.solver import solve

REMOVAL_ORDERS = ("relational_first", "random", "direct_first")

# Sampling a clue that rules out a witness rarely takes more than a few dozen tries; this only guards a bug.
_MAX_TRIES_PER_CLUE = 20_000
_MAX_PADDING_TRIES = 2_000


@dataclass(frozen=True)
class DifficultyProfile:
    """How one difficulty level chooses clues (see the module docstring for the algorithm).

    Attributes:
        name: the difficulty's name.
        weights: the relative sampling weight of each clue kind; kinds left out are never sampled.
        removal: which clues pruning tries to drop first: one of :data:`REMOVAL_ORDERS`.
        redundancy: the share of the minimal clue count put back from the dropped clues, in ``[0, 1]``.
    """

    name: str
    weights: Mapping[ClueKind, float] = field(hash=False)
    removal: str = "random"
    redundancy: float = 0.0

    def __post_init__(self) -> None:
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError(f"difficulty {self.name!r}: clue weights must be non-negative, got {dict(self.weights)}")
        if self.weights.get(ClueKind.AT, 0) <= 0 and self.weights.get(ClueKind.NOT_AT, 0) <= 0:
            raise ValueError(
                f"difficulty {self.name!r}: AT or NOT_AT needs a positive weight, since a clue that pins or "
                "excludes a house is the one kind that can always rule out a wrong assignment"
            )
        if self.removal not in REMOVAL_ORDERS:
            raise ValueError(f"difficulty {self.name!r}: removal must be one of {REMOVAL_ORDERS}, got {self.removal!r}")
        if not 0.0 <= self.redundancy <= 1.0:
            raise ValueError(f"difficulty {self.name!r}: redundancy is a share in [0, 1], got {self.redundancy}")


_K = ClueKind
PROFILES: Mapping[str, DifficultyProfile] = MappingProxyType({
    "easy": DifficultyProfile(
        "easy",
        {_K.AT: 5, _K.SAME: 5, _K.NOT_AT: 1, _K.NOT_SAME: 0.5, _K.LEFT_OF: 0.5, _K.RIGHT_OF: 0.5,
         _K.DIRECT_LEFT: 1, _K.DIRECT_RIGHT: 1, _K.NEXT_TO: 1, _K.ONE_BETWEEN: 0.5, _K.TWO_BETWEEN: 0.25},
        removal="relational_first",
        redundancy=0.3,
    ),
    "medium": DifficultyProfile(
        "medium",
        {_K.AT: 2, _K.SAME: 3, _K.NOT_AT: 1, _K.NOT_SAME: 1, _K.LEFT_OF: 1, _K.RIGHT_OF: 1,
         _K.DIRECT_LEFT: 1, _K.DIRECT_RIGHT: 1, _K.NEXT_TO: 1, _K.ONE_BETWEEN: 1, _K.TWO_BETWEEN: 0.5},
        removal="random",
    ),
    "hard": DifficultyProfile(
        "hard",
        {_K.AT: 0.5, _K.SAME: 1.5, _K.NOT_AT: 2, _K.NOT_SAME: 2, _K.LEFT_OF: 2, _K.RIGHT_OF: 2,
         _K.DIRECT_LEFT: 1, _K.DIRECT_RIGHT: 1, _K.NEXT_TO: 2, _K.ONE_BETWEEN: 1.5, _K.TWO_BETWEEN: 1},
        removal="direct_first",
    ),
})


def _houses_of(solution: Assignment) -> list[list[Ref]]:
    """Per house, the refs whose value sits there."""
    houses: list[list[Ref]] = [[] for _ in solution[0]]
    for attr, row in enumerate(solution):
        for value, house in enumerate(row):
            houses[house].append(Ref(attr, value))
    return houses


def sample_clue(rng: random.Random, solution: Assignment, kind: ClueKind) -> Clue | None:
    """A random clue of ``kind`` that is true in ``solution``, or None when this size has none of that kind."""
    houses = len(solution[0])
    attributes = len(solution)
    at_house = _houses_of(solution)
    if kind.positional:
        ref = Ref(rng.randrange(attributes), rng.randrange(houses))
        home = solution[ref.attr][ref.value]
        if kind is ClueKind.AT:
            return Clue(kind, (ref,), home)
        return Clue(kind, (ref,), rng.choice([house for house in range(houses) if house != home]))
    if kind is ClueKind.SAME:
        if attributes < 2:
            return None
        house = rng.randrange(houses)
        first_attr, second_attr = rng.sample(range(attributes), 2)
        return Clue(kind, (at_house[house][first_attr], at_house[house][second_attr]))
    pairs = [(a, b) for a in range(houses) for b in range(houses) if a != b and kind.relation(a, b)]
    if not pairs:
        return None
    first_house, second_house = rng.choice(pairs)
    first = at_house[first_house][rng.randrange(attributes)]
    second = at_house[second_house][rng.randrange(attributes)]
    if kind is ClueKind.NOT_SAME and first.attr == second.attr:
        return None  # two values of one attribute are always in different houses: says nothing
    return Clue(kind, (first, second))


def _unique(houses: int, attributes: int, clues: list[Clue]) -> bool:
    """Whether ``clues`` leave exactly one assignment."""
    return len(solve(ClueSet(houses, attributes, tuple(clues)), limit=2)) == 1


def _grow(rng: random.Random, solution: Assignment, profile: DifficultyProfile) -> list[Clue]:
    """Step 1: accept true clues that rule out a current witness until the solution is unique."""
    houses, attributes = len(solution[0]), len(solution)
    kinds = [kind for kind, weight in profile.weights.items() if weight > 0 and kind.min_houses() <= houses]
    weights = [profile.weights[kind] for kind in kinds]
    clues: list[Clue] = []
    seen: set[tuple[object, ...]] = set()
    witnesses = solve(ClueSet(houses, attributes, ()), limit=2)
    while len(witnesses) > 1:
        for _ in range(_MAX_TRIES_PER_CLUE):
            clue = sample_clue(rng, solution, rng.choices(kinds, weights)[0])
            if clue is None or clue.canonical() in seen:
                continue
            if all(clue.holds(witness) for witness in witnesses):
                continue
            break
        else:
            raise RuntimeError(f"no clue ruling out a witness after {_MAX_TRIES_PER_CLUE} tries ({profile.name})")
        seen.add(clue.canonical())
        clues.append(clue)
        witnesses = solve(ClueSet(houses, attributes, tuple(clues)), limit=2)
    return clues


def _removal_order(rng: random.Random, clues: list[Clue], removal: str) -> list[int]:
    """Step 2's order: random, then (stably) direct or relational clues moved to the front."""
    order = list(range(len(clues)))
    rng.shuffle(order)
    if removal == "direct_first":
        order.sort(key=lambda index: not clues[index].kind.direct)
    elif removal == "relational_first":
        order.sort(key=lambda index: clues[index].kind.direct)
    return order


def _padding(
    rng: random.Random, solution: Assignment, profile: DifficultyProfile, kept: list[Clue], dropped: list[Clue]
) -> list[Clue]:
    """Step 3: ``round(redundancy * len(kept))`` redundant clues, true in ``solution`` and new to the puzzle."""
    extra = round(profile.redundancy * len(kept))
    # Stable sort: dropped clues keep their random order within the direct and the relational group.
    padding = sorted(dropped, key=lambda clue: not clue.kind.direct)[:extra]
    if len(padding) < extra:
        kinds = [kind for kind, weight in profile.weights.items() if weight > 0]
        weights = [profile.weights[kind] for kind in kinds]
        seen = {clue.canonical() for clue in kept + dropped}
        # Small puzzles may have fewer distinct true clues than asked for; then the padding stays short.
        for _ in range(_MAX_PADDING_TRIES):
            if len(padding) == extra:
                break
            clue = sample_clue(rng, solution, rng.choices(kinds, weights)[0])
            if clue is not None and clue.canonical() not in seen:
                seen.add(clue.canonical())
                padding.append(clue)
    return padding


def build_clues(rng: random.Random, solution: Assignment, profile: DifficultyProfile) -> list[Clue]:
    """Clues, all true in ``solution``, whose only common solution is ``solution`` (steps 1-4 above)."""
    houses, attributes = len(solution[0]), len(solution)
    clues = _grow(rng, solution, profile)
    kept = list(range(len(clues)))
    dropped: list[int] = []
    for index in _removal_order(rng, clues, profile.removal):
        trial = [other for other in kept if other != index]
        if _unique(houses, attributes, [clues[other] for other in trial]):
            kept = trial
            dropped.append(index)
    final = [clues[index] for index in kept]
    final += _padding(rng, solution, profile, final, [clues[index] for index in dropped])
    rng.shuffle(final)
    return final
