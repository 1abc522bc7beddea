//! Answers are compressed with whichever of gzip, brotli and deflate the
//! client accepts (by `Accept-Encoding`), and sent plain otherwise.

use crate::common;

use std::io::Read;

use common::{offers_page_query, TestGateway};
use serde_json::{json, Value};

/// Decodes `body` sent with `Content-Encoding: encoding`.
fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        "br" => brotli_decompressor::Decompressor::new(body, 4096).read_to_end(&mut out),
        other => panic!("unexpected encoding {other}"),
    }
    .unwrap_or_else(|err| panic!("{encoding} body decodes: {err}"));
    out
}

#[tokio::test]
async fn each_accepted_encoding_is_served_and_decodes_to_the_same_answer() {
    let gateway = TestGateway::start().await;
    let ask = |accept: &'static str| {
        let request = gateway
            .http
            .post(&gateway.url)
            .header("accept-encoding", accept)
            .json(&json!({ "query": offers_page_query() }));
        async move {
            let response = request.send().await.expect("answers");
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.expect("a body").to_vec();
            (encoding, body)
        }
    };
    let (plain_encoding, plain) = ask("identity").await;
    assert_eq!(plain_encoding, None);
    let plain: Value = serde_json::from_slice(&plain).expect("JSON");
    assert!(plain["errors"].is_null(), "{plain}");
    for encoding in ["gzip", "br", "deflate"] {
        let (got, body) = ask(encoding).await;
        assert_eq!(got.as_deref(), Some(encoding));
        let decoded: Value = serde_json::from_slice(&decode(encoding, &body)).expect("JSON");
        assert_eq!(decoded, plain, "{encoding}");
    }
    // The client's preference among several wins.
    let (got, _) = ask("gzip;q=0.5, br;q=1.0").await;
    assert_eq!(got.as_deref(), Some("br"));
}
