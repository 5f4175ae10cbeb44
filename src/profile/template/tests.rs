//! Tests of compiling, checking and rendering templates.

use super::*;

/// The environment the tests' templates see: `PATH` only.
const TEST_PATH: &str = "/usr/local/bin:/usr/bin";

fn test_env(name: &str) -> Option<String> {
    (name == "PATH").then(|| TEST_PATH.to_string())
}

impl Templates {
    fn text_(&mut self, source: &str) -> Result<Text, String> {
        self.text(source, &Scope::default(), &test_env)
    }
    fn render_<'a>(&self, text: &'a Text) -> Result<std::borrow::Cow<'a, str>, String> {
        self.render_text(text, &Value::UNDEFINED)
    }
    fn json_(&mut self, expr: &str) -> Result<usize, String> {
        self.json_expression(expr, &Scope::default(), &test_env)
            .map(|(id, _)| id)
    }
}

#[test]
fn literals_skip_the_engine() {
    let mut t = Templates::new();
    assert_eq!(
        t.text_("/plain/path").unwrap(),
        Text::Literal("/plain/path".into())
    );
    assert!(t.is_empty());
}

#[test]
fn functions_render() {
    let mut t = Templates::new();
    let text = t
        .text_("/c/{{ random_int(5, 5) }}/{{ random_choice('x') }}")
        .unwrap();
    assert_eq!(t.render_(&text).unwrap(), "/c/5/x");
    let id = t.text_("{{ uuid() }}").unwrap();
    let u = t.render_(&id).unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    let e = t.text_("{{ fake_email() }}").unwrap();
    assert!(t.render_(&e).unwrap().contains("@example.com"));
    let c = t.text_("{{ random_choice(['a', 'b']) }}").unwrap();
    assert!(["a", "b"].contains(&t.render_(&c).unwrap().as_ref()));
}

#[test]
fn unknown_variables_fail_at_load() {
    let mut t = Templates::new();
    let err = t.text_("/x/{{ user_id }}").unwrap_err();
    assert!(err.starts_with("unknown variable `user_id`"), "{err}");
}

#[test]
fn unset_env_fails_at_load() {
    let mut t = Templates::new();
    let err = t
        .text_("Bearer {{ env.LOADGATE_TEST_SURELY_UNSET_VAR }}")
        .unwrap_err();
    assert!(
        err.contains("`LOADGATE_TEST_SURELY_UNSET_VAR`, which is not set"),
        "{err}"
    );
    let err = t
        .text_("{{ env('LOADGATE_TEST_SURELY_UNSET_VAR') }}")
        .unwrap_err();
    assert!(err.contains("not set"), "{err}");
}

#[test]
fn env_values_render_and_are_secrets() {
    let mut t = Templates::new();
    let path = TEST_PATH;
    let text = t.text_("{{ env.PATH }}|{{ env('PATH') }}").unwrap();
    assert_eq!(t.render_(&text).unwrap(), format!("{path}|{path}"));
    assert!(t.env_values().any(|(n, v)| n == "PATH" && v == path));
}

#[test]
fn syntax_errors_are_described() {
    let mut t = Templates::new();
    let err = t.text_("/x/{{ random_int(1, }}").unwrap_err();
    assert!(
        err.starts_with("invalid template `/x/{{ random_int(1, }}` (syntax error"),
        "{err}"
    );
    assert!(err.contains("): expected minijinja syntax"), "{err}");
    // A typed JSON field is compiled wrapped; messages show it as written.
    let err = t.json_("data.users.nope(").unwrap_err();
    assert!(
        err.starts_with("invalid template `{{ data.users.nope( }}`"),
        "{err}"
    );
}

#[test]
fn templates_that_cannot_render_fail_at_load() {
    let mut t = Templates::new();
    for (source, wanted) in [
        ("{{ 1 | nosuchfilter }}", "unknown filter"),
        ("{{ random_int(5, 1) }}", "the first bound is larger"),
        ("{{ random_int('a', 1) }}", "is not a whole number"),
        ("{{ random_int(1) }}", "missing argument"),
        ("{{ random_choice() }}", "needs at least one item"),
        ("{{ now('weekly') }}", "use `rfc3339`"),
        ("{{ 'a' is nosuchtest }}", "unknown test"),
    ] {
        let err = t.text_(source).unwrap_err();
        assert!(
            err.starts_with(&format!("template `{source}` cannot render")),
            "{source}: {err}"
        );
        assert!(err.contains(wanted), "{source}: {err}");
    }
    let err = t.text_("{{ env('PA' ~ 'TH') }}").unwrap_err();
    assert!(err.starts_with("`env()` with a computed name"), "{err}");
}

