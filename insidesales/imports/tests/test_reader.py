"""Reading uploaded files: every encoding, dialect and broken file gets a correct read or a clear message."""

from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook

from insidesales.imports.csvsafe import neutralize, unneutralize
from insidesales.imports.fields import suggest_mapping
from insidesales.imports.reader import FileProblem, inspect_file, iter_rows

ROWS = [
    ["Имя", "Фамилия", "Компания", "Телефон", "E-mail"],
    ["Иван", "Петров", "ООО «Ромашка»", "8 (916) 123-45-67", "ivan@example.ru"],
    ["Ольга", "Смирнова", "АО Вектор; филиал", "+7 495 123 45 67", "olga@example.ru"],
]
WESTERN = [
    ["First name", "Last name", "Company", "Phone", "Email"],
    ["José", "Müller", "Café Ñandú, S.A.", "(415) 555-0100", "jose@example.com"],
    ["Zoë", "Ångström", 'Øresund "Quoted" AB', "+44 20 7946 0000", "zoe@example.com"],
]


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def csv_bytes(rows, *, delimiter=",", encoding="utf-8", newline="\r\n") -> bytes:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def all_rows(path, info):
    return [cells for _n, cells in iter_rows(path, info)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize(
    ("rows", "encoding", "expected"),
    [
        (ROWS, "utf-8", "utf-8"),
        (ROWS, "utf-8-sig", "utf-8-sig"),
        (ROWS, "cp1251", "cp1251"),
        (WESTERN, "latin-1", "latin-1"),
        (WESTERN, "utf-8", "utf-8"),
    ],
)
def test_encodings_and_delimiters_are_detected(tmp_path, rows, encoding, expected, delimiter):
    path = write(tmp_path, "list.csv", csv_bytes(rows, delimiter=delimiter, encoding=encoding))
    info = inspect_file(path)
    assert (info.kind, info.encoding, info.delimiter) == ("csv", expected, delimiter)
    assert info.headers == rows[0]
    assert info.preview == rows[1:]
    assert all_rows(path, info) == rows


def test_quoted_newlines_blank_lines_and_lf_endings(tmp_path):
    rows = [
        ["name", "notes", "email"],
        ["Ann", "line one\nline two, with comma", "ann@example.com"],
        ["Bob", "", "bob@x.io"],
    ]
    data = b"\n\n" + csv_bytes(rows, newline="\n") + b"\n\n"
    path = write(tmp_path, "notes.csv", data)
    info = inspect_file(path)
    assert info.headers == ["name", "notes", "email"]
    assert info.preview[0] == rows[1]
    assert [r for r in all_rows(path, info) if r] == rows


def test_utf16_excel_unicode_text(tmp_path):
    data = codecs.BOM_UTF16_LE + csv_bytes(ROWS, delimiter="\t").decode().encode("utf-16-le")
    info = inspect_file(write(tmp_path, "unicode.txt", data))
    assert (info.encoding, info.delimiter, info.headers) == ("utf-16", "\t", ROWS[0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \r\n \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"PK\x03\x04 this is not really a zip", "damaged"),
        (b",,,\r\n,,\r\n", "no rows"),
    ],
)
def test_broken_files_get_a_clear_message(tmp_path, data, message):
    with pytest.raises(FileProblem) as problem:
        inspect_file(write(tmp_path, "bad.csv", data))
    assert message in problem.value.message


def test_header_only_file_has_no_rows_but_reads(tmp_path):
    info = inspect_file(write(tmp_path, "header.csv", b"first name,email\r\n"))
    assert info.headers == ["first name", "email"] and info.preview == []


def test_huge_single_cell_is_refused_with_its_row_number(tmp_path):
    data = b"name,notes\r\nAnn,short\r\nBob," + b"x" * (2 * 1024 * 1024) + b"\r\n"
    path = write(tmp_path, "huge.csv", data)
    with pytest.raises(FileProblem) as problem:
        all_rows(path, inspect_file(path))
    assert "Row 3 has a cell longer than 1 MB" in problem.value.message


def test_a_bad_byte_deep_in_a_utf8_file_names_the_row(tmp_path):
    good = "".join(f"name{i},mail{i}@example.com\r\n" for i in range(20000)).encode()
    path = write(tmp_path, "late.csv", b"name,email\r\n" + good + b"Jos\xe9,jose@example.com\r\n")
    info = inspect_file(path)
    assert info.encoding == "utf-8"
    with pytest.raises(FileProblem) as problem:
        all_rows(path, info)
    assert "UTF-8" in problem.value.message


def test_xlsx_rows_read_as_people_see_them(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Email", "Since"])
    sheet.append(["Анна Иванова", 79161234567, "anna@example.ru", None])
    sheet.append(["Bob", "+1 415 555 0100", None, 3.5])
    path = tmp_path / "list.xlsx"
    book.save(path)
    info = inspect_file(path)
    assert info.kind == "xlsx" and info.headers == ["Name", "Phone", "Email", "Since"]
    assert info.preview == [["Анна Иванова", "79161234567", "anna@example.ru"], ["Bob", "+1 415 555 0100", "", "3.5"]]


def test_header_suggestions_in_english_and_russian():
    assert suggest_mapping("lead", ROWS[0], []) == ["first_name", "last_name", "company_name", "phone", "email"]
    assert suggest_mapping("lead", ["Full Name", "Job Title", "Mobile Phone", "Notes", "Whatever"], []) == [
        "name",
        "title",
        "phone",
        "notes",
        "",
    ]
    # A second column with the same meaning is left for the user to decide, and real first/last win over a full name.
    assert suggest_mapping("lead", ["Email", "E-mail", "Name", "First name"], []) == ["email", "", "", "first_name"]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+7 916", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''=x", "'plain", "plain", ""]
)
def test_formula_cells_round_trip(value):
    written = neutralize(value)
    assert written[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert unneutralize(written) == value


def test_xlsx_limits_apply_too(tmp_path):
    book = Workbook()
    book.active.append([f"c{i}" for i in range(600)])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    with pytest.raises(FileProblem) as problem:
        inspect_file(path)
    assert "more than 500 columns" in problem.value.message


def test_an_xlsx_that_unpacks_to_far_more_than_its_size_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b"a" * (50 * 1024 * 1024) + b"</sst>")
    with pytest.raises(FileProblem) as problem:
        inspect_file(path)
    assert "unpacks to too much data" in problem.value.message
