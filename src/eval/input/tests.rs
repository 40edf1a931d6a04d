use super::*;
use std::io::Write;

/// A reader giving at most `step` bytes per read (so records, strings and escapes cross
/// buffer boundaries).
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads `bytes` at once and in pieces of 1, 2, 3 and 7 bytes: the same records.
fn read_with(bytes: &[u8], max: usize) -> Vec<(usize, Result<Value>)> {
    let opts = ReadOptions { max_record: max };
    let whole: Vec<_> =
        EventReader::from_reader_with("t.json", Box::new(io::Cursor::new(bytes.to_vec())), opts)
            .unwrap()
            .collect();
    for step in [1, 2, 3, 7] {
        let src = Trickle {
            data: bytes.to_vec(),
            pos: 0,
            step,
        };
        let pieces: Vec<_> = EventReader::from_reader_with("t.json", Box::new(src), opts)
            .unwrap()
            .collect();
        assert_eq!(
            format!("{pieces:?}"),
            format!("{whole:?}"),
            "read {step} bytes at a time: {}",
            String::from_utf8_lossy(bytes)
        );
    }
    whole
}

fn read(bytes: &[u8]) -> Vec<(usize, Result<Value>)> {
    read_with(bytes, DEFAULT_MAX_RECORD)
}

/// The events' `a` values, and `err@line:col` for each error.
fn summary(out: &[(usize, Result<Value>)]) -> Vec<String> {
    out.iter()
        .map(|(_, r)| match r {
            Ok(v) => v["a"].to_string(),
            Err(e) => format!(
                "err@{}:{}",
                e.location.line.unwrap_or(0),
                e.location.column.unwrap_or(0)
            ),
        })
        .collect()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn ndjson_with_a_bad_line() {
    let out = read(b"{\"a\":1}\n\n{\"a\":2\n{\"a\":3}\n");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].1.as_ref().unwrap()["a"], 1);
    let e = out[1].1.as_ref().unwrap_err();
    assert_eq!(e.kind.code(), "event");
    assert_eq!(e.location.file.as_deref(), Some("t.json"));
    assert_eq!(e.location.line, Some(3));
    assert_eq!(e.location.path.as_deref(), Some("record 2"));
    assert_eq!(out[2].1.as_ref().unwrap()["a"], 3);
}

#[test]
fn concatenated_pretty_objects() {
    let text = b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n{\n \"a\": \n}\n{\n  \"a\": 4\n}\n";
    let out = read(text);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[1].1.as_ref().unwrap()["a"], 2);
    let e = out[2].1.as_ref().unwrap_err();
    assert_eq!(e.location.path.as_deref(), Some("record 3"));
    assert_eq!(e.location.line, Some(9), "{}", e.render());
    assert_eq!(out[3].1.as_ref().unwrap()["a"], 4);
}

#[test]
fn array_and_gzip() {
    let out = read(b"  [{\"a\":1},{\"a\":2}]");
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].0, 2);
    let out = read(&gz(b"{\"a\":1}\n{\"a\":2}\n"));
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].1.as_ref().unwrap()["a"], 2);
    assert!(read(b"").is_empty());
    assert!(read(b" \n\n").is_empty());
    assert!(read(b"[]").is_empty());
}