#[test]
fn templates_reading_vars_are_held_to_what_fails_whatever_the_values() {
    let mut t = Templates::new();
    let scope = Scope {
        vars: ["id".to_string(), "user".to_string()].into(),
        ..Scope::default()
    };
    // Stand-ins are not numbers or lists: what depends on the real value passes.
    for fine in [
        "{{ vars.id + 1 }}",
        "{{ vars.user.id }}",
        "{{ random_int(1, vars.id) }}",
        "{{ random_choice(vars.user) }}",
        "{% for x in vars.user %}{{ x }}{% endfor %}",
    ] {
        assert!(t.text(fine, &scope, &test_env).is_ok(), "{fine}");
    }
    for broken in [
        "{{ vars.id | nosuchfilter }}",
        "{{ vars.id ~ random_int(9, 1) }}",
    ] {
        let err = t.text(broken, &scope, &test_env).unwrap_err();
        assert!(err.contains("stand-ins for `vars`"), "{broken}: {err}");
    }
}

#[test]
fn data_templates_are_tried_with_the_first_row() {
    let mut t = Templates::new();
    let row = Value::from(BTreeMap::from([("n", Value::from("seven"))]));
    let scope = Scope {
        feeds: BTreeMap::from([("users".to_string(), vec!["n".to_string()])]),
        samples: BTreeMap::from([("users".to_string(), row)]),
        ..Scope::default()
    };
    assert!(
        t.text("/u/{{ data.users.n | upper }}", &scope, &test_env)
            .is_ok()
    );
    let err = t
        .text("{{ data.users.n + 1 }}", &scope, &test_env)
        .unwrap_err();
    assert!(err.contains("first row of each data feed"), "{err}");
}

#[test]
fn sole_expression_detection() {
    assert_eq!(
        sole_expression("{{ random_int(1, 3) }}"),
        Some("random_int(1, 3)")
    );
    assert_eq!(sole_expression(" {{- x -}} "), Some("x"));
    assert_eq!(sole_expression("id-{{ x }}"), None);
    assert_eq!(sole_expression("{{ a }}{{ b }}"), None);
}

#[test]
fn direct_rendering_matches_the_engine() {
    let mut t = Templates::new();
    let mut ids = Vec::new();
    for source in [
        "/items/{{ random_int(1, 100000) }}",
        "{{random_int(-5,5)}}/{{ random_int(0, 0) }}",
        "id-{{ uuid() }}-{{ fake_name() }}",
        "{{ random_choice('shoes', \"hats\", 'socks',) }}",
        "{{ random_choice(['x', 'y<&>\"z']) }}",
        "{ \"raw\": {{ random_int(1, 2) }} }",
        "{{ fake_email() }} {{ fake_first_name() }} {{ fake_last_name() }}",
    ] {
        match t.text_(source).unwrap() {
            Text::Template { id, .. } => ids.push((id, source.to_string())),
            Text::Literal(_) => unreachable!("{source}"),
        }
    }
    for expression in [
        "random_int(1, 9)",
        "uuid()",
        "fake_name()",
        "random_choice('a\"b', '<&>', \"it's\")",
    ] {
        ids.push((t.json_(expression).unwrap(), format!("json {expression}")));
    }
    for (id, source) in ids {
        assert!(t.fast[id].is_some(), "{source} has no direct rendering");
        for seed in 0..50 {
            fastrand::seed(seed);
            let direct = t.render(id, &Value::UNDEFINED).unwrap();
            fastrand::seed(seed);
            let engine = t.render_with_engine(id, &Value::UNDEFINED).unwrap();
            assert_eq!(direct, engine, "{source}, seed {seed}");
        }
    }
}

#[test]
fn json_expressions_keep_types() {
    let mut t = Templates::new();
    let id = t.json_("random_int(7, 7)").unwrap();
    assert_eq!(t.render(id, &Value::UNDEFINED).unwrap(), "7");
    let id = t.json_("'a\"b'").unwrap();
    assert_eq!(t.render(id, &Value::UNDEFINED).unwrap(), r#""a\"b""#);
}
