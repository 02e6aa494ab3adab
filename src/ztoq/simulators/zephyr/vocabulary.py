"""Words and templates the dataset generator draws from (kept apart so generate.py stays logic).

The texts look like what QA teams write in Zephyr: HTML from the rich-text editor (``<p>``,
``<b>``, ``<br>``), test data with ``key = value`` pairs, Gherkin for BDD scripts, and on
purpose a few hostile strings: emoji, right-to-left scripts, combining characters and
``<script>``-like text that a careless importer would render as markup.
"""

from __future__ import annotations

TEST_CASE_ROOT_FOLDERS: tuple[str, ...] = (
    "Authentication",
    "Checkout",
    "Search",
    "Reporting",
    "Administration",
    "Mobile",
    "Public API",
    "Notifications",
    "Billing",
    "Onboarding",
    "Integrations",
    "Localization · Übersetzung 🌍",
)
TEST_CASE_CHILD_FOLDERS: tuple[str, ...] = (
    "Smoke",
    "Regression",
    "Edge cases",
    "Negative",
    "Accessibility",
    "A/B tests",
    "Performance",
)
TEST_CASE_GRANDCHILD_FOLDERS: tuple[str, ...] = (
    "Chrome",
    "Firefox",
    "iOS",
    "Android",
    "Legacy",
    "Admin role",
)
TEST_CASE_DEEPEST_FOLDERS: tuple[str, ...] = ("Sprint 12 backlog", "Archived", "Needs review")

TEST_CYCLE_FOLDERS: dict[str, tuple[str, ...]] = {
    "Releases": ("2024.1", "2024.2", "2024.3"),
    "Sprints": ("Q1", "Q2", "Q3", "Q4"),
    "Nightly": (),
}
TEST_PLAN_FOLDERS: dict[str, tuple[str, ...]] = {"Release plans": ("2024",), "Audits": ()}

VERBS: tuple[str, ...] = (
    "Verify",
    "Check",
    "Validate",
    "Ensure",
    "Confirm",
    "Test",
)
OBJECTS: tuple[str, ...] = (
    "login with valid credentials",
    "password reset e-mail",
    "cart total after coupon",
    "search results pagination",
    "CSV export of the monthly report",
    "role change by an administrator",
    "push notification opt-out",
    "invoice PDF rendering",
    "signup with an existing e-mail",
    "OAuth token refresh",
    "webhook retry on timeout",
    "session expiry after inactivity",
    "currency formatting",
    "bulk delete confirmation",
    "file upload size limit",
)
QUALIFIERS: tuple[str, ...] = (
    "",
    "on a slow network",
    "for a new user",
    "with two-factor authentication",
    "in dark mode",
    "after a page reload",
    "for the EU region",
    "with 10,000 records",
    "when the API answers 503",
)
#: Names that must survive a migration byte for byte.
HOSTILE_NAMES: tuple[str, ...] = (
    "Anmeldung prüfen — Überprüfung 🚀✓ (בדיקת התחברות)",
    "التحقق من تسجيل الدخول · ログイン確認 · e\u0301le\u0300ve",
    'Login form rejects <script>alert("x")</script> in the user name',
    'Search for "O\'Brien" & <b>bold</b> text; DROP TABLE cases;--',
)

LABELS: tuple[str, ...] = (
    "regression",
    "smoke",
    "api",
    "ui",
    "automation-candidate",
    "flaky",
    "P1",
    "mobile",
    "i18n",
)

