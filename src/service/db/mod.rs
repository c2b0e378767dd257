//! PostgreSQL: the connection pool, migrations, and every query of the service.
//!
//! Queries are sqlx's checked macros; their offline data lives in `.sqlx/` so a build needs
//! no database. Nothing here knows about HTTP or libav.

pub mod idempotency;
pub(crate) mod notifications;
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
/// same statement is worth trying again later.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P01-57P03: shutting down, cannot connect now.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
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
