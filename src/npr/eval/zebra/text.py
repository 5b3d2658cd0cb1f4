"""The English side of ZebraLogic-style puzzles: clue sentences and the full question prompt.

Clues are rendered from their structured form (:class:`npr.eval.zebra.clues.Clue`) with one fixed template per
kind, houses as ordinals ("the third house"), and people named by their attribute's phrase
(:mod:`npr.eval.zebra.pools`). The question lists the houses, every attribute with all of its values, the numbered
clues, and the instruction to end with the solution as JSON in the shape graders of ZebraLogic expect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from npr.eval.zebra.clues import Clue, ClueKind, Ref
from npr.eval.zebra.pools import POOL_BY_NAME

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")

# {a} and {b} are the noun phrases of the clue's refs; {house} is an ordinal.
TEMPLATES: dict[ClueKind, str] = {
    ClueKind.AT: "{a} lives in the {house} house.",
    ClueKind.NOT_AT: "{a} does not live in the {house} house.",
    ClueKind.SAME: "{a} is {b}.",
    ClueKind.NOT_SAME: "{a} is not {b}.",
    ClueKind.LEFT_OF: "{a} is somewhere to the left of {b}.",
    ClueKind.RIGHT_OF: "{a} is somewhere to the right of {b}.",
    ClueKind.DIRECT_LEFT: "{a} is directly left of {b}.",
    ClueKind.DIRECT_RIGHT: "{a} is directly right of {b}.",
    ClueKind.NEXT_TO: "{a} and {b} are next to each other.",
    ClueKind.ONE_BETWEEN: "There is one house between {a} and {b}.",
    ClueKind.TWO_BETWEEN: "There are two houses between {a} and {b}.",
}


def ordinal(house: int) -> str:
    """The ordinal word of a 0-based house: ``0 -> "first"``."""
    if not 0 <= house < len(ORDINALS):
        raise ValueError(f"no ordinal word for 0-based house {house}; supported are 0..{len(ORDINALS) - 1}")
    return ORDINALS[house]


def refer(ref: Ref, attributes: Sequence[str], values: dict[str, list[str]]) -> str:
    """The noun phrase for the person a ref names, e.g. ``"the person who drinks tea"``."""
    attribute = attributes[ref.attr]
    return POOL_BY_NAME[attribute].refer(values[attribute][ref.value])


def render_clue(clue: Clue, attributes: Sequence[str], values: dict[str, list[str]]) -> str:
    """One clue as an English sentence, first letter capitalised."""
    a = refer(clue.refs[0], attributes, values)
    b = refer(clue.refs[1], attributes, values) if len(clue.refs) > 1 else ""
    house = ordinal(clue.house) if clue.house is not None else ""
    sentence = TEMPLATES[clue.kind].format(a=a, b=b, house=house)
    return sentence[0].upper() + sentence[1:]


def answer_template(houses: int, attributes: Sequence[str]) -> str:
    """The JSON answer shape shown to the model, with ``___`` where each value goes."""
    solution = {f"House {house}": {attribute: "___" for attribute in attributes} for house in range(1, houses + 1)}
    return json.dumps({"reasoning": "...", "solution": solution}, ensure_ascii=False)


def question_text(houses: int, attributes: Sequence[str], values: dict[str, list[str]], clues: Sequence[str]) -> str:
    """The full prompt: the setting, every attribute with its values, the numbered clues and the answer format."""
    lines = [
        f"There are {houses} houses in a row, numbered 1 to {houses} from left to right, as seen from across the "
        "street. Each house is occupied by a different person. Each house has exactly one value of each of the "
        f"following {len(attributes)} attributes, and no two houses share a value of the same attribute:",
    ]
    for attribute in attributes:
        listed = ", ".join(f"`{value}`" for value in values[attribute])
        lines.append(f" - {attribute}: {listed}")
    lines += [
        "",
        '"Directly left of" means in the house immediately to the left; "somewhere to the left of" means in any '
        'house further left; "next to each other" means in adjacent houses.',
        "",
        "## Clues:",
    ]
    lines += [f"{number}. {clue}" for number, clue in enumerate(clues, start=1)]
    lines += [
        "",
        "Find the value of every attribute in every house. End your response with the solution as JSON of exactly "
        "this form, replacing each ___ with a value from the lists above:",
        answer_template(houses, attributes),
    ]
    return "\n".join(lines)
