//! PostgreSQL: the connection pool, migrations, every query of the service, and what kind of
//! failure a database error is ([`ErrorKind`]).
//!
//! Queries are sqlx's checked macros; their offline data lives in `.sqlx/` so a build needs
//! no database. Nothing here knows about HTTP or libav.

pub mod channels;
pub mod direct_uploads;
pub mod idempotency;
pub mod imports;
pub mod job_queue;
pub(crate) mod notifications;
pub mod resumable_uploads;
pub mod videos;
pub mod webhooks;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// Connects to `url` with at most `connections` connections, creating its database if it does
/// not exist, and applies the migrations.
pub async fn connect_and_migrate(url: &str, connections: u32) -> anyhow::Result<PgPool> {
    use anyhow::Context;
    let options = PgConnectOptions::from_str(url).context("Failed to parse DATABASE_URL")?;
    create_database_if_missing(&options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(connections.max(2))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("Failed to connect to PostgreSQL")?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("Failed to apply the database migrations")?;
    Ok(pool)
}

/// Whether `error` may go away by itself (the database restarting or unreachable), so the
/// same statement is worth trying again later: a [transient](ErrorKind::Transient) error on
/// a pool that is still open (a closed pool means this process is shutting down).
pub fn is_transient(error: &sqlx::Error) -> bool {
    !matches!(error, sqlx::Error::PoolClosed) && ErrorKind::of(error) == ErrorKind::Transient
}

async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    use anyhow::Context;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .context("Failed to connect to PostgreSQL's `postgres` database")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .context("Failed to look for the database")?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        // Another process may create it at the same moment; that is fine.
        if let Err(error) = sqlx::query(&format!("CREATE DATABASE \"{quoted}\""))
            .execute(&mut admin)
            .await
        {
            tracing::debug!(%error, "CREATE DATABASE raced");
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Whether the database answers a trivial query: the readiness check.
pub async fn ping(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// What kind of failure a database error is, for whoever must answer for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database is out of reach, restarting, short of resources, its connection broke,
    /// or it asked us to try again (serialization failure, deadlock): the same request may
    /// succeed shortly.
    Transient,
    /// The row a query needed does not exist.
    NotFound,
    /// Anything else (a constraint, a type mismatch, a bug in a query): trying again will not
    /// help.
    Other,
}

impl ErrorKind {
    /// Classifies an error by sqlx's variant and, for errors the server sent, by SQLSTATE
    /// class (PostgreSQL appendix A).
    pub fn of(error: &sqlx::Error) -> ErrorKind {
        match error {
            sqlx::Error::RowNotFound => ErrorKind::NotFound,
            // A protocol error is a connection that broke mid-conversation (or a server that
            // does not speak PostgreSQL yet, as while it restarts): a new one may work.
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => ErrorKind::Transient,
            sqlx::Error::Database(database) => match database.code().as_deref() {
                Some(code) if is_transient_sqlstate(code) => ErrorKind::Transient,
                _ => ErrorKind::Other,
            },
            _ => ErrorKind::Other,
        }
    }
}

/// Connection exceptions (08), insufficient resources (53), operator intervention such as a
/// shutdown, a server not yet accepting connections or an idle session closed (57P01-57P03,
/// 57P05), serialization failures and deadlocks (40001, 40P01).
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57P05" | "40001" | "40P01"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_transient_a_missing_row_is_not_found_and_the_rest_is_other() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            ErrorKind::of(&sqlx::Error::Io(refused)),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::of(&sqlx::Error::PoolTimedOut),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::of(&sqlx::Error::PoolClosed),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::of(&sqlx::Error::RowNotFound),
            ErrorKind::NotFound
        );
        assert_eq!(
            ErrorKind::of(&sqlx::Error::ColumnNotFound("status".into())),
            ErrorKind::Other
        );
        let broken = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert_eq!(ErrorKind::of(&broken), ErrorKind::Transient);
        let decode = sqlx::Error::Decode("not a uuid".into());
        assert_eq!(ErrorKind::of(&decode), ErrorKind::Other);
    }

    #[test]
    fn server_errors_are_transient_by_sqlstate_class() {
        for code in [
            "08006", "08001", "53300", "53100", "57P01", "57P03", "40001", "40P01",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23514", "42P01", "22P02", "57014", "XX000"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }
}
