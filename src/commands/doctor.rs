//! `remedy doctor [--stage S] [--account ID]…`: before anything is deployed, per target
//! account, whether a deploy would work — the role assumable with the ExternalId, the home
//! region enabled and CloudFormation readable there, the role's and the execution role's
//! permissions as IAM simulates them, room in the IAM role quota, the published package
//! readable from the account, and the findings topic once deployed (`core::doctor` judges
//! each answer). A table on a terminal, `--output json` as data; exit 1 when any account
//! would fail, each failure with its fix in one line. Reads only.

use super::Global;
use crate::aws::identity::{cloudformation_client, iam_client, s3_client, sts_client};
use crate::core::doctor::{self, AccountDoctor, Check};
use crate::core::error::{exit, Error};
use crate::core::outcome::{Outcome, Seen};
use crate::core::stack::findings_topic_arn;
use crate::core::targets::Target;
use crate::engine::scheduler::{run_each, Limits, Scheduled};
use crate::report::{self, ProgressKind};
use crate::session::{Prepared, Session};
use std::sync::Arc;

// The flags of `remedy doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scope: super::targets::Accounts,
    /// Every column at full width.
    #[arg(long)]
    pub wide: bool,
}

/// What every account's checks share.
struct Context {
    session_identity: Arc<crate::aws::identity::Identity>,
    stack_name: String,
    role: String,
    execution_role: Option<String>,
    security_account: String,
    package_key: String,
    /// Whether the package is in the stage's home-region artifact bucket, as the security
    /// account sees it (once per stage, not per account).
    published: Result<bool, String>,
    /// The IAM roles one stack holds.
    roles: usize,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config_to_read(&global.config)?;
    let stages = args.scope.stages(&config)?;
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let chosen = args.scope.chosen(&session, &stages)?;
    let mut rows: Vec<AccountDoctor> = Vec::new();
    for (stage, targets) in chosen {
        let home = session.placement(&stage)?.home;
        let published = crate::aws::artifacts::is_published(
            &s3_client(&session.base, &home, session.identity.retries()),
            &crate::aws::artifacts::bucket_name(&session.security_account, &home),
            &session.package.key(),
        )
        .await;
        let context = Arc::new(Context {
            session_identity: session.identity.clone(),
            stack_name: session.config.stack_name.clone(),
            role: session.config.role.name.clone(),
            execution_role: session.config.role.execution_role.clone(),
            security_account: session.security_account.clone(),
            package_key: session.package.key(),
            published,
            roles: session.rendered_for(&stage).footprint.roles,
        });
        let name = stage.name.to_string();
        let run = run_each(
            targets.clone(),
            Limits::reads_of(&stage),
            report::progress(&name, targets.len(), ProgressKind::Doctor),
            &session.stop,
            move |target| {
                let (context, stage) = (context.clone(), name.clone());
                async move { examine(&context, &stage, target).await }
            },
        )
        .await;
        let interrupted = run.interrupted;
        rows.extend(run.results);
        if interrupted {
            break;
        }
    }
    report::print_doctor(&rows, args.wide, global.output);
    Ok(if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows.iter().any(AccountDoctor::fails) {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Every check of one account, in order; after a role that cannot be assumed, nothing else
/// can be looked at.
async fn examine(c: &Context, stage: &str, target: Target) -> AccountDoctor {
    let account = target.account.id.clone();
    let region = target.region.clone();
    let mut row = AccountDoctor {
        stage: stage.to_owned(),
        account_id: account.clone(),
        account_name: target.account.name.clone(),
        region: region.clone(),
        checks: Vec::new(),
    };
    let identity = &c.session_identity;
    let counts = identity.retries();
    let config = identity.account_config(&account, &region).await;
    let role_arn = identity.role_arn(&account);

    // -- role
    match sts_client(&config, counts)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(_) => row
            .checks
            .push(Check::ok("role", format!("{role_arn} assumed"))),
        Err(e) => {
            row.checks.push(Check::fail(
                "role",
                format!("{role_arn}: {}", crate::aws::reason("AssumeRole", &e)),
                doctor::role_fix(&c.role, &c.security_account),
            ));
            return row;
        }
    }

    // -- home region, and the stack there
    let cfn = cloudformation_client(&config, &region, counts);
    let described = crate::aws::cfn::describe(&cfn, &c.stack_name)
        .await
        .map_err(|e| e.to_string());
    let stack = described.as_ref().ok().and_then(|s| {
        s.as_ref()
            .filter(|s| s.status != crate::core::stack::StackStatus::DeleteComplete)
            .cloned()
    });
    row.checks.push(doctor::home_region(
        &region,
        described
            .as_ref()
            .map(|_| stack.as_ref().map(|s| s.status.to_string()))
            .map_err(Clone::clone),
    ));

    // -- permissions, as IAM simulates them
    let iam = iam_client(&config, counts);
    let partition = remedy_functions::partition::partition(&region);
    let bucket = crate::aws::artifacts::bucket_name(&c.security_account, &region);
    let exec_arn = c
        .execution_role
        .as_ref()
        .map(|name| format!("arn:{partition}:iam::{account}:role/{name}"));
    let calls = caller_calls(
        c,
        partition,
        &region,
        &account,
        &bucket,
        exec_arn.as_deref(),
    );
    row.checks
        .push(permissions(&iam, &c.role, &role_arn, &calls).await);
    if let (Some(exec_name), Some(exec_arn)) = (&c.execution_role, &exec_arn) {
        let function = format!(
            "arn:{partition}:lambda:{region}:{account}:function:{}",
            remedy_functions::lambda::ORCHESTRATOR
        );
        let role = format!(
            "arn:{partition}:iam::{account}:role/{}-OrchestratorRole-0",
            c.stack_name
        );
        let calls: Vec<Simulation> = vec![
            (vec!["lambda:CreateFunction"], function, Vec::new()),
            (vec!["iam:CreateRole"], role, Vec::new()),
        ];
        row.checks
            .push(permissions(&iam, exec_name, exec_arn, &calls).await);
    }

    // -- the role quota (a deployed stack's roles are counted already)
    let adds = if stack.is_some() { 0 } else { c.roles };
    row.checks.push(doctor::role_quota(
        crate::aws::iam::role_room(&iam).await,
        adds,
    ));

    // -- the artifacts: once published (as the security account sees it), read from the
    // account. The account may not list the bucket, so a missing object would be a 403 there.
    let read = match &c.published {
        Ok(false) => Ok(false),
        Err(why) => Err(format!("the security account cannot look: {why}")),
        Ok(true) => s3_client(&config, &region, counts)
            .head_object()
            .bucket(&bucket)
            .key(&c.package_key)
            .send()
            .await
            .map(|_| true)
            .map_err(|e| crate::aws::reason("HeadObject", &e)),
    };
    row.checks
        .push(doctor::artifacts(&bucket, &c.package_key, read));

    // -- the findings topic
    row.checks.push(doctor::topic(stack.as_ref().map(|s| {
        (
            s.status.as_str(),
            s.stack_id.as_deref().and_then(findings_topic_arn),
        )
    })));
    row
}

/// The `permissions` check of the role `name` (`arn`) for `calls`: IAM's simulation, or,
/// where IAM will not simulate, the role's policies read and evaluated offline; neither: a
/// warning with why.
async fn permissions(
    iam: &aws_sdk_iam::Client,
    name: &str,
    arn: &str,
    calls: &[Simulation],
) -> Check {
    let mut simulated: Result<Vec<(String, String, String)>, String> = Ok(Vec::new());
    for (actions, resource, context) in calls {
        let results = crate::aws::iam::simulate(iam, arn, actions, resource, context).await;
        simulated = match (simulated, results) {
            (Ok(mut all), Ok(more)) => {
                all.extend(more);
                Ok(all)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        if simulated.is_err() {
            break;
        }
    }
    let why = match simulated {
        Err(why) => why,
        simulated => return doctor::permissions(arn, simulated),
    };
    match crate::aws::iam::role_policies(iam, name).await {
        Err(_) => doctor::permissions(arn, Err(why)),
        Ok(documents) => {
            let results: Vec<_> = calls
                .iter()
                .flat_map(|(actions, resource, _)| {
                    actions.iter().map(|action| {
                        let decision = crate::core::policy::decide(&documents, action, resource);
                        ((*action).to_owned(), resource.clone(), decision)
                    })
                })
                .collect();
            doctor::permissions_offline(arn, &why, &results)
        }
    }
}

/// One simulation: actions on one resource, with context keys (key, value).
type Simulation = (Vec<&'static str>, String, Vec<(&'static str, &'static str)>);

/// What the cross-account role will be asked for, grouped by resource.
fn caller_calls(
    c: &Context,
    partition: &str,
    region: &str,
    account: &str,
    bucket: &str,
    exec_arn: Option<&str>,
) -> Vec<Simulation> {
    let stack = format!(
        "arn:{partition}:cloudformation:{region}:{account}:stack/{}/00000000-0000-0000-0000-000000000000",
        c.stack_name
    );
    let mut calls = vec![
        (
            vec![
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:CreateStack",
                "cloudformation:DescribeStacks",
                "cloudformation:GetTemplate",
                "cloudformation:DescribeStackEvents",
                "cloudformation:UpdateStack",
                "cloudformation:DeleteStack",
                "cloudformation:TagResource",
            ],
            stack,
            Vec::new(),
        ),
        (vec!["iam:GetAccountSummary"], "*".to_owned(), Vec::new()),
        (
            vec![
                "ssm:GetParameter",
                "ssm:PutParameter",
                "ssm:DeleteParameter",
            ],
            format!(
                "arn:{partition}:ssm:{region}:{account}:parameter/{}/paused",
                c.stack_name
            ),
            Vec::new(),
        ),
        (
            vec!["logs:FilterLogEvents"],
            format!(
                "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{}",
                remedy_functions::lambda::ORCHESTRATOR
            ),
            Vec::new(),
        ),
        (
            vec!["lambda:InvokeFunction"],
            format!("arn:{partition}:lambda:{region}:{account}:function:AutoRemediateS3-001"),
            Vec::new(),
        ),
        (
            vec!["s3:GetObject"],
            format!("arn:{partition}:s3:::{bucket}/{}", c.package_key),
            Vec::new(),
        ),
    ];
    if let Some(exec_arn) = exec_arn {
        calls.push((
            vec!["iam:PassRole"],
            exec_arn.to_owned(),
            vec![("iam:PassedToService", "cloudformation.amazonaws.com")],
        ));
    }
    calls
}

impl Scheduled for AccountDoctor {
    fn counts_as_failure(&self) -> bool {
        false
    }

    fn seen(&self) -> Seen<'_> {
        let failed = self.fails();
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome: if failed {
                Outcome::Failed
            } else {
                Outcome::Created
            },
            word: if failed { "fails" } else { "ready" },
            stack_status: None,
            reason: self
                .checks
                .iter()
                .find(|c| c.status == doctor::Status::Fail)
                .map(|c| c.detail.as_str()),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, _outcome: Outcome, reason: String) -> Self {
        AccountDoctor {
            stage: String::new(),
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            checks: vec![Check::fail("run", reason, "run `remedy doctor` again")],
        }
    }
}
