//! `plugboard`: serve (default), migrate, openapi.

use anyhow::Context;
use clap::{Parser, Subcommand};
use domain::registry::Registry;

use api::config::Settings;
use api::startup::{self, Application};

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
