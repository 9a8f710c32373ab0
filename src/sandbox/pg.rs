//! A throwaway PostgreSQL cluster: initdb into a temp dir, pg_ctl start on a
//! free port with pg_stat_statements preloaded, stopped and removed on drop.

use super::dirs::{self, Kind};
use crate::conn::sql::quote_ident;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

/// Settings every sandbox gets: stats for the query screens, loopback only,
/// and durability off because the data is disposable.
const BASE_SETTINGS: &[(&str, &str)] = &[
    ("shared_preload_libraries", "pg_stat_statements"),
    ("pg_stat_statements.track", "all"),
    ("listen_addresses", "127.0.0.1"),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("synchronous_commit", "off"),
];
/// Extensions created when the server has them installed.
const OPTIONAL_EXTENSIONS: &[&str] = &["hypopg", "amcheck"];
const PORT_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    /// Extra `postgresql.conf` settings, applied after the base ones.
    pub settings: Vec<(String, String)>,
    /// Leave the data directory in place when the sandbox is dropped.
    pub keep: bool,
    /// The directory holding initdb and pg_ctl; [`find_bin_dir`] when unset.
    pub bin: Option<PathBuf>,
}

impl PgOptions {
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> PgOptions {
        self.settings.push((name.into(), value.into()));
        self
    }

    pub fn keep(mut self, keep: bool) -> PgOptions {
        self.keep = keep;
        self
    }

    pub fn bin(mut self, dir: impl Into<PathBuf>) -> PgOptions {
        self.bin = Some(dir.into());
        self
    }
}

#[derive(Debug)]
pub struct PgSandbox {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    keep: bool,
}

impl PgSandbox {
    /// Creates and starts a cluster; when any step fails, what was created is
    /// stopped and removed again before the error is returned.
    pub async fn start(opts: PgOptions) -> Result<PgSandbox> {
        dirs::clean_stale();
        let bin = match &opts.bin {
            Some(b) => b.clone(),
            None => find_bin_dir()?,
        };
        let dir = dirs::create("pg", Kind::Pg)?;
        let mut sb = PgSandbox {
            dir,
            bin,
            port: 0,
            keep: false,
        };
        sb.init(&opts).await?;
        sb.launch().await?;
        sb.setup_extensions().await?;
        sb.keep = opts.keep;
        Ok(sb)
    }

