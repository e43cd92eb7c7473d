//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), with a bound.
//!
//! Each hash needs 19 MiB of its own. Run on tokio's blocking pool (up to 512 threads), a burst
//! of sign-ups took that much per request and the allocator kept it after the burst. So hashes
//! run on a few threads of their own, each reusing one buffer for every hash it computes, fed
//! by a short queue; a request that finds the queue full is answered `503 busy` at once. Memory
//! for hashing is therefore at most `threads × 19 MiB`, however many requests arrive, and a
//! thread gives its buffer back after two idle seconds.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// A hash to check against when the e-mail is unknown, so both paths take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3pVbYyIuYN0Dzg8MJ1M3C5m3rqQ4m9cIJ0Ijd6kYy7E";

/// Hashes that may wait for a thread, per thread: a few hashes' time at most (about 25 ms each
/// on a release build).
const QUEUED_PER_THREAD: usize = 8;

/// How long a hashing thread keeps its buffer with nothing to do.
const KEEP_BUFFER_FOR: Duration = Duration::from_secs(2);

/// Whether a new password is of an accepted length (10 to 200 characters).
pub fn acceptable(password: &SecretString) -> bool {
    (10..=200).contains(&password.expose_secret().chars().count())
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing thread is busy and the queue is full: try again in a moment.
    #[error("every password hashing thread is busy")]
    Busy,
    #[error("hashing a password: {0}")]
    Hashing(String),
}

impl From<argon2::Error> for PasswordError {
    fn from(err: argon2::Error) -> Self {
        PasswordError::Hashing(err.to_string())
    }
}

impl From<argon2::password_hash::Error> for PasswordError {
    fn from(err: argon2::password_hash::Error) -> Self {
        PasswordError::Hashing(err.to_string())
    }
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The hashing threads and their queue.
pub struct Passwords {
    queue: SyncSender<Job>,
}

impl Passwords {
    /// Starts `threads` hashing threads (at least one) with a queue of a few hashes each.
    pub fn new(threads: usize) -> std::io::Result<Passwords> {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel::<Job>(threads * QUEUED_PER_THREAD);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(Passwords { queue })
    }

    /// Runs `job` on a hashing thread with that thread's buffer.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |blocks| {
            let _ = done.send(job(blocks));
        });
        self.queue.try_send(job).map_err(|err| match err {
            TrySendError::Full(_) => PasswordError::Busy,
            TrySendError::Disconnected(_) => {
                PasswordError::Hashing("the hashing threads have stopped".to_owned())
            }
        })?;
        answer
            .await
            .map_err(|_| PasswordError::Hashing("a hashing thread stopped".to_owned()))?
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        self.run(move |blocks| {
            let salt = SaltString::generate(&mut OsRng);
            let params = Params::default();
            let mut salt_bytes = [0u8; 64];
            let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
            let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(
                &params,
                password.expose_secret().as_bytes(),
                salt_bytes,
                &mut output,
                blocks,
            )?;
            let hash = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params)?,
                salt: Some(salt.as_salt()),
                hash: Some(Output::new(&output)?),
            };
            Ok(hash.to_string())
        })
        .await
    }

    /// Whether the password matches; `None` for the hash checks a dummy so timing tells nothing.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, PasswordError> {
        self.run(move |blocks| {
            let known = hash.is_some();
            let stored = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let parsed = PasswordHash::new(&stored)?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Err(PasswordError::Hashing(
                    "a stored hash has no salt or output".to_owned(),
                ));
            };
            if Algorithm::try_from(parsed.algorithm)? != Algorithm::Argon2id {
                return Err(PasswordError::Hashing(
                    "a stored hash is not argon2id".to_owned(),
                ));
            }
            let params = Params::try_from(&parsed)?;
            let mut salt_bytes = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
            let mut output = vec![0u8; expected.len()];
            compute(
                &params,
                password.expose_secret().as_bytes(),
                salt_bytes,
                &mut output,
                blocks,
            )?;
            // `Output`'s equality is constant-time.
            Ok(known && Output::new(&output)? == expected)
        })
        .await
    }
}

/// A hashing thread: takes jobs until the queue is dropped, with one buffer for all of them,
/// given back once no job has come for a while (so a burst leaves no memory behind).
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut blocks = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv_timeout(KEEP_BUFFER_FOR),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut blocks),
            Err(RecvTimeoutError::Timeout) => blocks = Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// argon2id of `password` into `output`, in `blocks` (grown once to the size `params` needs).
fn compute(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
    blocks: &mut Vec<Block>,
) -> Result<(), PasswordError> {
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2.hash_password_into_with_memory(password, salt, output, &mut blocks[..needed])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[tokio::test]
    async fn a_hash_verifies_with_its_password_only_and_reads_as_argon2_writes_it() {
        let passwords = Passwords::new(1).unwrap();
        let hash = passwords
            .hash(secret("correct horse battery"))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        // The argon2 crate's own verifier reads it, so stored hashes stay portable.
        Argon2::default()
            .verify_password(b"correct horse battery", &PasswordHash::new(&hash).unwrap())
            .unwrap();
        let verify = |text: &str, hash: Option<String>| passwords.verify(secret(text), hash);
        assert!(
            verify("correct horse battery", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("correct horse batterY", Some(hash)).await.unwrap());
        assert!(!verify("anything at all", None).await.unwrap());
    }

    #[tokio::test]
    async fn past_the_queue_a_hash_is_refused_at_once() {
        let passwords = Passwords::new(1).unwrap();
        let many =
            (0..3 * QUEUED_PER_THREAD).map(|_| passwords.hash(secret("correct horse battery")));
        let answers = futures_util::future::join_all(many).await;
        let busy = answers
            .iter()
            .filter(|a| matches!(a, Err(PasswordError::Busy)))
            .count();
        assert!(busy >= QUEUED_PER_THREAD, "{busy} refused");
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Ok(_) | Err(PasswordError::Busy)))
        );
    }
}
