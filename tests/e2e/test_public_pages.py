"""The public site in Chromium: home page, language switch, the live eligibility checker (with and
without JavaScript), keyboard use, and axe-core (WCAG 2.2 AA) on every public page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, TABLET, assert_no_console_errors

PUBLIC_PAGES = [
    "/",
    "/?lang=en",
    "/communes",
    "/communes?commune=boen",
    "/communes?commune=Paris",
    "/faq",
    "/commercants",
    "/adherer",
    "/confidentialite",
    "/connexion",
    "/pas-une-page",
]
MISSING_RESOURCE = (r"status of 404",)  # the 404 page itself is logged by Chromium as a failed load


def goto(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, (
        f"{url} answered {response and response.status}"
    )
    return response


def result_region(page):
    return page.locator("#eligibility-result")


def commune_field(page):
    return page.get_by_label("Votre commune", exact=True)


# --------------------------------------------------------------------------------------------
# Home page


def test_home_page(page, live_server):
    goto(page, live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title(re.compile("SSA PATIAS"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # How it works, in three steps.
    steps = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("trois étapes"))
    ).locator("ol > li")
    expect(steps).to_have_count(3)
    expect(page.get_by_text(re.compile(r"100,00\s€")).first).to_be_visible()
    # Who may join: no income condition, the communes.
    expect(
        page.get_by_text(
            re.compile("sans condition de revenus|aucune condition de revenu", re.I)
        ).first
    ).to_be_visible()
    # A clear call to action, that leads to the application form.
    join = page.get_by_role("main").get_by_role("link", name="Adhérer").first
    expect(join).to_be_visible()
    join.click()
    expect(page).to_have_url(re.compile(r"/adherer$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Adhérer")
    assert_no_console_errors(page)


def test_home_shows_the_next_events(page, live_server):
    goto(page, live_server + "/")
    expect(page.get_by_role("heading", name="Prochains événements").first).to_be_visible()
    # Upcoming dates, each leading to its event (the demo data always has some from today on).
    expect(page.locator("main a[href^='/evenements/']").first).to_be_visible()
    expect(page.locator("main time").first).to_be_visible()


def test_skip_link_and_visible_focus(page, live_server):
    goto(page, live_server + "/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Aller au contenu")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 0, "the skip link is not shown when focused"
    outline = skip.evaluate(
        "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.boxShadow] }"
    )
    assert outline[0] != "none" or outline[2] != "none", (
        f"no visible focus on the skip link: {outline}"
    )
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_attribute("id", "main")
    # Every link of the header shows where the focus is.
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    style = focused.evaluate(
        "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.boxShadow] }"
    )
    assert style[0] != "none" or style[1] != "none", f"no visible focus: {style}"


# --------------------------------------------------------------------------------------------
# Language


def test_language_switch_is_remembered(page, live_server):
    goto(page, live_server + "/communes")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/communes\?lang=en$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("communes")
    # The next page, reached without ?lang, stays in English.
    page.get_by_role("navigation").get_by_role("link", name="FAQ").click()
    expect(page).to_have_url(re.compile(r"/faq$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Skip to content")).to_be_attached()
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    goto(page, live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_no_console_errors(page)


def test_first_visit_follows_the_browser_language(make_page, live_server):
    english = make_page(locale="en-GB")
    goto(english, live_server + "/")
    expect(english.locator("html")).to_have_attribute("lang", "en")
    expect(english.get_by_role("main").get_by_role("link", name="Join").first).to_be_visible()


# --------------------------------------------------------------------------------------------
# The eligibility checker


@pytest.mark.parametrize(
    ("typed", "commune"),
    [
        ("st etienne le molard", "Saint-Étienne-le-Molard"),
        ("BOEN", "Boën-sur-Lignon"),
        ("L'Hopital sous Rochefort", "Solore-en-Forez"),
    ],
)
def test_live_checker_answers_without_reloading(page, live_server, typed, commune):
    goto(page, live_server + "/communes")
    page.evaluate("window.__sameDocument = true")
    field = commune_field(page)
    field.click()
    field.press_sequentially(typed, delay=60)  # like a person: the answer comes while typing
    expect(result_region(page)).to_contain_text("Oui", timeout=5000)
    expect(result_region(page)).to_contain_text(commune)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    expect(page).to_have_url(re.compile(r"/communes$"))
    # The answer leads on to the application with the commune filled in.
    result_region(page).get_by_role("link", name="Adhérer").click()
    expect(page).to_have_url(re.compile(r"/adherer\?commune="))
    expect(page.get_by_label("Commune", exact=False).first).to_have_value(commune)
    assert_no_console_errors(page)


def test_live_checker_says_not_yet_outside_the_area(page, live_server):
    goto(page, live_server + "/communes")
    page.evaluate("window.__sameDocument = true")
    commune_field(page).press_sequentially("Clermont-Ferrand", delay=40)
    expect(result_region(page)).to_contain_text("Pas encore", timeout=5000)
    # A way to stay informed.
    expect(
        result_region(page).get_by_role("textbox", name=re.compile("e-mail", re.I))
    ).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert_no_console_errors(page)


def test_checker_result_is_accessible_after_the_swap(page, live_server):
    goto(page, live_server + "/communes")
    commune_field(page).press_sequentially("sainte foy st sulpice", delay=30)
    expect(result_region(page)).to_contain_text("Sainte-Foy-Saint-Sulpice", timeout=5000)
    expect(result_region(page)).to_have_attribute("aria-live", "polite")
    assert_no_axe_violations(page)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("boen", "Oui"), ("Debats Riviere d'Orpra", "Solore-en-Forez"), ("Lyon", "Pas encore")],
)
def test_checker_without_javascript_is_a_plain_get(make_page, live_server, typed, expected):
    page = make_page(java_script_enabled=False)
    goto(page, live_server + "/communes")
    commune_field(page).fill(typed)
    with page.expect_navigation():
        page.get_by_role("button", name="Vérifier").click()
    assert "commune=" in page.url
    expect(result_region(page)).to_contain_text(expected)
    expect(commune_field(page)).to_have_value(typed)


# --------------------------------------------------------------------------------------------
# Accessibility and layout of every public page


@pytest.mark.parametrize("size", [PHONE, TABLET], ids=["phone", "tablet"])
@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_page_is_accessible(make_page, live_server, url, size):
    page = make_page(viewport=size)
    goto(page, live_server + url, 404 if url == "/pas-une-page" else 200)
    assert_no_axe_violations(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at {size[0]}px wide"
    assert_no_console_errors(page, ignore=MISSING_RESOURCE if url == "/pas-une-page" else ())


@pytest.mark.parametrize("size", [PHONE, TABLET], ids=["phone", "tablet"])
def test_application_form_with_errors_is_accessible(make_page, live_server, size):
    page = make_page(viewport=size)
    goto(page, live_server + "/adherer")
    page.get_by_label("Prénom").fill("<b>Jean</b>")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_load_state()
    expect(page.locator(".error, [role=alert]").first).to_be_visible()
    # What was typed is kept, escaped (shown as text, not as markup).
    expect(page.get_by_label("Prénom")).to_have_value("<b>Jean</b>")
    assert page.locator("main b", has_text="Jean").count() == 0
    assert_no_axe_violations(page)
    assert_no_console_errors(page, ignore=(r"status of 422",))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_error_summary_takes_the_focus_and_leads_to_each_field(
    make_page, live_server, javascript
):
    """On a long form, a phone user must not hunt for the fields to correct: the summary has
    the focus (autofocus, without JavaScript too) and each entry is a link to its field."""
    page = make_page(viewport=PHONE, java_script_enabled=javascript)
    goto(page, live_server + "/adherer")
    page.get_by_label("Prénom").fill("Jean")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_load_state()
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Nom", exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"#last_name$"))
    expect(page.get_by_label("Nom", exact=True)).to_be_in_viewport()
    if javascript:  # axe-core runs in the page: not without JavaScript
        assert_no_axe_violations(page)


def test_menu_fits_a_phone(make_page, live_server):
    page = make_page(viewport=PHONE)
    goto(page, live_server + "/")
    for name in ("Adhérer", "English"):
        link = page.get_by_role("banner").get_by_role("link", name=name).first
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24, (
            f"{name}: target {box['width']}x{box['height']}"
        )
        assert box["x"] + box["width"] <= PHONE[0], f"{name} is cut off at the right edge"
