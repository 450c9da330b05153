//! The AWS partition a region belongs to, and its DNS suffix: ARNs must name the partition
//! (`arn:aws-cn:…` in China, `arn:aws-us-gov:…` in GovCloud), never assume `aws`.
//!
//! The table follows the SDKs' partition data (`partitions.json`, the `regionRegex` and
//! `dnsSuffix` of each partition). Each partition also has the region that stands for
//! Conformity's `global` (findings about IAM, Organizations and other global services):
//! [`global_region`]. Service principals (`vpc-flow-logs.amazonaws.com`,
//! `config.amazonaws.com`, …) are not derived from it: IAM names them the same in every
//! partition, China included (it refuses `….amazonaws.com.cn` principals).

/// `(region prefix, partition, DNS suffix, global-service region)`, the longest prefixes
/// first. The global-service region is where the partition's global services (IAM,
/// Organizations) are reached and record their events: `cn-north-1` is IAM's endpoint in
/// China; for the isolated partitions, the SDKs' `implicitGlobalRegion`.
const PARTITIONS: &[(&str, &str, &str, &str)] = &[
    ("us-gov-", "aws-us-gov", "amazonaws.com", "us-gov-west-1"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov", "us-isob-east-1"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov", "us-isof-south-1"),
    ("us-iso-", "aws-iso", "c2s.ic.gov", "us-iso-east-1"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk", "eu-isoe-west-1"),
    ("eusc-", "aws-eusc", "amazonaws.eu", "eusc-de-east-1"),
    ("cn-", "aws-cn", "amazonaws.com.cn", "cn-north-1"),
];

/// `aws`: every region no prefix above claims.
const AWS: (&str, &str, &str, &str) = ("", "aws", "amazonaws.com", "us-east-1");

fn entry(region: &str) -> &'static (&'static str, &'static str, &'static str, &'static str) {
    PARTITIONS
        .iter()
        .find(|(prefix, ..)| region.starts_with(prefix))
        .unwrap_or(&AWS)
}

/// The partition of `region`: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*` (and the
/// isolated partitions), `aws` otherwise.
pub fn partition(region: &str) -> &'static str {
    entry(region).1
}

/// The DNS suffix of `region`'s endpoints: `amazonaws.com.cn` for `cn-*`, `amazonaws.com`
/// for the `aws` and `aws-us-gov` partitions.
pub fn dns_suffix(region: &str) -> &'static str {
    entry(region).2
}

/// The region of `region`'s partition where its global services are reached: what
/// Conformity's `global` means for a function running in `region` (`us-east-1` in `aws`,
/// `cn-north-1` in `aws-cn`, `us-gov-west-1` in `aws-us-gov`).
pub fn global_region(region: &str) -> &'static str {
    entry(region).3
}

/// Whether `name` is shaped like an AWS region (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`): lowercase words joined by dashes, a letter first and a number last.
/// Not a list of regions (a new one must work on the day it opens): a guard so that a
/// finding's `region` can only ever name a host label, never a path or another host.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    name.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_dns_suffixes_follow_the_region() {
        for (region, partition_name, suffix) in [
            ("us-east-1", "aws", "amazonaws.com"),
            ("eu-west-3", "aws", "amazonaws.com"),
            ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
            ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
            ("us-gov-east-1", "aws-us-gov", "amazonaws.com"),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
            ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
            ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
            ("", "aws", "amazonaws.com"),
        ] {
            assert_eq!(partition(region), partition_name, "{region}");
            assert_eq!(dns_suffix(region), suffix, "{region}");
        }
    }

    #[test]
    fn global_means_the_global_region_of_the_functions_own_partition() {
        for (own, global) in [
            ("us-east-1", "us-east-1"),
            ("eu-west-1", "us-east-1"),
            ("ap-southeast-2", "us-east-1"),
            ("cn-north-1", "cn-north-1"),
            ("cn-northwest-1", "cn-north-1"),
            ("us-gov-east-1", "us-gov-west-1"),
            ("us-gov-west-1", "us-gov-west-1"),
            ("us-iso-west-1", "us-iso-east-1"),
            ("eusc-de-east-1", "eusc-de-east-1"),
        ] {
            assert_eq!(global_region(own), global, "{own}");
            assert_eq!(partition(global_region(own)), partition(own), "{own}");
        }
    }

    #[test]
    fn region_names_are_host_labels() {
        for good in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-7",
            "cn-northwest-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "eusc-de-east-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "global",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "us--east-1",
            "-us-east-1",
            "1us-east-1",
            "us-east-1.evil.example",
            "us-east-1/x",
            "us-east-1 ",
            "a-very-long-made-up-region-name-of-1",
        ] {
            assert!(!is_region_name(bad), "{bad:?}");
        }
    }
}