STEP_ACTIONS: tuple[str, ...] = (
    "Open the <b>{page}</b> page",
    "Enter the test data into the {field} field",
    "Click <b>{button}</b>",
    "Wait until the spinner disappears<br>(at most 5 seconds)",
    "Reload the page",
    "Call <code>GET /api/{page}</code> with the session token",
    "Log out and log in again",
    "Switch the language to <i>Deutsch</i>",
)
STEP_RESULTS: tuple[str, ...] = (
    "The {page} page is displayed",
    "The {field} field shows no validation error",
    "A confirmation message appears:<br><i>Saved successfully</i>",
    "The response status is <b>200</b> and the body lists the items",
    "The user is redirected to the dashboard",
    "No error is logged in the browser console",
)
PAGES: tuple[str, ...] = ("login", "checkout", "settings", "reports", "users", "orders")
FIELDS: tuple[str, ...] = ("e-mail", "password", "coupon", "search", "amount", "date")
BUTTONS: tuple[str, ...] = ("Save", "Submit", "Next", "Apply", "Export", "Delete")
TEST_DATA: tuple[str, ...] = (
    "username = ada@example.com<br>password = C0rrect-Horse",
    "coupon = SAVE10; amount = 99.90 EUR",
    "query = naïve café ☕",
    "rows = 10000",
    "locale = he-IL (עברית)",
)
PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("username", "DEFAULT_VALUE", "admin"),
    ("password", "MANUAL_INPUT", ""),
    ("environment", "DEFAULT_VALUE", "staging"),
    ("locale", "DEFAULT_VALUE", "de-DE"),
)

OBJECTIVES: tuple[str, ...] = (
    "<p>Ensure the feature behaves as specified in the acceptance criteria.</p>"
    "<br>Covers <b>happy path</b> only.",
    "<p>Guard against the regression reported by support.</p><br>See the linked story for details.",
    "To make sure users can complete the flow without errors<br>on every supported browser.",
    "<p>Verify error handling: <i>no stack trace</i> is shown to the user.</p>",
)
PRECONDITIONS: tuple[str, ...] = (
    "User is logged in<br>Feature flag <code>new-checkout</code> is enabled",
    "The test tenant is reset to the baseline data set",
    "<ol><li>Admin account exists</li><li>Mail catcher is running</li></ol>",
)
PLAIN_SCRIPTS: tuple[str, ...] = (
    "1. Open the application<br>2. Log in as a regular user<br>3. Check the dashboard widgets load",
    "Run the exploratory charter for the reporting module for 30 minutes.<br>Note anything unexpected.",
    "Compare the exported CSV with the expected file attached to the story.",
)
BDD_SCRIPTS: tuple[str, ...] = (
    "Given a registered user\nWhen the user logs in with a valid password\nThen the dashboard is shown",
    'Given a cart with 2 items\nAnd the coupon "SAVE10"\n'
    "When the user checks out\nThen the total is reduced by 10%",
    "Given the API is unavailable\nWhen the user opens the reports page\n"
    "Then a friendly error message is shown",
)
COMMENTS: tuple[str, ...] = (
    "Passed on the second attempt after clearing the cache.",
    "Failed: the button stays disabled.<br>See the linked defect.",
    "Blocked by the staging outage 🙁",
    "Retest after the hotfix is deployed — Überprüfung nötig.",
    "<b>Note:</b> slow response (8 s) but within the limit.",
)
ACTUAL_FAILURES: tuple[str, ...] = (
    "Error 500 returned<br>Trace id: 7f3a9c",
    "The confirmation message never appears",
    "Wrong total: 109.90 instead of 99.90",
)
CYCLE_NAMES: tuple[str, ...] = (
    "Sprint {n} Regression",
    "Release 2024.{n} Smoke",
    "Nightly run #{n}",
    "Hotfix {n} verification",
    "Exploratory session {n} — Übersicht",
)
PLAN_NAMES: tuple[str, ...] = ("Release 2024.{n} Test Plan", "Quarterly audit {n}", "Mobile launch plan {n}")
RELEASE_TRAINS: tuple[str, ...] = ("RT-Blue", "RT-Green", "RT-Orange")
WEB_LINKS: tuple[tuple[str, str], ...] = (
    ("https://confluence.example.com/display/QA/Test+Strategy", "Test strategy"),
    ("https://github.com/example/app/pull/1234", "Pull request with the fix"),
    ("https://example.com/specs/checkout?v=2&lang=de", "Checkout spec (DE) — Entwurf"),
)
