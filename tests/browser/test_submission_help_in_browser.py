"""A first submission in Chromium: from the sign-in explanation to an uploaded sample, and
the API token's copy button."""

import pytest
from playwright.sync_api import expect

from tests.verification.conftest import install_demo, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def benchmark(site, settings, tmp_path):
    settings.MEDIA_ROOT, settings.BENCHMARKS_ROOT = tmp_path / "media", tmp_path / "benchmarks"
    return install_demo()


def test_a_newcomer_signs_up_from_the_submit_page_and_uploads_the_sample(page, site, benchmark, tmp_path):
    page.goto(f"{site}/benchmarks/wflw-demo/")
    sample = tmp_path / "wflw-demo-mean-shape.json"
    with page.expect_download() as download:
        page.locator("#sample-link").click()
    download.value.save_as(sample)
    page.get_by_role("link", name="Submit to this benchmark").click()

    page.wait_for_url("**/submit/?benchmark=wflw-demo")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to submit to WFLW demo (4 faces)"
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase-9")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()

    page.wait_for_url("**/submit/?benchmark=wflw-demo")
    assert page.get_by_label("Benchmark").input_value() == "wflw-demo"
    page.get_by_label("File to upload").set_input_files(str(sample))
    page.get_by_label("Model name").fill("Mean shape")
    page.get_by_label("Paper URL (arXiv or PDF)").fill("https://arxiv.org/abs/1904.07399")
    submit = page.get_by_role("button", name="Submit", exact=True)
    colours = submit.evaluate("(b) => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert colours[0] != colours[1]
    submit.click()
    page.wait_for_url("**/submissions/*/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Mean shape")
    assert page.js_errors == []


def test_the_token_copy_button_copies_the_whole_token(browser, site, live_server):
    user = make_user("alice")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    page.goto(f"{site}/accounts/login/?next=/accounts/profile/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-alice")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/profile/")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#token-key-status")).to_have_text("Copied to the clipboard.")  # the copy is asynchronous
    assert page.evaluate("() => navigator.clipboard.readText()") == user.auth_token.key
    context.close()


def test_without_javascript_the_token_stays_selectable_and_no_dead_button_shows(browser, site, client):
    user = make_user("bob")
    client.force_login(user)
    context = browser.new_context(java_script_enabled=False)
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": site}])
    page = context.new_page()
    page.goto(f"{site}/accounts/profile/")
    assert page.get_by_role("button", name="Copy").count() == 0  # hidden, so not in the accessibility tree
    token = page.get_by_label("Your token")
    assert token.is_visible() and token.input_value() == user.auth_token.key
    context.close()
