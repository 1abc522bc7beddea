//! GraphiQL, served entirely by the gateway: the page and its files over
//! HTTP, and a headless Chromium (over chromedriver) that loads it with
//! every other host blocked, runs the product page example and reads the
//! answer in the result pane.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::TestGateway;

/// The page's content-security policy, as the README gives it.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     font-src 'self' data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The GraphiQL page, as a browser asks for it.
async fn page(gateway: &TestGateway, query: &str) -> reqwest::Response {
    gateway
        .http
        .get(format!("{}{query}", gateway.url))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap()
}

/// The values of `attribute="…"` in `html`.
fn attributes<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The JSON settings block of the page.
fn settings(html: &str) -> Value {
    let start = html.find("type=\"application/json\">").unwrap() + 24;
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// The vendored file a served name (`name.<hash>.ext`) stands for, if any.
fn vendored(served: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = served.split('.').collect();
    parts.remove(parts.len() - 2);
    let name = parts.join(".");
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/graphiql/vendor");
    std::fs::read_dir(&vendor)
        .unwrap()
        .map(|entry| entry.unwrap().path().join(&name))
        .find(|path| path.is_file())
}

#[tokio::test]
async fn graphiql_page_loads_only_the_gateways_own_files_under_a_strict_policy() {
    let gateway = TestGateway::start().await;
    let response = page(&gateway, "").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["content-security-policy"], POLICY);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(!html.contains("unpkg") && !html.contains("://"), "{html}");
    // No inline script: every script is a file, or the JSON settings.
    assert_eq!(html.matches("<script").count(), 5, "{html}");
    assert_eq!(attributes(&html, "src").len(), 4, "{html}");
    assert_eq!(html.matches("type=\"application/json\"").count(), 1);

    let files: Vec<&str> = attributes(&html, "src")
        .into_iter()
        .chain(
            attributes(&html, "href")
                .into_iter()
                .filter(|h| *h != "data:,"),
        )
        .collect();
    assert_eq!(files.len(), 6, "{files:?}");
    let origin = gateway.url.trim_end_matches("graphql");
    let mut vendored_count = 0;
    for file in files {
        let name = file
            .strip_prefix("graphiql/assets/")
            .unwrap_or_else(|| panic!("{file} is not one of the gateway's assets"));
        let response = gateway
            .http
            .get(format!("{origin}{file}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let headers = response.headers().clone();
        let content_type = if name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(headers["content-type"], content_type, "{file}");
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let bytes = response.bytes().await.unwrap();
        // The name carries the content's hash: a changed file is a new URL.
        let hash = name.split('.').rev().nth(1).unwrap();
        assert!(
            hex::encode(Sha256::digest(&bytes)).starts_with(hash),
            "{file}"
        );
        if let Some(path) = vendored(name) {
            vendored_count += 1;
            assert!(
                std::fs::read(&path).unwrap() == bytes,
                "{file} is not {}",
                path.display()
            );
        }
        let compressed = gateway
            .http
            .get(format!("{origin}{file}"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.headers()["content-encoding"], "gzip", "{file}");
    }
    assert_eq!(vendored_count, 4, "React, ReactDOM, GraphiQL and its CSS");
}

#[tokio::test]
async fn graphiql_offers_the_examples_as_tabs_and_opens_a_named_one() {
    let gateway = TestGateway::start().await;
    let html = page(&gateway, "").await.text().await.unwrap();
    let offered = settings(&html);
    let tabs = offered["tabs"].as_array().unwrap();
    let example_files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "graphql")
        })
        .count();
    assert_eq!(tabs.len(), example_files, "one tab per example file");
    let product_page = include_str!("../../examples/product_page.graphql");
    assert_eq!(
        tabs[0]["query"], product_page,
        "the product page comes first"
    );
    assert!(offered.get("query").is_none(), "{offered}");

    let html = page(&gateway, "?example=compare_offers")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        settings(&html)["query"],
        include_str!("../../examples/compare_offers.graphql")
    );

    let unknown = page(&gateway, "?example=nope").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.text().await.unwrap(),
        "no such example; the examples are: product_page, search_products, \
         compare_offers, marketplace_offer, online_offers_page, offers_by_id\n"
    );
    let missing = gateway
        .http
        .get(
            gateway
                .url
                .replace("/graphql", "/graphiql/assets/graphiql.min.js"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The browser test: Chromium over chromedriver.
#[cfg(unix)]
mod browser {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use fantoccini::wd::WebDriverCompatibleCommand;
    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::{json, Value};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use crate::common::TestGateway;

    /// How long any one wait of the browser test may take.
    const WAIT: Duration = Duration::from_secs(60);

    /// A value of the simulators' data the product page answer holds.
    const PRODUCT_NAME: &str = "Initech Ultra Camping Stove";

    /// `name` on `PATH`.
    fn on_path(name: &str) -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    }

    /// Chromium and chromedriver; when either is missing, `None` after
    /// saying so on the terminal, or a failure under CI
    /// (`OFFER_GATEWAY_CI`, set by `.ci/run`, which installs them).
    fn binaries() -> Option<(PathBuf, PathBuf)> {
        let chromium = on_path("chromium");
        let driver = on_path("chromedriver");
        if let (Some(chromium), Some(driver)) = (chromium.clone(), driver.clone()) {
            return Some((chromium, driver));
        }
        let missing: Vec<&str> = [("chromium", chromium), ("chromedriver", driver)]
            .into_iter()
            .filter(|(_, path)| path.is_none())
            .map(|(name, _)| name)
            .collect();
        let message = format!(
            "SKIPPED the GraphiQL browser test: {} not on PATH \
             (Debian: apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
        if std::env::var_os("OFFER_GATEWAY_CI").is_some() {
            panic!("{message}; under CI (OFFER_GATEWAY_CI) it must run");
        }
        // Straight to the terminal: the test harness hides what passing
        // tests print.
        let _ = writeln!(std::io::stderr(), "{message}");
        None
    }

    /// chromedriver on a port of its choosing, and the Chromium it starts
    /// with a fresh profile: both are killed on drop, also when the test
    /// fails.
    struct Driver {
        child: Child,
        url: String,
        /// Chromium's profile, fresh and empty.
        profile: tempfile::TempDir,
    }

    impl Driver {
        fn start(path: &Path) -> Driver {
            let mut child = Command::new(path)
                .arg("--port=0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let stdout = child.stdout.take().expect("stdout is piped");
            let (port_tx, port_rx) = std::sync::mpsc::channel();
            // Reads every line, so that chromedriver never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(port) = line
                        .strip_prefix("ChromeDriver was started successfully on port ")
                        .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
                    {
                        let _ = port_tx.send(port);
                    }
                }
            });
            // Built before waiting, so that a failure below still kills it.
            let mut driver = Driver {
                child,
                url: String::new(),
                profile: tempfile::tempdir().expect("a temporary directory"),
            };
            let port = port_rx
                .recv_timeout(WAIT)
                .expect("chromedriver prints the port it listens on");
            driver.url = format!("http://127.0.0.1:{port}/");
            driver
        }
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            // chromedriver starts Chromium in a process group of its own,
            // and Chromium's crash handler leaves the family: its processes
            // are chromedriver's descendants and those that name this
            // test's profile, found before chromedriver goes.
            let chromium = chromium_processes(self.child.id(), self.profile.path());
            let _ = self.child.kill();
            let _ = self.child.wait();
            for &pid in &chromium {
                // SAFETY: kill(2) touches no memory; the pid is a process
                // this test's chromedriver started.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            // Gone, or a zombie waiting for init, within a bounded wait.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while std::time::Instant::now() < deadline
                && chromium.iter().any(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .ok()
                        .and_then(|stat| {
                            let after_name = &stat[stat.rfind(')')? + 1..];
                            after_name.split_whitespace().next().map(|s| s != "Z")
                        })
                        .unwrap_or(false)
                })
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The processes descending from `driver`, or whose command line names
    /// `profile`.
    fn chromium_processes(driver: u32, profile: &Path) -> Vec<libc::pid_t> {
        let profile = profile.as_os_str().as_bytes();
        // (pid, parent pid, names the profile) of every process.
        let processes: Vec<(u32, u32, bool)> = std::fs::read_dir("/proc")
            .map(|dir| dir.filter_map(Result::ok).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| {
                let pid = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
                let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
                // `pid (name) state ppid …`; the name may hold anything.
                let after_name = &stat[stat.rfind(')')? + 1..];
                let parent = after_name.split_whitespace().nth(1)?.parse::<u32>().ok()?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let names_profile = cmdline.windows(profile.len()).any(|w| w == profile);
                Some((pid, parent, names_profile))
            })
            .collect();
        let mut found: Vec<u32> = processes
            .iter()
            .filter(|(_, _, names_profile)| *names_profile)
            .map(|(pid, _, _)| *pid)
            .collect();
        let mut parents = vec![driver];
        while let Some(parent) = parents.pop() {
            for (pid, _, _) in processes.iter().filter(|(_, p, _)| *p == parent) {
                if !found.contains(pid) {
                    found.push(*pid);
                }
                parents.push(*pid);
            }
        }
        found
            .into_iter()
            .filter(|pid| *pid != driver)
            .filter_map(|pid| libc::pid_t::try_from(pid).ok())
            .collect()
    }

    /// A proxy that forwards nothing: Chromium is told to send everything
    /// but loopback through it, and it records the first line of every
    /// request (Chromium's own background requests land here too).
    struct Trap {
        port: u16,
        seen: Arc<Mutex<Vec<String>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Trap {
        async fn start() -> Trap {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let record = seen.clone();
            let task = tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    let mut buffer = [0u8; 1024];
                    let read =
                        tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer))
                            .await;
                    let n = read.ok().and_then(Result::ok).unwrap_or(0);
                    let text = String::from_utf8_lossy(&buffer[..n]);
                    let line = text.lines().next().unwrap_or("(nothing)").to_owned();
                    record.lock().unwrap().push(line);
                }
            });
            Trap { port, seen, task }
        }

        fn seen(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Drop for Trap {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// chromedriver's browser console log (`goog:loggingPrefs`), which
    /// WebDriver itself has no command for.
    #[derive(Debug)]
    struct BrowserLog;

    impl WebDriverCompatibleCommand for BrowserLog {
        fn endpoint(
            &self,
            base_url: &url::Url,
            session_id: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
        }

        fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
            (
                axum::http::Method::POST,
                Some(json!({ "type": "browser" }).to_string()),
            )
        }
    }

    /// A Chromium session with every host but loopback blocked twice: no
    /// name resolves, and every request goes to the trap proxy.
    async fn session(chromium: &Path, driver: &Driver, trap: &Trap) -> Client {
        let profile = driver.profile.path().display();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={profile}"),
            "--window-size=1400,1000".to_owned(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            format!("--proxy-server=http://127.0.0.1:{}", trap.port),
            "--proxy-bypass-list=127.0.0.1".to_owned(),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        tokio::time::timeout(
            WAIT,
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&driver.url),
        )
        .await
        .expect("Chromium starts in time")
        .expect("chromedriver starts a Chromium session")
    }

    /// The text of GraphiQL's result pane.
    async fn result_pane(client: &Client) -> String {
        let text = client
            .execute(
                "const pane = document.querySelector('.result-window');\
                 return pane ? pane.innerText : '';",
                vec![],
            )
            .await
            .expect("the page runs a script");
        text.as_str().unwrap_or("").to_owned()
    }

    /// The URLs of every resource the page loaded or tried to.
    async fn resources(client: &Client) -> Vec<String> {
        let names = client
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name);",
                vec![],
            )
            .await
            .expect("the page runs a script");
        serde_json::from_value(names).expect("a list of URLs")
    }

    /// The browser's console messages, and what chromedriver says of
    /// failed loads (a content-security policy violation is one).
    async fn console(client: &Client) -> Vec<Value> {
        let log = client
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver hands over the browser log");
        log.as_array().cloned().unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn graphiql_runs_the_product_page_example_in_chromium_offline() {
        let Some((chromium, driver_path)) = binaries() else {
            return;
        };
        // Synced, so that the product holds its eight offers.
        let gateway = TestGateway::start_synced().await;
        let trap = Trap::start().await;
        let driver = Driver::start(&driver_path);
        let client = session(&chromium, &driver, &trap).await;

        // The fence holds: a host outside loopback is reached only by the trap.
        let _ = client.goto("http://graphiql-test.invalid/").await;
        let seen = trap.seen();
        assert!(
            seen.iter()
                .any(|line| line.contains("graphiql-test.invalid")),
            "the trap proxy saw {seen:?}"
        );

        let url = format!("{}?example=product_page", gateway.url);
        client.goto(&url).await.expect("the page loads");
        let run = client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(".graphiql-execute-button"))
            .await
            .expect("GraphiQL renders its run button");
        run.click().await.expect("the run button clicks");
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut pane = String::new();
        while tokio::time::Instant::now() < deadline {
            pane = result_pane(&client).await;
            if pane.contains("offerCount") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let screenshot = client.screenshot().await.expect("a screenshot");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("graphiql-product-page.png");
        std::fs::write(&path, &screenshot).expect("the screenshot is written");
        let _ = writeln!(
            std::io::stderr(),
            "GraphiQL browser test: screenshot at {}",
            path.display()
        );

        // The documentation explorer reads the schema through the same
        // fetcher (introspection, on in the demo).
        client
            .find(Locator::Css("[aria-label='Show Documentation Explorer']"))
            .await
            .expect("GraphiQL's documentation button")
            .click()
            .await
            .expect("the documentation button clicks");
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(".graphiql-doc-explorer-root-type"))
            .await
            .expect("the documentation explorer shows the root types");
        let docs = client
            .find(Locator::Css(".graphiql-doc-explorer"))
            .await
            .expect("the documentation explorer")
            .text()
            .await
            .expect("its text");
        let console = console(&client).await;
        let resources = resources(&client).await;
        let tab = client
            .find(Locator::Css(".graphiql-tab-active .graphiql-tab-button"))
            .await
            .expect("an active tab")
            .text()
            .await
            .expect("its label");
        client.close().await.expect("the session ends");

        // A content-security policy violation is a console error.
        let problems: Vec<&Value> = console
            .iter()
            .filter(|entry| {
                entry["level"] != "INFO" && entry["level"] != "DEBUG"
                    || entry["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("Content Security Policy"))
            })
            .collect();
        assert!(problems.is_empty(), "browser console: {problems:#?}");
        assert!(
            pane.contains(PRODUCT_NAME)
                && pane.contains("\"gtin\": \"00918882175177\"")
                && pane.contains("\"offerCount\": 8"),
            "the result pane holds no product page answer: {pane:?}"
        );
        assert_eq!(tab.trim(), "ProductPage");
        assert!(docs.contains("query: Query"), "{docs:?}");
        assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");
        let origin = gateway.url.trim_end_matches("graphql");
        assert!(
            resources.len() >= 7 && resources.iter().all(|url| url.starts_with(origin)),
            "the page loaded {resources:#?}, not only from {origin}"
        );
    }
}
