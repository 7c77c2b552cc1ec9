"""The site as a new user sees it in Chromium: browse, sort, filter, read, search, sign up."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AUC = "AUC@10 (inter-ocular)"


def column_values(page, metric: str) -> list[float]:
    return page.evaluate(
        """(metric) => {
            const headers = Array.from(document.querySelectorAll('#sota-table thead th'));
            const index = headers.findIndex((th) => th.dataset.metric === metric);
            return Array.from(document.querySelectorAll('#sota-table tbody tr'))
                .map((row) => row.cells[index].dataset.value)
                .filter((text) => text !== '').map(Number);
        }""",
        metric,
    )


def test_it_walks_from_home_to_a_leaderboard_and_a_paper(page, site):
    page.goto(site + "/")
    page.get_by_role("navigation", name="Popular tasks").get_by_role("link", name="Face Alignment").click()
    page.wait_for_url("**/task/face-alignment")
    page.locator("table.boards").get_by_role("link", name="WFLW", exact=True).click()
    page.wait_for_url("**/sota/face-alignment-on-wflw")
    assert page.locator("#sota-table tbody tr").count() == 37

    # The chart: one point per dated result, hover shows model and value.
    page.wait_for_function("() => window.Chart && Chart.getChart('sota-chart')")
    points = page.evaluate("() => Chart.getChart('sota-chart').data.datasets[0].data.length")
    assert points == 37

    # Sort by AUC in place: higher is better, so descending first.
    auc_header = page.locator(f'#sota-table th[data-metric="{AUC}"]')
    auc_header.get_by_role("link").click()
    assert auc_header.get_attribute("aria-sort") == "descending"
    values = column_values(page, AUC)
    assert values == sorted(values, reverse=True) and values[0] == 63.81
    assert "metric=AUC" in page.url
    assert page.locator("#sota-table tbody tr").first.locator("td.rank").inner_text() == "1"
    auc_header.get_by_role("link").click()  # again: worst first
    assert column_values(page, AUC) == sorted(values)
    auc_header.get_by_role("link").click()
    assert column_values(page, AUC) == values

    # Filter to results trained with extra data (the select submits itself).
    page.get_by_label("Extra training data").select_option("with")
    page.wait_for_url("**extra=with**")
    rows = page.locator("#sota-table tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("th.model .model-name").inner_text() == "Awing"
    assert page.locator(f'#sota-table th[data-metric="{AUC}"]').get_attribute("aria-sort") == "descending"

    rows.first.get_by_role("link", name="Adaptive Wing Loss for Robust Face Alignment", exact=False).click()
    page.wait_for_url("**/paper/adaptive-wing-loss-for-robust-face-alignment")
    assert page.locator("#paper-results tbody tr").count() == 60
    page.go_back()
    page.wait_for_url("**/sota/face-alignment-on-wflw?**")
    assert page.locator("#sota-table tbody tr").count() == 1
    assert page.js_errors == []


def test_it_shows_model_and_value_when_hovering_a_chart_point(page, site):
    page.goto(site + "/sota/face-alignment-on-wflw")
    page.wait_for_function("() => window.Chart && Chart.getChart('sota-chart')")
    point = page.evaluate(
        """() => {
            const element = Chart.getChart('sota-chart').getDatasetMeta(0).data[0];
            return {x: element.x, y: element.y};
        }"""
    )
    box = page.locator("#sota-chart").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_function("() => Chart.getChart('sota-chart').tooltip.opacity > 0")
    label = page.evaluate(
        """() => {
            const chart = Chart.getChart('sota-chart');
            return chart.options.plugins.tooltip.callbacks.label(chart.tooltip.dataPoints[0]);
        }"""
    )
    assert label == "SDM: 10.29 (2013-06-01)"  # the earliest dated result


def test_it_finds_the_awing_paper_by_searching_adaptive_wing(page, site):
    page.goto(site + "/")
    page.get_by_role("searchbox", name="Search papers, tasks, datasets and methods").first.fill("adaptive wing")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=adaptive+wing")
    link = page.get_by_role("link", name="Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression")
    assert link.count() == 1
    link.click()
    page.wait_for_url("**/paper/adaptive-wing-loss-for-robust-face-alignment")


def test_it_signs_up_logs_in_creates_a_token_and_logs_out(page, site):
    page.goto(site + "/accounts/signup/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password", exact=True).fill("too-short")
    page.get_by_label("Password confirmation").fill("different")
    page.get_by_role("button", name="Sign up").click()
    assert "didn’t match" in page.locator("#id_password2_errors").inner_text()

    page.get_by_label("Password", exact=True).fill("compilers-and-cobol-1906")
    page.get_by_label("Password confirmation").fill("compilers-and-cobol-1906")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/profile/")
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(site + "/")

    page.goto(site + "/accounts/login/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("compilers-and-cobol-1906")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/profile/")
    page.get_by_role("button", name="Create API token").click()
    token = page.get_by_label("Your token").input_value()
    assert len(token) == 40
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(site + "/")
    assert page.get_by_role("link", name="Log in").is_visible()


def test_it_fits_the_leaderboard_on_a_phone_without_sideways_page_scrolling(phone, site):
    phone.goto(site + "/sota/face-alignment-on-wflw")
    sizes = phone.evaluate(
        """() => {
            const box = document.querySelector('.table-scroll');
            return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
                    box: box.clientWidth, table: box.scrollWidth};
        }"""
    )
    assert sizes["page"] <= sizes["viewport"] == 390
    assert sizes["table"] > sizes["box"], "the table scrolls inside its own box"
    phone.evaluate("() => window.scrollTo(0, document.querySelector('#table-title').offsetTop - 300)")
