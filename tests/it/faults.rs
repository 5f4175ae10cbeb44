//! Faults with the real binary: a dead service, interrupts, where results go, oversized input.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;

use crate::support::loadgate;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SHORT: &str = "name: faults\nload:\n  stages:\n    - { duration: 1s, rate: 40/s }\nrequests:\n  - { name: ok, get: /ok }\n";

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A service that refuses every connection, with no baseline and no thresholds, blocks: from
/// `run` and from `gate`.
#[test]
fn a_dead_service_never_passes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    let target = format!("http://127.0.0.1:{}", support::closed_port());
    let out = loadgate()
        .args(["run", p.to_str().unwrap(), "--target", &target, "--out"])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("too many requests failed"), "{all}");
    assert!(all.contains("gate.max_error_rate"), "{all}");
    let out = loadgate()
        .current_dir(dir.path())
        .args(["gate", "p.yaml", "--target", &target, "--mode", "gate"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("100.00% of requests failed"), "{all}");
}

/// Failures below the ceiling leave the verdict to the rest of the gate; the ceiling can be
/// raised, and a ceiling of 100% is refused with the reason.
#[test]
fn the_error_ceiling_is_a_visible_setting() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    // One request in five answers 500: 20% failures.
    let profile = "name: faults\nload:\n  stages:\n    - { duration: 1s, rate: 50/s }\nrequests:\n  - { name: ok, get: /ok, weight: 4 }\n  - { name: broken, get: /status/500, weight: 1 }\n";
    let p = write(dir.path(), "p.yaml", profile);
    let out = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("all max_error_rate ≤ 5.00%"), "{all}");
    let raised = write(
        dir.path(),
        "raised.yaml",
        &format!("{profile}gate: {{ max_error_rate: 50% }}\n"),
    );
    let out = loadgate()
        .args(["run", raised.to_str().unwrap(), "--target", &target.url()])
        .arg("--out")
        .arg(dir.path().join("r2.json"))
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("all max_error_rate ≤ 50.00%"), "{all}");
    let off = write(
        dir.path(),
        "off.yaml",
        &format!("{profile}gate: {{ max_error_rate: 100% }}\n"),
    );
    let out = loadgate()
        .args(["validate", off.to_str().unwrap()])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("gate.max_error_rate"), "{all}");
    assert!(all.contains("off.yaml:"), "names the file and line: {all}");
}

/// Sends `signal` to a running child once its stderr shows `marker`, and returns its output.
#[cfg(unix)]
fn signal_when(
    mut child: std::process::Child,
    marker: &str,
    signal: &str,
) -> (std::process::Output, std::time::Duration) {
    use std::io::Read as _;
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        let mut told = false;
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !told && String::from_utf8_lossy(&seen).contains(&marker) {
                told = true;
                let _ = tx.send(());
            }
        }
        seen
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the run reached the marker");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut output = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    output.stderr = reader.join().unwrap();
    (output, took)
}

/// Ctrl-C (and SIGTERM) end a `wait_for` that would otherwise wait out its whole timeout, with
/// a message and exit code 3.
#[cfg(unix)]
#[test]
fn an_interrupt_ends_the_wait_for_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &format!("wait_for: {{ path: /health, timeout: 120s }}\n{SHORT}"),
    );
    let target = format!("http://127.0.0.1:{}", support::closed_port());
    for signal in ["-INT", "-TERM"] {
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
            .args(["run", p.to_str().unwrap(), "--target", &target, "--out"])
            .arg(dir.path().join("r.json"))
            .env_remove("GITHUB_ACTIONS")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (out, took) = signal_when(child, "waiting for", signal);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{signal}: {all}");
        assert!(
            all.contains("interrupted while waiting for") && all.contains("no load was sent"),
            "{signal}: {all}"
        );
        assert!(
            took < std::time::Duration::from_secs(10),
            "{signal}: took {took:?}"
        );
        assert!(!dir.path().join("r.json").exists());
    }
}

/// `--out` pointing at a directory, or at a folder that cannot be written, is refused before
/// any load is sent.
#[test]
fn an_unusable_out_is_refused_before_the_load() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    let out = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("is a directory"), "{all}");
    // A file where a folder is needed.
    let blocker = write(dir.path(), "blocker", "");
    let out = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(blocker.join("r.json"))
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("cannot be written"), "{all}");
    assert_eq!(target.total(), 0, "no request was sent");
}

