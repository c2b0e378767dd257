//! The Dockerfile and docker-compose.yml against the command they run: every variable they
//! give the service is one `hls-ladder serve` reads, and every command line they run parses.
//! `make docker-test` builds and runs them (minutes); this catches a renamed setting or
//! subcommand in `make test`, in a second.

use std::path::Path;
use std::process::Command;

fn hls_ladder(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hls-ladder"))
        .args(args)
        .output()
        .expect("hls-ladder runs")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

/// The variables `serve --help` names (`[env: NAME=...]`).
fn serve_variables() -> Vec<String> {
    let help = String::from_utf8(hls_ladder(&["serve", "--help"]).stdout).unwrap();
    help.split("[env: ")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| is_variable_char(*c)).collect())
        .collect()
}

fn is_variable_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
}

/// The block of the top-level key or service `header` (e.g. `"x-hls-ladder:"`, `"  worker:"`,
/// an anchor after it allowed): its header line and the lines after it indented deeper.
fn block(compose: &str, header: &str) -> String {
    let indent = header.len() - header.trim_start().len();
    let mut lines = compose
        .lines()
        .skip_while(|line| !(*line == header || line.starts_with(&format!("{header} "))));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no `{header}` in docker-compose.yml"));
    let rest = lines
        .take_while(|line| line.trim().is_empty() || line.len() - line.trim_start().len() > indent);
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `NAME` of each `NAME: value` line in `text`.
fn variables(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty() && name.chars().all(is_variable_char))
        .map(str::to_owned)
        .collect()
}

/// The `ENV` names of the Dockerfile's last stage (the image).
fn image_variables(dockerfile: &str) -> Vec<String> {
    let last_stage = &dockerfile[dockerfile.rfind("\nFROM ").unwrap()..];
    let mut names = Vec::new();
    // An ENV instruction and the lines its trailing backslashes continue it onto.
    let mut continued = false;
    for line in last_stage.lines() {
        let line = line.trim();
        let words = match line.strip_prefix("ENV ") {
            Some(rest) => rest,
            None if continued => line,
            None => continue,
        };
        names.extend(
            words
                .split_whitespace()
                .filter_map(|word| word.split_once('=').map(|(name, _)| name.to_owned())),
        );
        continued = line.ends_with('\\');
    }
    names
}

#[test]
fn every_variable_the_image_and_compose_file_set_is_one_the_service_reads() {
    let known = serve_variables();
    assert!(known.contains(&"DATABASE_URL".to_owned()), "{known:?}");
    let compose = read("docker-compose.yml");
    // The service's settings: the shared block and each of its services' own.
    let from_compose: Vec<String> = ["x-hls-ladder:", "  hls-ladder:", "  api:", "  worker:"]
        .iter()
        .flat_map(|header| variables(&block(&compose, header)))
        .collect();
    assert!(
        from_compose.contains(&"WORKERS".to_owned()),
        "{from_compose:?}"
    );
    assert!(
        !from_compose.contains(&"POSTGRES_PASSWORD".to_owned()),
        "{from_compose:?}"
    );
    let from_image = image_variables(&read("Dockerfile"));
    assert!(
        from_compose.contains(&"S3_ENDPOINT".to_owned()),
        "{from_compose:?}"
    );
    assert!(from_image.contains(&"LISTEN".to_owned()), "{from_image:?}");
    // Read by libraries, not by our flags: the loader's PATH and rustls' certificate file.
    let by_libraries = ["PATH", "SSL_CERT_FILE"];
    for name in from_compose.iter().chain(&from_image) {
        assert!(
            known.contains(name) || by_libraries.contains(&name.as_str()),
            "{name} is set for the service, which reads no such variable"
        );
    }
}

#[test]
fn every_command_line_the_image_and_compose_file_run_parses() {
    let dockerfile = read("Dockerfile");
    let compose = read("docker-compose.yml");
    // Each command's arguments to the binary: the ENTRYPOINT is `hls-ladder` (HEALTHCHECK
    // names it too), so it is left out.
    let mut argument_lists: Vec<Vec<String>> = Vec::new();
    for line in dockerfile.lines().chain(compose.lines()) {
        let line = line.trim();
        let Some(start) = line.find('[') else {
            continue;
        };
        let is_command = ["CMD ", "ENTRYPOINT ", "command: "]
            .iter()
            .any(|keyword| line.starts_with(keyword) || line.contains(&format!(" {keyword}")));
        if !is_command || line.starts_with("RUN") {
            continue;
        }
        let words: Vec<String> = serde_json::from_str(&line[start..]).expect(line);
        let arguments: Vec<String> = words
            .into_iter()
            .skip_while(|w| w == "hls-ladder")
            .collect();
        if !arguments.is_empty() {
            argument_lists.push(arguments);
        }
    }
    assert!(
        argument_lists.iter().any(|a| a == &["healthcheck"]),
        "{argument_lists:?}"
    );
    assert!(
        argument_lists
            .iter()
            .any(|a| a.contains(&"worker".to_owned())),
        "{argument_lists:?}"
    );
    for arguments in &argument_lists {
        let mut with_help: Vec<&str> = arguments.iter().map(String::as_str).collect();
        with_help.push("--help");
        let output = hls_ladder(&with_help);
        assert!(
            output.status.success(),
            "`hls-ladder {}` does not parse: {output:?}",
            arguments.join(" ")
        );
    }
}

/// The image's libav is built with exactly the demuxers the engine allows, so that the
/// allow-list holds in the binary too: `docker/libav-components` names them as FFmpeg's
/// configure does (one name per demuxer, not libav's comma-joined list).
#[test]
fn the_image_libav_has_exactly_the_demuxers_the_engine_allows() {
    let components = read("docker/libav-components");
    let mut built: Vec<&str> = components
        .lines()
        .filter_map(|line| line.strip_prefix("demuxer "))
        .flat_map(str::split_whitespace)
        .collect();
    let mut allowed: Vec<&str> = hls_ladder::ALLOWED_DEMUXERS
        .iter()
        .map(|name| match *name {
            "mov,mp4,m4a,3gp,3g2,mj2" => "mov",
            "matroska,webm" => "matroska",
            "mpeg" => "mpegps",
            other => other,
        })
        .collect();
    built.sort_unstable();
    allowed.sort_unstable();
    assert_eq!(built, allowed);
}
