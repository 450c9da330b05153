//! Region names: which ones AWS has, per partition, and the one a typo was meant to be. Pure.
//!
//! A region that is not in [`PARTITIONS`] (nor in the file's `extra_regions`) is a config
//! error (file:line): `us-esat-1` must not become a stack nobody can reach. The list follows
//! the SDKs' partition data; a region AWS opens after this release is listed in the
//! configuration's `extra_regions` until the next release ships it (one line here). A
//! region's partition comes from its name (`cn-` → `aws-cn`, `us-gov-` → `aws-us-gov`, …:
//! [`remedy_functions::partition::partition`]), so a new region's partition is known too.
//!
//! Must not: call AWS (the list is deliberately static: `remedy validate` works offline).

use crate::core::util;
use remedy_functions::partition;

/// Every region of the commercial, China, GovCloud and European Sovereign Cloud partitions,
/// by partition.
pub(crate) const PARTITIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
    ("aws-eusc", &["eusc-de-east-1"]),
];

/// Conformity's region for findings about global services (IAM, CloudFront, …): always
/// covered, never a place to deploy.
pub(crate) const GLOBAL: &str = "global";

/// The partition `region` belongs to (from its name: a region not shipped yet has one too).
pub(crate) fn partition_of(region: &str) -> &'static str {
    partition::partition(region)
}

/// Whether `region` is one AWS has: shipped, or one of the configuration's `extra`.
pub(crate) fn is_known(region: &str, extra: &[String]) -> bool {
    shipped().any(|r| r == region) || extra.iter().any(|r| r == region)
}

fn shipped() -> impl Iterator<Item = &'static str> {
    PARTITIONS
        .iter()
        .flat_map(|(_, regions)| regions.iter().copied())
}

/// The known region closest to `typo` (at most 3 edits away; the first by name on a tie),
/// `extra` included.
pub(crate) fn closest(typo: &str, extra: &[String]) -> Option<String> {
    let candidates = shipped()
        .map(|r| (r, r.to_owned()))
        .chain(extra.iter().map(|r| (r.as_str(), r.clone())));
    util::closest(typo, candidates, 3).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partitions_regions_are_sorted_unique_and_of_that_partition() {
        for (name, regions) in PARTITIONS {
            assert!(regions.windows(2).all(|w| w[0] < w[1]), "{name}");
            for region in *regions {
                assert_eq!(partition_of(region), *name, "{region}");
            }
        }
        assert!(
            is_known("eu-west-1", &[]) && !is_known("eu-west-9", &[]) && !is_known(GLOBAL, &[])
        );
        assert!(is_known("cn-north-1", &[]) && is_known("us-gov-west-1", &[]));
    }

    #[test]
    fn a_new_region_is_known_once_listed_and_keeps_its_partition() {
        let extra = vec!["xx-new-1".to_owned(), "cn-south-9".to_owned()];
        assert!(!is_known("xx-new-1", &[]));
        assert!(is_known("xx-new-1", &extra));
        assert_eq!(partition_of("xx-new-1"), "aws");
        assert_eq!(partition_of("cn-south-9"), "aws-cn");
        assert_eq!(closest("xx-nwe-1", &extra).as_deref(), Some("xx-new-1"));
    }

    #[test]
    fn a_typo_finds_the_region_it_meant() {
        assert_eq!(closest("us-esat-1", &[]).as_deref(), Some("us-east-1"));
        assert_eq!(closest("eu-west-9", &[]).as_deref(), Some("eu-west-1"));
        assert_eq!(closest("mars-north-1", &[]), None);
    }
}