    /// Starts a cluster whose data directory was put at `<dir>/data` by
    /// someone else (a pgBackRest restore into a directory from
    /// [`dirs::create`]), with the sandbox's loopback and socket settings
    /// and `opts.settings` appended, and owns it from then on.
    pub async fn adopt(dir: PathBuf, opts: PgOptions) -> Result<PgSandbox> {
        let bin = match &opts.bin {
            Some(b) => b.clone(),
            None => find_bin_dir()?,
        };
        let mut sb = PgSandbox {
            dir,
            bin,
            port: 0,
            keep: false,
        };
        let mut settings = vec![("listen_addresses".to_string(), "127.0.0.1".to_string())];
        settings.extend(opts.settings.iter().cloned());
        sb.append_settings(settings.into_iter())?;
        sb.launch().await?;
        sb.keep = opts.keep;
        Ok(sb)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port,
            percent_encode(db)
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The sandbox directory (data directory, log and socket live inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Whether the data directory survives the drop.
    pub fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// A plain superuser connection to `db`; the connection task runs on the
    /// current runtime.
    pub async fn connect(&self, db: &str) -> Result<Client> {
        let url = self.url_for(db);
        let (client, conn) = tokio_postgres::connect(&url, NoTls)
            .await
            .map_err(|e| crate::conn::pg::connect_error(&url, e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("sandbox connection ended: {e}");
            }
        });
        Ok(client)
    }

    /// Creates a database; the extensions come with it from template1.
    pub async fn create_database(&self, name: &str) -> Result<()> {
        let client = self.connect("postgres").await?;
        client
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
            .await?;
        Ok(())
    }

    async fn init(&mut self, opts: &PgOptions) -> Result<()> {
        if dirs::is_root() {
            run(
                tokio::process::Command::new("chown")
                    .arg("postgres:")
                    .arg(&self.dir),
                "chown the sandbox directory to postgres",
            )
            .await?;
        }
        let mut initdb = tokio::process::Command::from(dirs::pg_command(&self.bin.join("initdb")));
        initdb.arg("-D").arg(self.data_dir()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(&mut initdb, "initdb").await?;
        let all = BASE_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(opts.settings.iter().cloned());
        self.append_settings(all)
    }

    /// Appends settings to postgresql.conf, the socket in the sandbox dir first.
    fn append_settings(&self, settings: impl Iterator<Item = (String, String)>) -> Result<()> {
        let mut conf = String::from("\n# opsdeck sandbox\n");
        let socket = (
            "unix_socket_directories".to_string(),
            self.dir.display().to_string(),
        );
        for (name, value) in std::iter::once(socket).chain(settings) {
            conf.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        let path = self.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        text.push_str(&conf);
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Starts the server, retrying on another port when the chosen one was
    /// taken between probing and binding.
    async fn launch(&mut self) -> Result<()> {
        let log = self.dir.join("log");
        for _ in 0..PORT_ATTEMPTS {
            let port = dirs::free_port()?;
            let mut cmd = tokio::process::Command::from(dirs::pg_command(&self.bin.join("pg_ctl")));
            cmd.args(["start", "-w", "-t", "60", "-D"])
                .arg(self.data_dir())
                .arg("-l")
                .arg(&log)
                .args(["-o", &format!("-p {port}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let out = cmd
                .output()
                .await
                .map_err(|e| Error::io("cannot run pg_ctl", e))?;
            if out.status.success() {
                self.port = port;
                return self.wait_ready().await;
            }
            let tail = log_tail(&log);
            if !tail.contains("already in use") {
                return Err(start_failed(&self.dir, &tail));
            }
        }
        Err(start_failed(
            &self.dir,
            "no free port after several attempts",
        ))
    }

    async fn wait_ready(&self) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.connect("postgres").await {
                Ok(_) => return Ok(()),
                Err(_) if started.elapsed() < READY_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(start_failed(
                        &self.dir,
                        &format!("{e}; log: {}", log_tail(&self.dir.join("log"))),
                    ))
                }
            }
        }
    }

    /// pg_stat_statements in `postgres` and `template1` (so every database
    /// created later has it), plus hypopg and amcheck where installed.
    async fn setup_extensions(&self) -> Result<()> {
        let client = self.connect("postgres").await?;
        let optional: Vec<String> = OPTIONAL_EXTENSIONS.iter().map(|s| s.to_string()).collect();
        let rows = client
            .query(
                "SELECT name FROM pg_available_extensions WHERE name = ANY($1) ORDER BY name",
                &[&optional],
            )
            .await?;
        let mut sql = String::from("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
        for row in rows {
            let name: String = row.get(0);
            sql.push_str(&format!(
                "CREATE EXTENSION IF NOT EXISTS {};",
                quote_ident(&name)
            ));
        }
        client.batch_execute(&sql).await?;
        self.connect("template1").await?.batch_execute(&sql).await?;
        Ok(())
    }

    /// Starts the stopped server again on the same port, for fault tests
    /// that take it away under an open session and bring it back.
    pub async fn restart(&self) -> Result<()> {
        let mut cmd = tokio::process::Command::from(dirs::pg_command(&self.bin.join("pg_ctl")));
        cmd.args(["start", "-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &format!("-p {}", self.port)]);
        run(&mut cmd, "pg_ctl start").await?;
        self.wait_ready().await
    }

    /// Stops the server at once (immediate mode, as a crash would), leaving
    /// the cluster in place for [`PgSandbox::restart`].
    pub fn stop(&self) {
        if !self.data_dir().join("postmaster.pid").exists() {
            return;
        }
        let _ = dirs::pg_command(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
            .arg(self.data_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for PgSandbox {
    fn drop(&mut self) {
        self.stop();
        if self.keep {
            dirs::keep(&self.dir);
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where fetched server builds are cached (tests/servers.sh fills it).
pub fn server_cache() -> PathBuf {
    std::env::var_os("OPSDECK_SERVER_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/opsdeck-servers"))
}

/// The directory holding initdb and pg_ctl: OPSDECK_PG_BIN (a directory, or
/// a major version looked up among the installed and the cached builds),
/// else from PATH, else the newest Debian-style
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Result<PathBuf> {
    let lib_root = Path::new("/usr/lib/postgresql");
    if let Some(want) = std::env::var("OPSDECK_PG_BIN")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return bin_dir_for(&want, lib_root, &server_cache());
    }
    find_bin_dir_in(std::env::var_os("PATH").as_deref(), lib_root)
}

fn has_server_programs(d: &Path) -> bool {
    d.join("initdb").is_file() && d.join("pg_ctl").is_file()
}

fn bin_dir_for(want: &str, lib_root: &Path, cache: &Path) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = if want.chars().all(|c| c.is_ascii_digit()) {
        vec![
            lib_root.join(want).join("bin"),
            cache.join(format!("pg-{want}")).join("native/bin"),
        ]
    } else {
        vec![PathBuf::from(want)]
    };
    candidates
        .iter()
        .find(|d| has_server_programs(d))
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
            Error::Usage(format!(
                "OPSDECK_PG_BIN={want}: no initdb and pg_ctl in {}; give a directory holding them or an installed major version (Debian: apt-get install postgresql-{want}; any major: bash tests/servers.sh)",
                looked.join(" or ")
            ))
        })
}

fn find_bin_dir_in(path_var: Option<&std::ffi::OsStr>, lib_root: &Path) -> Result<PathBuf> {
    let has_both = has_server_programs;
    for d in path_var.map(std::env::split_paths).into_iter().flatten() {
        // A PATH entry is often a symlink into /usr/lib/postgresql/N/bin, or
        // Debian's pg_wrapper: the real directory, where the link leads,
        // must hold both programs.
        if let Ok(real) = std::fs::canonicalize(d.join("initdb")) {
            if let Some(parent) = real.parent() {
                if has_both(parent) {
                    return Ok(parent.to_path_buf());
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        Error::Usage(format!(
            "PostgreSQL server programs (initdb, pg_ctl) not found on PATH or in {}/*/bin; install them with `apt-get install postgresql-15` (or `postgresql`)",
            lib_root.display()
        ))
    })
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::io(format!("cannot run {what}"), e))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    Err(Error::Server {
        detail: format!("{what} failed: {}", last_lines(&text, 5)),
        hint: Some("check that the postgres OS user exists and can write to the temp dir".into()),
    })
}

fn start_failed(dir: &Path, detail: &str) -> Error {
    Error::Server {
        detail: format!(
            "the sandbox Postgres in {} did not start: {detail}",
            dir.display()
        ),
        hint: Some("see the log above; a stale server may hold the port or shared memory".into()),
    }
}

fn log_tail(path: &Path) -> String {
    last_lines(&std::fs::read_to_string(path).unwrap_or_default(), 10)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_database_names_for_urls() {
        assert_eq!(percent_encode("app"), "app");
        assert_eq!(percent_encode("my db/ü"), "my%20db%2F%C3%BC");
    }

    #[test]
    fn finds_the_newest_server_programs_or_names_the_package() {
        let root = tempfile::tempdir().unwrap();
        let err = find_bin_dir_in(Some(std::ffi::OsStr::new("")), root.path()).unwrap_err();
        assert!(
            err.to_string().contains("apt-get install postgresql-15"),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        for v in ["9", "16", "13", "notes"] {
            let bin = root.path().join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("initdb"), "").unwrap();
            std::fs::write(bin.join("pg_ctl"), "").unwrap();
        }
        let found = find_bin_dir_in(None, root.path()).unwrap();
        assert_eq!(found, root.path().join("16").join("bin"));

        let on_path = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            root.path().join("13/bin/initdb"),
            on_path.path().join("initdb"),
        )
        .unwrap();
        let found = find_bin_dir_in(Some(on_path.path().as_os_str()), root.path()).unwrap();
        assert_eq!(
            found,
            std::fs::canonicalize(root.path().join("13/bin")).unwrap()
        );
    }

    #[test]
    fn a_chosen_major_is_looked_up_among_installed_and_cached_builds() {
        let lib = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let err = bin_dir_for("17", lib.path(), cache.path()).unwrap_err();
        assert!(err.to_string().contains("OPSDECK_PG_BIN=17"), "{err}");
        assert!(err.to_string().contains("tests/servers.sh"), "{err}");
        let fetched = cache.path().join("pg-17/native/bin");
        std::fs::create_dir_all(&fetched).unwrap();
        for p in ["initdb", "pg_ctl"] {
            std::fs::write(fetched.join(p), "").unwrap();
        }
        assert_eq!(
            bin_dir_for("17", lib.path(), cache.path()).unwrap(),
            fetched
        );
        let dir = fetched.display().to_string();
        assert_eq!(
            bin_dir_for(&dir, lib.path(), cache.path()).unwrap(),
            fetched
        );
        assert!(bin_dir_for("/nowhere", lib.path(), cache.path()).is_err());
    }

    #[test]
    fn keeps_the_last_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
    }
}
