//! The command line: `check-config` and `print-schema`.

use std::process::Command;

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
            "upstream[0].api_key_env: the environment variable CLOSIENT_API_KEY is not set"
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
