//! The integration tests: one binary (one link of the SDK, not one per file), a module per
//! subject. Most talk to a real AWS emulator (moto's server, started per test by the
//! `testbed` crate through `tests/support/moto_launcher.py`); `support` runs the `remedy`
//! binary against it and runs rules in process.
//!
//! Run one subject: `cargo test --test it deploy::`; one test: add its name.

mod support;

mod alarms;
mod cli;
mod config_errors;
mod conformity;
mod delivery;
mod deploy;
mod discovery;
mod docs;
mod doctor;
mod exceptions;
mod faults;
mod fuzz_parsers;
mod history;
mod house;
mod interrupt;
mod lambda_runtime;
mod least_privilege;
mod no_secrets;
mod onboard;
mod orchestrator;
mod own_resources;
mod pace;
mod pause;
mod plan_status;
mod progress;
mod prune;
mod rate_limit;
mod remediate_cli;
mod remove;
mod rollout;
mod rules_apps;
mod rules_audit;
mod rules_cli;
mod rules_ec2;
mod rules_ec2_ports;
mod rules_iam;
mod rules_kms;
mod rules_rds;
mod rules_redshift;
mod rules_regions;
mod rules_s3;
mod schema;
mod stack_states;
mod stacksets;
mod stage_modes;
mod template;
mod undo;
