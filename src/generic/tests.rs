//! Candidate forms (a positive and a negative fixture each), model
//! determinism and pinned scores, and hostile inputs.

use super::*;

/// The values proposed for `text` (as a file at `path`), with their forms.
fn proposed(text: &str) -> Vec<(Form, String, String)> {
    let (cands, _) = candidate::candidates(text.as_bytes());
    cands
        .into_iter()
        .map(|c| {
            let name = text[c.name.clone()].to_string();
            (c.form, name, text[c.value.clone()].to_string())
        })
        .collect()
}

/// Forms and the value each must propose; values built to look real.
const POSITIVE: &[(Form, &str, &str)] = &[
    (
        Form::Assign,
        r#"db_password = "Kq8wN4rT2yP6""#,
        "Kq8wN4rT2yP6",
    ),
    (
        Form::Assign,
        "spring.datasource.password=Vt8q2LmX9zKr",
        "Vt8q2LmX9zKr",
    ),
    (
        Form::Assign,
        "export API_TOKEN=Xk29fPq8Lm2Q",
        "Xk29fPq8Lm2Q",
    ),
    (Form::Assign, r#"opts.Password := "g4mh9oWq""#, "g4mh9oWq"),
    (
        Form::Assign,
        r#"client = Client(api_key="Zq7Lm2Wx9Rt4Yp")"#,
        "Zq7Lm2Wx9Rt4Yp",
    ),
    (
        Form::Assign,
        r#"'secret_key' => 'MXVjM8Ahghjs',"#,
        "MXVjM8Ahghjs",
    ),
    (
        Form::Assign,
        r#"val password: String = "sag5mmtpgqfl""#,
        "sag5mmtpgqfl",
    ),
    (Form::Assign, r#"password = Some("lysmwlqe"),"#, "lysmwlqe"),
    (
        Form::Assign,
        r#"var oSeed = []byte("SODOJNLHRLOMANBD")"#,
        "SODOJNLHRLOMANBD",
    ),
    (
        Form::Assign,
        r#"conn = "Server=db;User Id=sa;Password=Gets0m3Pw;""#,
        "Gets0m3Pw",
    ),
    (
        Form::Assign,
        "<add name=\"x\" password=\"Wq8Lm2Xz\" />",
        "Wq8Lm2Xz",
    ),
    (
        Form::Colon,
        r#"  "client_secret": "8307ea3453320b22","#,
        "8307ea3453320b22",
    ),
    (
        Form::Colon,
        "MINIO_ACCESS_KEY: 'HR43u9Xq2LmP'",
        "HR43u9Xq2LmP",
    ),
    (Form::Colon, "password: onqmkhcep", "onqmkhcep"),
    // A UUID under a secret's name is proposed like any value (the model
    // scores it); only the name says what it is.
    (
        Form::Assign,
        r#"client_secret = "8f3a2c1e-5b7d-4e9a-a1c3-6d2f8b0e4a71""#,
        "8f3a2c1e-5b7d-4e9a-a1c3-6d2f8b0e4a71",
    ),
    (
        Form::Colon,
        "api_key: 8f3a2c1e-5b7d-4e9a-a1c3-6d2f8b0e4a72",
        "8f3a2c1e-5b7d-4e9a-a1c3-6d2f8b0e4a72",
    ),
    (
        Form::Compare,
        r#"assert cfg['password'] == 'lgltgnqe'"#,
        "lgltgnqe",
    ),
    (
        Form::Call,
        r#"user.setPassword("Tq7mZ2vR9x");"#,
        "Tq7mZ2vR9x",
    ),
    (
        Form::Call,
        r#"session.login("admin", "Wq2Lm8Zx4R")"#,
        "Wq2Lm8Zx4R",
    ),
    (
        Form::Flag,
        "mysql -u root --password Xq2Lm8Wz9 db",
        "Xq2Lm8Wz9",
    ),
    (Form::Flag, "redis-cli -h cache --pass Rk2Lm9Xq", "Rk2Lm9Xq"),
    (Form::Xml, "<password>Zq8Wn4Rt2Y</password>", "Zq8Wn4Rt2Y"),
    (
        Form::Split,
        "- name: DB_PASSWORD\n  value: Qz8Wn4Rt2Y",
        "Qz8Wn4Rt2Y",
    ),
    (
        Form::Split,
        r#"{"key": "apiKey", "value": "Lm2Xq8Wz4Rt6"}"#,
        "Lm2Xq8Wz4Rt6",
    ),
    (
        Form::Url,
        "DATABASE_URL=mysql://myuser:eyzhxzq@myhost/db",
        "eyzhxzq",
    ),
    (
        Form::Header,
        r#"-H "Authorization: Bearer Zq8Wn4Rt2Yp6Lm0V""#,
        "Zq8Wn4Rt2Yp6Lm0V",
    ),
    (
        Form::Header,
        "  - Bearer d1fc83f09661bcaf3cb3591ec4b93fe9",
        "d1fc83f09661bcaf3cb3591ec4b93fe9",
    ),
    (
        Form::AwsKeyId,
        "X-Amz-Credential=AKIAQX4RT2YP6LM3VZ7K%2F20240101",
        "AKIAQX4RT2YP6LM3VZ7K",
    ),
];

/// Lines that must not propose a value of the given form.
const NEGATIVE: &[(Form, &str)] = &[
    (Form::Assign, "password == null"),
    (Form::Assign, "token = []"),
    (Form::Assign, "max_tokens = "),
    (Form::Assign, "count = 12345678"),
    (Form::Colon, "host: db.internal"),
    (Form::Colon, "std::string key;"),
    (Form::Compare, "if (a == b) {}"),
    (Form::Call, r#"print("password please")"#),
    (Form::Flag, "mkdir -p build/out"),
    (Form::Flag, "cmd --password --verbose"),
    (Form::Xml, "<password/>"),
    (Form::Split, "- name: LOG_LEVEL\n  value: debug"),
    (Form::Url, "https://user@bitbucket.org/team/repo.git"),
    (Form::Url, "http://localhost:8080/path"),
    (Form::Header, "Bearer"),
    (Form::AwsKeyId, "AKIAQX4RT2YP6LM3VZ7KQQ"),
    (Form::Pem, "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----"),
];

#[test]
fn each_form_proposes_its_value() {
    for (form, text, value) in POSITIVE {
        let got = proposed(text);
        assert!(
            got.iter().any(|(f, _, v)| f == form && v == value),
            "{text:?}: expected {form:?} {value:?}, got {got:?}"
        );
    }
}

#[test]
fn negatives_propose_nothing_of_their_form() {
    for (form, text) in NEGATIVE {
        let got = proposed(text);
        assert!(
            !got.iter().any(|(f, _, _)| f == form),
            "{text:?}: unexpected {form:?} in {got:?}"
        );
    }
}

fn pem_fixture() -> String {
    let body: String = (0..12)
        .map(|i| format!("    \"MIIEow{i}BAAKCAQEAv8Lm2Xq4Wz9Rt6Yp0Kd3Hf5Jg7Nc1Vb8Qs2Ue4\\n\" +\n"))
        .collect();
    format!(
        "String key = \"-----BEGIN RSA PRIVATE KEY-----\\n\" +\n{body}    \"-----END RSA PRIVATE KEY-----\";\n"
    )
}

#[test]
fn pem_in_string_literals() {
    let text = pem_fixture();
    let got = proposed(&text);
    assert!(
        got.iter()
            .any(|(f, n, _)| *f == Form::Pem && n == "RSA PRIVATE KEY"),
        "{got:?}"
    );
}

fn score_of(text: &str, path: &str) -> Vec<(String, f32)> {
    detect(text.as_bytes(), Some(Path::new(path)))
        .found
        .iter()
        .map(|s| (text[s.value()].to_string(), s.score))
        .collect()
}

#[test]
fn model_matches_features() {
    assert_eq!(
        model::FEATURES,
        features::COUNT,
        "retrain: the features changed"
    );
    assert!(!model::ROOTS.is_empty());
}

#[test]
fn scores_are_deterministic() {
    let text = "DB_PASSWORD=Kq8wN4rT2yP6\napi_key = \"Zq7Lm2Wx9Rt4YpVn\"\n";
    let a = score_of(text, "config/app.env");
    let b = score_of(text, "config/app.env");
    assert_eq!(a, b);
    assert!(a.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
}

/// A retrain shows up here as a diff: update the pins with the new scores
/// when the change is intended (and the benchmarks with them).
#[test]
fn pinned_scores() {
    let cases: &[(&str, &str, &str)] = &[
        ("src/db.py", "password = \"hvopcspjq\"\n", "hvopcspjq"),
        (
            "config/app.yml",
            "  client_secret: 8307ea3453320b22aae283d23dbf3cd7\n",
            "8307ea3453320b22aae283d23dbf3cd7",
        ),
        (
            "src/db.py",
            "password = os.getenv(\"DB_PASSWORD\")\n",
            "DB_PASSWORD",
        ),
        ("src/form.js", "passwordField: 'password',\n", "password"),
    ];
    let mut got = Vec::new();
    for (path, text, value) in cases {
        let s = score_of(text, path);
        let score = s.iter().find(|(v, _)| v == value).map(|(_, s)| *s);
        got.push((*value, score.map(|s| (s * 1000.0).round() / 1000.0)));
    }
    assert_eq!(got, PINNED, "scores changed (retrained?)");
}

const PINNED: &[(&str, Option<f32>)] = &[
    ("hvopcspjq", Some(0.964)),
    ("8307ea3453320b22aae283d23dbf3cd7", Some(0.986)),
    ("DB_PASSWORD", Some(0.005)),
    ("password", Some(0.001)),
];

#[test]
fn real_looking_values_outscore_references_and_words() {
    let good = score_of("password = \"hvopcspjq\"\n", "src/db.py");
    let env = score_of("password = os.getenv(\"DB_PASSWORD\")\n", "src/db.py");
    let word = score_of("passwordField: 'password',\n", "src/form.js");
    assert!(good[0].1 >= LOW, "{good:?}");
    assert!(env.iter().all(|(_, s)| *s < LOW), "{env:?}");
    assert!(word.iter().all(|(_, s)| *s < LOW), "{word:?}");
}

#[test]
fn public_by_design_is_not_reported() {
    let text = "stripe_publishable_key = \"pk_live_51Hq8Wn4Rt2Yp6Lm0VzX3c\"\n";
    let d = detect(text.as_bytes(), Some(Path::new("src/pay.js")));
    assert!(d.found.iter().all(|s| s.level(text.as_bytes()).is_none()));
}

/// Vendors' documented samples are never reported; a name that calls its
/// value public caps it at low. Each row: text, the level expected (a
/// real key's row only needs medium or above: its exact level is the
/// model's, pinned elsewhere).
#[test]
fn documented_samples_and_public_names() {
    let rows: &[(&str, Option<Level>)] = &[
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", None),
        ("AZURE_STORAGE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\n", None),
        ("COSMOS_KEY=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==\n", None),
        ("FLW_PUBLIC_KEY=Kq8wN4rT2yP6Lm0VzX3cBn5Hj7Ds\n", Some(Level::Low)),
        // One character off the emulator's key: a real account key.
        ("AZURE_STORAGE_KEY=Fby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\n", Some(Level::Medium)),
        ("FLW_SECRET_KEY=Kq8wN4rT2yP6Lm0VzX3cBn5Hj7Ds\n", Some(Level::Medium)),
        ("pub const STATUS_NULL_LM_PASSWORD: NTSTATUS = 1073741837i32;\n", None),
        ("#define PASSWORD_FLAGS 0x80000000UL\n", None),
        ("pub const STATUS_PWD_TOO_LONG: NTSTATUS = -1073741220i32;\n", None),
        ("$pwd=Cwd::getcwd();\n", None),
        ("password = \"1073741837i32x\"\n", Some(Level::Medium)),
    ];
    for (text, want) in rows {
        let d = detect(text.as_bytes(), Some(Path::new("config/app.env")));
        let got = d
            .found
            .iter()
            .filter_map(|s| s.level(text.as_bytes()))
            .max();
        match want {
            Some(Level::Medium) => assert!(got >= Some(Level::Medium), "{text}: {got:?}"),
            _ => assert_eq!(got, *want, "{text}"),
        }
    }
}

#[test]
fn test_code_is_quiet() {
    let text =
        "fn f() {}\n#[cfg(test)]\nmod tests {\n    const PASSWORD: &str = \"Kq8wN4rT2yP6\";\n}\n";
    let d = detect(text.as_bytes(), Some(Path::new("src/lib.rs")));
    assert!(d.found.iter().all(|s| s.quiet));
}

/// Crafted inputs: each must finish fast and within the bounds.
#[test]
fn hostile_inputs_are_bounded() {
    let long_line = format!("password = \"{}\"", "a".repeat(1 << 20));
    let many_seps = "key=".repeat(200_000);
    let quotes = "password = \"".repeat(50_000);
    let colons = "token:".repeat(200_000);
    let urls = "://a:b@".repeat(100_000);
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----{}", "A".repeat(1 << 20));
    let lines = "secret = x\n".repeat(100_000);
    let calls = "password(".repeat(100_000);
    let bearer = "Bearer ".repeat(100_000);
    // No timing here (speed lives in benches/): a quadratic step on these
    // megabyte inputs would not finish within the test harness's patience.
    for text in [
        long_line, many_seps, quotes, colons, urls, pem, lines, calls, bearer,
    ] {
        let d = detect(text.as_bytes(), None);
        assert!(d.found.len() <= candidate::MAX_PER_FILE);
    }
    let (_, skipped) = candidate::candidates(format!("token = {}", "b".repeat(10_000)).as_bytes());
    assert_eq!(skipped.long_lines, 1);
}

/// The lines the matcher marks are the lines the detector's own pass
/// selects: both entry points propose the same candidates, on every
/// fixture above and on the hostile inputs.
#[test]
fn marked_lines_propose_what_the_own_pass_does() {
    use crate::matcher::{Matcher, Scratch};
    use crate::rules::RuleSet;
    let matcher = Matcher::with_marks(
        std::sync::Arc::new(RuleSet::builtin()),
        candidate::LINE_KEYWORDS,
    );
    let mut scratch = Scratch::default();
    let mut texts: Vec<String> = POSITIVE.iter().map(|(_, t, _)| t.to_string()).collect();
    texts.extend(NEGATIVE.iter().map(|(_, t)| t.to_string()));
    texts.push(pem_fixture());
    texts.push(texts.join("\n"));
    texts.push("secretoken = \"Kq8wN4rT2yP6\"\nmonkeyJ = 1\npin = \"Zq7Lm2Wx\"\n".into());
    texts.push("token = x\n".repeat(5000));
    for text in &texts {
        matcher.scan(text.as_bytes(), &mut scratch);
        let mut marks = scratch.take_marks();
        marks.sort_unstable();
        let own = candidate::candidates(text.as_bytes());
        let marked = candidate::candidates_marked(text.as_bytes(), &marks);
        assert_eq!(own.0, marked.0, "{text:?}");
        assert_eq!(own.1, marked.1, "{text:?}");
    }
}

/// Path words and the quiet cap they decide. Each row: path, quiet.
#[test]
fn quiet_paths_are_read_as_words() {
    assert_eq!(
        features::path_words("src/FooTest.java"),
        ["src", "foo", "test", "java"]
    );
    let rows = [
        ("tests/api.py", true),
        ("src/test_api.py", true),
        ("pkg/api_test.go", true),
        ("web/app.spec.ts", true),
        ("src/FooTest.java", true),
        ("internal/testdata/cfg.yml", true),
        ("examples/basic/app.env", true),
        ("docs/setup.yml", true),
        ("README.md", true),
        ("docker/compose.yml", false),
        ("src/contest.py", false),
        ("src/latest/app.py", false),
        ("lib/inspect.rb", false),
        ("config/settings.py", false),
    ];
    for (path, quiet) in rows {
        assert_eq!(
            features::is_quiet_path(Some(Path::new(path))),
            quiet,
            "{path}"
        );
    }
}

/// What a history scan asks for: the candidates overlapping a blob's new
/// ranges. Reading only the widened ranges proposes exactly those that a
/// pass over the whole text proposes there, wherever the ranges fall
/// (inside a PEM body, on a split pair's value line, at the text's ends).
#[test]
fn candidates_within_ranges_are_those_of_the_whole_text() {
    let mut parts: Vec<String> = POSITIVE.iter().map(|(_, t, _)| t.to_string()).collect();
    parts.extend(NEGATIVE.iter().map(|(_, t)| t.to_string()));
    parts.push(pem_fixture());
    let text = parts.join("\nfiller line of code();\n");
    let hay = text.as_bytes();
    let (all, _) = candidate::candidates(hay);
    assert!(all.len() > 25, "{} candidates", all.len());
    let overlaps =
        |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| a.start < b.end && b.start < a.end;
    let mut tried = 0;
    for width in [1, 7, 60, 400] {
        for start in (0..hay.len()).step_by(97) {
            let ranges = [
                start..(start + width).min(hay.len()),
                (start + 3 * width + 500).min(hay.len())..(start + 4 * width + 500).min(hay.len()),
            ];
            let (got, _) = candidate::candidates_within(hay, &ranges);
            let want: Vec<_> = all
                .iter()
                .filter(|c| ranges.iter().any(|r| overlaps(r, &c.value)))
                .collect();
            let got: Vec<_> = got
                .iter()
                .filter(|c| ranges.iter().any(|r| overlaps(r, &c.value)))
                .collect();
            assert_eq!(got, want, "ranges {ranges:?}");
            tried += want.len();
        }
    }
    assert!(tried > 100, "only {tried} candidates compared");
}

/// What a history scan does instead of [`candidate::candidates_within`]:
/// a matcher over some of the rules, marking the line keywords while it
/// looks for its own keywords in the reading spans of the new ranges.
/// The marked lines propose the same candidates, wherever the ranges fall.
#[test]
fn marks_in_reading_spans_propose_what_candidates_within_proposes() {
    let rules = std::sync::Arc::new(crate::rules::RuleSet::builtin());
    let matcher = crate::matcher::Matcher::with_filter_and_marks(
        rules,
        |r| r.spec.max_len <= 512,
        candidate::LINE_KEYWORDS,
    );
    let mut scratch = crate::matcher::Scratch::default();
    let mut parts: Vec<String> = POSITIVE.iter().map(|(_, t, _)| t.to_string()).collect();
    parts.extend(NEGATIVE.iter().map(|(_, t)| t.to_string()));
    parts.push(pem_fixture());
    let text = parts.join("\nfiller line of code();\n");
    let hay = text.as_bytes();
    let mut tried = 0;
    for width in [1, 7, 60, 400] {
        for start in (0..hay.len()).step_by(89) {
            let ranges = [
                start..(start + width).min(hay.len()),
                (start + 3 * width + 500).min(hay.len())..(start + 4 * width + 500).min(hay.len()),
            ];
            let spans = candidate::reading_spans(hay, &ranges);
            matcher.scan_ranges(hay, &spans, &mut scratch);
            let mut marks = scratch.take_marks();
            marks.sort_unstable();
            let (got, _) = candidate::candidates_marked(hay, &marks);
            let (want, _) = candidate::candidates_within(hay, &ranges);
            assert_eq!(got, want, "ranges {ranges:?}");
            tried += want.len();
        }
    }
    assert!(tried > 100, "only {tried} candidates compared");
}

/// Texts with many candidates of every kind: the bundled rules (their
/// examples and negatives) and the format fixtures.
fn candidate_texts() -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![root.join("rules"), root.join("testdata/formats")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let text = std::fs::read(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

/// Scoring four vectors at once, with or without the early exit, gives
/// [`score`]'s scores to the bit, and exits only on candidates below LOW:
/// every candidate of the table, in groups of every alignment.
#[test]
fn batched_scores_agree_with_score_on_every_candidate() {
    let mut xs = Vec::new();
    for (path, text) in candidate_texts() {
        xs.extend(feature_rows(&text, Some(&path)).into_iter().map(|(_, x)| x));
    }
    let exact: Vec<f32> = xs.iter().map(score).collect();
    let reaching = exact.iter().filter(|&&s| s >= LOW).count();
    assert!(
        reaching > 50 && xs.len() > reaching + 500,
        "{reaching} of {}",
        xs.len()
    );
    // In file order, and lowest first so that whole groups exit early.
    let mut by_score: Vec<usize> = (0..xs.len()).collect();
    by_score.sort_by(|&a, &b| exact[a].total_cmp(&exact[b]));
    let sorted: Vec<[f32; features::COUNT]> = by_score.iter().map(|&i| xs[i]).collect();
    let sorted_exact: Vec<f32> = by_score.iter().map(|&i| exact[i]).collect();
    for (xs, exact) in [(&xs, &exact), (&sorted, &sorted_exact)] {
        for skip in 0..LANES {
            let (xs, exact) = (&xs[skip..], &exact[skip..]);
            let all = score_each(xs, false);
            let low = score_each(xs, true);
            for (i, &e) in exact.iter().enumerate() {
                assert_eq!(all[i].map(f32::to_bits), Some(e.to_bits()), "{i}");
                let want = (e >= LOW).then_some(e.to_bits());
                assert_eq!(low[i].map(f32::to_bits), want, "{i}: {e}");
            }
        }
    }
    // The lowest-scored group does stop before the last tree.
    assert!(trees_before_exit(&sorted[0]) < model::ROOTS.len());
}

/// How many trees [`score_each`] walks for a group of copies of `x`.
fn trees_before_exit(x: &[f32; features::COUNT]) -> usize {
    let bound = TreeBound::get();
    let mut sum = model::BASE;
    for (k, &root) in model::ROOTS.iter().enumerate() {
        if f64::from(sum) + bound.rest[k] < bound.cut {
            return k;
        }
        let mut i = root as usize;
        while model::NODES[i].0 >= 0 {
            let (f, t, l, r, _) = model::NODES[i];
            i = if x[f as usize] <= t { l } else { r } as usize;
        }
        sum += model::NODES[i].4;
    }
    model::ROOTS.len()
}

/// A reportable detection is the full one less the spans whose best
/// reading is below LOW, for each way of choosing lines.
#[test]
fn reportable_detection_is_the_full_one_above_low() {
    for (path, text) in candidate_texts() {
        let p = Some(path.as_path());
        let full = detect(&text, p);
        let want: Vec<&Scored> = full.found.iter().filter(|s| s.score >= LOW).collect();
        let got = detect_reportable(&text, p, Lines::All);
        assert_eq!(got.found.iter().collect::<Vec<_>>(), want, "{path:?}");
        let ranges = [0..text.len() / 3, text.len() / 2..text.len()];
        let full = detect_within(&text, p, &ranges);
        let want: Vec<&Scored> = full.found.iter().filter(|s| s.score >= LOW).collect();
        let got = detect_reportable(&text, p, Lines::Within(&ranges));
        assert_eq!(got.found.iter().collect::<Vec<_>>(), want, "{path:?}");
    }
}
