"""The kernel's files: the French-spreadsheet CSV, the download helper and plain euro amounts."""

from __future__ import annotations

import csv
import io

from app.core.i18n import euros_plain
from app.core.spreadsheet import Euros, download, french_csv, neutralise


def test_csv_cells_cannot_become_formulas():
    assert neutralise('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralise("+33") == "'+33"
    assert neutralise("-1+1") == "'-1+1"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\tx") == "'\tx" and neutralise("\rx") == "'\rx"
    assert neutralise("Ferme") == "Ferme"
    assert neutralise(None) == "" and neutralise(3) == "3"
    assert euros_plain(-1250) == "-12,50" and euros_plain(5) == "0,05"


def test_plain_euros_take_the_separators_they_are_given():
    assert euros_plain(0) == "0,00"
    assert euros_plain(123_456_78) == "123456,78"
    assert euros_plain(123_456_78, ".") == "123456.78"
    assert euros_plain(-123_456_78, ".", " ") == "-123 456.78"


def test_french_csv_has_a_bom_semicolons_and_decimal_commas():
    data = french_csv(
        ["Nom", "Montant"],
        [["=1+1", Euros(-1250)], ["Ferme; des Bruyères", Euros(5)], [], ["fin", None]],
    )
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text == 'Nom;Montant\r\n\'=1+1;-12,50\r\n"Ferme; des Bruyères";0,05\r\n\r\nfin;\r\n'
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[2] == ["Ferme; des Bruyères", "0,05"]


def test_french_csv_may_use_a_decimal_point_and_leave_out_the_bom():
    data = french_csv(["a"], [[Euros(123_45)]], decimal=".", bom=False)
    assert data == b"a\r\n123.45\r\n"


def test_download_is_an_attachment_unless_inline(app):
    with app.test_request_context():
        response = download("a;b\r\n", "file.csv")
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"] == 'attachment; filename="file.csv"'
        assert response.get_data() == b"a;b\r\n"
        feed = download(b"BEGIN", "agenda.ics", "text/calendar; charset=utf-8", inline=True)
        assert feed.headers["Content-Disposition"] == 'inline; filename="agenda.ics"'
        assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
