"""The matcher on its own: field levels, blocking, scores from the data, groups."""

import random

import pytest

from insidesales.imports.matching import (
    CLOSE,
    DIFFERENT,
    EXACT,
    MISSING,
    PARTIAL,
    Field,
    Matcher,
    Pair,
    Schema,
    compare_code,
    compare_name,
    compare_text,
    groups,
)

PEOPLE = Schema(
    fields=(
        Field("first", "name", swaps_with="last"),
        Field("last", "name", swaps_with="first"),
        Field("company", "text"),
        Field("email", "code"),
        Field("phone", "exact"),
    ),
    blocks=((("last", 3), ("first", 1)), (("first", 3), ("last", 1)), (("email", 0),), (("phone", 0),)),
    identifiers=("email", "phone"),
)


def columns(rows):
    return {name: [row.get(name, "") for row in rows] for name in ("first", "last", "company", "email", "phone")}


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("catherine", "catherine", EXACT),
        ("catherine", "catherina", CLOSE),
        ("jonathan", "jonathon", CLOSE),
        ("jon", "john", PARTIAL),
        ("ivan", "maria", DIFFERENT),
    ],
)
def test_name_levels(a, b, level):
    assert compare_name(a, b) == level


def test_text_ignores_word_order_and_extra_words():
    assert compare_text("acme rockets", "rockets acme") == CLOSE
    assert compare_text("acme rockets", "acme rockets international") == CLOSE
    assert compare_text("acme rockets", "globex") == DIFFERENT


def test_code_counts_one_typo_or_swap_as_close():
    assert compare_code("19750208", "19750280") == CLOSE  # two digits swapped
    assert compare_code("19750208", "19750209") == CLOSE
    assert compare_code("19750208", "19751208") == CLOSE
    assert compare_code("19750208", "19850209") == PARTIAL
    assert compare_code("12", "34") == DIFFERENT


def test_swapped_first_and_last_names_are_compared_crosswise():
    matcher = Matcher(PEOPLE, columns([{"first": "ivan", "last": "petrov"}, {"first": "petrov", "last": "ivan"}]))
    assert matcher.levels(0, 1) == (EXACT, EXACT, MISSING, MISSING, MISSING)


def test_blocks_pair_only_records_sharing_a_key():
    rows = [
        {"first": "anna", "last": "smith"},
        {"first": "anne", "last": "smith"},
        {"first": "boris", "last": "jones"},
        {"first": "x", "last": "y", "email": "anna@example.com"},
        {"first": "z", "last": "w", "email": "anna@example.com"},
    ]
    assert Matcher(PEOPLE, columns(rows)).candidate_pairs() == {(0, 1), (3, 4)}


def test_linking_pairs_only_across_the_two_sets():
    rows = [{"first": "anna", "last": "smith"}] * 3
    assert Matcher(PEOPLE, columns(rows)).candidate_pairs(across=1) == {(0, 1), (0, 2)}


def test_too_common_block_keys_are_not_compared():
    rows = [{"first": f"a{i}", "last": "smith"} for i in range(5)]
    schema = Schema(fields=PEOPLE.fields, blocks=((("last", 0),),), max_block=4)
    assert Matcher(schema, columns(rows)).candidate_pairs() == set()
    assert len(Matcher(schema, columns(rows[:4])).candidate_pairs()) == 6


def test_agreeing_on_a_rare_value_counts_more_than_on_a_common_one():
    rows = [{"first": "ivan", "last": f"name{i}", "company": f"c{i}"} for i in range(200)]
    rows += [{"first": "zebedee", "last": "name500", "company": "c500"}, {"first": "zebedee", "last": "other"}]
    matcher = Matcher(PEOPLE, columns(rows))
    common, rare = matcher.score([(0, 1), (200, 201)])
    assert rare.probability > common.probability


def test_groups_join_connected_pairs_above_the_threshold():
    pairs = [Pair(1, 2, (), 0.9), Pair(2, 3, (), 0.6), Pair(4, 5, (), 0.49), Pair(7, 6, (), 0.99)]
    assert groups(pairs) == [[1, 2, 3], [6, 7]]


