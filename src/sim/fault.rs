//! Faults a simulator can inject, per endpoint, for resilience tests and
//! `offer-gateway simulate --fault`.
//!
//! A [`FaultRule`] names an endpoint (`"GET /admin/offers"`, or every
//! endpoint), a [`Fault`], and optionally how many calls it applies to
//! ("fail only the first N calls"). The simulator's middleware consults
//! the rules before the real handler runs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream;

/// One way for an upstream to fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, after this extra delay.
    Latency(Duration),
    /// Never answer (until the client gives up).
    Hang,
    /// Answer this status (500, 502, 503, ...) with a short JSON body.
    Status(u16),
    /// Answer 429 with `Retry-After` in seconds.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// Answer 200 with JSON that does not parse.
    MalformedJson,
    /// Answer 200 announcing a longer body than is sent, then close.
    TruncatedBody,
    /// Answer 200 with an HTML page instead of JSON.
    WrongContentType,
    /// Close the connection without answering (TCP reset).
    Reset,
    /// Answer 200 `application/json` with random bytes.
    RandomBytes {
        /// Seed of the bytes, for reproducible tests.
        seed: u64,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Latency(d) => write!(f, "latency={}", humantime::format_duration(*d)),
            Fault::Hang => f.write_str("hang"),
            Fault::Status(s) => write!(f, "status={s}"),
            Fault::RateLimited { retry_after_secs } => write!(f, "rate-limited={retry_after_secs}"),
            Fault::MalformedJson => f.write_str("malformed-json"),
            Fault::TruncatedBody => f.write_str("truncated-body"),
            Fault::WrongContentType => f.write_str("wrong-content-type"),
            Fault::Reset => f.write_str("reset"),
            Fault::RandomBytes { seed } => write!(f, "random-bytes={seed}"),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Parses the `Display` form: `latency=200ms`, `hang`, `status=503`,
    /// `rate-limited=2`, `malformed-json`, `truncated-body`,
    /// `wrong-content-type`, `reset`, `random-bytes=7`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (text, None),
        };
        let number = |what: &str| -> Result<u64, String> {
            value
                .ok_or_else(|| format!("`{name}` needs a value: {name}=<{what}>"))?
                .parse()
                .map_err(|_| format!("`{name}` takes a number ({what})"))
        };
        match name {
            "latency" => {
                let value = value.ok_or("`latency` needs a value: latency=<duration>")?;
                humantime::parse_duration(value)
                    .map(Fault::Latency)
                    .map_err(|err| format!("latency: {err}"))
            }
            "hang" => Ok(Fault::Hang),
            "status" => match number("an HTTP status")? {
                status @ 400..=599 => Ok(Fault::Status(status as u16)),
                _ => Err("`status` takes an error status, 400 to 599".to_owned()),
            },
            "rate-limited" => Ok(Fault::RateLimited {
                retry_after_secs: number("seconds of Retry-After")?,
            }),
            "malformed-json" => Ok(Fault::MalformedJson),
            "truncated-body" => Ok(Fault::TruncatedBody),
            "wrong-content-type" => Ok(Fault::WrongContentType),
            "reset" => Ok(Fault::Reset),
            "random-bytes" => Ok(Fault::RandomBytes {
                seed: number("a seed")?,
            }),
            other => Err(format!(
                "unknown fault `{other}` (latency=, hang, status=, rate-limited=, malformed-json, \
                 truncated-body, wrong-content-type, reset, random-bytes=)"
            )),
        }
    }
}

/// A fault, where it applies, and for how many calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// The endpoint, `"METHOD /route/{param}"` as the request counters name
    /// it; `None` for every endpoint.
    pub endpoint: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// How many more calls it applies to; `None` for all of them.
    pub remaining: Option<u32>,
}

impl FaultRule {
    /// Whether the rule applies to a call of `endpoint`.
    pub fn matches(&self, endpoint: &str) -> bool {
        self.remaining != Some(0) && self.endpoint.as_deref().is_none_or(|e| e == endpoint)
    }
}

