//! Stage results this coordinator has decoded, kept for the job's later advances.
//!
//! Every advance rebuilds a job's completed stages from Redis, so without this a result
//! is fetched and decoded again at each later stage: the pages of a long PDF (megabytes)
//! once for the QA task and once more for the result document. Redis stays the truth:
//! an entry is added only for a result Redis committed (the first commit of a task is
//! final, so the entry cannot go stale), and whatever is missing here (another replica
//! committed it, this coordinator restarted, the entry was evicted) is read from Redis.
//! A job's entries go when it ends; the oldest jobs' go first when the cache is over its
//! byte budget (`coordinator.decoded_results_max_bytes`, measured as the results'
//! encoded sizes).
//!
//! **A job id used again.** Once an ended job's keys expire (`jobs.result_ttl_s` after
//! it ended), a client may submit a new job under the same id, whose task ids are the
//! same. A replica that committed some of the old job's results but did not end it still
//! holds them; they must not stand in for the new job's. So a job's entries are
//! unusable from `jobs.result_ttl_s` after its first one was kept: by then the old
//! job's keys cannot have expired yet, and the new job cannot exist.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use daa_shared::model::StageResult;

/// Decoded results by job and task.
#[derive(Debug)]
pub(crate) struct DecodedResults {
    max_bytes: usize,
    max_age: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, JobResults>,
    /// Jobs in the order their first result arrived (eviction order), with the entry's
    /// generation. Removing a job leaves its entry here (a scan per job end would cost as
    /// much as the cache is large); an entry whose job is gone, or kept again since, is
    /// skipped, and such entries are swept out once they outnumber the live ones.
    order: VecDeque<(String, u64)>,
    bytes: usize,
    /// Generation of the next job entry (tells a job kept again from its earlier self).
    next_generation: u64,
}

#[derive(Debug)]
struct JobResults {
    by_task: HashMap<String, Arc<StageResult>>,
    bytes: usize,
    /// When the job's first result was kept.
    since: Instant,
    /// Its place in `order`.
    generation: u64,
}

impl DecodedResults {
    /// A cache holding at most `max_bytes` of results (0 turns it off), each job's for
    /// less than `max_age` (the jobs' result TTL, see the module docs).
    pub(crate) fn new(max_bytes: usize, max_age: Duration) -> Self {
        Self {
            max_bytes,
            max_age,
            inner: Mutex::default(),
        }
    }

    /// Keep `result`, committed to Redis, whose encoding is `encoded_len` bytes.
    pub(crate) fn insert(&self, result: Arc<StageResult>, encoded_len: usize) {
        if encoded_len > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        let inner = &mut *inner;
        let job = match inner.jobs.get_mut(&result.job_id) {
            Some(job) => job,
            None => {
                let generation = inner.next_generation;
                inner.next_generation += 1;
                inner.order.push_back((result.job_id.clone(), generation));
                inner
                    .jobs
                    .entry(result.job_id.clone())
                    .or_insert_with(|| JobResults {
                        by_task: HashMap::new(),
                        bytes: 0,
                        since: Instant::now(),
                        generation,
                    })
            }
        };
        if job.by_task.insert(result.task_id.clone(), result).is_none() {
            job.bytes += encoded_len;
            inner.bytes += encoded_len;
        }
        while inner.bytes > self.max_bytes {
            let Some((oldest, generation)) = inner.order.pop_front() else {
                break;
            };
            if inner
                .jobs
                .get(&oldest)
                .is_some_and(|j| j.generation == generation)
            {
                Self::remove(inner, &oldest);
            }
        }
    }

    /// The results kept for `job_id`, by task id (none once they are too old to be
    /// sure they are this job's).
    pub(crate) fn job(&self, job_id: &str) -> HashMap<String, Arc<StageResult>> {
        let mut inner = self.lock();
        match inner.jobs.get(job_id) {
            Some(j) if j.since.elapsed() < self.max_age => j.by_task.clone(),
            Some(_) => {
                Self::remove(&mut inner, job_id);
                HashMap::new()
            }
            None => HashMap::new(),
        }
    }

    /// Drop a job's results (it ended).
    pub(crate) fn forget(&self, job_id: &str) {
        Self::remove(&mut self.lock(), job_id);
    }

    fn remove(inner: &mut Inner, job_id: &str) {
        if let Some(gone) = inner.jobs.remove(job_id) {
            inner.bytes -= gone.bytes;
        }
        if inner.order.len() > 2 * inner.jobs.len() + 64 {
            let jobs = &inner.jobs;
            inner
                .order
                .retain(|(j, g)| jobs.get(j).is_some_and(|live| live.generation == *g));
        }
    }

