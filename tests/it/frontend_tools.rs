//! The gateway as the frontend ecosystem's own tools see it, run with
//! `node` from the pinned npm project in `tests/js/` (`npm ci --prefix
//! tests/js` installs it): graphql-js validates every example query (every
//! rule of the specification, which async-graphql does not all enforce),
//! GraphQL Code Generator turns each into TypeScript that `tsc --strict`
//! accepts, and graphql-http's server audit finds no warning against a
//! running gateway.
//!
//! Without `node` or `tests/js/node_modules`, these tests say what they
//! skipped and pass; with `OFFER_GATEWAY_CI` set (as `.ci/run` does) they
//! fail instead.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// The npm project of the tools.
const JS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");

/// The longest a script may run: far above what each takes (seconds).
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Why the tools cannot run here, if they cannot: `node` is not
/// installed, or the npm project's packages are not.
async fn missing_tools() -> Option<String> {
    let version = tokio::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    match version {
        Ok(output) if output.status.success() => {}
        Ok(output) => return Some(format!("`node --version` failed: {}", output.status)),
        Err(err) => return Some(format!("`node` cannot run ({err})")),
    }
    if !Path::new(JS).join("node_modules").is_dir() {
        return Some("tests/js/node_modules is missing: run `npm ci --prefix tests/js`".to_owned());
    }
    None
}

/// Whether `test` can run: when the tools are missing, fails under
/// `OFFER_GATEWAY_CI`, and otherwise says on the terminal (past the test
/// harness's capture) that `test` was skipped.
async fn tools_for(test: &str) -> bool {
    let Some(why) = missing_tools().await else {
        return true;
    };
    let ci = std::env::var_os("OFFER_GATEWAY_CI").is_some_and(|v| !v.is_empty());
    assert!(
        !ci,
        "{test}: {why} (OFFER_GATEWAY_CI is set: CI must run the frontend tools)"
    );
    // Written to the process's stderr directly: the harness would swallow
    // an `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED frontend_tools::{test}: {why}; set OFFER_GATEWAY_CI to make this a failure"
    );
    false
}

/// Runs `node <script> <args>` in `tests/js` within [`TIME_LIMIT`]
/// (killed past it, or when the test fails); returns whether it
/// succeeded and what it printed.
async fn node(script: &str, args: &[&str]) -> (bool, String) {
    let child = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(JS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let output = tokio::time::timeout(TIME_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("node {script} ran longer than {TIME_LIMIT:?} (killed)"))
        .expect("node's output");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[tokio::test]
async fn every_example_query_validates_with_graphql_js() {
    if !tools_for("every_example_query_validates_with_graphql_js").await {
        return;
    }
    let (ok, printed) = node("validate.mjs", &[env!("CARGO_MANIFEST_DIR")]).await;
    assert!(
        ok,
        "graphql-js refuses examples that async-graphql runs:\n{printed}"
    );
    assert!(printed.contains(" examples valid"), "{printed}");
}

#[tokio::test]
async fn every_example_query_generates_typescript_that_type_checks() {
    if !tools_for("every_example_query_generates_typescript_that_type_checks").await {
        return;
    }
    let (ok, printed) = node("codegen.mjs", &[env!("CARGO_MANIFEST_DIR")]).await;
    assert!(
        ok,
        "GraphQL Code Generator or tsc --strict failed:\n{printed}"
    );
}

#[cfg(feature = "sim")]
#[tokio::test]
async fn the_graphql_http_server_audit_finds_no_warning_or_error() {
    if !tools_for("the_graphql_http_server_audit_finds_no_warning_or_error").await {
        return;
    }
    let gateway = crate::common::TestGateway::start().await;
    let (ok, printed) = node("audit.mjs", &[&gateway.url]).await;
    assert!(ok, "graphql-http's audit of the gateway:\n{printed}");
    let summary = printed
        .lines()
        .find(|line| line.starts_with("audit of "))
        .expect("the audit's summary line");
    assert!(
        summary.ends_with(" 0 warn, 0 error"),
        "{summary}\n{printed}"
    );
    let audited: usize = summary
        .split_once(": ")
        .and_then(|(_, counts)| counts.split(' ').next())
        .and_then(|ok| ok.parse().ok())
        .expect("the count of passed audits");
    assert!(
        audited >= 60,
        "graphql-http 1.23.1 runs 61 audits: {summary}"
    );
}
