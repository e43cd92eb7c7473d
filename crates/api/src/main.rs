//! `plugboard`: serve (default), migrate, openapi, rotate-keys, check-keys, create-admin.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use domain::registry::Registry;

use api::config::Settings;
use api::operator;
use api::startup::{self, Application};

/// jemalloc, configured to give freed pages back within a second (.cargo/config.toml): with
/// glibc's allocator a burst of a thousand requests left some 40 MB behind for good.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "Plugboard: the integrations control center"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Re-seal every stored secret with the active key (the first in
    /// PLUGBOARD_ENCRYPTION_KEYS), in batches; safe while servers run, and resumable.
    RotateKeys {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch: u64,
    },
    /// List the key ids that seal stored values; fails when one is missing from the ring.
    CheckKeys,
    /// Create a platform admin's account (the address must be in PLUGBOARD_ADMIN_EMAILS). The
    /// password is read from PLUGBOARD_ADMIN_PASSWORD, else from the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", api::openapi::document_json()?);
            Ok(())
        }
        Command::Migrate => {
            api::telemetry::init();
            let settings = Settings::from_env(&Registry::builtin()?)?;
            startup::prepare(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::RotateKeys { batch } => {
            api::telemetry::init();
            let settings = Settings::from_env(&Registry::builtin()?)?;
            let (db, keys) = startup::open(&settings).await?;
            let report = operator::rotate_keys(&db, &keys, batch, |place, done| {
                eprintln!("{}: {} re-sealed so far", place.label(), done.resealed);
            })
            .await?;
            let mut unreadable = 0;
            for (place, done) in &report {
                println!(
                    "{}: {} re-sealed with `{}`, {} rewritten by a server meanwhile, {} would not open",
                    place.label(),
                    done.resealed,
                    keys.active_key_id(),
                    done.changed_meanwhile,
                    done.unreadable
                );
                unreadable += done.unreadable;
            }
            if unreadable > 0 {
                bail!(
                    "{unreadable} sealed values would not open with their key; they were left as they are (see the warnings)"
                );
            }
            println!("Run `plugboard check-keys` to see which keys can be retired.");
            Ok(())
        }
        Command::CheckKeys => {
            api::telemetry::init();
            let settings = Settings::from_env(&Registry::builtin()?)?;
            let (db, keys) = startup::open(&settings).await?;
            let used = operator::keys_in_use(&db, &keys).await?;
            let (report, whole) = operator::describe_keys(&used, &keys);
            print!("{report}");
            if !whole {
                bail!(
                    "stored values are sealed with a key PLUGBOARD_ENCRYPTION_KEYS does not hold"
                );
            }
            Ok(())
        }
        Command::CreateAdmin { email, name } => {
            api::telemetry::init();
            let settings = Settings::from_env(&Registry::builtin()?)?;
            let password = match std::env::var("PLUGBOARD_ADMIN_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let (db, _) = startup::prepare(&settings).await?;
            if operator::create_admin(&db, &settings, &email, &name, password.into()).await? {
                println!("Created the platform admin account {email}; sign in with it.");
            } else {
                println!(
                    "{email} already has an account; it is a platform admin while listed in PLUGBOARD_ADMIN_EMAILS."
                );
            }
            Ok(())
        }
        Command::Serve => {
            api::telemetry::init();
            let settings = Settings::from_env(&Registry::builtin()?)?;
            let app = Application::build(settings)
                .await
                .context("starting Plugboard")?;
            tracing::info!(port = app.port(), "Plugboard is listening");
            app.run_until_stopped().await?;
            Ok(())
        }
    }
}