    /// Entries in the eviction order, live or not.
    #[cfg(test)]
    fn order_len(&self) -> usize {
        self.lock().order.len()
    }

    /// Bytes held (encoded sizes).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The critical sections only move map entries: a panic inside cannot leave the
        // maps half-updated in a way later calls would misread.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daa_shared::model::{AgentKind, Outcome, Stage, StageOutput};

    const HOUR: Duration = Duration::from_secs(3600);

    fn result(job: &str, task: &str) -> Arc<StageResult> {
        Arc::new(StageResult {
            v: daa_shared::model::SCHEMA_VERSION,
            task_id: task.into(),
            job_id: job.into(),
            stage_index: 0,
            stage: Stage::Extraction,
            agent: AgentKind::Pdf,
            instance: String::new(),
            duration_ms: 0,
            queue_ms: 0,
            outcome: Outcome::Ok(StageOutput::default()),
        })
    }

    fn tasks(cache: &DecodedResults, job: &str) -> Vec<String> {
        let mut v: Vec<String> = cache.job(job).into_keys().collect();
        v.sort();
        v
    }

    #[test]
    fn keeps_results_by_job_until_the_job_is_forgotten() {
        let cache = DecodedResults::new(1000, HOUR);
        cache.insert(result("a", "a.1.extraction.0"), 100);
        cache.insert(result("a", "a.1.extraction.1"), 100);
        cache.insert(result("b", "b.0.validation.0"), 10);
        assert_eq!(tasks(&cache, "a"), ["a.1.extraction.0", "a.1.extraction.1"]);
        assert_eq!(tasks(&cache, "b"), ["b.0.validation.0"]);
        assert!(tasks(&cache, "c").is_empty());
        // The same task twice (a redelivery) is counted once.
        cache.insert(result("a", "a.1.extraction.0"), 100);
        assert_eq!(cache.bytes(), 210);
        cache.forget("a");
        assert!(tasks(&cache, "a").is_empty());
        assert_eq!(cache.bytes(), 10);
        cache.forget("a");
        assert_eq!(cache.bytes(), 10);
    }

    #[test]
    fn over_budget_the_oldest_jobs_go_first() {
        let cache = DecodedResults::new(250, HOUR);
        cache.insert(result("old", "old.0"), 100);
        cache.insert(result("mid", "mid.0"), 100);
        // A later result of the oldest job does not make it young.
        cache.insert(result("old", "old.1"), 40);
        cache.insert(result("new", "new.0"), 100);
        assert!(tasks(&cache, "old").is_empty());
        assert_eq!(tasks(&cache, "mid"), ["mid.0"]);
        assert_eq!(tasks(&cache, "new"), ["new.0"]);
        assert_eq!(cache.bytes(), 200);
        // A result larger than the whole budget is not kept, and evicts nothing.
        cache.insert(result("huge", "huge.0"), 251);
        assert!(tasks(&cache, "huge").is_empty());
        assert_eq!(cache.bytes(), 200);
    }

    #[test]
    fn ended_jobs_leave_the_eviction_order_in_bulk_and_never_evict_a_newer_job() {
        let cache = DecodedResults::new(1000, HOUR);
        for i in 0..500 {
            let job = format!("j{i}");
            cache.insert(result(&job, &format!("{job}.0")), 1);
            cache.forget(&job);
        }
        // Swept out as they outnumber the live jobs: the order stays small.
        assert!(cache.order_len() <= 64 + 1, "{}", cache.order_len());
        // A job kept, forgotten and kept again after another one: its first place in
        // the order is stale, and going over budget evicts the other (older) job.
        cache.insert(result("again", "again.0"), 400);
        cache.forget("again");
        cache.insert(result("older", "older.0"), 400);
        cache.insert(result("again", "again.0"), 400);
        cache.insert(result("newest", "newest.0"), 400);
        assert!(tasks(&cache, "older").is_empty());
        assert_eq!(tasks(&cache, "again"), ["again.0"]);
        assert_eq!(tasks(&cache, "newest"), ["newest.0"]);
        assert_eq!(cache.bytes(), 800);
    }

    #[test]
    fn results_older_than_the_result_ttl_are_not_used() {
        // With a TTL of zero every entry is already too old: a job id used again can
        // never be answered with an earlier job's results.
        let cache = DecodedResults::new(1000, Duration::ZERO);
        cache.insert(result("a", "a.0"), 10);
        assert!(tasks(&cache, "a").is_empty());
        assert_eq!(cache.bytes(), 0, "the stale entry was dropped");
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let cache = DecodedResults::new(0, HOUR);
        cache.insert(result("a", "a.0"), 1);
        assert!(tasks(&cache, "a").is_empty());
        assert_eq!(cache.bytes(), 0);
    }
}
