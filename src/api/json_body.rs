//! JSON request bodies read as their schema in the OpenAPI document says: a number with no
//! fraction is an integer (`219.0` is JSON Schema's `219`), a property the schema does not
//! name is refused (the request types deny unknown fields, and the document says
//! `additionalProperties: false`), and a string over its `maxLength` (counted in characters,
//! as JSON Schema counts) is refused instead of cut.

use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use super::problem_code::ApiCode;

/// `bytes` as a `T`, or `400 bad-json` saying what is wrong and showing `example`.
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8], example: &str) -> Result<T, ApiError> {
    let bad = |error: serde_json::Error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadJson,
            format!("the body must be a JSON object like {example}: {error}"),
        )
    };
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(bad)?;
    integral_numbers_as_integers(&mut value);
    serde_json::from_value(value).map_err(bad)
}

/// `400 bad-json` when `text` is longer than `max` characters.
pub(super) fn check_length(field: &str, text: Option<&str>, max: usize) -> Result<(), ApiError> {
    match text {
        Some(text) if text.chars().count() > max => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadJson,
            format!("`{field}` is longer than {max} characters"),
        )),
        _ => Ok(()),
    }
}

/// Rewrites every number with no fractional part that fits an integer (`219.0`, `1e3`) as
/// that integer, as JSON Schema's `integer` type counts it.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64() {
                // 2^63 and up do not fit an i64; u64 is not needed for the request types.
                if float.fract() == 0.0 && float.abs() < 9.223_372_036_854_776e18 {
                    *value = serde_json::Value::from(float as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sized {
        size: u64,
        name: Option<String>,
    }

    #[test]
    fn integral_numbers_are_integers_and_the_rest_is_refused() {
        for body in [
            r#"{"size": 219}"#,
            r#"{"size": 219.0}"#,
            r#"{"size": 2.19e2}"#,
        ] {
            let parsed: Sized = parse(body.as_bytes(), "{}").unwrap();
            assert_eq!(
                parsed,
                Sized {
                    size: 219,
                    name: None
                },
                "{body}"
            );
        }
        for body in [
            r#"{"size": 219.5}"#,
            r#"{"size": -1}"#,
            r#"{"size": 1, "other": true}"#,
            r#"{"name": "a"}"#,
            r#"[]"#,
            r#"{"size": 1e300}"#,
        ] {
            let refused = parse::<Sized>(body.as_bytes(), "{}").unwrap_err();
            assert_eq!(refused.code(), "bad-json", "{body}");
        }
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(check_length("name", Some(&"é".repeat(255)), 255).is_ok());
        assert!(check_length("name", Some(&"é".repeat(256)), 255).is_err());
        assert!(check_length("name", None, 0).is_ok());
    }
}
