//! `validator` rules turned into problem+json field errors.

use validator::{Validate, ValidationErrors};

use crate::error::{ApiError, ApiResult, FieldError};

pub fn validated<T: Validate>(input: T) -> ApiResult<T> {
    let errors = field_errors(&input);
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Every broken rule, sorted by field.
pub fn field_errors<T: Validate>(input: &T) -> Vec<FieldError> {
    input
        .validate()
        .err()
        .map(to_field_errors)
        .unwrap_or_default()
}

fn to_field_errors(errors: ValidationErrors) -> Vec<FieldError> {
    let mut fields: Vec<FieldError> = errors
        .field_errors()
        .into_iter()
        .flat_map(|(field, errs)| {
            errs.iter().map(move |e| {
                let message = e
                    .message
                    .as_ref()
                    .map_or_else(|| format!("{field} is not valid."), |m| m.to_string());
                FieldError::new(field.to_string(), message)
            })
        })
        .collect();
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    fields
}
