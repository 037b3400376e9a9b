//! A test client: submit jobs exactly as an external client would (documented schema
//! only), wait for replies, read events and Redis state.

use std::time::Duration;

use daa_shared::codec::{decode_message, Encoding};
use daa_shared::config::Config;
use daa_shared::model::{Bytes, Job, JobEvent, Requirements, ResultDocument, Source};
use daa_shared::store::Store;
use daa_shared::subjects::{Subjects, MSG_ID_HEADER};
use futures::StreamExt;

use crate::{Env, Role};

/// A job that was submitted, with the subscription its result will arrive on.
pub struct Submitted {
    /// The job id.
    pub job_id: String,
    sub: async_nats::Subscriber,
}

impl Submitted {
    /// Wait for the result document on `reply_to` (following a result pointer into the
    /// Object Store, as clients of large results do).
    pub async fn result(&mut self, timeout: Duration) -> ResultDocument {
        let msg = tokio::time::timeout(timeout, self.sub.next())
            .await
            .unwrap_or_else(|_| panic!("no result for job {} within {timeout:?}", self.job_id))
            .unwrap_or_else(|| panic!("reply subscription of {} closed", self.job_id));
        let (doc, _): (ResultDocument, _) = decode_message(msg.headers.as_ref(), &msg.payload)
            .unwrap_or_else(|e| panic!("undecodable result: {e}"));
        doc
    }
}

/// Connected to the environment's NATS (as `client`) and Redis.
pub struct Client {
    /// NATS.
    pub nats: async_nats::Client,
    /// JetStream.
    pub js: async_nats::jetstream::Context,
    /// Redis store.
    pub store: Store,
    /// Subject names.
    pub subjects: Subjects,
    /// Client config.
    pub cfg: Config,
}

impl Client {
    /// Connect (retrying while the servers come up).
    pub async fn connect(env: &Env) -> Client {
        let cfg = env.config(Role::Cli);
        let nats = daa_shared::nats::connect(&cfg.nats, "daa-test-client")
            .await
            .unwrap_or_else(|e| panic!("test client cannot reach NATS: {e}"));
        let store = Store::connect(&cfg.redis)
            .await
            .unwrap_or_else(|e| panic!("test client cannot reach Redis: {e}"));
        let js = async_nats::jetstream::new(nats.clone());
        daa_shared::topology::ensure_streams(&js, &cfg)
            .await
            .unwrap_or_else(|e| panic!("streams: {e}"));
        Client {
            subjects: cfg.subjects(),
            nats,
            js,
            store,
            cfg,
        }
    }

    /// An inline job for `name` with `data`.
    pub fn job(name: &str, data: Vec<u8>) -> Job {
        Job {
            v: 1,
            job_id: Some(uuid::Uuid::now_v7().to_string()),
            source: Source::Inline {
                name: name.to_owned(),
                data: Bytes(data),
            },
            requirements: Requirements::default(),
            priority: Default::default(),
            deadline_ms: Some(30_000),
            reply_to: None,
        }
    }

    /// Submit `job` (MessagePack, `Nats-Msg-Id` = job id) with a fresh `reply_to`.
    pub async fn submit(&self, mut job: Job) -> Submitted {
        let reply = self.nats.new_inbox();
        let sub = self
            .nats
            .subscribe(reply.clone())
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        job.reply_to = Some(reply);
        let job_id = job.job_id.clone().unwrap_or_default();
        self.publish(&job).await;
        Submitted { job_id, sub }
    }

    /// Publish `job` in `encoding` with exactly the given headers (besides
    /// `Content-Type`), as a client in another language might; returns the PubAck.
    pub async fn publish_with(
        &self,
        job: &Job,
        encoding: Encoding,
        headers: &[(&str, &str)],
    ) -> async_nats::jetstream::publish::PublishAck {
        let mut h = encoding.headers();
        for (k, v) in headers {
            h.insert(*k, *v);
        }
        let payload = encoding
            .encode(job)
            .unwrap_or_else(|e| panic!("encode: {e}"));
        self.js
            .publish_with_headers(self.subjects.jobs_submit(), h, payload.into())
            .await
            .unwrap_or_else(|e| panic!("publish: {e}"))
            .await
            .unwrap_or_else(|e| panic!("job not stored: {e}"))
    }

    /// Publish `job` as is and wait for JetStream's ack.
    pub async fn publish(&self, job: &Job) {
        let mut headers = Encoding::MsgPack.headers();
        if let Some(id) = &job.job_id {
            headers.insert(MSG_ID_HEADER, id.as_str());
        }
        let payload = Encoding::MsgPack
            .encode(job)
            .unwrap_or_else(|e| panic!("encode: {e}"));
        self.js
            .publish_with_headers(self.subjects.jobs_submit(), headers, payload.into())
            .await
            .unwrap_or_else(|e| panic!("publish: {e}"))
            .await
            .unwrap_or_else(|e| panic!("job not stored: {e}"));
    }

    /// Wait until a live worker of `agent` reports a task in flight (its heartbeat).
    pub async fn wait_in_flight(&self, agent: daa_shared::model::AgentKind, timeout: Duration) {
        let store = self.store.clone();
        crate::eventually(timeout, "a worker holds a task", || {
            let store = store.clone();
            async move {
                store
                    .live_agents(agent, 5_000)
                    .await
                    .map(|a| {
                        a.iter()
                            .any(|a| a.heartbeat.as_ref().is_some_and(|h| h.in_flight > 0))
                    })
                    .unwrap_or(false)
            }
        })
        .await;
    }

    /// Every job event stored so far for `job_id` (read from the events stream).
    pub async fn job_events(&self, job_id: &str) -> Vec<JobEvent> {
        self.all_job_events()
            .await
            .into_iter()
            .filter(|e| e.job_id == job_id)
            .collect()
    }

    /// Send a control command (`pause`, `resume`, `status`, ...) to `agent`'s worker
    /// `instance` (or `all`) and return the answer.
    pub async fn control(
        &self,
        agent: daa_shared::model::AgentKind,
        instance: &str,
        command: &str,
    ) -> String {
        let answer = self
            .nats
            .request(
                self.subjects.control(agent, instance),
                command.to_owned().into(),
            )
            .await
            .unwrap_or_else(|e| panic!("control {command} to {agent}.{instance}: {e}"));
        String::from_utf8_lossy(&answer.payload).into_owned()
    }

    /// Every job event stored so far, in stream order.
    pub async fn all_job_events(&self) -> Vec<JobEvent> {
        use async_nats::jetstream::consumer::{self, DeliverPolicy};
        let stream = self
            .js
            .get_stream(self.subjects.events_stream())
            .await
            .unwrap_or_else(|e| panic!("events stream: {e}"));
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.subjects.job_events_all(),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("ordered consumer: {e}"));
        let pending = consumer.cached_info().num_pending;
        let mut out = Vec::new();
        if pending == 0 {
            return out;
        }
        let mut msgs = consumer
            .messages()
            .await
            .unwrap_or_else(|e| panic!("events: {e}"));
        let mut seen = 0u64;
        while seen < pending {
            let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), msgs.next()).await
            else {
                break;
            };
            seen += 1;
            if let Ok((ev, _)) = decode_message::<JobEvent>(m.headers.as_ref(), &m.payload) {
                out.push(ev);
            }
        }
        out
    }
}
