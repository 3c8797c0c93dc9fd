//! Logs on stdout in the shape operators know from Java ZooKeeper:
//! `2026-11-25 15:09:32,123 [myid:1] - INFO  [component] - message`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

static MY_ID: AtomicU64 = AtomicU64::new(0);

/// Sets the id shown in `[myid:N]` (empty until known, as in Java).
pub fn set_my_id(id: u64) {
    MY_ID.store(id, Ordering::Relaxed);
}

struct JavaLikeFormat;

impl<S, N> FormatEvent<S, N> for JavaLikeFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = time_now();
        let id = MY_ID.load(Ordering::Relaxed);
        let my_id = if id == 0 { String::new() } else { id.to_string() };
        let metadata = event.metadata();
        let component = metadata.target().rsplit("::").next().unwrap_or("");
        write!(writer, "{now} [myid:{my_id}] - {:<5} [{component}] - ", metadata.level().as_str())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// UTC wall time as `YYYY-MM-DD HH:MM:SS,mmm`.
fn time_now() -> String {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs() as i64;
    let millis = since_epoch.subsec_millis();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{millis:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A log4j level name (what operators pass: `--log_level=WARN`, `ZOO_LOG4J_PROP=INFO,CONSOLE`)
/// as a tracing filter; anything else is taken as a tracing filter directive as it is.
pub fn level_filter(level: &str) -> String {
    let first = level.split(',').next().unwrap_or("").trim();
    match first.to_ascii_uppercase().as_str() {
        "FATAL" | "ERROR" => "error".into(),
        "WARN" | "WARNING" => "warn".into(),
        "INFO" => "info".into(),
        "DEBUG" => "debug".into(),
        "TRACE" | "ALL" => "trace".into(),
        "OFF" => "off".into(),
        _ => level.to_ascii_lowercase(),
    }
}

/// Installs the stdout logger. The level comes from `level` (a flag), else FK_LOG_LEVEL, else
/// ZOO_LOG4J_PROP (zkServer.sh's `INFO,CONSOLE`), else RUST_LOG, else INFO.
///
/// Directives are `level` or `target=level` pairs, comma-separated ([`Targets`]): tracing's
/// `EnvFilter` would also take span and field filters, but with its regex engine it was 531 KB
/// of the binary's code, most of which an idle server maps (the kernel maps the pages around
/// each one touched); without it an idle server's RSS is 1-2% smaller.
pub fn init(level: Option<&str>) {
    let directives = level
        .map(str::to_owned)
        .or_else(|| std::env::var("FK_LOG_LEVEL").ok())
        .or_else(|| std::env::var("ZOO_LOG4J_PROP").ok())
        .map(|l| level_filter(&l))
        .or_else(|| std::env::var("RUST_LOG").ok());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stdout).event_format(JavaLikeFormat);
    let _ = tracing_subscriber::registry().with(layer).with(targets(directives.as_deref())).try_init();
}

/// The filter for `directives`; INFO when there are none or they do not parse.
fn targets(directives: Option<&str>) -> Targets {
    let info = Targets::new().with_default(tracing::Level::INFO);
    let Some(directives) = directives else { return info };
    directives.parse().unwrap_or_else(|error| {
        eprintln!("ignoring the log level {directives:?}: {error}; logging at INFO");
        info
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn log4j_levels_map_to_filters() {
        assert_eq!(super::level_filter("INFO,CONSOLE"), "info");
        assert_eq!(super::level_filter("FATAL"), "error");
        assert_eq!(super::level_filter("warn"), "warn");
        assert_eq!(super::level_filter("ferrokeeper=debug"), "ferrokeeper=debug");
    }

    #[test]
    fn directives_filter_by_level_and_by_target_prefix() {
        use tracing::Level;
        use tracing_subscriber::filter::LevelFilter;
        let warn = super::targets(Some("warn"));
        assert_eq!(warn.default_level(), Some(LevelFilter::WARN));
        assert!(warn.would_enable("ferrokeeper::core", &Level::WARN));
        assert!(!warn.would_enable("ferrokeeper::core", &Level::INFO));
        let mixed = super::targets(Some("info,ferrokeeper::quorum=debug,zab=off"));
        assert!(mixed.would_enable("ferrokeeper::quorum::net", &Level::DEBUG));
        assert!(!mixed.would_enable("ferrokeeper::core", &Level::DEBUG));
        assert!(mixed.would_enable("ferrokeeper::core", &Level::INFO));
        assert!(!mixed.would_enable("zab::leader", &Level::ERROR));
        let off = super::targets(Some(&super::level_filter("OFF")));
        assert!(!off.would_enable("ferrokeeper", &Level::ERROR));
        for fallback in [None, Some("info=nonsense=")] {
            let targets = super::targets(fallback);
            assert!(targets.would_enable("ferrokeeper", &Level::INFO), "{fallback:?}");
            assert!(!targets.would_enable("ferrokeeper", &Level::DEBUG), "{fallback:?}");
        }
    }

    #[test]
    fn dates_convert_like_the_calendar() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_417), (2025, 11, 25));
    }
}
