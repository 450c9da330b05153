//! Region names: which ones AWS has, and the one a typo was meant to be. Pure.
//!
//! A region that is not in [`KNOWN`] is a config error (file:line): `us-esat-1` must not
//! become a stack nobody can reach. The list follows the SDKs' partition data; a region AWS
//! opens after this release is added here (one line).
//!
//! Must not: call AWS (the list is deliberately static: `remedy validate` works offline).

use crate::core::util;

/// Every region of the commercial, China, GovCloud and European Sovereign Cloud partitions.
pub(crate) const KNOWN: &[&str] = &[
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
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Conformity's region for findings about global services (IAM, CloudFront, …): always
/// covered, never a place to deploy.
pub(crate) const GLOBAL: &str = "global";

pub(crate) fn is_known(region: &str) -> bool {
    KNOWN.contains(&region)
}

/// The known region closest to `typo` (at most 3 edits away; the first by name on a tie).
pub(crate) fn closest(typo: &str) -> Option<String> {
    util::closest(typo, KNOWN.iter().map(|r| (*r, (*r).to_owned())), 3)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_are_sorted_and_unique() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]));
        assert!(is_known("eu-west-1") && !is_known("eu-west-9") && !is_known(GLOBAL));
    }

    #[test]
    fn a_typo_finds_the_region_it_meant() {
        assert_eq!(closest("us-esat-1").as_deref(), Some("us-east-1"));
        assert_eq!(closest("eu-west-9").as_deref(), Some("eu-west-1"));
        assert_eq!(closest("mars-north-1"), None);
    }
}
