//! The command line: `check-config`, `print-schema` and `hash-key`, which
//! work in every build; `simulate`, with the `sim` feature; and, without
//! it, the refusal to start without `--config`.

use std::process::Command;

#[cfg(feature = "sim")]
use crate::child::ChildGuard;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_offer-gateway"))
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");

#[test]
fn the_example_config_passes_check_config() {
    let output = gateway()
        .args(["check-config", EXAMPLE])
        .env("CLOSIENT_API_KEY", "csb_example")
        .env("MERCUR_PASSWORD", "example")
        .env("VIOLET_APP_SECRET", "example")
        .env("VIOLET_PASSWORD", "example")
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{EXAMPLE}: ok (3 upstream instances)\n")
    );
}

#[test]
fn check_config_names_the_missing_secret_and_fails() {
    let output = gateway()
        .args(["check-config", EXAMPLE])
        .env_remove("CLOSIENT_API_KEY")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "upstreams.closient.credentials.api_key_env: the environment variable CLOSIENT_API_KEY is not set"
        ),
        "{stderr}"
    );
}

#[test]
fn print_schema_prints_the_committed_schema() {
    let output = gateway()
        .arg("print-schema")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
}

#[test]
fn hash_key_prints_the_hash_of_the_key_on_standard_input() {
    use std::io::Write as _;
    use std::process::Stdio;

    let mut child = gateway()
        .arg("hash-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(b"client-key\n")
        .expect("the key is written");
    let output = child.wait_with_output().expect("the binary ends");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\n", offer_gateway::hash_key("client-key"))
    );
}

/// Without simulators, no `--config` is an error that says why, and
/// nothing starts.
#[cfg(not(feature = "sim"))]
#[test]
fn without_the_sim_feature_the_binary_refuses_to_start_without_config() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = gateway()
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the process can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut child.stderr.take().expect("stderr is piped"),
        &mut stderr,
    )
    .expect("stderr is text");
    assert!(!status.success());
    assert!(
        stderr.contains(
            "no --config given: this build has no embedded simulators (built without the \
             `sim` feature); pass --config FILE (see examples/gateway.toml)"
        ),
        "{stderr}"
    );
}

#[cfg(feature = "sim")]
#[tokio::test]
async fn simulate_serves_the_simulators_with_the_faults_asked_for() {
    // Killed when dropped, also if an assertion below fails.
    let mut child = ChildGuard::spawn(gateway().args([
        "simulate",
        "--fault",
        "medusa@POST /auth/user/emailpass:status=503*1",
    ]));
    let (lines, _) = child.read_until(|line| line.starts_with("press ctrl-c"));
    let medusa = lines
        .iter()
        .find_map(|line| line.strip_prefix("medusa"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the medusa simulator's URL is printed")
        .to_owned();
    let client = reqwest::Client::new();
    let login = format!("{medusa}auth/user/emailpass");
    let body = serde_json::json!({ "email": "admin@mercur.test", "password": "mercur-demo-admin" });
    let first = client
        .post(&login)
        .json(&body)
        .send()
        .await
        .expect("answers");
    let second = client
        .post(&login)
        .json(&body)
        .send()
        .await
        .expect("answers");
    drop(child);
    assert_eq!(first.status(), 503, "the injected fault");
    assert_eq!(second.status(), 200, "only the first call failed");
    assert!(
        lines.iter().any(
            |l| l.starts_with("fault: medusa POST /auth/user/emailpass status=503 for 1 calls")
        ),
        "{lines:?}"
    );
}

/// Starts the demo binary on a free port with its index in a fresh
/// directory, with `args` and `env`; returns it, its base URL and the CORS
/// line it printed at start.
#[cfg(feature = "sim")]
fn start_demo(
    args: &[&str],
    env: &[(&str, &str)],
) -> (ChildGuard, tempfile::TempDir, String, String) {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut command = gateway();
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_remove("OFFER_GATEWAY__SERVER__CORS_ALLOWED_ORIGINS");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = ChildGuard::spawn(&mut command);
    let (lines, listening) = child.read_until(|line| line.starts_with("offer-gateway listening"));
    let url = listening
        .strip_prefix("offer-gateway listening: GraphiQL at ")
        .expect("the listening line")
        .to_owned();
    let cors = lines
        .into_iter()
        .find(|line| line.starts_with("CORS:"))
        .expect("the CORS line, before the listening line");
    (child, data, url, cors)
}

/// The `Access-Control-Allow-Origin` a CORS preflight from `origin` gets.
#[cfg(feature = "sim")]
async fn preflight(url: &str, origin: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("answers");
    assert!(response.status().is_success(), "{}", response.status());
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[cfg(feature = "sim")]
#[tokio::test]
async fn the_demo_lets_local_dev_servers_call_it_and_says_so() {
    let (child, _data, url, cors) = start_demo(&[], &[]);
    assert!(
        cors.contains("http://localhost:*") && cors.contains("http://127.0.0.1:*"),
        "{cors}"
    );
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://localhost",
    ] {
        assert_eq!(
            preflight(&url, origin).await.as_deref(),
            Some(origin),
            "{origin}"
        );
    }
    for origin in [
        "https://localhost:5173",
        "http://localhost.evil.example",
        "http://evil.example",
    ] {
        assert_eq!(preflight(&url, origin).await, None, "{origin}");
    }
    drop(child);
}

#[cfg(feature = "sim")]
#[tokio::test]
async fn cors_origins_come_from_the_flag_or_the_environment_without_a_config_file() {
    let (child, _data, url, cors) = start_demo(
        &[
            "--cors-origin",
            "https://app.example",
            "--cors-origin",
            "http://10.0.0.2:*",
        ],
        &[],
    );
    assert!(cors.contains("https://app.example"), "{cors}");
    assert_eq!(
        preflight(&url, "https://app.example").await.as_deref(),
        Some("https://app.example")
    );
    assert_eq!(
        preflight(&url, "http://10.0.0.2:8081").await.as_deref(),
        Some("http://10.0.0.2:8081")
    );
    assert_eq!(
        preflight(&url, "http://localhost:5173").await,
        None,
        "replaced"
    );
    drop(child);

    let (child, _data, url, _) = start_demo(
        &[],
        &[(
            "OFFER_GATEWAY__SERVER__CORS_ALLOWED_ORIGINS",
            "[\"https://expo.example\"]",
        )],
    );
    assert_eq!(
        preflight(&url, "https://expo.example").await.as_deref(),
        Some("https://expo.example")
    );
    assert_eq!(preflight(&url, "http://localhost:5173").await, None);
    drop(child);
}

#[cfg(feature = "sim")]
#[test]
fn a_cors_origin_with_a_path_is_refused_at_start() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = gateway()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cors-origin",
            "http://localhost:5173/app",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--cors-origin"), "{stderr}");
}
