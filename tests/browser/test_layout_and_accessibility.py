"""Every main page at a phone's and a laptop's width, light and dark: no sideways scrolling,
no number split across lines, no serious or critical axe-core (WCAG A/AA) violation; and the
SotA chart's steps, ticks, tooltips and links."""

import datetime
import itertools
import re
from pathlib import Path

import pytest

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "a-long-test-password-1906"

PAGES = [
    "/",
    "/tasks/",
    "/task/face-alignment",
    "/sota/face-alignment-on-wflw",
    "/sota/face-alignment-on-300w",
    "/datasets/",
    "/dataset/wflw",
    "/papers/",
    "/paper/adaptive-wing-loss-for-robust-face-alignment",
    "/methods/",
    "/method/adaptive-wing-loss",
    "/author/xinyao-wang",
    "/search/?q=wing",
    "/about/",
    "/benchmarks/",
    "/benchmarks/wflw-demo/",
    "/submit/",
    "/accounts/login/",
    "/accounts/signup/",
    "/no-such-page/",
]
# Signed in as staff: the upload form, the profile and a submission with its buttons.
SIGNED_IN_PAGES = ["/submit/", "/accounts/profile/", "{done}", "{queued}"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.exists(), "axe-core is a devDependency: run `make install` (npm install)"
    return AXE.read_text()


@pytest.fixture
def world(site, settings, tmp_path):
    """The demo, its WFLW benchmark, and a staff member's two submissions: one evaluated, one queued."""
    from django.contrib.auth.models import User

    from leaderboard.verification import services
    from leaderboard.verification.demo import load_demo_benchmarks
    from leaderboard.verification.models import Benchmark, EvaluationRun
    from tests.verification.conftest import predictions_json

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BENCHMARKS_ROOT = tmp_path / "benchmarks"
    load_demo_benchmarks(["wflw-demo"])
    benchmark = Benchmark.objects.get(slug="wflw-demo")
    staff = User.objects.create_user("ada", password=PASSWORD, is_staff=True)

    def submit(name: str, seed: int):
        upload = services.Upload(
            kind="predictions",
            filename=f"{name}.json",
            data=predictions_json(benchmark, seed=seed),
            model_name=name,
        )
        return services.submit(staff, benchmark, upload)

    done = submit("HRNet-W18 with adaptive wing loss, trained on 98 landmarks", 1)
    services.evaluate(EvaluationRun.objects.filter(submission=done).latest("id").pk, "browser-test")
    queued = submit("Queued network", 2)
    return {"site": site, "done": f"/submissions/{done.pk}/", "queued": f"/submissions/{queued.pk}/"}


def open_page(browser, width: int, scheme: str = "light"):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return context, page


def sign_in(page, site: str) -> None:
    page.goto(site + "/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/profile/")


def check_page(page, axe_source: str, width: int) -> dict:
    """What is wrong with the page open in `page` (empty lists when nothing is)."""
    page.wait_for_load_state("networkidle")
    page.evaluate(axe_source)
    violations = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations
                .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
        }""",
        WCAG_AA,
    )
    # A number, a date or a badge whose text wraps has more than one line box.
    split = page.evaluate(
        """() => Array.from(document.querySelectorAll('td.num, th.num:not(.metric), time, .badge, .tag, .rank'))
            .filter((el) => el.offsetParent !== null && el.closest('details:not([open])') === null)
            .filter((el) => {
                const range = document.createRange();
                range.selectNodeContents(el);
                const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
                return tops.size > 1;
            })
            .map((el) => el.textContent.trim())"""
    )
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    return {"axe": violations, "split": split, "wide": scroll_width if scroll_width > width else None}


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")), full_page=True)


@pytest.mark.parametrize("width", [390, 1366])
def test_every_main_page_fits_keeps_numbers_whole_and_passes_axe(browser, world, axe_source, width):
    site = world["site"]
    problems = {}
    context, page = open_page(browser, width)
    for path in PAGES:
        page.goto(site + path)
        found = check_page(page, axe_source, width)
        if any(found.values()):
            problems[path] = found
        screenshot(page, f"layout-{width}-{path}")
    sign_in(page, site)
    for path in SIGNED_IN_PAGES:
        path = path.format(**world)
        page.goto(site + path)
        found = check_page(page, axe_source, width)
        if any(found.values()):
            problems[path] = found
        screenshot(page, f"layout-{width}-signed-in-{path}")
    assert page.js_errors == []
    context.close()
    if problems:
        pytest.fail("\n".join(f"{path}: {found}" for path, found in problems.items()))


def test_the_staff_and_owner_buttons_are_readable(browser, world, axe_source):
    """Submit, Cancel the run and Re-run: text and background differ (they were white on white)."""
    site = world["site"]
    context, page = open_page(browser, 1366)
    sign_in(page, site)
    buttons = [
        ("/submit/", "Submit"),
        (world["queued"], "Cancel the run"),
        (world["done"], "Re-run"),
    ]
    for path, name in buttons:
        page.goto(site + path)
        button = page.get_by_role("button", name=name, exact=True)
        colours = button.evaluate(
            "(el) => { const s = getComputedStyle(el); return [s.color, s.backgroundColor]; }"
        )
        assert colours[0] != colours[1], (path, name, colours)
        assert contrast(*colours) >= 4.5, (path, name, colours)
    context.close()


def luminance(css: str) -> float:
    red, green, blue = (int(x) / 255 for x in re.findall(r"[\d.]+", css)[:3])

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    "path",
    ["/", "/sota/face-alignment-on-wflw", "/paper/adaptive-wing-loss-for-robust-face-alignment", "/submit/"],
)
def test_a_dark_colour_scheme_gets_a_dark_page_that_keeps_its_contrast(browser, site, axe_source, path):
    context, page = open_page(browser, 1366, scheme="dark")
    page.goto(site + path)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("() => getComputedStyle(document.body).color")
    assert luminance(background) < 0.05 and contrast(text, background) >= 7
    found = check_page(page, axe_source, 1366)
    screenshot(page, f"dark-{path}")
    context.close()
    assert found == {"axe": [], "split": [], "wide": None}


def test_the_leaderboard_fits_a_laptop_screen_with_every_column(browser, site):
    """At 1366 px, 300W's six metric columns, the paper and the date all show without scrolling."""
    context, page = open_page(browser, 1366)
    page.goto(site + "/sota/face-alignment-on-300w")
    sizes = page.evaluate(
        """() => {
            const box = document.querySelector('#sota-table').closest('.table-scroll');
            return {box: box.clientWidth, table: box.scrollWidth, columns: document.querySelectorAll('#sota-table thead th').length};
        }"""
    )
    assert sizes["columns"] == 2 + 6 + 2
    assert sizes["table"] <= sizes["box"]
    assert page.locator(".scroll-hint").is_hidden()
    # Every row shows a value: the rows without the primary metric have the others in view.
    empty = page.evaluate(
        """() => Array.from(document.querySelectorAll('#sota-table tbody tr'))
            .filter((row) => !Array.from(row.querySelectorAll('td.num[data-value]')).some((td) => td.dataset.value !== ''))
            .map((row) => row.querySelector('th.model').textContent)"""
    )
    assert empty == []
    context.close()


