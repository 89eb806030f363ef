"""Company search keys leave out legal forms and quotes, so "Ромашка" finds "ООО «Ромашка»"."""

import pytest

from insidesales.core.text import company_search_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ООО «Ромашка»", "ромашка"),
        ("АО Газ", "газ"),
        ("ИП Иванов", "иванов"),
        ("Acme, Inc.", "acme"),
        ("Acme Ltd", "acme"),
        ("Siemens GmbH", "siemens"),
        ('"Рога и копыта" LLC', "рога и копыта"),
        ("Aon", "aon"),  # a word that starts like a legal form is kept
        ("Ипотека Банк", "ипотека банк"),
        ("ООО", "ооо"),  # nothing but a legal form: kept, so the company is still findable
        ("", ""),
    ],
)
def test_company_search_key_strips_legal_forms(name, key):
    assert company_search_key(name) == key
