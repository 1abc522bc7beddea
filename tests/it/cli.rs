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
