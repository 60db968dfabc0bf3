//! Starting a service the same way every time: connect the database and migrate it, connect
//! NATS and make sure the stream exists, then run the HTTP server, the outbox relay and the
//! event consumer together until one shutdown signal stops them all.

use crate::config::CommonConfig;
use crate::consumer::{self, ConsumerSpec, EventHandler};
use crate::http::{self, JwtKeys, Probe};
use crate::outbox::{self, Outbox};
use crate::{db, stream};
use async_nats::jetstream;
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The connections a service holds.
#[derive(Clone)]
pub struct Infra {
    pub service: &'static str,
    pub config: CommonConfig,
    pub db: DatabaseConnection,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub outbox: Outbox,
    pub keys: Arc<JwtKeys>,
}

impl Infra {
    /// Connects and migrates. `M` is the service's migrator (platform tables first).
    pub async fn connect<M: MigratorTrait>(
        service: &'static str,
        config: CommonConfig,
    ) -> anyhow::Result<Self> {
        let db = db::connect_with(&config.database_url, config.db_max_connections).await?;
        M::up(&db, None).await?;
        let (nats, js) = stream::connect(&config.nats_url, service, config.nats_login()).await?;
        let keys = Arc::new(JwtKeys::from_secret(&config.jwt_secret));
        Ok(Infra {
            service,
            config,
            db,
            nats,
            js,
            outbox: Outbox::new(),
            keys,
        })
    }

    /// Binds the HTTP listener (port 0 picks a free port, as tests do).
    pub async fn bind(&self, default_port: u16) -> anyhow::Result<(TcpListener, SocketAddr)> {
        let listener = TcpListener::bind(self.config.listen_or(default_port)).await?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    }

    pub fn probe(&self, consumer: Option<&str>) -> InfraProbe {
        InfraProbe {
            service: self.service,
            db: self.db.clone(),
            nats: self.nats.clone(),
            js: self.js.clone(),
            consumer: consumer.map(str::to_string),
            extra: None,
        }
    }
}

type ExtraMetrics = Arc<dyn Fn() -> BoxFuture<'static, String> + Send + Sync>;

/// `/readyz` and the pipe metrics every service reports.
#[derive(Clone)]
pub struct InfraProbe {
    service: &'static str,
    db: DatabaseConnection,
    nats: async_nats::Client,
    js: jetstream::Context,
    consumer: Option<String>,
    extra: Option<ExtraMetrics>,
}

impl InfraProbe {
    /// Adds service-specific gauges read at scrape time (the backlog's business figures).
    pub fn with_metrics(
        mut self,
        extra: impl Fn() -> BoxFuture<'static, String> + Send + Sync + 'static,
    ) -> Self {
        self.extra = Some(Arc::new(extra));
        self
    }
}

impl Probe for InfraProbe {
    async fn ready(&self) -> Result<(), String> {
        db::ping(&self.db)
            .await
            .map_err(|_| "database unreachable".to_string())?;
        if self.nats.connection_state() != async_nats::connection::State::Connected {
            return Err("NATS unreachable".to_string());
        }
        Ok(())
    }

    async fn metrics(&self) -> String {
        let mut out = String::new();
        let service = self.service;
        if let Ok((unsent, age)) = outbox::backlog(&self.db).await {
            let _ = writeln!(out, "# TYPE clearline_outbox_unsent gauge");
            let _ = writeln!(
                out,
                "clearline_outbox_unsent{{service=\"{service}\"}} {unsent}"
            );
            let _ = writeln!(out, "# TYPE clearline_outbox_oldest_age_seconds gauge");
            let _ = writeln!(
                out,
                "clearline_outbox_oldest_age_seconds{{service=\"{service}\"}} {age}"
            );
        }
        if let Ok(n) = crate::dead_letters::open_count(&self.db).await {
            let _ = writeln!(out, "# TYPE clearline_dead_letters gauge");
            let _ = writeln!(out, "clearline_dead_letters{{service=\"{service}\"}} {n}");
        }
        if let Some(name) = &self.consumer {
            if let Ok((pending, ack_pending, redelivered)) =
                consumer::broker_stats(&self.js, name).await
            {
                let _ = writeln!(out, "# TYPE clearline_consumer_pending gauge");
                let _ = writeln!(
                    out,
                    "clearline_consumer_pending{{consumer=\"{name}\"}} {pending}"
                );
                let _ = writeln!(out, "# TYPE clearline_consumer_ack_pending gauge");
                let _ = writeln!(
                    out,
                    "clearline_consumer_ack_pending{{consumer=\"{name}\"}} {ack_pending}"
                );
                let _ = writeln!(out, "# TYPE clearline_consumer_redelivered gauge");
                let _ = writeln!(
                    out,
                    "clearline_consumer_redelivered{{consumer=\"{name}\"}} {redelivered}"
                );
            }
        }
        if let Some(extra) = &self.extra {
            out.push_str(&extra().await);
        }
        out
    }
}

/// What a service runs besides its HTTP API.
pub struct Workers<H: EventHandler> {
    pub consumer: Option<(ConsumerSpec, Arc<H>)>,
    /// Whether this service produces events (runs an outbox relay).
    pub relay: bool,
}

