//! The kill switch's parameter, `/<stack_name>/paused` (`remedy pause`, `resume`, `status`):
//! read, written and deleted through the member account's role, in its home region. What
//! the value means is `remedy_functions::pause`'s.

use crate::aws::reason;

/// The parameter's value; `None` when there is no such parameter (nothing paused).
pub(crate) async fn read(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>, String> {
    use remedy_functions::pause::Read;
    match remedy_functions::pause::read(ssm, name).await {
        Read::Value(value) => Ok(Some(value)),
        Read::Missing => Ok(None),
        Read::Unreadable(why) => Err(format!("GetParameter {name}: {why}")),
    }
}

/// Writes `value` (overwriting), or deletes the parameter when `None` (an absent one is
/// already what `None` means).
pub(crate) async fn write(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: Option<&str>,
) -> Result<(), String> {
    match value {
        Some(value) => ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .description(
                "remedy's kill switch: rules paused in this account (remedy pause / resume)",
            )
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| reason(&format!("PutParameter {name}"), &e)),
        None => match ssm.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(e) => Err(reason(&format!("DeleteParameter {name}"), &e)),
        },
    }
}
