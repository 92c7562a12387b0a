"""OIDC sign-in of the web console in a real browser (headless Chromium, Selenium) against a
real `ares serve --oidc-issuer … --oidc-console-client-id …` and a real nanoidp, both started
by ConsoleOIDCBrowserTests.swift: "Sign in with OIDC", nanoidp's login form, back signed in,
a question answered, sign out; an expired token and a forged answer (state mismatch) said in
words. Prints `PASS name` / `FAIL name: why` lines and `SUMMARY pass=N fail=M`. The access
token the browser got is written to --secrets-file (never printed), so that the Swift test
registers it with the run's secret-leak check."""
import argparse
import hashlib
import json
import os
import sys
import time

from selenium.webdriver.common.by import By

from console_test import Console, check, make_driver, report, results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--password-file", required=True, help="the user's password, in a file so it is not on a command line")
    parser.add_argument("--secrets-file", required=True, help="where the access token the browser got is written")
    parser.add_argument("--screenshots", default="")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with open(args.password_file) as file:
        password = file.read().strip()

    started = time.monotonic()
    driver = make_driver(args.chromedriver, args.chromium)
    console = Console(driver, args.url, args.screenshots)
    try:
        run_checks(console, driver, args, password)
    finally:
        driver.quit()
    print(f"MEASURE oidc_browser_seconds {time.monotonic() - started:.1f}", flush=True)
    print(f"SUMMARY pass={results['pass']} fail={results['fail']}", flush=True)
    return 0 if results["fail"] == 0 else 1


def saved_session(driver):
    saved = driver.execute_script("return sessionStorage.getItem('ares.console.session')")
    return (json.loads(saved) or {}) if saved else {}


def session_credential(driver):
    return saved_session(driver).get("credential")


def principal_id(issuer, subject):
    """ares's principal of a token: issuer + subject (OIDCTokenVerifier.principalID)."""
    return "oidc:" + hashlib.sha256(f"{issuer}\0{subject}".encode()).digest()[:12].hex()


def run_checks(console, driver, args, password):
    @check("oidc_sign_in")
    def sign_in():
        console.open("#/ask")
        driver.execute_script("sessionStorage.clear()")
        driver.refresh()
        console.css("#oidc-sign-in")
        console.shot("oidc-signin")
        console.css("#oidc-sign-in").click()
        # nanoidp's own login page, on its own origin.
        console.css("input#username", 20).send_keys(args.user)
        driver.find_element(By.CSS_SELECTOR, "input#password").send_keys(password)
        console.shot("oidc-idp-login")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        console.signed_in()
        who = driver.find_element(By.ID, "who-name").text
        credential = session_credential(driver) or {}
        token = credential.get("token") or ""
        with open(args.secrets_file, "w") as file:
            file.write(token + "\n")
        report(credential.get("kind") == "oidc" and token.count(".") == 2, "oidc_token_kept_in_tab", f"kind={credential.get('kind')}")
        identity = saved_session(driver).get("identity") or {}
        # The principal is the user (issuer + the user's subject), not the console's client.
        report(identity.get("id") == principal_id(args.issuer, args.user) and identity.get("role") == "researcher",
               "oidc_signed_in_as_user", f"id={identity.get('id')} role={identity.get('role')}")
        report("(researcher)" in who, "oidc_header_shows_who", who)
        report(driver.current_url.startswith(args.url) and "code=" not in driver.current_url and "state=" not in driver.current_url,
               "oidc_code_removed_from_address", driver.current_url.split("?")[0])
        console.shot("oidc-signed-in")
    sign_in()

    @check("oidc_ask")
    def ask():
        console.ask("How do I restore a dump?")
        console.css("li.step-completed", 40)
        console.css("article.report", 20)
        report("pg_restore" in driver.find_element(By.CSS_SELECTOR, "article.report").text, "oidc_question_answered")
    ask()

    @check("oidc_sign_out")
    def sign_out():
        console.sign_out()
        report(session_credential(driver) is None and console.css("#oidc-sign-in").is_displayed(), "oidc_sign_out_clears_token")
        report(not driver.find_element(By.ID, "sign-out").is_displayed(), "signed_out_header_has_no_sign_out")
    sign_out()

    @check("oidc_expired")
    def expired():
        # A token whose lifetime has passed: the console signs out and says so.
        console.open("#/ask")
        driver.execute_script("""sessionStorage.setItem('ares.console.session', JSON.stringify({
            credential: { kind: 'oidc', token: 'a.b.c', expiresAt: Date.now() - 1000 },
            identity: { name: 'someone', role: 'researcher', permissions: [] } }))""")
        driver.refresh()
        message = console.css("#signin-message").text
        report("expired" in message and console.css("#oidc-sign-in").is_displayed(), "oidc_expired_token_offers_sign_in", message)
        # A token the server refuses (as a stale one would be) while signed in: same.
        driver.execute_script("""sessionStorage.setItem('ares.console.session', JSON.stringify({
            credential: { kind: 'oidc', token: 'a.b.c', expiresAt: Date.now() + 600000 },
            identity: { name: 'someone', role: 'researcher', permissions: ['listTasks'] } }))""")
        driver.refresh()
        console.go("tasks")
        console.wait(lambda d: "expired" in d.find_element(By.ID, "signin-message").text, 15)
        report(True, "oidc_refused_token_signs_out")
    expired()

    @check("oidc_state_mismatch")
    def state_mismatch():
        driver.get(f"{args.url}/?code=forged&state=forged")
        message = console.css("#signin-message").text
        report("state mismatch" in message, "oidc_state_mismatch_refused", message)
        driver.get(f"{args.url}/")
    state_mismatch()

    @check("oidc_no_script_errors")
    def script_errors():
        # Uncaught exceptions and CSP violations (a blocked token request would be one).
        errors = [e["message"] for e in driver.get_log("browser") if e.get("source") in ("javascript", "security")]
        report(not errors, "oidc_no_script_errors", "; ".join(errors)[:500])
    script_errors()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
