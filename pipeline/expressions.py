"""The facts every part of Mien shares: expression names, class sets, input size and pixel format.

They are defined here once. The trained model carries them (inside its ``.keras`` file) and the
exporter writes them into ``metadata.json``, which is where the browser reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import UserError

# The seven FER2013 expressions, in the order of the `emotion` column of fer2013.csv.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Folder spellings seen in the wild, mapped to the canonical names above.
ALIASES = {
    "anger": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
    "calm": "neutral",
}

INPUT_SIZE = 48  # faces are square, INPUT_SIZE x INPUT_SIZE pixels
INPUT_CHANNELS = 1  # grayscale
PIXEL_FORMAT = "grayscale uint8 range 0-255, unscaled (the model scales inside)"

# Named class sets. A class is a tuple of the emotions it holds; its name is the first one.
CLASS_SETS = {
    "3": (("happy",), ("neutral",), ("sad",)),
    "4": (("angry",), ("happy",), ("neutral",), ("sad",)),
    "6": (("angry", "disgust"), ("fear",), ("happy",), ("neutral",), ("sad",), ("surprise",)),
    "7": tuple((name,) for name in sorted(EMOTIONS)),
}
DEFAULT_CLASSES = "4"


def canonical_emotion(name: str) -> str | None:
    """Return the canonical expression for a folder or class name (any case, any alias), or None."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in EMOTIONS else None


@dataclass(frozen=True)
class ClassSet:
    """The classes a model predicts, in output order, and the emotions each one gathers."""

    members: tuple[tuple[str, ...], ...]

    @property
    def names(self) -> list[str]:
        return [group[0] for group in self.members]

    def __len__(self) -> int:
        return len(self.members)

    def label_of(self) -> dict[int, int]:
        """Map a FER2013 emotion index to this set's class index; emotions left out are absent."""
        return {
            EMOTIONS.index(emotion): class_index
            for class_index, group in enumerate(self.members)
            for emotion in group
        }

    def to_json(self) -> list[list[str]]:
        return [list(group) for group in self.members]

    @classmethod
    def from_json(cls, members: list[list[str]]) -> "ClassSet":
        return cls(tuple(tuple(group) for group in members))


def parse_classes(spec: str | int) -> ClassSet:
    """Turn ``--classes`` into a ClassSet.

    Accepts 3, 4, 6 or 7, or a comma list of expression names such as ``happy,sad,surprise``;
    ``angry+disgust`` merges expressions into one class named after the first.
    """
    text = str(spec).strip().lower()
    if text in CLASS_SETS:
        return ClassSet(CLASS_SETS[text])
    accepted = (
        f"use 3, 4, 6 or 7, or a comma list of expressions from: {', '.join(sorted(EMOTIONS))}"
    )
    if text.isdigit():
        raise UserError(f"There is no {text}-class set; {accepted}.")
    groups, seen = [], set()
    for item in text.split(","):
        group = []
        for part in item.split("+"):
            emotion = canonical_emotion(part)
            if emotion is None:
                raise UserError(f"Unknown expression {part.strip()!r} in --classes; {accepted}.")
            if emotion in seen:
                raise UserError(f"Expression {emotion!r} appears twice in --classes; list each once.")
            seen.add(emotion)
            group.append(emotion)
        groups.append(tuple(group))
    if len(groups) < 2:
        raise UserError(f"A model needs at least two classes; {accepted}.")
    return ClassSet(tuple(groups))
