"""Duplicate detection quality on the Febrl data sets (Christen's synthetic census-like records).

    python -m bench.febrl [--data-dir DIR]

Datasets 1–3 are deduplicated (every pair of records of one person is a true pair), 4a + 4b are
linked (one record of each file per person, only cross-file pairs count). Ground truth is `rec_id`
("rec-12-org", "rec-12-dup-0": the number names the person); the matcher never sees it.

The matcher is the product's (`insidesales.imports.matching`, the same code that scans leads); only
the schema differs, because Febrl records hold names, addresses, birth dates and social security
numbers instead of companies, e-mails and phones. Pairs are counted from the groups the duplicates
page would show (connected pairs scoring at least one half).
The last line is JSON: `<dataset>_f1`, `_precision`, `_recall` per data set.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import time
from collections import defaultdict
from pathlib import Path

from insidesales.imports.matching import Field, Matcher, Schema, groups

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "febrl"
COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
SCHEMA = Schema(
    fields=(
        Field("given_name", "name", swaps_with="surname"),
        Field("surname", "name", swaps_with="given_name"),
        Field("street_number", "code"),
        Field("address_1", "text"),
        Field("address_2", "text"),
        Field("suburb", "name"),
        Field("postcode", "code"),
        Field("state", "exact"),
        Field("date_of_birth", "code"),
        Field("soc_sec_id", "code"),
    ),
    blocks=(
        (("soc_sec_id", 0),),
        (("date_of_birth", 0),),
        (("surname", 3), ("given_name", 1)),
        (("given_name", 3), ("surname", 1)),
        (("postcode", 0), ("street_number", 0)),
        (("suburb", 4), ("surname", 2)),
    ),
    identifiers=("soc_sec_id",),
)
DATASETS = {"febrl1": ("dataset1.csv",), "febrl2": ("dataset2.csv",), "febrl3": ("dataset3.csv",)}
LINKED = {"febrl4": ("dataset4a.csv", "dataset4b.csv")}


def load(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Person ids and the columns, values trimmed and lower-cased."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [name.strip() for name in next(reader)]
        people, columns = [], {name: [] for name in COLUMNS}
        for row in reader:
            record = dict(zip(header, row, strict=False))
            people.append(record["rec_id"].strip().split("-")[1])
            for name in COLUMNS:
                columns[name].append((record.get(name) or "").strip().lower())
    return people, columns


def true_pairs(people: list[str], across: int | None) -> set[tuple[int, int]]:
    by_person = defaultdict(list)
    for index, person in enumerate(people):
        by_person[person].append(index)
    return {
        (a, b)
        for members in by_person.values()
        for a, b in itertools.combinations(members, 2)
        if across is None or (a < across) != (b < across)
    }


def evaluate(files: tuple[Path, ...]) -> dict[str, float]:
    people: list[str] = []
    columns: dict[str, list[str]] = {name: [] for name in COLUMNS}
    across = None
    for index, path in enumerate(files):
        file_people, file_columns = load(path)
        if index == 1:
            across = len(people)
        people += file_people
        for name in COLUMNS:
            columns[name] += file_columns[name]
    matcher = Matcher(SCHEMA, columns)
    scored = matcher.score(matcher.candidate_pairs(across=across))
    found = {
        (a, b)
        for group in groups(scored)
        for a, b in itertools.combinations(group, 2)
        if across is None or (a < across) != (b < across)
    }
    truth = true_pairs(people, across)
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": round(f1, 4), "precision": round(precision, 4), "recall": round(recall, 4)}


def run(data_dir: Path) -> dict[str, float | None]:
    """Every data set's figures; null where the file is not there."""
    result: dict[str, float | None] = {}
    for key, names in {**DATASETS, **LINKED}.items():
        files = tuple(data_dir / name for name in names)
        if not all(path.exists() for path in files):
            print(f"{key}: {', '.join(names)} not found in {data_dir}", flush=True)
            figures: dict[str, float | None] = {"f1": None, "precision": None, "recall": None}
        else:
            started = time.perf_counter()
            figures = dict(evaluate(files))
            print(f"{key}: {figures} in {time.perf_counter() - started:.1f} s", flush=True)
        for measure, value in figures.items():
            result[f"{key}_{measure}"] = value
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DIR), help="where dataset1.csv … dataset4b.csv are")
    args = parser.parse_args(argv)
    result = run(Path(args.data_dir))
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