WORDS = [
    "acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell", "cyberdyne",
    "soylent", "wonka", "gringotts", "oscorp", "aperture", "monarch", "pied", "wernham", "dunder", "prestige",
]  # fmt: skip


def typo(rng, value):
    if len(value) < 3:
        return value
    i = rng.randrange(len(value) - 1)
    action = rng.choice(("swap", "drop", "replace"))
    if action == "swap":
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    if action == "drop":
        return value[:i] + value[i + 1 :]
    return value[:i] + rng.choice("aeiouxyz") + value[i + 1 :]


def test_finds_typed_over_duplicates_among_many_people():
    rng = random.Random(5)
    firsts = ["anna", "boris", "carla", "dmitry", "elena", "fyodor", "galina", "hector", "irina", "jacob"]
    syllables = ["ka", "lo", "mer", "vin", "dra", "so", "tel", "gu", "shan", "ber", "rov", "ni", "pet", "ak", "os"]
    rows, person = [], []
    for index in range(400):
        first = rng.choice(firsts)
        last = "".join(rng.choice(syllables) for _ in range(3))
        word, kind = rng.choice(WORDS), rng.choice(["steel", "foods", "media", "logistics", "bank"])
        company = f"{word} {kind}"
        rows.append({"first": first, "last": last, "company": company, "email": f"{first}.{last}@{word}{kind}.example"})
        person.append(index)
    for index in rng.sample(range(400), 80):  # 80 people typed in again with mistakes
        original = dict(rows[index])
        field = rng.choice(("first", "last", "company", "email"))
        original[field] = typo(rng, original[field])
        if rng.random() < 0.3:
            original["email"] = ""
        rows.append(original)
        person.append(index)
    matcher = Matcher(PEOPLE, columns(rows))
    found = {
        (a, b) for group in groups(matcher.score(matcher.candidate_pairs())) for a in group for b in group if a < b
    }
    truth = {(a, b) for a in range(len(rows)) for b in range(a + 1, len(rows)) if person[a] == person[b]}
    hits = len(found & truth)
    precision, recall = hits / len(found), hits / len(truth)
    assert precision >= 0.95
    assert recall >= 0.9


def test_many_pairs_at_once_get_the_same_levels_as_one_at_a_time():
    rng = random.Random(7)
    alphabet = "abcdeиван "
    rows = [
        {
            name: ("" if rng.random() < 0.15 else "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 9))))
            for name in ("first", "last", "company", "email", "phone")
        }
        for _ in range(300)
    ]
    rows += [{"first": "petrov", "last": "ivan"}, {"first": "ivan", "last": "petrov"}]  # swapped
    matcher = Matcher(PEOPLE, columns(rows))
    lefts = [rng.randrange(len(rows)) for _ in range(3000)] + [300]
    rights = [rng.randrange(len(rows)) for _ in range(3000)] + [301]
    import numpy as np

    matrix = matcher.level_matrix(np.array(lefts), np.array(rights))
    assert [tuple(row) for row in matrix.tolist()] == [matcher.levels(a, b) for a, b in zip(lefts, rights, strict=True)]
    assert tuple(matrix[-1]) == (EXACT, EXACT, MISSING, MISSING, MISSING)


def test_probability_is_the_fellegi_sunter_posterior():
    import math

    rows = [{"first": "anna", "last": "smith", "email": "a@x.example"}, {"first": "anna", "last": "smyth"}]
    rows += [{"first": f"p{i}", "last": f"q{i}", "email": f"{i}@x.example"} for i in range(50)]
    matcher = Matcher(PEOPLE, columns(rows))
    (pair,) = matcher.score([(0, 1)])
    model = matcher.model
    logit = math.log(model.prior / (1 - model.prior))
    for level, m, u in zip(pair.levels, model.m, model.u, strict=True):
        if level != MISSING:
            logit += math.log(m[level] / u[level])
    assert pair.probability == pytest.approx(1 / (1 + math.exp(-logit)))
