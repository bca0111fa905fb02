//! CI file extraction for every CI system: the first byte picks it.
#![no_main]

use keysweep::format::{ci, CiSystem};
use libfuzzer_sys::fuzz_target;

const SYSTEMS: &[CiSystem] = &[
    CiSystem::GithubActions,
    CiSystem::GitlabCi,
    CiSystem::Circleci,
    CiSystem::AzurePipelines,
    CiSystem::BitbucketPipelines,
    CiSystem::Buildkite,
    CiSystem::TravisCi,
    CiSystem::Jenkins,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let _ = ci::literals(SYSTEMS[pick as usize % SYSTEMS.len()], rest);
});
