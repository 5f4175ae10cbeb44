//! Broken profiles and the messages they get: each names the file, the position, the key path
//! and what was expected. The texts are snapshots (tests/snapshots/).
#![allow(clippy::unwrap_used)]

use loadgate::profile::Profile;

const GOOD: &str = "\
name: shop
target: http://localhost:8080
load:
  stages:
    - { duration: 30s, rate: 50/s }
requests:
  - name: home
    get: /
";

/// A capacity search (`model: search`) with its caps and an SLO.
const SEARCH: &str = "\
name: shop
load:
  model: search
  search:
    start: 50/s
    step: 1.5x
    hold: 10s
    max_rate: 400/s
    max_duration: 2m
requests:
  - name: home
    get: /
thresholds:
  all: { p95: 300ms, error_rate: 1% }
";

fn error_of(yaml: &str) -> String {
    Profile::from_yaml(yaml, "profile.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn the_good_profile_loads() {
    let p = Profile::from_yaml(GOOD, "profile.yaml").unwrap();
    assert_eq!(p.name, "shop");
}

macro_rules! broken {
    ($($name:ident: $yaml:expr;)*) => {
        $(
            #[test]
            fn $name() {
                insta::assert_snapshot!(error_of(AsRef::<str>::as_ref(&$yaml)));
            }
        )*
    };
}

broken! {
    malformed_yaml: GOOD.replace("{ duration: 30s, rate: 50/s }", "{ duration: 30s, rate: 50/s");
    unknown_key_with_suggestion: GOOD.replace("  stages:", "  max_in_fligt: 10\n  stages:");
    unknown_top_level_key: format!("{GOOD}treshold: {{}}\n");
    wrong_type: GOOD.replace("  stages:", "  max_in_flight: many\n  stages:");
    bad_duration: GOOD.replace("duration: 30s", "duration: 30x");
    bare_number_duration: GOOD.replace("duration: 30s", "duration: 30");
    bad_rate: GOOD.replace("rate: 50/s", "rate: 10/m");
    invalid_template: GOOD.replace("get: /", "get: \"/items/{{ random_int(1, }}\"");
    unknown_template_variable: GOOD.replace("get: /", "get: \"/items/{{ item_id }}\"");
    templated_name: GOOD.replace("name: home", "name: \"tenant {{ data.users.tenant }}\"");
    unset_environment_variable: GOOD.replace("    get: /", "    get: /\n    headers: { authorization: \"Bearer {{ env.LOADGATE_SURELY_UNSET_TOKEN }}\" }");
    non_http_target: GOOD.replace("http://localhost:8080", "ftp://localhost");
    target_without_scheme: GOOD.replace("http://localhost:8080", "localhost:8080");
    two_levels_in_one_stage: GOOD.replace("rate: 50/s }", "rate: 50/s, ramp_to: 100/s }");
    users_in_the_open_model: GOOD.replace("rate: 50/s", "users: 10");
    rate_without_unit_in_ramp: GOOD.replace("rate: 50/s }", "rate: 50/s }\n    - { duration: 10s, ramp_to: 100 }");
    threshold_for_unknown_endpoint: format!("{GOOD}thresholds:\n  hom: {{ p95: 300ms }}\n");
    duplicate_endpoint_names: GOOD.replace("    get: /\n", "    get: /\n  - name: home\n    get: /about\n");
    request_without_method: GOOD.replace("    get: /\n", "    weight: 2\n");
    path_without_slash: GOOD.replace("get: /", "get: items");
    warmup_longer_than_run: GOOD.replace("  stages:", "  warmup: 1m\n  stages:");
    think_time_in_open_model: GOOD.replace("  stages:", "  think_time: 1s\n  stages:");
    unknown_gate_metric: format!("{GOOD}gate:\n  metrics: {{ mean: 5% }}\n");
    bad_percentage: format!("{GOOD}gate:\n  error_rate: 0.1\n");
    unsupported_version: format!("version: 2\n{GOOD}");
    empty_file: "";
    not_a_mapping: "- just\n- a list\n";
    duplicate_key: format!("{GOOD}name: again\n");
    missing_load: "name: x\nrequests:\n  - get: /\n";
    bad_status_check: GOOD.replace("get: /", "get: /\n    check: { status: 2000 }");
    variable_used_before_it_is_extracted: format!("{GOOD}scenarios:\n  - name: buy\n    steps:\n      - {{ name: view, get: \"/items/{{{{ vars.id }}}}\" }}\n      - {{ name: add, post: /items, extract: {{ id: {{ json: /id }} }} }}\n");
    extraction_on_a_plain_request: GOOD.replace("get: /", "get: /\n    extract: { id: { json: /id } }");
    extraction_without_a_source: format!("{GOOD}scenarios:\n  - name: buy\n    steps:\n      - {{ name: add, post: /items, extract: {{ id: {{}} }} }}\n");
    weight_on_a_step: format!("{GOOD}scenarios:\n  - name: buy\n    steps:\n      - {{ name: add, post: /items, weight: 2 }}\n");
    unknown_data_feed: GOOD.replace("get: /", "get: \"/u/{{ data.users.email }}\"");
    auth_with_two_methods: format!("{GOOD}auth: {{ bearer: abc, basic: {{ username: a, password: b }} }}\n");
    short_bearer_token: format!("{GOOD}auth: {{ bearer: ab }}\n");
    error_rate_above_all_requests: format!("{GOOD}thresholds:\n  all: {{ error_rate: 150% }}\n");
    gate_error_rate_above_all_requests: format!("{GOOD}gate:\n  error_rate: 101%\n");
    zero_wait_for_timeout: format!("wait_for: {{ path: /health, timeout: 0s }}\n{GOOD}");
    path_with_a_space: GOOD.replace("get: /", "get: /a b");
    unclosed_bracket_where_text_belongs: GOOD.replace("name: shop", "name: [unclosed");
    list_where_a_duration_belongs: GOOD.replace("load:", "defaults: { timeout: [1] }\nload:");
    list_where_keys_belong: format!("{GOOD}wait_for: [1]\n");
    text_where_a_number_belongs: format!("{GOOD}gate: {{ alpha: many }}\n");
    control_characters_and_a_long_name_in_an_error: format!("{}thresholds:\n  hom: {{ p95: 1s }}\n", GOOD.replace("name: home", &format!("name: \"ho\\e]0;pwned\\a\\r\\nme{}\"", "x".repeat(100_000))));
    bad_comparison: GOOD.replace("get: /", "get: /\n    check: { json: { \"/n\": { gte: many } } }");
    search_without_a_rate_cap: SEARCH.replace("    max_rate: 400/s\n", "");
    search_without_a_duration_cap: SEARCH.replace("    max_duration: 2m\n", "");
    search_without_a_start: SEARCH.replace("    start: 50/s\n", "");
    search_with_stages: SEARCH.replace("  model: search\n", "  model: search\n  stages:\n    - { duration: 30s, rate: 50/s }\n");
    search_model_without_a_search_section: SEARCH.replace("  search:\n    start: 50/s\n    step: 1.5x\n    hold: 10s\n    max_rate: 400/s\n    max_duration: 2m\n", "");
    search_section_without_the_model: SEARCH.replace("  model: search\n", "");
    search_without_an_slo: SEARCH.replace("thresholds:\n  all: { p95: 300ms, error_rate: 1% }\n", "");
    search_with_a_min_rate_threshold: SEARCH.replace("error_rate: 1% }", "error_rate: 1%, min_rate: 10/s }");
    search_with_a_bad_step: SEARCH.replace("step: 1.5x", "step: faster");
    search_step_factor_too_small: SEARCH.replace("step: 1.5x", "step: 1x");
    search_start_above_the_cap: SEARCH.replace("start: 50/s", "start: 500/s");
    search_collapse_below_the_error_limit: SEARCH.replace("    max_rate:", "    collapse: 0.5%\n    max_rate:");
    search_cap_leaves_no_time_for_a_step: SEARCH.replace("max_duration: 2m", "max_duration: 5s");
    search_unknown_key: SEARCH.replace("    hold: 10s", "    hodl: 10s");
    url_without_host: GOOD.replace("get: /", "get: \"http://\"");
    url_with_a_multibyte_host: GOOD.replace("get: /", "get: \"http://é/x\"");
    url_with_a_port_out_of_range: GOOD.replace("get: /", "get: \"http://127.0.0.1:99999/x\"");
    target_with_a_port_out_of_range: GOOD.replace("localhost:8080", "127.0.0.1:99999");
    target_with_credentials: GOOD.replace("http://localhost:8080", "http://admin:hunter2pass@127.0.0.1:8080");
    http2_on_a_plain_http_target: format!("http: {{ version: http2 }}\n{GOOD}");
    http2_on_a_plain_http_url: format!("http: {{ version: http2 }}\n{}", GOOD.replace("http://localhost:8080", "https://localhost:8443").replace("get: /", "get: http://localhost:8080/x"));
    absurd_rate: GOOD.replace("rate: 50/s", "rate: 1e300/s");
    rate_above_the_limit_in_steps: GOOD.replace("{ duration: 30s, rate: 50/s }", "{ steps: [10/s, 2000000/s], hold: 10s }");
    zero_rate: GOOD.replace("rate: 50/s", "rate: 0/s");
    absurd_users: GOOD.replace("  stages:", "  model: closed\n  stages:").replace("rate: 50/s", "users: 100000000");
    zero_users: GOOD.replace("  stages:", "  model: closed\n  stages:").replace("rate: 50/s", "users: 0");
    zero_timeout: GOOD.replace("load:", "defaults: { timeout: 0s }\nload:");
    hour_long_request_timeout: GOOD.replace("get: /", "get: /\n    timeout: 1h");
    zero_connect_timeout: format!("http: {{ connect_timeout: 0s }}\n{GOOD}");
    source_address_that_is_no_ip: format!("http: {{ source_addresses: [127.0.0.2, 127.0.0.300] }}\n{GOOD}");
    connections_per_user_in_the_open_model: format!("http: {{ connections: per_user }}\n{GOOD}");
    zero_max_latency: GOOD.replace("get: /", "get: /\n    check: { max_latency: 0s }");
    microsecond_stage: GOOD.replace("duration: 30s", "duration: 1us");
    run_longer_than_a_week: GOOD.replace("duration: 30s", "duration: 8760h");
    typo_among_comparisons: GOOD.replace("get: /", "get: /\n    check: { json: { \"/a\": { gte: 1, lte: 9, exsits: true } } }");
    typo_as_the_only_comparison: GOOD.replace("get: /", "get: /\n    check: { json: { \"/a\": { exsits: true } } }");
    unknown_key_in_an_extraction: format!("{GOOD}scenarios:\n  - name: buy\n    steps:\n      - {{ name: add, post: /items, extract: {{ token: {{ jsn: /id }} }} }}\n");
    bad_value_in_a_threshold: format!("{GOOD}thresholds:\n  home: {{ p95: 3 }}\n");
    unknown_key_in_a_threshold: format!("{GOOD}thresholds:\n  home: {{ p59: 3s }}\n");
    bad_tolerance_of_a_gate_metric: format!("{GOOD}gate:\n  metrics: {{ p95: 5 }}\n");
    unknown_gate_confirm_value: format!("{GOOD}gate:\n  confirm: twice\n");
    unknown_feed_mode: format!("{GOOD}data:\n  users: {{ file: users.csv, mode: randm }}\n");
    typed_json_field_with_an_unknown_variable: GOOD.replace("get: /", "post: /\n    json: { a: \"{{ nope }}\" }");
    unknown_filter: GOOD.replace("get: /", "get: \"/x/{{ 1 | nosuchfilter }}\"");
    random_int_bounds_backwards: GOOD.replace("get: /", "get: \"/x/{{ random_int(5, 1) }}\"");
    random_int_of_text: GOOD.replace("get: /", "get: \"/x/{{ random_int('a', 1) }}\"");
    random_choice_of_nothing: GOOD.replace("get: /", "get: \"/x/{{ random_choice() }}\"");
    computed_environment_variable_name: GOOD.replace("get: /", "get: \"/x/{{ env('SEC_' ~ 'B') }}\"");
    bad_extract_regex: format!("{GOOD}scenarios:\n  - name: buy\n    steps:\n      - {{ name: add, post: /items, extract: {{ id: {{ regex: \"(unclosed\" }} }} }}\n");
}

#[test]
fn a_search_lays_out_its_ladder_within_the_caps() {
    let p = Profile::from_yaml(SEARCH, "profile.yaml").unwrap();
    let search = p.load.search().unwrap();
    assert_eq!(p.load.kind(), loadgate::profile::LoadModel::Open);
    assert_eq!(
        search.climb(),
        [50.0, 75.0, 112.5, 168.75, 253.125, 379.6875, 400.0]
    );
    // Seven 10 s steps fit in the 2 m cap: the ladder is the most the search can climb.
    let rates: Vec<f64> = p.load.segments.iter().map(|s| s.to).collect();
    assert_eq!(rates, search.climb());
    assert!(p.load.duration() <= search.max_duration);
    // Ten times the 1% error-rate limit.
    assert!((search.collapse_error_ratio - 0.10).abs() < 1e-12);
    let tight = SEARCH.replace("error_rate: 1%", "error_rate: 0.1%");
    let p = Profile::from_yaml(&tight, "profile.yaml").unwrap();
    let collapse = p.load.search().unwrap().collapse_error_ratio;
    assert!((collapse - 0.05).abs() < 1e-12, "clamped to 5%: {collapse}");
    // The SLO is part of a search's hash; a fixed-rate profile's thresholds are not.
    let base = Profile::from_yaml(SEARCH, "profile.yaml").unwrap();
    let other_slo = SEARCH.replace("p95: 300ms", "p95: 250ms");
    assert_ne!(
        Profile::from_yaml(&other_slo, "profile.yaml").unwrap().hash,
        base.hash
    );
    let fixed = Profile::from_yaml(GOOD, "profile.yaml").unwrap();
    let fixed_slo = format!("{GOOD}thresholds:\n  all: {{ p95: 1s }}\n");
    assert_eq!(
        Profile::from_yaml(&fixed_slo, "profile.yaml").unwrap().hash,
        fixed.hash
    );
}

#[test]
fn weights_add_up_beyond_u32() {
    let heavy = GOOD.replace("    get: /\n", "    get: /\n    weight: 4000000000\n  - name: other\n    get: /other\n    weight: 4000000000\n");
    let p = Profile::from_yaml(&heavy, "profile.yaml").unwrap();
    let total: u64 = p.scenarios.iter().map(|s| u64::from(s.weight)).sum();
    assert_eq!(total, 8_000_000_000);
}

#[test]
fn long_runs_record_at_a_coarser_interval() {
    let two_hours = GOOD.replace("duration: 30s", "duration: 2h");
    let p = Profile::from_yaml(&two_hours, "profile.yaml").unwrap();
    assert_eq!(
        p.load.interval,
        std::time::Duration::from_secs(8),
        "7200 s / 900 intervals → 8 s"
    );
    let fifteen_minutes = GOOD.replace("duration: 30s", "duration: 15m");
    let p = Profile::from_yaml(&fifteen_minutes, "profile.yaml").unwrap();
    assert_eq!(p.load.interval, std::time::Duration::from_secs(1));
}

#[test]
fn settings_load_does_not_need_the_runs_secrets() {
    let yaml = "\
name: shop
load:
  stages:
    - { duration: 30s, rate: 50/s }
requests:
  - name: home
    get: /
    headers: { authorization: \"Bearer {{ env.LOADGATE_TEST_NEVER_SET_TOKEN }}\" }
gate:
  metrics: { p95: 12% }
";
    // A run needs the variable, and says so.
    let err = error_of(yaml);
    assert!(
        err.contains("`LOADGATE_TEST_NEVER_SET_TOKEN`, which is not set"),
        "{err}"
    );
    // Reading the gate settings (compare, report) does not.
    let p = Profile::settings_from_yaml_with_files(
        yaml,
        "profile.yaml",
        &loadgate::profile::NoDataFiles,
        &loadgate::profile::NoEnvVars,
    )
    .unwrap();
    assert_eq!(p.name, "shop");
    assert_eq!(p.gate.metrics.len(), 1, "{:?}", p.gate);
    assert!((p.gate.metrics[0].1 - 0.12).abs() < 1e-9, "{:?}", p.gate);
    // Every other check still applies: a typo in a template is an error either way.
    let broken = yaml.replace("{{ env.", "{{ envv.");
    let err = Profile::settings_from_yaml_with_files(
        &broken,
        "profile.yaml",
        &loadgate::profile::NoDataFiles,
        &loadgate::profile::NoEnvVars,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown variable `envv`"), "{err}");
}

#[test]
fn gate_confirm_is_on_or_off_and_unset_by_default() {
    use loadgate::profile::Confirm;
    let confirm = |value: &str| {
        let yaml = format!("{GOOD}gate:\n  confirm: {value}\n");
        Profile::from_yaml(&yaml, "profile.yaml")
            .unwrap()
            .gate
            .confirm
    };
    assert_eq!(confirm("on"), Some(Confirm::On));
    assert_eq!(confirm("off"), Some(Confirm::Off));
    assert_eq!(
        Profile::from_yaml(GOOD, "profile.yaml")
            .unwrap()
            .gate
            .confirm,
        None
    );
}

#[test]
fn gate_paired_schedule_is_alternating_or_simultaneous() {
    use loadgate::profile::PairedSchedule;
    let schedule = |value: &str| {
        let yaml = format!("{GOOD}gate:\n  paired: {{ schedule: {value} }}\n");
        Profile::from_yaml(&yaml, "profile.yaml").map(|p| p.gate.paired.schedule)
    };
    assert_eq!(
        schedule("simultaneous").unwrap(),
        PairedSchedule::Simultaneous
    );
    assert_eq!(
        schedule("alternating").unwrap(),
        PairedSchedule::Alternating
    );
    assert_eq!(
        Profile::from_yaml(GOOD, "profile.yaml")
            .unwrap()
            .gate
            .paired
            .schedule,
        PairedSchedule::Alternating
    );
    // A typo is an error naming the key and the values, never the default.
    let err = schedule("simultanous").unwrap_err().to_string();
    assert!(err.contains("simultanous"), "{err}");
    assert!(err.contains("simultaneous"), "{err}");
}

/// The profile hash decides which baseline runs a run is compared with, so the way the load
/// model is held in memory must never change it: these are the hashes of an open and a closed
/// profile as loadgate computed them before the model carried only its own settings.
#[test]
fn the_load_model_hashes_as_it_always_did() {
    let open = "name: o\nload:\n  max_in_flight: 7\n  stages:\n    - { duration: 5s, rate: 4/s }\nrequests:\n  - get: /ok\n";
    let closed = "name: c\nload:\n  model: closed\n  think_time: 50ms..80ms\n  spawn_rate: 3/s\n  stages:\n    - { duration: 5s, users: 4 }\nrequests:\n  - get: /ok\n";
    assert_eq!(
        Profile::from_yaml(open, "open.yaml").unwrap().hash,
        "sha256:1e2ab00a896e9360d94bffc7cd7a5d8e3b7262c3786bd8e2ff5e13daad052ec0"
    );
    assert_eq!(
        Profile::from_yaml(closed, "closed.yaml").unwrap().hash,
        "sha256:fc28c903f7dd1e22bad071ad01f5a795a20dd5ebf813897f6e7044e76edd3999"
    );
}
