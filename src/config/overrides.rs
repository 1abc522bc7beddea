//! Environment overrides: every setting of the file can be set by an
//! environment variable, which wins over the file.
//!
//! A variable names a key by its path in upper case with `__` between the
//! parts: `OFFER_GATEWAY__LISTEN`, `OFFER_GATEWAY__LIMITS__MAX_DEPTH`,
//! `OFFER_GATEWAY__UPSTREAMS__MERCUR__RETRY__MAX_ATTEMPTS`. A part matches
//! the key of the file with `-` written `_` (`MERCUR_EU` is
//! `[upstreams.mercur-eu]`); a table the file lacks is created. Values are
//! read as TOML values (`8`, `true`, `["a", "b"]`) or else as strings
//! (`5s`). The result is checked like the file, so an unknown key is
//! refused by name.

use crate::config::ConfigError;
use crate::error::InvalidSetting;

/// The prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "OFFER_GATEWAY__";

/// Applies `overrides` (name, value pairs; names without [`ENV_PREFIX`] are
/// ignored) to the configuration's TOML tree.
pub fn apply_overrides(
    config: &mut toml::Table,
    overrides: &[(String, String)],
) -> Result<(), ConfigError> {
    for (name, raw) in overrides {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.iter().any(String::is_empty) {
            return Err(InvalidSetting::new(
                name.clone(),
                "not a setting: name it OFFER_GATEWAY__KEY or OFFER_GATEWAY__TABLE__..._KEY",
            )
            .into());
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let (last, tables) = parts.split_last().expect("split gives one part at least");
        let mut table = &mut *config;
        for part in tables {
            let key = matching_key(table, part);
            table = table
                .entry(key)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| {
                    InvalidSetting::new(name.clone(), format!("`{part}` is not a table"))
                })?;
        }
        let key = matching_key(table, last);
        table.insert(key, value);
    }
    Ok(())
}

/// The key of `table` that `part` names: itself, or a key that reads as
/// `part` with `-` written `_`.
fn matching_key(table: &toml::Table, part: &str) -> String {
    if table.contains_key(part) {
        return part.to_owned();
    }
    table
        .keys()
        .find(|key| key.replace('-', "_") == part)
        .cloned()
        .unwrap_or_else(|| part.to_owned())
}
