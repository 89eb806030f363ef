"""Finding records that describe the same person: blocking, field comparisons, Fellegi–Sunter scores.

The matcher knows nothing of Django. A `Schema` names the fields to compare (each with a kind that
decides how two values are compared) and the blocking keys (records that share no key are never
compared, which keeps a scan over a million records to a few million comparisons).

Each compared field lands on a level: exact, close, partial, different, or missing when either side
is empty. The score of a pair is the Fellegi–Sunter match probability: how much likelier its levels
are among true duplicates (m) than among random pairs (u).
- u comes from the data itself: exact-agreement odds from the value frequencies (two random "smith"s
  agree far more often than two random e-mail addresses), the other levels from random pairs.
- m is what a duplicate typed by people usually looks like: mostly the same, sometimes a typo or a
  missing word. (EM re-estimation of m over the candidate pairs was tried and dropped: blocking makes
  non-duplicates agree on the blocked fields, and EM then took "pairs in one block" for duplicates.)
A pair is a duplicate when its probability is at least one half, starting from the share of
duplicates among the candidate pairs estimated from exact agreement on identifiers; groups are
connected pairs.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio, token_sort_ratio
from rapidfuzz.process import cpdist

EXACT, CLOSE, PARTIAL, DIFFERENT = 3, 2, 1, 0
MISSING = -1
LEVELS = (EXACT, CLOSE, PARTIAL, DIFFERENT)


def compare_name(a: str, b: str) -> int:
    """A person's given name or surname: Jaro–Winkler, kind to typos near the end of a name."""
    if a == b:
        return EXACT
    similarity = JaroWinkler.normalized_similarity(a, b)
    if similarity >= 0.94:
        return CLOSE
    if similarity >= 0.88:
        return PARTIAL
    return DIFFERENT


def compare_text(a: str, b: str) -> int:
    """Several words (a company, a street): word order and an extra word matter little, but sharing
    only a common word ("Acme Logistics", "Globex Logistics") is not alike."""
    if a == b:
        return EXACT
    if token_set_ratio(a, b) >= 90:
        return CLOSE
    if token_sort_ratio(a, b) >= 80:
        return PARTIAL
    return DIFFERENT


def compare_code(a: str, b: str) -> int:
    """Identifiers, dates, postcodes, house numbers: one typed-over or swapped character is close."""
    if a == b:
        return EXACT
    distance = OSA.distance(a, b, score_cutoff=2)
    if distance <= 1:
        return CLOSE
    if distance == 2 and min(len(a), len(b)) >= 6:
        return PARTIAL
    return DIFFERENT


def compare_exact(a: str, b: str) -> int:
    """Already normalized values (E.164 phones, e-mail addresses): equal or not."""
    return EXACT if a == b else DIFFERENT


COMPARATORS: dict[str, Callable[[str, str], int]] = {
    "name": compare_name,
    "text": compare_text,
    "code": compare_code,
    "exact": compare_exact,
}
# How often a duplicate's field is the same, close, partly alike or different.
PRIOR_M = {
    "name": {EXACT: 0.80, CLOSE: 0.09, PARTIAL: 0.06, DIFFERENT: 0.05},
    "text": {EXACT: 0.80, CLOSE: 0.09, PARTIAL: 0.06, DIFFERENT: 0.05},
    "code": {EXACT: 0.85, CLOSE: 0.09, PARTIAL: 0.03, DIFFERENT: 0.03},
    "exact": {EXACT: 0.85, CLOSE: 0.0, PARTIAL: 0.0, DIFFERENT: 0.15},
}
# How often two different people's field is the same, close or partly alike, before the data is seen.
PRIOR_U = {
    "name": {EXACT: 0.005, CLOSE: 0.002, PARTIAL: 0.01},
    "text": {EXACT: 0.002, CLOSE: 0.002, PARTIAL: 0.005},
    "code": {EXACT: 0.0001, CLOSE: 0.0005, PARTIAL: 0.001},
    "exact": {EXACT: 0.0001, CLOSE: 0.0, PARTIAL: 0.0},
}
PRIOR_PAIRS = 1000
SMALLEST = 1e-6
# The prior: duplicates agree exactly on some identifier this often; bounds keep it sane either way.
IDENTIFIER_RECALL = 0.7
DEFAULT_PRIOR, MIN_PRIOR, MAX_PRIOR = 0.1, 0.001, 0.5
MAX_DIFFERENT = 0.4


@dataclass(frozen=True)
class Field:
    """One compared field. `swaps_with` names the field people confuse it with (given name/surname)."""

    name: str
    kind: str
    swaps_with: str = ""