/// A fault aimed at one simulator, as `offer-gateway simulate --fault`
/// takes it: `UPSTREAM[@ENDPOINT]:FAULT[*N]`, for example `violet:hang`,
/// `closient:status=503*2` or `medusa@GET /admin/offers:reset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// `closient`, `medusa` or `violet`.
    pub upstream: String,
    /// The endpoint (`None` for all of them).
    pub endpoint: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// For how many calls (`None` for all).
    pub first_n: Option<u32>,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (target, rest) = text
            .split_once(':')
            .ok_or("expected UPSTREAM[@ENDPOINT]:FAULT[*N], e.g. violet:hang")?;
        // The endpoint contains no ':' (a route like `/a/{id}`), the fault may.
        let (upstream, endpoint) = match target.split_once('@') {
            Some((upstream, endpoint)) => (upstream, Some(endpoint.trim().to_owned())),
            None => (target, None),
        };
        if !["closient", "medusa", "violet"].contains(&upstream) {
            return Err(format!(
                "unknown simulator `{upstream}` (closient, medusa, violet)"
            ));
        }
        let (fault, first_n) = match rest.rsplit_once('*') {
            Some((fault, n)) => (
                fault,
                Some(
                    n.parse()
                        .map_err(|_| format!("`*{n}`: expected a number of calls"))?,
                ),
            ),
            None => (rest, None),
        };
        Ok(FaultSpec {
            upstream: upstream.to_owned(),
            endpoint,
            fault: fault.parse()?,
            first_n,
        })
    }
}

/// Marks a response whose connection must be reset instead of answered.
#[derive(Clone, Copy, Debug)]
pub struct ResetConnection;

/// The response a fault makes, or `None` when the real handler should
/// answer (after any extra latency, which the caller applies).
pub async fn respond(fault: &Fault) -> Option<Response> {
    let json = |status: StatusCode, body: &'static str| {
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    Some(match fault {
        Fault::Latency(_) => return None,
        Fault::Hang => std::future::pending().await,
        Fault::Status(status) => json(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            r#"{"message":"injected failure"}"#,
        ),
        Fault::RateLimited { retry_after_secs } => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message":"rate limited"}"#,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            response
        }
        Fault::MalformedJson => json(
            StatusCode::OK,
            r#"{"offer": {"id": "offer_01", "prices": [{"amount": 1"#,
        ),
        Fault::TruncatedBody => {
            // The start of a body, then (once it has been flushed) the
            // connection breaks off.
            let chunks = stream::unfold(0, |sent| async move {
                match sent {
                    0 => Some((Ok(Bytes::from_static(br#"{"offers": [{"id": "#)), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let broken =
                            std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "truncated");
                        Some((Err::<Bytes, _>(broken), 2))
                    }
                    _ => None,
                }
            });
            let mut response = Response::new(Body::from_stream(chunks));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            response
        }
        Fault::WrongContentType => {
            let mut response = (
                StatusCode::OK,
                "<html><body><h1>Maintenance</h1></body></html>",
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Fault::Reset => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(ResetConnection);
            response
        }
        Fault::RandomBytes { seed } => {
            let mut rng = fastrand::Rng::with_seed(*seed);
            let bytes: Vec<u8> = (0..rng.usize(1..2048)).map(|_| rng.u8(..)).collect();
            let mut response = (StatusCode::OK, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_their_display_form() {
        for fault in [
            Fault::Latency(Duration::from_millis(250)),
            Fault::Hang,
            Fault::Status(503),
            Fault::RateLimited {
                retry_after_secs: 2,
            },
            Fault::MalformedJson,
            Fault::TruncatedBody,
            Fault::WrongContentType,
            Fault::Reset,
            Fault::RandomBytes { seed: 9 },
        ] {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
        }
        assert!("status=200".parse::<Fault>().is_err());
        assert!("status".parse::<Fault>().is_err());
        assert!("explode"
            .parse::<Fault>()
            .unwrap_err()
            .contains("unknown fault"));
    }

    #[test]
    fn fault_specs_name_a_simulator_an_endpoint_and_a_count() {
        assert_eq!(
            "medusa@GET /admin/offers:status=503*2".parse::<FaultSpec>(),
            Ok(FaultSpec {
                upstream: "medusa".into(),
                endpoint: Some("GET /admin/offers".into()),
                fault: Fault::Status(503),
                first_n: Some(2),
            })
        );
        assert_eq!(
            "violet:latency=200ms".parse::<FaultSpec>().map(|f| f.fault),
            Ok(Fault::Latency(Duration::from_millis(200)))
        );
        assert!("shopify:hang".parse::<FaultSpec>().is_err());
        assert!("violet".parse::<FaultSpec>().is_err());
        assert!("violet:hang*x".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn rules_apply_to_their_endpoint_and_count() {
        let rule = FaultRule {
            endpoint: Some("GET /admin/offers".into()),
            fault: Fault::Hang,
            remaining: Some(0),
        };
        assert!(!rule.matches("GET /admin/offers"));
        let rule = FaultRule {
            remaining: Some(1),
            ..rule
        };
        assert!(rule.matches("GET /admin/offers"));
        assert!(!rule.matches("GET /admin/offers/{id}"));
        let everywhere = FaultRule {
            endpoint: None,
            ..rule
        };
        assert!(everywhere.matches("POST /v1/login"));
    }
}