/// `--out` naming a special file is refused, and the file stays what it was.
#[cfg(unix)]
#[test]
fn a_special_file_as_out_is_never_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.yaml", SHORT);
    // A FIFO in a folder we own: replacing it would be as wrong as replacing /dev/null.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = loadgate()
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(&fifo)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("not a regular file"), "{all}");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(target.total(), 0, "no request was sent");
}

/// Results that cannot be written where asked once the load is over (here: the path became a
/// folder during the run) go to the temporary folder, and the run says where.
#[cfg(unix)]
#[test]
fn results_that_cannot_be_written_are_kept_elsewhere() {
    let target = support::Target::start();
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        &SHORT.replace("duration: 1s", "duration: 3s"),
    );
    let out = dir.path().join("r.json");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(&out)
        .env_remove("GITHUB_ACTIONS")
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while target.total() < 10 && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::create_dir(&out).unwrap();
    let output = child.wait_with_output().unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    let kept: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}: {all}");
    assert!(
        all.contains(&format!("results written to {}", kept[0].display())),
        "{all}"
    );
    let r = loadgate::results::RunResult::from_json(&std::fs::read_to_string(&kept[0]).unwrap())
        .unwrap();
    assert!(r.endpoints[0].summary.requests > 50);
}

/// Against a service that stopped answering, Ctrl-C keeps the requests that were sent: each is
/// counted as a timeout at the stop, so the partial results show the stall.
#[cfg(unix)]
#[test]
fn requests_in_flight_at_an_interrupt_are_counted() {
    let target = support::Target::start();
    target.stall_for(std::time::Duration::from_secs(60));
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        "name: faults\ndefaults: { timeout: 50s }\nload:\n  stages:\n    - { duration: 30s, rate: 20/s }\nrequests:\n  - { name: ok, get: /ok }\n",
    );
    let out = dir.path().join("r.json");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
        .args([
            "run",
            p.to_str().unwrap(),
            "--target",
            &target.url(),
            "--out",
        ])
        .arg(&out)
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while target.total() < 20 && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(3), "{all}");
    let r =
        loadgate::results::RunResult::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r.partial);
    let e = &r.endpoints[0];
    let errors = e.summary.errors + e.warmup.errors;
    assert!(
        errors >= 20,
        "the stalled requests were counted: {errors} errors, {all}"
    );
    assert!(
        e.error_samples
            .iter()
            .any(|s| s.message.contains("still in flight at the stop")),
        "{:?}",
        e.error_samples
    );
}

/// Input files are bounded: a FIFO or a device as the profile is refused at once (it would block
/// or never end), and a profile or data file beyond its size limit is refused with the limit.
#[cfg(unix)]
#[test]
fn oversized_and_special_input_files_are_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for special in [fifo.as_path(), Path::new("/dev/zero")] {
        let out = loadgate()
            .arg("validate")
            .arg(special)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {all}", special.display());
        assert!(all.contains("not a regular file"), "{all}");
    }
    // Sparse files: large on paper, nothing on the disk.
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(5 << 20)
        .unwrap();
    let out = loadgate().arg("validate").arg(&big).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("larger than the 4 MiB"), "{all}");
    std::fs::File::create(dir.path().join("users.csv"))
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let p = write(
        dir.path(),
        "p.yaml",
        "name: faults\ndata: { users: { file: users.csv } }\nload:\n  stages:\n    - { duration: 1s, rate: 10/s }\nrequests:\n  - { name: ok, get: \"/ok/{{ data.users.id }}\" }\n",
    );
    let out = loadgate().arg("validate").arg(&p).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("larger than the 256 MiB"), "{all}");
}

/// A sample's count covers the measured phase, like the errors table: warm-up failures are in
/// neither.
#[test]
fn error_samples_count_what_the_errors_table_counts() {
    let target = support::Target::start();
    let r = support::run_yaml(
        "name: faults\nload:\n  warmup: 1s\n  stages:\n    - { duration: 2s, rate: 40/s }\nrequests:\n  - { name: broken, get: /status/500 }\n",
        &target.url(),
    );
    let e = &r.endpoints[0];
    assert!(
        e.warmup.errors > 0 && e.summary.errors > 0,
        "{:?}",
        e.summary
    );
    let sampled: u64 = e.error_samples.iter().map(|s| s.count).sum();
    assert_eq!(sampled, e.summary.errors, "{:?}", e.error_samples);
}
