//! The Lua scripts of the store, loaded from `shared/lua/`.

use redis::Script;

pub(crate) struct Scripts {
    pub(super) create_job: Script,
    pub(super) begin_stage: Script,
    pub(super) commit_result: Script,
    pub(super) finish_job: Script,
    // Locks, fenced writes, the result cache and coordination memory (`crate::lock`,
    // `crate::cache`, `crate::memory`).
    pub(crate) lock_acquire: Script,
    pub(crate) lock_release: Script,
    pub(crate) lock_extend: Script,
    pub(crate) fenced_write: Script,
    pub(crate) cache_follow: Script,
    pub(crate) memory_store: Script,
    // Fenced leases (coordinator leadership).
    pub(super) fenced_lease: Script,
    pub(super) fence_check: Script,
    pub(super) fenced_release: Script,
}

impl Scripts {
    pub(super) fn all(&self) -> [&Script; 13] {
        [
            &self.create_job,
            &self.begin_stage,
            &self.commit_result,
            &self.finish_job,
            &self.lock_acquire,
            &self.lock_release,
            &self.lock_extend,
            &self.fenced_write,
            &self.cache_follow,
            &self.memory_store,
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
            lock_acquire: Script::new(include_str!("../../lua/lock_acquire.lua")),
            lock_release: Script::new(include_str!("../../lua/lock_release.lua")),
            lock_extend: Script::new(include_str!("../../lua/lock_extend.lua")),
            fenced_write: Script::new(include_str!("../../lua/fenced_write.lua")),
            cache_follow: Script::new(include_str!("../../lua/cache_follow.lua")),
            memory_store: Script::new(include_str!("../../lua/memory_store.lua")),
            fenced_lease: Script::new(include_str!("../../lua/fenced_lease.lua")),
            fence_check: Script::new(include_str!("../../lua/fence_check.lua")),
            fenced_release: Script::new(include_str!("../../lua/fenced_release.lua")),
        }
    }
}