/// Runs the HTTP server, the relay and the consumer until `shutdown`; then stops them in
/// the order that loses nothing: HTTP stops taking requests and finishes those open, the
/// consumer stops between batches, and only then does the relay make its last pass, so the
/// events those last requests and batches wrote go out too.
pub async fn run<H: EventHandler>(
    infra: Infra,
    listener: TcpListener,
    router: axum::Router,
    workers: Workers<H>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let relay_stop = CancellationToken::new();
    let mut relay = workers.relay.then(|| {
        let relay = infra.outbox.relay(
            infra.db.clone(),
            infra.js.clone(),
            infra.config.relay_poll(),
        );
        tokio::spawn(relay.run(relay_stop.clone()))
    });
    let mut consumer = workers.consumer.map(|(spec, handler)| {
        tokio::spawn(consumer::run(
            spec,
            infra.db.clone(),
            infra.js.clone(),
            handler,
            workers.relay.then(|| infra.outbox.clone()),
            shutdown.clone(),
        ))
    });
    let grace = infra.config.shutdown_grace();
    let stopping = shutdown.clone();
    let finished = async {
        let served = http::serve(listener, router, shutdown.clone()).await;
        shutdown.cancel();
        if let Some(consumer) = consumer.as_mut() {
            let _ = consumer.await;
        }
        relay_stop.cancel();
        if let Some(relay) = relay.as_mut() {
            let _ = relay.await;
        }
        // Acks and publishes still buffered in the client go out before we drop it.
        let _ = infra.nats.flush().await;
        served
    };
    // The deadline starts with the shutdown, not with the service.
    let deadline = async {
        stopping.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    let outcome = tokio::select! {
        served = finished => served.map_err(Into::into),
        () = deadline => {
            tracing::error!(service = infra.service, grace_ms = grace.as_millis(), "shutdown deadline passed; stopping what still runs");
            Err(anyhow::anyhow!("shutdown took longer than {grace:?}"))
        }
    };
    // Past the deadline, what still runs is stopped where it is: unacked events are
    // redelivered (the inbox absorbs them), unsent outbox rows wait for the next relay.
    for task in consumer.iter().chain(relay.iter()) {
        task.abort();
    }
    infra.db.close().await.ok();
    tracing::info!(service = infra.service, "stopped");
    outcome
}

/// A handler for services that consume nothing.
pub struct NoEvents;

impl EventHandler for NoEvents {
    type Batch = ();

    fn handles(&self, _: clearline_contracts::EventKind) -> bool {
        false
    }
    async fn handle(
        &self,
        _: &sea_orm::DatabaseTransaction,
        _: &clearline_contracts::CaseEvent,
        _: &mut (),
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

/// What a service adds to the common start: its routes, their OpenAPI document and its probe.
pub struct Parts {
    pub router: axum::Router,
    pub openapi: utoipa::openapi::OpenApi,
    pub probe: InfraProbe,
}

/// A service connected, migrated and bound to its port, not yet serving. Every service's
/// `Application` is one of these plus its event handler.
pub struct Bound {
    infra: Infra,
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    consumer: Option<&'static str>,
}

impl Bound {
    /// Connects, migrates with `M`, binds, and assembles the router from `parts` plus the
    /// ops endpoints, wrapped in the common layers.
    pub async fn build<M: MigratorTrait>(
        service: &'static str,
        default_port: u16,
        config: CommonConfig,
        consumer: Option<&'static str>,
        parts: impl FnOnce(&Infra) -> Parts,
    ) -> anyhow::Result<Bound> {
        let infra = Infra::connect::<M>(service, config).await?;
        let (listener, addr) = infra.bind(default_port).await?;
        let Parts {
            router,
            openapi,
            probe,
        } = parts(&infra);
        let mut router = router.merge(http::ops_router(probe, openapi));
        if consumer.is_some() {
            router = router.merge(http::dead_letters::router(
                http::dead_letters::DeadLetterApi {
                    db: infra.db.clone(),
                    keys: infra.keys.clone(),
                },
            ));
        }
        let router = http::layered(router, service);
        Ok(Bound {
            infra,
            listener,
            addr,
            router,
            consumer,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn infra(&self) -> &Infra {
        &self.infra
    }

    /// Serves until `shutdown`, with the consumer named at build (if any) handled by
    /// `handler`, and the outbox relay when the service emits events.
    pub async fn run<H: EventHandler>(
        self,
        handler: Option<H>,
        relay: bool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let config = &self.infra.config;
        // PostgreSQL takes parallel writers; SQLite has one, so parallel transactions
        // would only queue for it.
        let partitions = match sea_orm::ConnectionTrait::get_database_backend(&self.infra.db) {
            sea_orm::DatabaseBackend::Postgres => 4,
            _ => 1,
        };
        let consumer = self.consumer.zip(handler).map(|(name, handler)| {
            let mut spec = ConsumerSpec::new(name, config.max_deliver, config.ack_wait());
            spec.partitions = partitions;
            (spec, Arc::new(handler))
        });
        run(
            self.infra,
            self.listener,
            self.router,
            Workers { consumer, relay },
            shutdown,
        )
        .await
    }
}
