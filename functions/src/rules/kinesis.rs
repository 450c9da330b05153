//! Kinesis rules: server-side encryption of data streams.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Start server-side encryption of the stream with the configured KMS key.
    RuleSpec {
        id: "Kinesis-001",
        title: "Kinesis Server Side Encryption",
        service: "Kinesis",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[SettingSpec {
            name: "kms_key_id",
            default: Some("alias/aws/kinesis"),
            description: "KMS key (id, ARN, alias name or alias ARN) the stream is encrypted \
                          with; the default is the AWS managed key for Kinesis.",
        }],
        iam_actions: &[
            "kinesis:DescribeStreamSummary",
            "kinesis:StartStreamEncryption",
            "kinesis:ListTagsForStream",
        ],
        fix: |ctx| Box::pin(on_stream(ctx, encrypt_stream)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the stream's name or ARN.

use crate::rule::{Context, Report, RuleError};
use aws_sdk_kinesis::types::{EncryptionType, StreamStatus};
use aws_sdk_kinesis::Client;

/// Runs `fix`, one Kinesis rule's own check and fix, on the finding's stream with a client,
/// unless the stream is remedy's own.
async fn on_stream(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &Stream<'_>) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let stream = Stream(ctx.resource()?);
    let kinesis = Client::new(&ctx.aws);
    if is_managed(ctx, &kinesis, &stream).await? {
        return Ok(Report::managed(stream.0));
    }
    fix(ctx, &kinesis, &stream).await
}

/// A stream's name or ARN, as the finding gives it.
struct Stream<'a>(&'a str);

impl<'a> Stream<'a> {
    fn arn(&self) -> Option<&'a str> {
        self.0.starts_with("arn:").then_some(self.0)
    }

    fn name(&self) -> Option<&'a str> {
        (!self.0.starts_with("arn:")).then_some(self.0)
    }
}

/// The tags come 10 to a page by default, up to 50 a stream.
async fn is_managed(
    ctx: &Context,
    kinesis: &Client,
    stream: &Stream<'_>,
) -> Result<bool, RuleError> {
    let mut after: Option<String> = None;
    loop {
        let page = kinesis
            .list_tags_for_stream()
            .set_stream_name(stream.name().map(str::to_owned))
            .set_stream_arn(stream.arn().map(str::to_owned))
            .set_exclusive_start_tag_key(after.take())
            .send()
            .await
            .map_err(|e| RuleError::aws("ListTagsForStream", &e))?;
        if ctx.owns_tagged(
            page.tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default())),
        ) {
            return Ok(true);
        }
        match page.tags().last() {
            Some(last) if page.has_more_tags() => after = Some(last.key().to_owned()),
            _ => return Ok(false),
        }
    }
}

/// Kinesis-001: server-side encryption with the `kms_key_id` setting's key.
async fn encrypt_stream(
    ctx: &Context,
    kinesis: &Client,
    stream: &Stream<'_>,
) -> Result<Report, RuleError> {
    let key = ctx.setting("kms_key_id")?;
    let out = kinesis
        .describe_stream_summary()
        .set_stream_name(stream.name().map(str::to_owned))
        .set_stream_arn(stream.arn().map(str::to_owned))
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeStreamSummary", &e))?;
    let summary = out.stream_description_summary().ok_or_else(|| {
        RuleError::new(format!(
            "DescribeStreamSummary returned nothing for stream {}",
            stream.0
        ))
    })?;
    if summary.encryption_type() == Some(&EncryptionType::Kms) {
        let with = summary.key_id().unwrap_or("a KMS key");
        return Ok(Report::compliant(format!(
            "{} is encrypted with {with}",
            stream.0
        )));
    }
    if summary.stream_status() != &StreamStatus::Active {
        return Err(RuleError::new(format!(
            "stream {} is {}: encryption can only be started on an ACTIVE stream",
            stream.0,
            summary.stream_status().as_str()
        )));
    }
    let action = format!(
        "started server-side encryption of stream {} with KMS key {key}",
        stream.0
    );
    ctx.fix(vec![action], async {
        kinesis
            .start_stream_encryption()
            .set_stream_name(stream.name().map(str::to_owned))
            .set_stream_arn(stream.arn().map(str::to_owned))
            .encryption_type(EncryptionType::Kms)
            .key_id(key)
            .send()
            .await
            .map_err(|e| RuleError::aws("StartStreamEncryption", &e))?;
        crate::rule::changed("kinesis:StartStreamEncryption", stream.0);
        Ok(())
    })
    .await
}