def test_on_a_phone_the_leaderboard_says_it_scrolls_and_keeps_the_model_in_view(browser, site):
    context, page = open_page(browser, 390)
    page.goto(site + "/sota/face-alignment-on-300w")
    hint = page.locator(".scroll-hint")
    assert hint.is_visible()
    assert page.locator(".scroll-frame.more-right").count() == 1
    box = page.locator("#sota-table").locator("xpath=ancestor::div[contains(@class,'table-scroll')]")
    box.evaluate("(el) => { el.scrollLeft = el.scrollWidth; el.dispatchEvent(new Event('scroll')); }")
    page.wait_for_function("() => document.querySelector('.scroll-frame').classList.contains('more-left')")
    model = page.locator("#sota-table tbody tr").first.locator("th.model")
    frame = box.bounding_box()
    assert abs(model.bounding_box()["x"] - frame["x"]) < 2, "the model column sticks to the left edge"
    screenshot(page, "phone-leaderboard-scrolled")
    context.close()


def test_the_chart_steps_at_the_dates_that_set_them_and_its_points_lead_to_their_rows(browser, site):
    context, page = open_page(browser, 1366)
    page.goto(site + "/sota/face-alignment-on-wflw")
    page.wait_for_function("() => window.Chart && Chart.getChart('sota-chart')")
    chart = page.evaluate(
        """() => {
            const chart = Chart.getChart('sota-chart');
            const best = chart.data.datasets[1];
            return {stepped: best.stepped, best: best.data.map((p) => [new Date(p.x).toISOString().slice(0, 10), p.y]),
                    ticks: chart.scales.x.ticks.map((t) => new Date(t.value).toISOString().slice(0, 10)),
                    labels: chart.scales.x.ticks.map((t) => t.label)};
        }"""
    )
    # The line holds each best until the date of the result that beat it ('before': the
    # vertical drop is drawn at the later point), and 9.07 starts at CFSS's date, 2015-06-07.
    assert chart["stepped"] == "before"
    assert ["2015-06-07", 9.07] in chart["best"]
    assert not any(date < "2015" and value == 9.07 for date, value in chart["best"])
    # One vertex per improvement (lower is better here), and the last one held to the latest result.
    values = [value for _, value in chart["best"]]
    assert all(later < earlier for earlier, later in itertools.pairwise(values[:-1])) and values[-1] == values[-2]
    assert all(tick.endswith("-01-01") for tick in chart["ticks"]) and 3 <= len(chart["ticks"]) <= 10
    assert all(re.fullmatch(r"\d{4}", label) for label in chart["labels"])

    # Hover a point: model, value, date; then its paper and rank.
    point = page.evaluate(
        """() => {
            const chart = Chart.getChart('sota-chart');
            const index = chart.data.datasets[0].data.findIndex((p) => p.model === 'CFSS');
            const element = chart.getDatasetMeta(0).data[index];
            return {x: element.x, y: element.y, id: chart.data.datasets[0].data[index].id};
        }"""
    )
    box = page.locator("#sota-chart").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_function("() => Chart.getChart('sota-chart').tooltip.opacity > 0")
    lines = page.evaluate(
        """() => {
            const chart = Chart.getChart('sota-chart');
            const item = chart.tooltip.dataPoints[0];
            const callbacks = chart.options.plugins.tooltip.callbacks;
            return [callbacks.label(item), ...callbacks.afterLabel(item)];
        }"""
    )
    assert lines[0] == "CFSS: 9.07 (2015-06-07)"
    assert lines[1] == "Face alignment by coarse-to-fine shape searching"
    assert lines[2].startswith("Rank 32 ·")

    # Click it: the page goes to its row, which is highlighted.
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_function(f"() => window.location.hash === '#result-{point['id']}'")
    row = page.locator(f"#result-{point['id']}")
    assert row.locator("th.model").inner_text().startswith("CFSS")
    assert row.evaluate("(el) => el.matches(':target')")
    assert row.locator("td.rank").inner_text() == "32"
    screenshot(page, "chart-click-goes-to-row")
    assert page.js_errors == []
    context.close()


