//! Fault matrix, the console on a pty: Postgres and Redis stopped under it
//! and restarted (it shows the loss and reconnects by itself), the confirm
//! popup at 40x12 and 20x8 and through a resize storm, and SIGINT, SIGTERM
//! and SIGHUP with the popup open: exit 128+n, terminal restored, nothing
//! changed and no change left half-audited.

mod common;
mod faults_support;

use common::kill;
use common::pty::{modes_restored, Tui};
use faults_support::{local_records, no_start_without_end, System};
use opsdeck::sandbox::RedisSandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_under_the_console_reconnects() {
    let s = System::start("", "").await;
    let mut tui = Tui::spawn(s.home(), &["--no-color"]);
    tui.wait_for("the overview, up", |s| {
        s.contains("Connections") && s.contains("● up")
    });
    s.sb.stop();
    let screen = tui.wait_for("the loss in the header and a banner", |s| {
        s.contains("✖ lost") && s.contains("connection lost")
    });
    assert!(screen.contains("retrying in"), "{screen}");
    s.sb.restart().await.unwrap();
    tui.wait_for("the reconnect", |s| {
        s.contains("● up") && s.contains("reconnected")
    });
    // The tenants screen works on the new session.
    tui.send(":tenants\r");
    tui.wait_for("the tenants list", |s| {
        s.contains("Other") && s.contains("Acme")
    });
    tui.send("q");
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(modes_restored(&stty), "{stty}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_under_the_console_reconnects() {
    let mut sb = RedisSandbox::start().await.unwrap();
    let h = common::home();
    common::write_config(
        h.path(),
        &format!(
            "[tui]\nrefresh_secs = 1\n[contexts.r]\nredis = \"{}\"\n",
            sb.url()
        ),
    );
    let mut tui = Tui::spawn(h.path(), &["--no-color"]);
    tui.wait_for("the overview, up", |s| {
        s.contains("Redis memory") && s.contains("● up")
    });
    sb.kill();
    tui.wait_for("the loss", |s| {
        s.contains("✖ lost") && s.contains("connection lost")
    });
    sb.restart().await.unwrap();
    tui.wait_for("the reconnect", |s| {
        s.contains("● up") && s.contains("reconnected")
    });
    tui.send("q");
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(modes_restored(&stty), "{stty}");
}

/// The console on the tenants screen with the suspend confirm popup open.
fn confirming(s: &System) -> Tui {
    let mut tui = Tui::spawn(s.home(), &["--no-color"]);
    tui.wait_for("the overview", |s| s.contains("overview"));
    tui.send(":tenants\r");
    tui.wait_for("the tenants list", |s| s.contains("Other"));
    tui.send("s");
    tui.wait_for("the confirm popup", |s| s.contains("confirm"));
    tui
}

/// Whether the opsdeck process (the shell's child) still runs.
fn alive(tui: &Tui) -> bool {
    let sh = tui.pty.get_process().pid().as_raw();
    std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children"))
        .is_ok_and(|c| !c.trim().is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirm_popup_survives_small_terminals_and_a_resize_storm() {
    let s = System::start("", "").await;
    let mut tui = confirming(&s);
    for (cols, rows) in [(40, 12), (20, 8)] {
        tui.resize(cols, rows);
        let screen = tui.wait_for("a redraw at the new size", |sc| {
            !sc.trim().is_empty() && sc.lines().all(|l| l.chars().count() <= cols as usize)
        });
        assert!(alive(&tui), "{cols}x{rows}: {screen}");
        if cols == 40 {
            assert!(screen.contains("confirm"), "{cols}x{rows}:\n{screen}");
        }
    }
    // A storm: 200 sizes, down to 1x1 and back up, as fast as the pty takes them.
    for i in 0..200u16 {
        tui.resize(1 + (i * 7) % 120, 1 + (i * 5) % 40);
    }
    tui.resize(80, 24);
    let screen = tui.wait_for("the popup, still open, after the storm", |sc| {
        sc.contains("confirm") && sc.contains("Suspend")
    });
    assert!(alive(&tui), "{screen}");
    // Nothing was approved by the storm: cancel, and the tenant is unchanged.
    tui.send("\x1b");
    tui.wait_for("the popup closed", |sc| !sc.contains("confirm"));
    tui.send("q");
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(300)..]);
    assert!(!out.contains("panicked"), "no panic");
    assert!(modes_restored(&stty), "{stty}");
    assert_eq!(s.state_of(7).await, "on");
    assert!(
        local_records(s.home(), "tenants.suspend")
            .iter()
            .all(|r| r["phase"] != "start"),
        "nothing started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_to_the_console_with_a_popup_open_exit_128_plus_n_restored() {
    let s = System::start("", "").await;
    for (sig, n) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let mut tui = confirming(&s);
        tui.resize(40, 12);
        kill(tui.opsdeck_pid() as u32, sig);
        let (out, code, stty) = tui.finish();
        assert_eq!(
            code,
            128 + n,
            "SIG{sig}: {}",
            &out[out.len().saturating_sub(300)..]
        );
        assert!(!out.contains("panicked"), "SIG{sig}");
        assert!(modes_restored(&stty), "SIG{sig}: {stty}");
        assert!(
            out.ends_with("\u{1b}[?1049l\u{1b}[?25h"),
            "SIG{sig}: left the alternate screen, cursor shown: {:?}",
            &out[out.len().saturating_sub(80)..]
        );
    }
    assert_eq!(s.state_of(7).await, "on");
    no_start_without_end(s.home());
}
