//! The Lua scripts of the store, loaded from `shared/lua/`.

use redis::Script;

pub(super) struct Scripts {
    pub(super) create_job: Script,
    pub(super) begin_stage: Script,
    pub(super) commit_result: Script,
    pub(super) finish_job: Script,
    pub(super) lease: Script,
    pub(super) fenced_lease: Script,
    pub(super) fence_check: Script,
    pub(super) fenced_release: Script,
}

impl Scripts {
    pub(super) fn all(&self) -> [&Script; 8] {
        [
            &self.create_job,
            &self.begin_stage,
            &self.commit_result,
            &self.finish_job,
            &self.lease,
            &self.fenced_lease,
            &self.fence_check,
            &self.fenced_release,
        ]
    }

    pub(super) fn load() -> Self {
        Self {
            create_job: Script::new(include_str!("../../lua/create_job.lua")),
            begin_stage: Script::new(include_str!("../../lua/begin_stage.lua")),
            commit_result: Script::new(include_str!("../../lua/commit_result.lua")),
            finish_job: Script::new(include_str!("../../lua/finish_job.lua")),
            lease: Script::new(include_str!("../../lua/lease.lua")),
            fenced_lease: Script::new(include_str!("../../lua/fenced_lease.lua")),
            fence_check: Script::new(include_str!("../../lua/fence_check.lua")),
            fenced_release: Script::new(include_str!("../../lua/fenced_release.lua")),
        }
    }
}
