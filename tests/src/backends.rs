//! Every scenario runs twice: once on SQLite, once on PostgreSQL.

/// Runs each named scenario (an `async fn(Backend) -> anyhow::Result<()>` in the calling
/// file) as two tests, `<scenario>::sqlite` and `<scenario>::postgres`, each with its own
/// system.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                super::$scenario($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                super::$scenario($crate::Backend::Postgres).await
            }
        }
    )*};
}
