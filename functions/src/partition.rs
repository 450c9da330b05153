//! The AWS partition a region belongs to, and its DNS suffix: ARNs must name the partition
//! (`arn:aws-cn:…` in China, `arn:aws-us-gov:…` in GovCloud), never assume `aws`.
//!
//! The table follows the SDKs' partition data (`partitions.json`, the `regionRegex` and
//! `dnsSuffix` of each partition). Service principals (`vpc-flow-logs.amazonaws.com`,
//! `config.amazonaws.com`, …) are not derived from it: IAM names them the same in every
//! partition, China included (it refuses `….amazonaws.com.cn` principals).

/// `(region prefix, partition, DNS suffix)`, the longest prefixes first.
const PARTITIONS: &[(&str, &str, &str)] = &[
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
    ("eusc-", "aws-eusc", "amazonaws.eu"),
    ("cn-", "aws-cn", "amazonaws.com.cn"),
];

fn entry(region: &str) -> (&'static str, &'static str) {
    PARTITIONS
        .iter()
        .find(|(prefix, _, _)| region.starts_with(prefix))
        .map(|(_, partition, suffix)| (*partition, *suffix))
        .unwrap_or(("aws", "amazonaws.com"))
}

/// The partition of `region`: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*` (and the
/// isolated partitions), `aws` otherwise.
pub fn partition(region: &str) -> &'static str {
    entry(region).0
}

/// The DNS suffix of `region`'s endpoints: `amazonaws.com.cn` for `cn-*`, `amazonaws.com`
/// for the `aws` and `aws-us-gov` partitions.
pub fn dns_suffix(region: &str) -> &'static str {
    entry(region).1
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
}
