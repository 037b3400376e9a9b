//! Task hooks: events on `daa.events.task.<state>`, the `TaskHooks` trait, and external
//! commands that get the task as JSON on stdin and can neither fail nor hold up a task.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use daa_shared::codec::decode_message;
use daa_shared::model::{
    FailureKind, JobStatus, Stage, StageOutput, StageTask, TaskError, TaskEvent, TaskState,
};
use daa_shared::shutdown::ShutdownTrigger;
use daa_tests::{eventually, Client, Env, Role};
use daa_worker::{RunExit, RunOptions, TaskHooks};
use futures::StreamExt;

const CSV: &[u8] = b"k,v\na,1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_reports_started_and_succeeded_on_the_task_event_subjects() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn_with(Role::Structured, &[("DAA_WORKER_INSTANCE", "s1")]);
    let client = env.client().await;
    let mut events = client
        .nats
        .subscribe(client.subjects.task_events_all())
        .await
        .expect("subscribe");
    client.nats.flush().await.expect("flush");
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);

    // The extraction task started, then succeeded, on s1; validation and QA too.
    let mut seen: Vec<(String, TaskEvent)> = Vec::new();
    let wanted = |seen: &[(String, TaskEvent)], stage: Stage, state: TaskState| {
        seen.iter()
            .any(|(_, e)| e.job_id == job.job_id && e.stage == stage && e.state == state)
    };
    while !(wanted(&seen, Stage::Extraction, TaskState::Succeeded)
        && wanted(&seen, Stage::Qa, TaskState::Succeeded))
    {
        let msg = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("task events arrive")
            .expect("subscription open");
        let (ev, _): (TaskEvent, _) =
            decode_message(msg.headers.as_ref(), &msg.payload).expect("a task event");
        seen.push((msg.subject.to_string(), ev));
    }
    let extraction: Vec<&(String, TaskEvent)> = seen
        .iter()
        .filter(|(_, e)| e.job_id == job.job_id && e.stage == Stage::Extraction)
        .collect();
    let states: Vec<TaskState> = extraction.iter().map(|(_, e)| e.state).collect();
    assert_eq!(
        states,
        [TaskState::Started, TaskState::Succeeded],
        "{seen:?}"
    );
    for (subject, e) in &extraction {
        assert_eq!(subject, &client.subjects.task_event(e.state.as_str()));
        assert_eq!(e.instance, "s1");
        assert_eq!(e.attempt, 1);
        assert!(e.error.is_none() && e.kind.is_none(), "{e:?}");
    }
    assert_eq!(extraction[0].1.task_id, extraction[1].1.task_id);
    assert!(extraction[1].1.duration_ms.is_some());
    assert!(wanted(&seen, Stage::Validation, TaskState::Started));

    // The events stream keeps them for whoever was not listening.
    let stream = client
        .js
        .get_stream(client.subjects.events_stream())
        .await
        .expect("events stream");
    eventually(
        Duration::from_secs(10),
        "the stream holds the event",
        || {
            let stream = stream.clone();
            let subject = client.subjects.task_event("succeeded");
            async move {
                let Ok(m) = stream.get_last_raw_message_by_subject(&subject).await else {
                    return false;
                };
                serde_json::from_slice::<TaskEvent>(&m.payload).is_ok()
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_retried_tasks_say_so_on_their_events() {
    let mut env = Env::start();
    env.set("DAA_TASKS_MAX_DELIVER", "2");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _flaky = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "temporary")]);
    let client = env.client().await;
    let mut events = client
        .nats
        .subscribe(client.subjects.task_event("retried"))
        .await
        .expect("subscribe");
    client.nats.flush().await.expect("flush");
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let msg = tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .expect("a retried event")
        .expect("subscription open");
    let (ev, _): (TaskEvent, _) = decode_message(msg.headers.as_ref(), &msg.payload).unwrap();
    assert_eq!(ev.job_id, job.job_id);
    assert_eq!(ev.state, TaskState::Retried);
    assert_eq!(ev.kind, Some(FailureKind::Temporary));
    assert_eq!(ev.error.as_deref(), Some("injected temporary failure"));
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
}

/// Records what the runtime told it.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, String)>>,
}

impl TaskHooks for Recorder {
    fn pre_task(&self, task: &StageTask, attempt: u64) {
        self.push(format!("pre:{attempt}"), task);
    }
    fn post_task(&self, task: &StageTask, output: &StageOutput) {
        assert!(output.text.is_some() || !output.tables.is_empty());
        self.push("post".into(), task);
    }
    fn on_error(&self, task: &StageTask, error: &TaskError, retried: bool) {
        self.push(format!("error:{}:{retried}", error.kind), task);
    }
}