#[test]
fn windows_events_are_normalised() {
    let out = read(br#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "x"}}}"#);
    assert_eq!(out[0].1.as_ref().unwrap()["Image"], "x");
}

/// Issue 11, item 1: one invalid UTF-8 byte is reported on its record, which is skipped;
/// reading goes on, in every form.
#[test]
fn invalid_utf8_skips_only_its_record() {
    let ndjson = b"{\"a\":1}\n{\"a\":\"caf\xe9\"}\n{\"a\":3}\n";
    let concatenated = b"{\n \"a\": 1\n}\n{\n \"a\": \"caf\xe9\"\n}\n{\n \"a\": 3\n}\n";
    let array = b"[{\"a\":1},{\"a\":\"caf\xe9\"},{\"a\":3}]";
    let pretty_array = b"[\n  {\"a\": 1},\n  {\"a\": \"caf\xe9\"},\n  {\"a\": 3}\n]\n";
    let first = b"{\"a\":\"caf\xe9\"}\n{\"a\":2}\n{\"a\":3}\n";
    let want = |l: usize, c: usize| vec!["1".to_string(), format!("err@{l}:{c}"), "3".into()];
    for (name, bytes, err) in [
        ("ndjson", &ndjson[..], (2, 10)),
        ("concatenated", &concatenated[..], (5, 11)),
        ("array", &array[..], (1, 19)),
        ("pretty array", &pretty_array[..], (3, 13)),
    ] {
        assert_eq!(summary(&read(bytes)), want(err.0, err.1), "{name}");
        assert_eq!(
            summary(&read(&gz(bytes))),
            want(err.0, err.1),
            "{name}, gzip"
        );
    }
    assert_eq!(summary(&read(first)), ["err@1:10", "2", "3"]);
    let e = read(first).remove(0).1.unwrap_err();
    assert!(
        e.render().contains("invalid UTF-8 (byte 0xe9)"),
        "{}",
        e.render()
    );
    assert!(e.hint.is_some());
    // Many good lines, one bad, more good: none is lost.
    let mut big = Vec::new();
    for i in 0..2000 {
        big.extend_from_slice(format!("{{\"a\":{i}}}\n").as_bytes());
    }
    big.extend_from_slice(b"{\"a\":\"\xff\"}\n");
    for i in 0..10 {
        big.extend_from_slice(format!("{{\"a\":{i}}}\n").as_bytes());
    }
    let out = read(&big);
    assert_eq!(out.len(), 2011);
    assert_eq!(out.iter().filter(|(_, r)| r.is_err()).count(), 1);
    assert_eq!(out[2010].0, 2011);
}

/// Issue 11, item 15: concatenated values on one line are events each; a record that is
/// not an object is reported and skipped.
#[test]
fn concatenated_on_one_line_and_non_objects() {
    assert_eq!(summary(&read(b"{\"a\":1}{\"a\":2}\n")), ["1", "2"]);
    assert_eq!(
        summary(&read(
            b"{\"a\":0}\n{\"a\":1} {\"a\":2}{\"a\":x\n{\"a\":3}\n"
        )),
        ["0", "1", "2", "err@2:21", "3"]
    );
    let out = read(b"{\"a\":1}\n[1,2,3]\n\"str\"\n42\nnull\n{\"a\":2}\n");
    assert_eq!(
        summary(&out),
        ["1", "err@2:1", "err@3:1", "err@4:1", "err@5:1", "2"]
    );
    let msg = out[1].1.as_ref().unwrap_err().render();
    assert!(
        msg.contains("must be a JSON object, found an array"),
        "{msg}"
    );
    assert_eq!(out[5].0, 6);
    // A top-level array of non-objects: each element reported.
    assert_eq!(
        summary(&read(b"[1, \"x\", {\"a\": 5}, [2]]")),
        ["err@1:2", "err@1:5", "5", "err@1:20"]
    );
    // Concatenated values in a stream, and a scalar among them.
    assert_eq!(
        summary(&read(b"{\n\"a\":1}{\"a\":2}\n\"s\"\n{\"a\":3}")),
        ["1", "2", "err@3:1", "3"]
    );
}

/// Issue 11, item 6: a record over the bound is reported and skipped, in every form;
/// the records around it are read.
#[test]
fn oversized_records_are_skipped() {
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200));
    for (name, text) in [
        ("ndjson", format!("{{\"a\":1}}\n{long}\n{{\"a\":3}}\n")),
        ("array", format!("[{{\"a\":1}}, {long}, {{\"a\":3}}]")),
        ("one line", format!("{{\"a\":1}}{long}{{\"a\":3}}")),
        ("stream", format!("{{\n\"a\":1}}\n{long}\n{{\"a\":3}}\n")),
    ] {
        let out = read_with(text.as_bytes(), 100);
        let s = summary(&out);
        assert_eq!(s.len(), 3, "{name}: {s:?}");
        assert_eq!((s[0].as_str(), s[2].as_str()), ("1", "3"), "{name}: {s:?}");
        let e = out[1].1.as_ref().unwrap_err().render();
        assert!(
            e.contains("larger than the limit of 100 bytes"),
            "{name}: {e}"
        );
        // Within the bound, the same text reads completely.
        assert_eq!(
            summary(&read(text.as_bytes()))[1],
            format!("\"{}\"", "x".repeat(200))
        );
    }
}

/// Pretty-printed objects after a first one that fits on its line are streamed too.
#[test]
fn pretty_objects_after_a_one_line_object() {
    let text = b"{}\n{\"a\": 1}\n{\n  \"a\": 2,\n  \"b\": [\n    3\n  ]\n}\n{\"a\": 4}\n";
    assert_eq!(summary(&read(text)), ["null", "1", "2", "4"]);
    // A line cut short ends in a value for sure: the next line starts the next record.
    let text = b"{\"a\": 1}\n{\"a\": 2,\n{\"a\": 3}\n";
    assert_eq!(summary(&read(text)), ["1", "err@3:1", "3"]);
}

