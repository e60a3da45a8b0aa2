//! Group commit: uploads hand their written (not yet fsynced) blob to one committer task, which
//! takes every upload waiting at that moment, flushes the filesystem once (`syncfs`: the bytes,
//! the renames and the directory entries of all of them), and only then records them all in one
//! SQLite transaction (one WAL fsync), each under its own savepoint so that one refused upload
//! (say, an existing file) does not undo the others. Durability per upload is unchanged: no
//! metadata row is committed before its bytes are on disk. The fsyncs are shared.

use sqlx::Acquire;
use stowage_protocol::FilePath;
use tokio::sync::{mpsc, oneshot};

use super::blobs::Blobs;
use super::meta::Meta;
use super::{commit_file_in, Entry};
use crate::error::{AppError, AppResult};

/// Most uploads recorded in one transaction.
const MAX_BATCH: usize = 512;

/// One upload waiting to be recorded.
#[derive(Debug)]
struct Job {
    app: String,
    path: FilePath,
    entry: Entry,
    overwrite: bool,
    reply: oneshot::Sender<AppResult<Option<String>>>,
}

/// The handle uploads use to reach the committer task.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committer task over `meta` and `blobs`.
    pub(crate) fn start(meta: Meta, blobs: Blobs) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(meta, blobs, rx));
        Self { jobs }
    }

    /// Records `entry` at `path` once its blob is flushed to disk, under the overwrite rule.
    /// Returns the blob it replaced, if any.
    pub(crate) async fn commit(
        &self,
        app: &str,
        path: &FilePath,
        entry: Entry,
        overwrite: bool,
    ) -> AppResult<Option<String>> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            app: app.to_owned(),
            path: path.clone(),
            entry,
            overwrite,
            reply,
        };
        let gone = || AppError::Io(std::io::Error::other("the committer stopped"));
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(meta: Meta, blobs: Blobs, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = commit_batch(&meta, &blobs, &batch).await;
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Records a batch; answers one result per job, in order.
async fn commit_batch(meta: &Meta, blobs: &Blobs, batch: &[Job]) -> Vec<AppResult<Option<String>>> {
    let fail_all = |e: &AppError| {
        tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        batch
            .iter()
            .map(|_| Err(AppError::Io(std::io::Error::other(e.to_string()))))
            .collect()
    };
    if let Err(e) = blobs.sync_filesystem().await {
        return fail_all(&AppError::Io(e));
    }
    let mut tx = match meta.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(&e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let result = async {
            let mut savepoint = tx.begin().await?;
            match commit_file_in(
                &mut savepoint,
                &job.app,
                &job.path,
                &job.entry,
                job.overwrite,
            )
            .await
            {
                Ok(replaced) => {
                    savepoint.commit().await?;
                    Ok(replaced)
                }
                Err(e) => {
                    savepoint.rollback().await?;
                    Err(e)
                }
            }
        }
        .await;
        results.push(result);
    }
    if let Err(e) = tx.commit().await {
        return fail_all(&AppError::Db(e));
    }
    results
}
