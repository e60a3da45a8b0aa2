//! Group commit: uploads hand their written (not yet durable) blob to one committer task, which
//! takes every upload waiting at that moment, makes all their blobs durable with one flush,
//! records them all in one transaction (one WAL fsync), each under its own savepoint so that a
//! refused upload (an existing file, say) does not undo the others. Each upload then publishes
//! its own blob, in parallel with the others.
//! No row is committed before its bytes are durable; the flushes are shared.

use std::sync::Arc;

use stowage_protocol::FilePath;
use tokio::sync::{mpsc, oneshot};

use super::paths::commit_at_path;
use crate::blobs::BlobStore;
use crate::catalog::{self, Catalog, Tx};
use crate::error::{AppError, AppResult};
use crate::model::{AppDefaults, Content, FileRecord, Op, Principal};

/// Most uploads recorded in one transaction.
const MAX_BATCH: usize = 512;

/// What an upload asks the committer to record.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// New content at a path (a file created there, or replaced under `overwrite`).
    AtPath {
        who: Principal,
        defaults: AppDefaults,
        path: FilePath,
        content: Content,
        mime_type: String,
        overwrite: bool,
    },
    /// New content for an existing record.
    OfRecord {
        who: Principal,
        defaults: AppDefaults,
        id: i64,
        content: Content,
        mime_type: Option<String>,
    },
}

impl Change {
    /// The new content's blob.
    pub(super) fn blob(&self) -> &str {
        match self {
            Self::AtPath { content, .. } | Self::OfRecord { content, .. } => &content.blob_id,
        }
    }
}

/// What a recorded change did: the record as it is now and the blob it replaced.
#[derive(Debug)]
pub(super) struct Applied {
    pub(super) record: FileRecord,
    pub(super) replaced: Option<String>,
}

#[derive(Debug)]
struct Job {
    change: Change,
    reply: oneshot::Sender<AppResult<Applied>>,
}

/// The handle uploads use to reach the committer task.
#[derive(Debug, Clone)]
pub(super) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committer task.
    pub(super) fn start(catalog: Catalog, blobs: Arc<dyn BlobStore>) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(catalog, blobs, rx));
        Self { jobs }
    }

    /// Records `change` once its blob is durable. The caller publishes the blob when this
    /// answers Ok (off the committer's path; readers find an unpublished blob too, and a crash
    /// before the publish is settled at start).
    pub(super) async fn commit(&self, change: Change) -> AppResult<Applied> {
        let (reply, answer) = oneshot::channel();
        let gone = || AppError::Io(std::io::Error::other("the committer stopped"));
        self.jobs
            .send(Job { change, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(catalog: Catalog, blobs: Arc<dyn BlobStore>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        #[allow(clippy::cast_precision_loss)] // a batch holds at most MAX_BATCH jobs
        metrics::histogram!("stowage_group_commit_batch_size").record(batch.len() as f64);
        let results = commit_batch(&catalog, blobs.as_ref(), &batch).await;
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Records a batch; answers one result per job, in order.
async fn commit_batch(
    catalog: &Catalog,
    blobs: &dyn BlobStore,
    batch: &[Job],
) -> Vec<AppResult<Applied>> {
    let fail_all = |e: AppError| {
        tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        let api = e.to_api();
        batch
            .iter()
            .map(|_| Err(AppError::Api(api.clone())))
            .collect()
    };
    if let Err(e) = blobs.make_durable().await {
        return fail_all(AppError::Io(e));
    }
    let mut tx = match catalog.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(apply_one(&mut tx, &job.change).await);
    }
    if let Err(e) = tx.commit().await {
        return fail_all(e);
    }
    results
}

async fn apply_one(tx: &mut Tx, change: &Change) -> AppResult<Applied> {
    let savepoint = tx.savepoint().await?;
    let result = apply(tx, change).await;
    match &result {
        Ok(_) => tx.release(&savepoint).await?,
        Err(_) => tx.rollback_to(&savepoint).await?,
    }
    result
}

async fn apply(tx: &mut Tx, change: &Change) -> AppResult<Applied> {
    let now = crate::model::now_ms();
    let applied = match change {
        Change::AtPath {
            who,
            defaults,
            path,
            content,
            mime_type,
            overwrite,
        } => {
            let at = super::paths::At {
                who,
                defaults: *defaults,
            };
            commit_at_path(tx, &at, path, content, mime_type, *overwrite, now).await?
        }
        Change::OfRecord {
            who,
            defaults,
            id,
            content,
            mime_type,
        } => {
            let app = &who.app;
            // Decided again in the transaction that writes: the rules may have changed while
            // the bytes were arriving.
            let record = catalog::records::by_id(tx.conn(), app, *id)
                .await?
                .ok_or_else(stowage_protocol::ApiError::not_found)?;
            let target = super::access::Target::File(&record);
            super::access::authorize_on(tx.conn(), who, *defaults, Op::Write, target).await?;
            let replaced =
                catalog::records::set_content(tx, app, *id, content, mime_type.as_deref()).await?;
            let record = catalog::records::by_id(tx.conn(), app, *id)
                .await?
                .ok_or_else(stowage_protocol::ApiError::not_found)?;
            Applied { record, replaced }
        }
    };
    if let Some(old) = &applied.replaced {
        catalog::add_garbage(tx, old, now).await?;
    }
    Ok(applied)
}