/// A broken structure in a stream: reading resumes at the next line that starts a record.
#[test]
fn structure_errors_resume_at_the_next_record() {
    let text = b"{\n  \"a\": 1,\n{\n  \"a\": 2\n}\n{\n  \"a\": \"unclosed\n}\n{\n  \"a\": 4\n}\n";
    assert_eq!(summary(&read(text)), ["err@3:1", "2", "err@7:17", "4"]);
    let arr = b"[\n  {\"a\": 1},\n  {\"a\": 2]},\n  {\"a\": 3}\n]\n";
    assert_eq!(summary(&read(arr)), ["1", "err@3:10", "3"]);
    // On one line there is no next line to resume at: the loss is reported.
    let out = read(b"[{\"a\": 1}, {\"a\": 2]}, {\"a\": 3}]");
    assert_eq!(summary(&out), ["1", "err@1:19", "err@1:32"]);
    let e = out[2].1.as_ref().unwrap_err().render();
    assert!(e.contains("no further record found"), "{e}");
    let out = read(b"[{\"a\": 1}, {\"a\": 2}");
    assert_eq!(summary(&out), ["1", "2", "err@1:20"]);
    let out = read(b"{\"a\": 1}\n{\"a\": [1, 2\n");
    assert_eq!(summary(&out).len(), 2);
}

/// A source of a single-line JSON array of `n` small objects, counting the bytes read.
struct ArraySource {
    n: usize,
    pos: usize,
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Read for ArraySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const ELEM: &[u8] = b"{\"a\":1},";
        let total = 1 + self.n * ELEM.len();
        let mut k = 0;
        while k < buf.len() && self.pos < total {
            buf[k] = match self.pos {
                0 => b'[',
                p if p == total - 1 => b']',
                p => ELEM[(p - 1) % ELEM.len()],
            };
            k += 1;
            self.pos += 1;
        }
        self.read.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        Ok(k)
    }
}

/// Issue 11, item 6: the elements of a top-level array are streamed, not read whole.
#[test]
fn a_single_line_array_is_streamed() {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let src = ArraySource {
        n: 4_000_000,
        pos: 0,
        read: read.clone(),
    };
    let mut r = EventReader::from_reader("big.json", Box::new(src)).unwrap();
    let batch = r.next_batch(1000).unwrap();
    assert_eq!(batch.len(), 1000);
    let consumed = read.load(std::sync::atomic::Ordering::Relaxed);
    assert!(consumed < 1 << 20, "{consumed} bytes read for 1000 records");
    let mut n = batch.len();
    while let Some(b) = r.next_batch(4096) {
        n += b.len();
    }
    assert_eq!(n, 4_000_000);
    assert_eq!(
        read.load(std::sync::atomic::Ordering::Relaxed),
        1 + 4_000_000 * 8
    );
}

/// A small JSON object with escapes, non-ASCII text, nesting and numbers.
fn object() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[ -~é\\u{1F600}\"\\\\\n\t{}\\[\\],:]{0,10}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z{}\\[\\]\"]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map("[a-zA-Z_.\"\\\\]{1,6}", value, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest::proptest! {
    /// Every form of the same objects reads back the same objects, whole or in pieces.
    #[test]
    fn every_form_reads_the_same_objects(events in proptest::collection::vec(object(), 0..6)) {
        let compact: Vec<String> = events.iter().map(Value::to_string).collect();
        let pretty: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string_pretty(e).unwrap())
            .collect();
        let forms = [
            compact.join("\n"),
            compact.concat(),
            pretty.join("\n"),
            format!("[{}]", compact.join(",")),
            serde_json::to_string_pretty(&events).unwrap(),
        ];
        for text in forms {
            let got: Vec<Value> = read(text.as_bytes())
                .into_iter()
                .map(|(_, r)| r.expect("valid record"))
                .collect();
            proptest::prop_assert_eq!(&got, &events, "{}", text);
        }
    }

    /// Any bytes: reading ends, without a panic, and numbers records 1, 2, 3, ...
    #[test]
    fn any_bytes_end_in_records_or_errors(
        bytes in proptest::collection::vec(proptest::sample::select(
            b"{}[]\",:\\ \n\"ab1\xe9".to_vec()), 0..60)
    ) {
        let out = read_with(&bytes, 16);
        for (i, (n, _)) in out.iter().enumerate() {
            proptest::prop_assert_eq!(*n, i + 1);
        }
    }
}
