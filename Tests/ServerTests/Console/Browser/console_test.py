"""The web console in a real browser (headless Chromium driven by Selenium) against real
`ares serve` processes started by ConsoleBrowserTests.swift. Prints one `PASS name` or
`FAIL name: why` line per check, `MEASURE name value` lines, and `SUMMARY pass=N fail=M`;
exits 1 when a check fails. Screenshots of each page go to --screenshots."""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

results = {"pass": 0, "fail": 0}


def report(ok, name, detail=""):
    results["pass" if ok else "fail"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else (' (' + detail + ')' if detail else '')}", flush=True)


def check(name):
    """Runs a check function; an exception fails the check with its message."""
    def wrap(function):
        def run(*args, **kwargs):
            try:
                function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - every failure is reported by name
                report(False, name, f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
        return run
    return wrap


def make_driver(chromedriver, chromium):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                     "--disable-extensions", "--no-first-run", "--disk-cache-size=1"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


class Console:
    def __init__(self, driver, base, screenshots):
        self.driver = driver
        self.base = base
        self.screenshots = screenshots

    def wait(self, condition, timeout=15):
        return WebDriverWait(self.driver, timeout).until(condition)

    def css(self, selector, timeout=15):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)), timeout)

    def open(self, hash_path=""):
        self.driver.get(f"{self.base}/{hash_path}")

    def sign_in(self, key):
        self.open("#/ask")
        self.driver.execute_script("sessionStorage.clear()")
        self.driver.refresh()
        field = self.css("form.signin input[name=apiKey]")
        field.clear()
        field.send_keys(key)
        self.driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()

    def signed_in(self):
        self.css("#who-name")
        self.wait(lambda d: d.find_element(By.ID, "who-name").text.strip() != "")

    def sign_out(self):
        self.driver.find_element(By.ID, "sign-out").click()
        self.css("form.signin")

    def shot(self, name):
        if self.screenshots:
            os.makedirs(self.screenshots, exist_ok=True)
            self.driver.save_screenshot(os.path.join(self.screenshots, f"{name}.png"))

    def go(self, page):
        self.driver.execute_script("location.hash = arguments[0]", f"#/{page}")

    def ask(self, question):
        self.go("ask")
        box = self.css("form.ask textarea")
        box.clear()
        box.send_keys(question)
        self.driver.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--researcher-key", required=True)
    parser.add_argument("--viewer-key", required=True)
    parser.add_argument("--ares", required=True, help="the ares binary: this script starts, kills and restarts a server of its own")
    parser.add_argument("--slow-data-dir", required=True, help="a data directory for that server")
    parser.add_argument("--slow-model-url", required=True, help="a model endpoint that never answers: tasks keep running")
    parser.add_argument("--cancel-key", required=True, help="a researcher key of --slow-data-dir")
    parser.add_argument("--upload-file", required=True)
    parser.add_argument("--screenshots", default="")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    driver = make_driver(args.chromedriver, args.chromium)
    console = Console(driver, args.url, args.screenshots)
    try:
        run_checks(console, args)
    finally:
        driver.quit()
    print(f"SUMMARY pass={results['pass']} fail={results['fail']}", flush=True)
    return 0 if results["fail"] == 0 else 1