@dataclass(frozen=True)
class Schema:
    """What to compare and how records are put in blocks.

    A block is a tuple of (field, prefix length; 0 for the whole value): ("surname", 3), ("given", 1)
    puts "smith john" and "smyth j." apart but "smith john" and "smith jon" together. Two records are
    compared when they share any block key; a record with an empty field of a block has no key in
    that block. Keys held by more than `max_block` records are too common to tell anything (a block
    of every "Ivanov I.") and are not compared. Blocks may use columns that are not compared fields.
    `identifiers` name the fields on which exact agreement nearly always means the same person (they
    set the prior, see `Matcher.estimate_prior`).
    """

    fields: tuple[Field, ...]
    blocks: tuple[tuple[tuple[str, int], ...], ...]
    identifiers: tuple[str, ...] = ()
    max_block: int = 200


@dataclass
class Pair:
    """Two records with their field levels and the probability that they are the same."""

    left: int
    right: int
    levels: tuple[int, ...]
    probability: float = 0.0


@dataclass
class Model:
    """m and u per field and level, and the share of duplicates expected among compared pairs."""

    m: list[dict[int, float]]
    u: list[dict[int, float]]
    prior: float = 0.1  # share of duplicates among the candidate pairs (see Matcher.estimate_prior)

    def weights(self) -> list[dict[int, float]]:
        return [
            {level: math.log(max(m[level], SMALLEST) / max(u[level], SMALLEST)) for level in LEVELS}
            for m, u in zip(self.m, self.u, strict=True)
        ]