impl Recorder {
    fn push(&self, what: String, task: &StageTask) {
        self.calls
            .lock()
            .expect("lock")
            .push((what, task.job_id.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_calls_the_task_hooks_it_was_given() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    let mut cfg = env.config(Role::Structured);
    cfg.worker.instance = Some("in-process".into());
    cfg.worker.concurrency = 2;
    let recorder = Arc::new(Recorder::default());
    let (stop, shutdown) = ShutdownTrigger::new();
    let worker = tokio::spawn(daa_worker::run_with(
        Arc::new(daa_structured::StructuredAgent::default()),
        cfg,
        shutdown,
        RunOptions::new().hooks(recorder.clone()),
    ));
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    stop.trigger();
    let exit = worker.await.expect("joined").expect("ran");
    assert_eq!(exit, RunExit::Drained);
    let calls = recorder.calls.lock().expect("lock").clone();
    assert_eq!(
        calls,
        [
            ("pre:1".to_owned(), job.job_id.clone()),
            ("post".to_owned(), job.job_id.clone())
        ]
    );
}

/// A hook script that appends its stdin, one JSON document per line, to `$1`.
fn hook_script(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("hook.sh");
    std::fs::write(&path, "#!/bin/sh\ncat >> \"$1\"\necho >> \"$1\"\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_str().expect("UTF-8").to_owned()
}

fn config_file(dir: &std::path::Path, name: &str, toml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, toml).expect("write");
    path.to_str().expect("UTF-8").to_owned()
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_hook_commands_get_the_task_as_json_on_stdin() {
    let env = Env::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let script = hook_script(dir.path());
    let (pre, post, err) = (
        dir.path().join("pre.log"),
        dir.path().join("post.log"),
        dir.path().join("error.log"),
    );
    let cfg = config_file(
        dir.path(),
        "hooks.toml",
        &format!(
            "[worker.hooks]\npre_task = [{script:?}, {:?}]\npost_task = [{script:?}, {:?}]\non_error = [{script:?}, {:?}]\n",
            pre.to_str().unwrap(),
            post.to_str().unwrap(),
            err.to_str().unwrap()
        ),
    );
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    // A task that succeeds: pre_task before it, post_task after it.
    let mut ok_worker = env.spawn_with(
        Role::Structured,
        &[("DAA_CONFIG", &cfg), ("DAA_WORKER_INSTANCE", "hooked")],
    );
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    eventually(
        Duration::from_secs(10),
        "the post_task hook ran",
        || async { !lines(&post).is_empty() },
    )
    .await;
    let pre_lines = lines(&pre);
    assert_eq!(pre_lines.len(), 1, "{pre_lines:?}");
    let p = &pre_lines[0];
    assert_eq!(p["hook"], "pre_task");
    assert_eq!(p["instance"], "hooked");
    assert_eq!(p["attempt"], 1);
    assert_eq!(p["task"]["job_id"], job.job_id.as_str());
    assert_eq!(p["task"]["stage"], "extraction");
    // The whole task is there, document included.
    let task: StageTask = serde_json::from_value(p["task"].clone()).expect("a StageTask");
    assert!(task.input.source.is_some());
    let q = &lines(&post)[0];
    assert_eq!(q["hook"], "post_task");
    assert_eq!(q["task"]["task_id"], p["task"]["task_id"]);
    assert!(q["duration_ms"].is_u64());
    assert!(lines(&err).is_empty());
    ok_worker.kill9();

    // A task that fails: on_error with the error.
    let _bad = env.spawn_with(
        Role::TestWorker,
        &[("DAA_CONFIG", &cfg), ("TESTWORKER_FAIL", "permanent")],
    );
    let mut job = client.submit(Client::job("b.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    eventually(Duration::from_secs(10), "the on_error hook ran", || async {
        lines(&err)
            .iter()
            .any(|l| l["task"]["job_id"] == job.job_id.as_str())
    })
    .await;
    let e = lines(&err)
        .into_iter()
        .find(|l| l["task"]["job_id"] == job.job_id.as_str())
        .expect("line");
    assert_eq!(e["hook"], "on_error");
    assert_eq!(e["error"]["kind"], "permanent");
    assert_eq!(e["error"]["message"], "injected permanent failure");
    assert_eq!(e["retried"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_hangs_or_fails_is_killed_and_logged_and_the_task_completes() {
    let env = Env::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config_file(
        dir.path(),
        "hooks.toml",
        "[worker.hooks]\npre_task = [\"/bin/sh\", \"-c\", \"sleep 60\"]\npost_task = [\"/bin/sh\", \"-c\", \"exit 3\"]\ntimeout_ms = 300\n",
    );
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let worker = env.spawn_with(Role::Structured, &[("DAA_CONFIG", &cfg)]);
    let client = env.client().await;
    // Within the result wait (far below the hook's 60 s): the hook was cut short.
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(20)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    eventually(
        Duration::from_secs(10),
        "both hook problems are logged",
        || {
            let log = worker.log();
            async move {
                log.contains("hook command timed out and was killed")
                    && log.contains("hook command failed")
            }
        },
    )
    .await;
}