def run_checks(console, args):
    driver = console.driver

    @check("first_load_size")
    def first_load():
        console.open("")
        console.css("form.signin")
        # Wait until every module has loaded, then add up what crossed the wire.
        time.sleep(0.3)
        sizes = driver.execute_script("""
            const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
            return entries.map(e => [e.name, e.transferSize, e.decodedBodySize]);""")
        transferred = sum(s[1] for s in sizes)
        decoded = sum(s[2] for s in sizes)
        print(f"MEASURE first_load_transferred_bytes {transferred}", flush=True)
        print(f"MEASURE first_load_decoded_bytes {decoded}", flush=True)
        print(f"MEASURE first_load_requests {len(sizes)}", flush=True)
        report(0 < transferred <= 150_000 and len(sizes) >= 10, "first_load_size", f"{transferred} bytes transferred in {len(sizes)} requests")
        console.shot("signin")
    first_load()

    @check("wrong_key_message")
    def wrong_key():
        console.sign_in("ares_000000000000_" + "x" * 43)
        message = console.wait(lambda d: d.find_element(By.ID, "signin-message").text if "did not accept" in d.find_element(By.ID, "signin-message").text else False)
        report("did not accept your API key" in message, "wrong_key_message", message)
        console.sign_in("not-a-key")
        message = console.wait(lambda d: d.find_element(By.ID, "signin-message").text if "did not accept" in d.find_element(By.ID, "signin-message").text else False)
        report("did not accept your API key" in message, "malformed_key_message", message)
        console.driver.find_element(By.CSS_SELECTOR, "form.signin button.secondary").click()
        message = console.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".oidc p.error").text)
        report("needs an API key" in message, "no_key_on_a_keyed_server_message", message)
    wrong_key()

    @check("viewer_cannot_see_admin_pages")
    def viewer():
        console.sign_in(args.viewer_key)
        console.signed_in()
        links = [a.get_attribute("data-page") for a in driver.find_elements(By.CSS_SELECTOR, "#nav a")]
        report("operations" not in links and "ask" in links, "viewer_navigation_has_no_operations", str(links))
        console.go("operations")
        message = console.css("main p.error").text
        report("for admins" in message and "viewer" in message, "viewer_cannot_see_admin_pages", message)
        report(not driver.find_elements(By.CSS_SELECTOR, "main table"), "viewer_sees_no_keys_table")
        console.go("ask")
        report(console.css("form.ask textarea").get_attribute("disabled") is not None, "viewer_cannot_ask")
        console.sign_out()
    viewer()

    @check("ask_live_steps")
    def ask():
        console.sign_in(args.researcher_key)
        console.signed_in()
        console.ask("How do I restore a dump and what does VACUUM FULL lock?")
        console.css("li.step-planned", 20)
        console.css("li.step-evidenceFound", 20)
        console.css("li.step-critiqueIssued", 20)
        console.css("li.step-citationsVerified", 20)
        console.css("li.step-completed", 30)
        console.css("article.report", 20)
        steps = [li.get_attribute("data-step") for li in driver.find_elements(By.CSS_SELECTOR, "ol.timeline li.step")]
        report(steps[0] == "submitted" and "planned" in steps and "evidenceFound" in steps and steps[-1] == "completed", "ask_live_steps", ",".join(steps))
        sub_questions = driver.find_elements(By.CSS_SELECTOR, "li.step-planned ol.subquestions li")
        report(len(sub_questions) >= 1, "plan_shows_sub_questions", f"{len(sub_questions)} sub-questions")
        evidence = driver.find_element(By.CSS_SELECTOR, "li.step-evidenceFound").text
        report("pg_restore" in evidence or "VACUUM" in evidence, "evidence_sentences_shown", evidence[:200])
        chain = console.css("p.chain.ok").text
        report("hash chain intact" in chain, "chain_verified", chain)
        latencies = [int(li.get_attribute("data-latency-ms")) for li in driver.find_elements(By.CSS_SELECTOR, "li.step[data-live=true]")]
        if latencies:
            median = statistics.median(latencies)
            print(f"MEASURE step_latency_ms count={len(latencies)} median={median} max={max(latencies)} all={latencies}", flush=True)
            # A test checks that steps arrive live; how fast is a measurement (the MEASURE line,
            # recorded in BENCHMARKS.md against the 100 ms goal), since a loaded machine stretches it.
            report(median <= 5000, "steps_appear_live", f"median {median} ms, max {max(latencies)} ms over {len(latencies)} live steps")
        else:
            report(False, "steps_appear_live", "no step arrived live")
        report("task-" in driver.current_url, "address_names_the_task", driver.current_url)
        console.shot("ask")
        quality = driver.find_element(By.CSS_SELECTOR, "section.quality").text
        report("Coverage" in quality and "Supported sentences" in quality, "quality_panel", quality[:200])
    ask()

    @check("citation_opens_highlighted_passage")
    def citation():
        button = console.css("article.report button.cite")
        button.click()
        dialog = console.css("dialog#passage-dialog[open]")
        marks = [m.text for m in dialog.find_elements(By.CSS_SELECTOR, "mark")]
        passage = dialog.find_element(By.CSS_SELECTOR, ".passage-text").text
        heading = dialog.find_element(By.CSS_SELECTOR, ".heading-path").text
        report(bool(marks) and all(m and m in passage for m in marks), "citation_opens_highlighted_passage", f"marks={marks}")
        report("Backups" in heading, "citation_shows_heading_path", heading)
        report("backup.md" in dialog.find_element(By.CSS_SELECTOR, ".source-line").text, "citation_shows_source")
        report(any("pg_restore" in m or "VACUUM" in m for m in marks), "highlight_is_the_quoted_sentence", str(marks))
        console.shot("citation")
        dialog.find_element(By.CSS_SELECTOR, "button.close").click()
        console.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog#passage-dialog[open]"))
        report(driver.switch_to.active_element == button, "focus_returns_to_citation")
    citation()

    @check("narrow_window")
    def narrow():
        driver.set_window_size(420, 900)
        time.sleep(0.3)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        report(overflow <= 1, "narrow_window_no_horizontal_scroll", f"overflow {overflow}px")
        console.shot("report-narrow")
        driver.set_window_size(1280, 1000)
    narrow()

    @check("hostile_passage_shows_as_text")
    def hostile():
        console.go("knowledge?q=marker%20sentence%20dangerous%20tags")
        console.css(".column[data-mode=keyword] li.result", 20)
        texts = " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, "li.result .passage-text"))
        pwned = driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")
        images = driver.execute_script("return document.querySelectorAll('main img').length")
        report("<script>window.__pwned=1</script>" in texts and "<img src=x onerror=" in texts, "hostile_passage_shows_as_text", texts[:300])
        report(pwned is None and images == 0, "hostile_passage_runs_no_script", f"__pwned={pwned} images={images}")
        columns = driver.find_elements(By.CSS_SELECTOR, ".columns .column")
        report(len(columns) == 3, "search_three_modes_side_by_side", str(len(columns)))
        console.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=docs-title] tbody tr td"))
        rows = driver.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=docs-title] tbody tr")
        report(len(rows) >= 2 and "backup.md" in rows[0].text + rows[1].text, "documents_with_passage_counts", rows[0].text)
        report(not driver.find_elements(By.CSS_SELECTOR, "form.upload"), "researcher_has_no_upload")
        console.shot("knowledge")
        # The same passage quoted in a report.
        console.ask("What does the marker sentence say about dangerous tags?")
        console.css("article.report", 30)
        text = driver.find_element(By.CSS_SELECTOR, "main").text
        pwned = driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")
        report("<script>" in text and pwned is None, "hostile_report_shows_as_text", f"__pwned={pwned}")
    hostile()

    @check("tasks_page")
    def tasks():
        console.go("tasks")
        console.css("tbody tr[data-task-id]", 15)
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr[data-task-id]")
        report(len(rows) >= 2, "tasks_listed", f"{len(rows)} rows")
        state = driver.find_element(By.CSS_SELECTOR, "form.filters select[name=state]")
        state.find_element(By.CSS_SELECTOR, "option[value=TASK_STATE_CANCELED]").click()
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        console.wait(lambda d: "No tasks match." in d.find_element(By.CSS_SELECTOR, "tbody").text)
        report(True, "tasks_filter_by_state")
        state.find_element(By.CSS_SELECTOR, "option[value='']").click()
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        link = console.css("tbody tr[data-task-id] a")
        console.shot("tasks")
        link.click()
        console.css("li.step-completed", 15)
        console.css("p.chain.ok", 15)
        report(len(driver.find_elements(By.CSS_SELECTOR, "li.step")) >= 6, "task_timeline_from_history")
        console.sign_out()
    tasks()

    @check("admin_operations")
    def operations():
        console.sign_in(args.admin_key)
        console.signed_in()
        console.go("operations")
        console.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "dl.health dd[data-check=eventStore]"))
        server_state = driver.find_element(By.CSS_SELECTOR, "dl.health dd[data-check=server]").text
        store_state = driver.find_element(By.CSS_SELECTOR, "dl.health dd[data-check=eventStore]").text
        report(server_state == "ready" and store_state == "ok", "operations_health", f"{server_state}; {store_state}")
        console.css("dd[data-metric=queue]")
        console.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=requests-title] tbody tr"))
        methods = driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=requests-title] tbody").text
        report("SendStreamingMessage" in methods or "ares/taskEvents" in methods, "operations_request_metrics", methods[:200])
        console.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-key-id]"))
        console.shot("operations")
        before = len(driver.find_elements(By.CSS_SELECTOR, "tr[data-key-id]"))
        role = driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=keys-title] select[name=role]")
        role.find_element(By.CSS_SELECTOR, "option[value=viewer]").click()
        driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=keys-title] input[name=name]").send_keys("made in the console")
        driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=keys-title] button[type=submit]").click()
        secret = console.css(".secret code").text
        console.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-key-id]")) == before + 1)
        report(secret.startswith("ares_"), "admin_creates_key_secret_shown_once", secret[:10] + "…")
        driver.find_element(By.CSS_SELECTOR, ".secret button").click()
        report(not driver.find_elements(By.CSS_SELECTOR, ".secret code"), "key_secret_dismissed")
        # Upload a document to ingest.
        console.go("knowledge")
        upload = console.css("form.upload input[type=file]")
        upload.send_keys(args.upload_file)
        driver.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
        status = console.wait(lambda d: d.find_element(By.CSS_SELECTOR, "form.upload p[role=status]").text
                              if "ingested" in d.find_element(By.CSS_SELECTOR, "form.upload p[role=status]").text else False, 30)
        progress = driver.find_element(By.CSS_SELECTOR, "form.upload progress")
        report(status.startswith("1 document ingested") and progress.get_attribute("value") == progress.get_attribute("max"), "admin_upload_ingests", status)
        console.wait(lambda d: os.path.basename(args.upload_file) in d.find_element(By.CSS_SELECTOR, "section[aria-labelledby=docs-title] tbody").text)
        report(True, "uploaded_document_listed")
        console.sign_out()
    operations()

    @check("reconnect_and_cancel_running_task")
    def cancel():
        port = free_port()
        server = SlowServer(args, port)
        try:
            other = Console(driver, f"http://127.0.0.1:{port}", console.screenshots)
            other.sign_in(args.cancel_key)
            other.signed_in()
            other.ask("Which lock does VACUUM FULL take?")
            other.css(".task-view button.danger", 20)
            other.wait(lambda d: "Following the task live" in d.find_element(By.CSS_SELECTOR, "p.live").text)
            # The server dies under the live view: it says so, then reconnects by itself once
            # the server is back (the task resumes there).
            server.kill()
            lost = other.wait(lambda d: d.find_element(By.CSS_SELECTOR, "p.live").text
                              if "Reconnecting" in d.find_element(By.CSS_SELECTOR, "p.live").text else False, 20)
            report("cannot be reached" in lost, "network_lost_message", lost)
            other.shot("reconnecting")
            server = SlowServer(args, port)
            back = other.wait(lambda d: d.find_element(By.CSS_SELECTOR, "p.live").text
                              if any(w in d.find_element(By.CSS_SELECTOR, "p.live").text for w in ("Reconnected", "Following")) else False, 30)
            report(True, "live_view_reconnects", back)
            button = other.css(".task-view button.danger", 20)
            badge = driver.find_element(By.CSS_SELECTOR, ".task-meta .badge").text
            button.click()
            cancel_rest(other, badge)
        finally:
            server.kill()

    def cancel_rest(other, badge):
        other.css("li.step-canceled", 20)
        other.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".task-meta .badge").text == "canceled")
        reason = driver.find_element(By.CSS_SELECTOR, "li.step-canceled").text
        report(badge in ("queued", "working") and "canceled" in reason, "cancel_running_task", f"was {badge}; {reason}")
        other.shot("cancel")
    cancel()

    @check("no_script_errors")
    def script_errors():
        # Uncaught exceptions and CSP violations of the whole session (failed requests the
        # console handled, such as the wrong key's 401, are network entries, not these).
        errors = [e["message"] for e in driver.get_log("browser") if e.get("source") in ("javascript", "security")]
        report(not errors, "no_script_errors", "; ".join(errors)[:500])
    script_errors()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlowServer:
    """`ares serve` over --slow-data-dir on a fixed port, so that it can be killed and
    started again where the browser expects it."""

    def __init__(self, args, port):
        self.log = open(os.path.join(args.slow_data_dir, f"serve-{port}-{time.time_ns()}.log"), "w")
        self.process = subprocess.Popen([args.ares, "serve", "--port", str(port), "--data-dir", args.slow_data_dir,
                                         "--model-url", args.slow_model_url, "--model", "never-answers"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"ares serve exited with {self.process.returncode}")
                time.sleep(0.05)
        raise RuntimeError("ares serve did not start within 30 s")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


if __name__ == "__main__":
    sys.exit(main())
