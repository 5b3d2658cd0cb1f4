"""The attribute pools of the ZebraLogic-style puzzle generator: names, values and how clues refer to a person.

Every attribute has at least :data:`MAX_HOUSES` values, so any puzzle size up to that many houses can draw a
distinct value per house, and there are at least :data:`MAX_ATTRIBUTES` attributes. ``Name`` is always the first
attribute of a puzzle, as in ZebraLogic; the others are drawn from the rest of :data:`POOLS`.

The noun phrase of an attribute contains its value verbatim (``"the person who drinks tea"``), so a reader can map
every clue back to the value lists printed in the question without guessing at inflections. Phrases start in lower
case (names excepted); the renderer capitalises the first letter of a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_HOUSES = 6
MAX_ATTRIBUTES = 6


@dataclass(frozen=True)
class AttributePool:
    """One attribute a puzzle may use.

    Attributes:
        name: the column header in the solution grid (``"Color"``).
        values: the values to draw from, all distinct.
        phrase: a ``str.format`` template with one ``{v}`` field naming the person who has value ``v``.
    """

    name: str
    values: tuple[str, ...]
    phrase: str

    def __post_init__(self) -> None:
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"attribute {self.name!r} lists a value twice: {self.values}")
        if len(self.values) < MAX_HOUSES:
            raise ValueError(
                f"attribute {self.name!r} has {len(self.values)} values but puzzles may have up to "
                f"{MAX_HOUSES} houses, each needing its own value"
            )
        if "{v}" not in self.phrase:
            raise ValueError(f"the phrase of attribute {self.name!r} must contain '{{v}}': {self.phrase!r}")

    def refer(self, value: str) -> str:
        """The noun phrase for the person whose value of this attribute is ``value``."""
        return self.phrase.format(v=value)


NAME_POOL = AttributePool(
    "Name", ("Alice", "Bob", "Carol", "David", "Eric", "Peter", "Arnold", "Zoe"), "{v}"
)

POOLS: tuple[AttributePool, ...] = (
    NAME_POOL,
    AttributePool(
        "Color",
        ("red", "green", "blue", "yellow", "white", "purple", "orange", "black"),
        "the person whose favorite color is {v}",
    ),
    AttributePool(
        "Pet", ("cat", "dog", "bird", "fish", "horse", "rabbit", "hamster", "turtle"), "the {v} owner"
    ),
    AttributePool(
        "Drink",
        ("tea", "coffee", "milk", "water", "juice", "soda", "lemonade", "cocoa"),
        "the person who drinks {v}",
    ),
    AttributePool(
        "Nationality",
        ("Norwegian", "Dane", "Brit", "German", "Swede", "Spaniard", "Italian", "Canadian"),
        "the {v}",
    ),
    AttributePool(
        "Hobby",
        ("gardening", "painting", "reading", "cooking", "hiking", "knitting", "photography", "chess"),
        "the person who enjoys {v}",
    ),
    AttributePool(
        "Car", ("Tesla", "Ford", "Toyota", "Honda", "BMW", "Audi", "Volvo", "Fiat"), "the {v} driver"
    ),
    AttributePool(
        "Food",
        ("pizza", "sushi", "tacos", "pasta", "curry", "soup", "stew", "salad"),
        "the person whose favorite food is {v}",
    ),
    AttributePool(
        "Flower",
        ("roses", "tulips", "lilies", "daisies", "orchids", "carnations", "irises", "sunflowers"),
        "the person who grows {v}",
    ),
    AttributePool(
        "MusicGenre",
        ("jazz", "rock", "classical", "pop", "hip hop", "country", "blues", "folk"),
        "the person who loves {v} music",
    ),
    AttributePool(
        "Occupation",
        ("teacher", "doctor", "engineer", "lawyer", "artist", "nurse", "chef", "pilot"),
        "the {v}",
    ),
    AttributePool(
        "Sport",
        ("soccer", "tennis", "basketball", "golf", "hockey", "baseball", "volleyball", "cricket"),
        "the person who plays {v}",
    ),
)

POOL_BY_NAME: dict[str, AttributePool] = {pool.name: pool for pool in POOLS}


def _check_pools(pools: tuple[AttributePool, ...]) -> None:
    """Fail at import if the pools could make a clue ambiguous or a maximal puzzle impossible."""
    # Phrases like "the {v}" are shared by Nationality and Occupation, so a value repeated across pools could
    # make "the X" name two different people.
    values = [value for pool in pools for value in pool.values]
    if len(set(values)) != len(values):
        raise ValueError("a value appears in two attribute pools; clue phrases would be ambiguous")
    if len(pools) < MAX_ATTRIBUTES:
        raise ValueError(f"need at least {MAX_ATTRIBUTES} attribute pools, have {len(pools)}")
    if len({pool.name for pool in pools}) != len(pools):
        raise ValueError("two attribute pools share a name")


_check_pools(POOLS)