def test_verified_and_self_reported_points_are_drawn_apart_with_a_legend(browser, site):
    from leaderboard import services
    from leaderboard.models import Leaderboard, Result

    board = Leaderboard.objects.get(slug="face-alignment-on-wflw")
    Result.objects.filter(dataset=board.dataset, model_name="SLPT").update(provenance=Result.Provenance.VERIFIED)
    services.record_result(
        board, model_name="MyNet", metrics={"NME (inter-ocular)": "4.5"},
        provenance=Result.Provenance.SELF_REPORTED, evaluated_on=datetime.date(2024, 1, 1),
    )
    context, page = open_page(browser, 1366)
    page.goto(site + "/sota/face-alignment-on-wflw")
    page.wait_for_function("() => window.Chart && Chart.getChart('sota-chart')")
    styles = page.evaluate(
        """() => {
            const chart = Chart.getChart('sota-chart');
            const meta = chart.getDatasetMeta(0);
            const out = {};
            chart.data.datasets[0].data.forEach((p, i) => {
                out[p.provenance] = [meta.data[i].options.pointStyle, meta.data[i].options.backgroundColor];
            });
            return out;
        }"""
    )
    assert set(styles) == {"archive", "verified", "self_reported"}
    assert len({tuple(style) for style in styles.values()}) == 3, styles
    legend = page.locator(".chart-legend li").all_inner_texts()
    assert legend[:3] == ["Result from the archive", "Self-reported result", "Verified result"]
    context.close()