@dataclass
class Matcher:
    """Scores pairs of records of one schema. `columns` holds each field's normalized values, one
    list per field, all of the same length (record i is the i-th value of every list)."""

    schema: Schema
    columns: dict[str, list[str]]
    seed: int = 20261128
    model: Model | None = None
    size: int = 0

    def __post_init__(self) -> None:
        self.size = len(next(iter(self.columns.values()), []))
        self._fields = [self.columns[f.name] for f in self.schema.fields]
        self._compare = [COMPARATORS[f.kind] for f in self.schema.fields]
        names = [f.name for f in self.schema.fields]
        self._swapped = [names.index(f.swaps_with) if f.swaps_with else i for i, f in enumerate(self.schema.fields)]
        self._swaps = any(f.swaps_with for f in self.schema.fields)
        self._vocabulary: dict[str, int] = {}
        self._column_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # -- candidates -----------------------------------------------------------------------------

    def block_keys(self, block: tuple[tuple[str, int], ...]) -> list[str]:
        """Each record's key in this block; "" (no key) when any of the block's fields is empty."""
        parts = [
            column if not length else [value[:length] for value in column] for column, length in self._parts(block)
        ]
        keys = list(map("\x1f".join, zip(*parts, strict=True))) if len(parts) > 1 else list(parts[0])
        if len(parts) > 1:
            empty = np.zeros(self.size, dtype=bool)
            for part in parts:
                empty |= np.fromiter(map(len, part), dtype=np.int32, count=self.size) == 0
            for index in np.flatnonzero(empty).tolist():
                keys[index] = ""
        return keys

    def _parts(self, block: tuple[tuple[str, int], ...]) -> list[tuple[list[str], int]]:
        return [(self.columns[name], length) for name, length in block]

    def candidate_arrays(self, *, across: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Index pairs sharing a block key, as two arrays (left < right, sorted). With `across`, only
        pairs with one index below it and one at or above it (linking new records, appended after
        the existing ones)."""
        size, limit = self.size, self.schema.max_block
        found = [np.empty(0, dtype=np.int64)]
        for block in self.schema.blocks:
            keys = self.block_keys(block)
            numbers: dict[str, int] = {"": -1}
            ids = np.fromiter((numbers.setdefault(key, len(numbers)) for key in keys), dtype=np.int64, count=size)
            order = np.argsort(ids, kind="stable")
            ordered = ids[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            lengths = np.diff(np.r_[starts, size])
            # Position of each record in its sorted group, and the group's length, for every record.
            group_length = np.repeat(lengths, lengths)
            position = np.arange(size) - np.repeat(starts, lengths)
            usable = (ordered >= 0) & (group_length >= 2) & (group_length <= limit)
            # Pairs (p, p + d) inside a group, for every offset d the largest usable group allows.
            largest = int(group_length[usable].max()) if usable.any() else 0
            for offset in range(1, largest):
                take = usable & (position + offset < group_length)
                lefts, rights = order[take], order[np.flatnonzero(take) + offset]
                low, high = np.minimum(lefts, rights), np.maximum(lefts, rights)
                if across is not None:
                    keep = (low < across) != (high < across)
                    low, high = low[keep], high[keep]
                found.append(low * size + high)
        codes = np.unique(np.concatenate(found))
        return codes // max(size, 1), codes % max(size, 1)

    def candidate_pairs(self, *, across: int | None = None) -> set[tuple[int, int]]:
        lefts, rights = self.candidate_arrays(across=across)
        return set(zip(lefts.tolist(), rights.tolist(), strict=True))

    # -- comparison -----------------------------------------------------------------------------

    def levels(self, left: int, right: int) -> tuple[int, ...]:
        """Each field's level; where names may be swapped, the better of straight and swapped."""
        fields, compare = self._fields, self._compare
        straight = []
        for column, compare_one in zip(fields, compare, strict=True):
            a, b = column[left], column[right]
            straight.append(compare_one(a, b) if a and b else MISSING)
        if not self._swaps:
            return tuple(straight)
        swapped = []
        for index, other in enumerate(self._swapped):
            a, b = fields[index][left], fields[other][right]
            swapped.append(compare[index](a, b) if a and b else MISSING)
        return tuple(swapped) if sum(swapped) > sum(straight) else tuple(straight)

    # -- the model ------------------------------------------------------------------------------

    def estimate_u(self, sample: int = 20000) -> list[dict[int, float]]:
        """Level frequencies among pairs of different records: exact agreement counted from the
        value frequencies, the other levels from a random sample of pairs. Both are blended with
        `PRIOR_U` as if it had been seen in `PRIOR_PAIRS` pairs, so a small list is not judged
        by a dozen records (and a large one only by itself)."""
        rng = random.Random(self.seed)
        n = self.size
        u: list[dict[int, float]] = []
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(sample)] if n > 1 else []
        pairs = [(a, b) for a, b in pairs if a != b]
        for index, f in enumerate(self.schema.fields):
            column = self._fields[index]
            codes, lengths = self._column_data(index)
            counts = np.bincount(codes[lengths > 0]).astype(np.float64)
            filled = float(counts.sum())
            agreeing = float((counts * (counts - 1)).sum()) / 2
            prior = PRIOR_U[f.kind]
            levels = {EXACT: (agreeing + PRIOR_PAIRS * prior[EXACT]) / (filled * (filled - 1) / 2 + PRIOR_PAIRS)}
            compare = COMPARATORS[f.kind]
            seen: Counter[int] = Counter()
            for a, b in pairs:
                if column[a] and column[b] and column[a] != column[b]:
                    seen[compare(column[a], column[b])] += 1
            compared = sum(seen.values()) / (1 - levels[EXACT])  # the sample left out exact agreements
            for level in (CLOSE, PARTIAL):
                levels[level] = (seen[level] + PRIOR_PAIRS * prior[level]) / (compared + PRIOR_PAIRS)
            levels[DIFFERENT] = max(1.0 - sum(levels.values()), SMALLEST)
            u.append(levels)
        return u

    def level_matrix(self, lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
        """`levels` for many pairs at once (one row per pair), compared in C on both cores."""
        lefts, rights = np.asarray(lefts, dtype=np.int64), np.asarray(rights, dtype=np.int64)
        fields = self.schema.fields
        matrix = np.empty((len(lefts), len(fields)), dtype=np.int8)
        for index, f in enumerate(fields):
            matrix[:, index] = self._column_levels(f.kind, index, index, lefts, rights)
        swaps = [index for index, f in enumerate(fields) if f.swaps_with]
        if swaps and len(lefts):
            # Crosswise only where the names are not already all exact: nothing could beat that.
            rows = np.flatnonzero((matrix[:, swaps] != EXACT).any(axis=1))
            crossed = np.stack(
                [self._column_levels(fields[i].kind, i, self._swapped[i], lefts[rows], rights[rows]) for i in swaps],
                axis=1,
            )
            better = crossed.sum(axis=1, dtype=np.int32) > matrix[np.ix_(rows, swaps)].sum(axis=1, dtype=np.int32)
            matrix[np.ix_(rows[better], swaps)] = crossed[better]
        return matrix

    def _column_data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """A field's values as numbers (equal strings, equal numbers, across all fields) and lengths."""
        if index not in self._column_cache:
            column = self._fields[index]
            vocabulary = self._vocabulary
            for value in dict.fromkeys(column):  # each distinct value once, in C
                if value not in vocabulary:
                    vocabulary[value] = len(vocabulary)
            codes = np.fromiter(map(vocabulary.__getitem__, column), dtype=np.int64, count=self.size)
            lengths = np.fromiter(map(len, column), dtype=np.int32, count=self.size)
            self._column_cache[index] = (codes, lengths)
        return self._column_cache[index]

    def _column_levels(
        self, kind: str, left_field: int, right_field: int, lefts: np.ndarray, rights: np.ndarray
    ) -> np.ndarray:
        codes_a, lengths_a = self._column_data(left_field)
        codes_b, lengths_b = self._column_data(right_field)
        length_a, length_b = lengths_a[lefts], lengths_b[rights]
        missing = (length_a == 0) | (length_b == 0)
        equal = codes_a[lefts] == codes_b[rights]
        levels = np.where(equal, EXACT, DIFFERENT).astype(np.int8)
        # Only pairs with two different values need the string comparison.
        todo = np.flatnonzero(~equal & ~missing)
        if kind != "exact" and len(todo):
            a = list(map(self._fields[left_field].__getitem__, lefts[todo].tolist()))
            b = list(map(self._fields[right_field].__getitem__, rights[todo].tolist()))
            if kind == "name":
                similarity = cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1)
                found = np.select([similarity >= 0.94, similarity >= 0.88], [CLOSE, PARTIAL], DIFFERENT)
            elif kind == "text":
                found = np.where(cpdist(a, b, scorer=token_set_ratio, workers=-1) >= 90, CLOSE, DIFFERENT)
                rest = np.flatnonzero(found == DIFFERENT)
                if len(rest):
                    sorted_words = cpdist(
                        [a[i] for i in rest.tolist()],
                        [b[i] for i in rest.tolist()],
                        scorer=token_sort_ratio,
                        workers=-1,
                    )
                    found[rest] = np.where(sorted_words >= 80, PARTIAL, DIFFERENT)
            else:  # code
                distance = cpdist(a, b, scorer=OSA.distance, score_cutoff=2, workers=-1)
                shortest = np.minimum(length_a[todo], length_b[todo])
                found = np.select([distance <= 1, (distance == 2) & (shortest >= 6)], [CLOSE, PARTIAL], DIFFERENT)
            levels[todo] = found
        levels[missing] = MISSING
        return levels

    def score_arrays(self, lefts: np.ndarray, rights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levels and match probabilities of the pairs (lefts[i], rights[i])."""
        matrix = self.level_matrix(lefts, rights)
        if self.model is None:
            self.model = Model(
                m=[dict(PRIOR_M[f.kind]) for f in self.schema.fields],
                u=self.estimate_u(),
                prior=self.estimate_prior(matrix),
            )
        weights = self.model.weights()
        table = np.array([[0.0] + [w[level] for level in (DIFFERENT, PARTIAL, CLOSE, EXACT)] for w in weights])
        # levels run from MISSING (-1) to EXACT (3): column level + 1 of the table, 0 for missing.
        logit = math.log(self.model.prior / (1 - self.model.prior)) + table[
            np.arange(len(weights)), matrix.astype(np.int64) + 1
        ].sum(axis=1)
        probability = 1 / (1 + np.exp(-np.clip(logit, -30, 30)))
        return matrix, probability

    def score(self, pairs: Iterable[tuple[int, int]]) -> list[Pair]:
        """Compare the candidate pairs and give each its match probability."""
        pairs = list(pairs)
        lefts = np.array([left for left, _ in pairs], dtype=np.int64)
        rights = np.array([right for _, right in pairs], dtype=np.int64)
        matrix, probability = self.score_arrays(lefts, rights)
        return [
            Pair(left, right, tuple(row), float(p))
            for left, right, row, p in zip(
                lefts.tolist(), rights.tolist(), matrix.tolist(), probability.tolist(), strict=True
            )
        ]

    def estimate_prior(self, matrix: np.ndarray) -> float:
        """The share of duplicates among the candidate pairs, from those that agree exactly on an
        identifier (an e-mail address, a phone, a social security number): most duplicates do, and
        few others do. A list of namesakes with no shared identifier gets a low prior, so similar
        names alone do not make a duplicate there."""
        positions = [i for i, f in enumerate(self.schema.fields) if f.name in self.schema.identifiers]
        if not positions or not len(matrix):
            return DEFAULT_PRIOR
        agreeing = int(np.any(matrix[:, positions] == EXACT, axis=1).sum())
        share = (agreeing + 1) / (len(matrix) + 1) / IDENTIFIER_RECALL
        return min(max(share, MIN_PRIOR), MAX_PRIOR)


def groups(pairs: Iterable[Pair], threshold: float = 0.5) -> list[list[int]]:
    """Connected components of the pairs at or above the threshold, each sorted, largest first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        if pair.probability >= threshold:
            a, b = find(pair.left), find(pair.right)
            if a != b:
                parent[max(a, b)] = min(a, b)
    components: dict[int, list[int]] = defaultdict(list)
    for x in parent:
        components[find(x)].append(x)
    return sorted((sorted(members) for members in components.values()), key=lambda g: (-len(g), g[0]))
