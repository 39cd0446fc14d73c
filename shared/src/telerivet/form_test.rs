use super::*;
use crate::telerivet::{serde_qs_fields, MAX_DEPTH};
use proptest::prelude::*;

/// serde_qs's reading of `body` (the reference), or `None` when it refuses it.
fn reference(body: &[u8]) -> Option<Value> {
    serde_qs_fields(body).ok()
}

/// Whatever this reader reads, serde_qs reads the same.
fn assert_same(body: &[u8]) -> Option<Map<String, Value>> {
    let ours = read_fields(body, MAX_DEPTH);
    if let Some(fields) = &ours {
        assert_eq!(
            Some(Value::Object(fields.clone())),
            reference(body),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    ours
}

#[test]
fn reads_every_sample_event_as_serde_qs_does() {
    let mut read = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../events")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("telerivet-") {
            continue;
        }
        let request =
            lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let body = request.body().to_vec();
        assert!(assert_same(&body).is_some(), "{name} was left to serde_qs");
        read += 1;
    }
    assert!(read >= 10, "only {read} Telerivet samples found");
}

#[test]
fn reads_brackets_lists_and_escapes() {
    let fields = assert_same(
        b"event=incoming_message&content=Hi+there%2C+%E2%9C%93&contact%5Bvars%5D%5Bfoo%5D=bar\
          &media%5B0%5D%5Burl%5D=u0&media%5B0%5D%5Btype%5D=t0&media%5B1%5D%5Burl%5D=u1\
          &label_ids[0]=L1&label_ids[1]=L2&empty=&&&a[b][c][d][e]=as+deep+as+allowed",
    )
    .unwrap();
    assert_eq!(fields["content"], "Hi there, ✓");
    assert_eq!(fields["contact"]["vars"]["foo"], "bar");
    assert_eq!(fields["media"][1]["url"], "u1");
    assert_eq!(fields["label_ids"], serde_json::json!(["L1", "L2"]));
    assert_eq!(fields["empty"], "");
    assert_eq!(fields["a"]["b"]["c"]["d"]["e"], "as deep as allowed");
}

#[test]
fn leaves_other_shapes_to_serde_qs() {
    for body in [
        "",
        "&&",
        "a=1&a=2",
        "a[]=1",
        "a[1][x]=1",
        "a[0]=1&a[0]=2",
        "a[01]=x",
        "a[0]=1&a[x]=2",
        "a[x]=1&a[0]=2",
        "a[b]=1&a=2",
        "a=1&a[b]=2",
        "a%5bb%5d=1",
        "a%41=1",
        "a+b=1",
        "a",
        "a=1&b",
        "=x",
        "0=x",
        "a]=x",
        "a[b=1",
        "a[b]c=1",
        "a[b[c]]=1",
        "a[b][c][d][e][f]=1",
        "a[99999999999]=1",
        "a=%zz",
        "a=%4",
        "a=%FF",
    ] {
        assert_eq!(
            read_fields(body.as_bytes(), MAX_DEPTH),
            None,
            "{body:?} should be left to serde_qs"
        );
    }
}

const ROOTS: [&str; 8] = ["event", "id", "contact", "media", "vars", "0", "a]b", ""];
const SEGMENTS: [&str; 10] = ["0", "1", "2", "01", "url", "type", "vars", "", "a[b", "x y"];
const VALUES: [&str; 12] = [
    "",
    "x",
    "1",
    "a+b",
    "%2B",
    "%e2%9c%93",
    "%2",
    "%zz",
    "%FF",
    "=",
    "%5B%5D",
    "%%41",
];

/// A key of `root` and `segments`, its brackets written plain, as `%5B`/`%5D` or as
/// lower-case escapes.
fn key(root: usize, segments: &[usize], brackets: usize) -> String {
    let (open, close) = [("[", "]"), ("%5B", "%5D"), ("%5b", "%5d")][brackets];
    let mut key = ROOTS[root].to_owned();
    for segment in segments {
        key.push_str(open);
        key.push_str(SEGMENTS[*segment]);
        key.push_str(close);
    }
    key
}

fn any_pair() -> impl Strategy<Value = String> {
    (
        0..ROOTS.len(),
        prop::collection::vec(0..SEGMENTS.len(), 0..6),
        prop_oneof![3 => Just(0usize), 3 => Just(1usize), 1 => Just(2usize)],
        prop::option::of(0..VALUES.len()),
    )
        .prop_map(|(root, segments, brackets, value)| {
            let mut pair = key(root, &segments, brackets);
            if let Some(value) = value {
                pair.push('=');
                pair.push_str(VALUES[value]);
            }
            pair
        })
}

/// A body as Telerivet writes one: distinct keys (a key given twice is left to serde_qs
/// on purpose), names or a first index in brackets, values that decode.
fn telerivet_like_body() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            0..5usize,
            prop::collection::vec(prop_oneof![3 => 4..7usize, 1 => Just(0usize)], 0..5),
            0..6usize,
        ),
        1..12,
    )
    .prop_map(|pairs| {
        let mut body = String::new();
        for (i, (root, segments, value)) in pairs.into_iter().enumerate() {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(&format!("{}{i}", ROOTS[root]));
            for segment in segments {
                body.push_str("%5B");
                body.push_str(SEGMENTS[segment]);
                body.push_str("%5D");
            }
            body.push('=');
            body.push_str(VALUES[value]);
        }
        body
    })
}

proptest! {
    /// Any body made of these pieces: whatever this reader reads, serde_qs reads the same.
    #[test]
    fn reads_what_it_reads_as_serde_qs_does(
        pairs in prop::collection::vec(any_pair(), 0..8),
        separators in prop::collection::vec(prop_oneof![4 => Just("&"), 1 => Just("&&")], 8),
    ) {
        let mut body = String::new();
        for (pair, separator) in pairs.iter().zip(&separators) {
            body.push_str(pair);
            body.push_str(separator);
        }
        assert_same(body.as_bytes());
    }

    /// Damaged bodies (one byte changed, or cut short) agree too.
    #[test]
    fn damaged_bodies_agree(
        body in telerivet_like_body(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"&=[]%+5BD0a\xff".to_vec()),
        cut in any::<bool>(),
    ) {
        let mut bytes = body.into_bytes();
        let at = at.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        assert_same(&bytes);
    }
}

/// The generator of Telerivet-like bodies reaches this reader (not only serde_qs) in most
/// cases, so the property above tests this reader and not only the fallback.
#[test]
fn telerivet_like_bodies_are_read_here() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = telerivet_like_body();
    let mut read = 0;
    for _ in 0..500 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        if assert_same(body.as_bytes()).is_some() {
            read += 1;
        }
    }
    assert!(read >= 200, "only {read} of 500 bodies were read here");
}
