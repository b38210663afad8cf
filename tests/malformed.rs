//! Bad input gets a typed error that names the input and says what is wrong;
//! nothing panics.

use std::io::Write;
use std::path::Path;

use heapframe::pprof::{self, ReadOptions, proto};
use heapframe::{Error, Profile, ProfileError};
use prost::Message;

const NAME: &str = "incident/bad.pb.gz";

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance/profiles")
        .join(name);
    std::fs::read(p).unwrap()
}

fn raw(name: &str) -> Vec<u8> {
    pprof::uncompressed(&fixture(name), &ReadOptions::default())
        .unwrap()
        .into_owned()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Decodes and checks that the error names the input, and that the top
/// report read straight from the bytes refuses them with the same words.
fn err(data: &[u8]) -> ProfileError {
    let direct = heapframe::report::top_bytes(data, NAME, &Default::default());
    let decoded = Profile::from_bytes(data, NAME);
    assert_eq!(
        direct.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        decoded.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        "top_bytes and from_bytes disagree"
    );
    match decoded {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("{NAME}: ")),
                "message does not name the input: {msg}"
            );
            assert!(!msg.contains('\n'), "message is not one line: {msg}");
            match e {
                Error::Profile { error, .. } => error,
                other => panic!("unexpected error kind {other}"),
            }
        }
    }
}

/// A small valid profile to break in various ways.
fn valid() -> proto::Profile {
    let st = |s: &str| s.as_bytes().to_vec();
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![proto::Sample {
            location_id: vec![1],
            value: vec![10],
            label: vec![],
        }],
        mapping: vec![proto::Mapping {
            id: 1,
            filename: 4,
            ..Default::default()
        }],
        location: vec![proto::Location {
            id: 1,
            mapping_id: 1,
            line: vec![proto::Line {
                function_id: 1,
                line: 3,
                column: 0,
            }],
            ..Default::default()
        }],
        function: vec![proto::Function {
            id: 1,
            name: 3,
            ..Default::default()
        }],
        string_table: vec![
            st(""),
            st("inuse_space"),
            st("bytes"),
            st("main.leak"),
            st("/bin/svc"),
        ],
        ..Default::default()
    }
}

#[test]
fn the_valid_base_case_decodes() {
    let p = Profile::from_bytes(&valid().encode_to_vec(), NAME).unwrap();
    assert_eq!(&*p.functions[0].name, "main.leak");
}

#[test]
fn empty_input() {
    assert!(matches!(err(b""), ProfileError::Empty));
    assert!(matches!(err(&gzip(b"")), ProfileError::Empty));
}

#[test]
fn truncated_protobuf() {
    let data = raw("svc.heap.2.pb.gz");
    assert!(matches!(
        err(&data[..data.len() / 2]),
        ProfileError::Decode(_)
    ));
    assert!(matches!(
        err(&data[..data.len() - 3]),
        ProfileError::Decode(_)
    ));
}

#[test]
fn every_prefix_is_an_error_or_a_valid_profile_never_a_panic() {
    let data = raw("pprof.nomappings.crash.pb.gz");
    let mut errors = 0;
    for cut in 0..data.len() {
        if Profile::from_bytes(&data[..cut], NAME).is_err() {
            errors += 1;
        }
    }
    assert!(
        errors > data.len() / 2,
        "only {errors} of {} prefixes rejected",
        data.len()
    );
}

#[test]
fn truncated_gzip() {
    let data = fixture("svc.heap.2.pb.gz");
    assert!(matches!(
        err(&data[..data.len() / 2]),
        ProfileError::Gzip(_)
    ));
}

#[test]
fn corrupted_gzip() {
    let mut data = fixture("svc.heap.2.pb.gz");
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    data[mid + 1] ^= 0x55;
    assert!(matches!(
        err(&data),
        ProfileError::Gzip(_) | ProfileError::Decode(_)
    ));
}

#[test]
fn corrupted_protobuf_bytes() {
    let mut data = raw("svc.heap.2.pb.gz");
    for b in data.iter_mut().skip(40).step_by(97) {
        *b = 0xff;
    }
    let _ = Profile::from_bytes(&data, NAME); // must not panic; may or may not parse
    let e = err(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(e, ProfileError::Decode(_)), "{e}");
}

#[test]
fn gzip_bomb_is_stopped_at_the_configured_bound() {
    let bomb = gzip(&vec![0u8; 8 << 20]);
    let opts = ReadOptions {
        max_decompressed_bytes: 1 << 20,
    };
    match Profile::from_bytes_with(&bomb, NAME, &opts) {
        Err(Error::Profile {
            error: ProfileError::TooLarge { limit },
            ..
        }) => assert_eq!(limit, 1 << 20),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn gzip_bomb_is_stopped_at_the_default_bound() {
    // 600 MiB of zeros, gzip -9: a small file that would be a huge profile.
    let bomb = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/malformed/bomb-600MiB-zeros.gz"),
    )
    .unwrap();
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    match err(&bomb) {
        ProfileError::TooLarge { limit } => {
            assert_eq!(limit, pprof::DEFAULT_MAX_DECOMPRESSED_BYTES)
        }
        other => panic!("expected TooLarge, got {other}"),
    }
}

#[test]
fn dangling_location_id() {
    let mut p = valid();
    p.sample[0].location_id = vec![1, 42];
    let e = err(&p.encode_to_vec());
    assert!(
        matches!(e, ProfileError::DanglingLocation { sample: 0, id: 42 }),
        "{e}"
    );
    assert!(e.to_string().contains("location id 42"));
}

#[test]
fn dangling_function_id() {
    let mut p = valid();
    p.location[0].line[0].function_id = 7;
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::DanglingFunction { location: 1, id: 7 }
    ));
    p.location[0].line[0].function_id = 0;
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::DanglingFunction { location: 1, id: 0 }
    ));
}

#[test]
fn dangling_mapping_id() {
    let mut p = valid();
    p.location[0].mapping_id = 9;
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::DanglingMapping { location: 1, id: 9 }
    ));
}

#[test]
fn string_index_out_of_range() {
    let mut p = valid();
    p.function[0].name = 999;
    let e = err(&p.encode_to_vec());
    assert!(
        matches!(
            &e,
            ProfileError::StringIndex {
                index: 999,
                len: 5,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("function[0].name"));
    let mut p = valid();
    p.sample_type[0].unit = -1;
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::StringIndex { index: -1, .. }
    ));
}

#[test]
fn string_table_must_start_empty() {
    let mut p = valid();
    p.string_table[0] = b"oops".to_vec();
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::StringTableStart(_)
    ));
}

#[test]
fn zero_sample_types() {
    let mut p = valid();
    p.sample_type.clear();
    p.sample.clear();
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::NoSampleTypes
    ));
}

#[test]
fn mismatched_value_counts() {
    let mut p = valid();
    p.sample[0].value = vec![1, 2];
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::ValueCount {
            sample: 0,
            got: 2,
            want: 1
        }
    ));
}

#[test]
fn reserved_and_duplicate_ids() {
    let mut p = valid();
    p.function[0].id = 0;
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::ZeroId { what: "function" }
    ));
    let mut p = valid();
    p.location.push(p.location[0].clone());
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::DuplicateId {
            what: "location",
            id: 1
        }
    ));
    let mut p = valid();
    p.mapping.push(proto::Mapping {
        id: 1000,
        ..Default::default()
    });
    p.mapping.push(proto::Mapping {
        id: 1000,
        ..Default::default()
    });
    assert!(matches!(
        err(&p.encode_to_vec()),
        ProfileError::DuplicateId {
            what: "mapping",
            id: 1000
        }
    ));
}

#[test]
fn legacy_text_profile() {
    // Heap text is read (tests/legacy.rs); malformed heap text is named by
    // line; other legacy text is refused as such.
    let text = b"heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n";
    assert!(heapframe::Profile::from_bytes(text, "t").is_ok());
    let bad = b"heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3 4] @ 0x1\n";
    assert!(
        matches!(err(bad), ProfileError::HeapText(m) if m.contains("line 2")),
        "{:?}",
        err(bad)
    );
    // Goroutine text is read too (tests/goroutine_text.rs); malformed, it
    // is named by line.
    assert!(matches!(
        err(&gzip(b"goroutine profile: total four\n")),
        ProfileError::GoroutineText(m) if m.contains("line 1")
    ));
    assert!(matches!(
        err(&gzip(b"threadcreate profile: total 4\n")),
        ProfileError::LegacyText
    ));
}

#[test]
fn concatenated_profiles() {
    let mut data = valid();
    data.time_nanos = 1;
    let mut bytes = data.encode_to_vec();
    bytes.extend(data.encode_to_vec());
    assert!(matches!(err(&bytes), ProfileError::Concatenated));
}

#[test]
fn html_instead_of_a_profile() {
    let e = err(b"<!doctype html><html><body>Login</body></html>");
    assert!(matches!(e, ProfileError::Decode(_)), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let e = Profile::from_path("no/such/heap.pb.gz").unwrap_err();
    assert!(
        e.to_string().starts_with("no/such/heap.pb.gz: cannot read"),
        "{e}"
    );
}

#[test]
fn bad_sample_index_and_regex_are_option_errors() {
    let p = Profile::from_bytes(&fixture("svc.heap.2.pb.gz"), "svc.heap.2.pb.gz").unwrap();
    let o = heapframe::report::TopOptions {
        sample_index: Some("cpu".into()),
        ..Default::default()
    };
    let e = heapframe::report::top(&p, &o).unwrap_err().to_string();
    assert!(
        e.contains("svc.heap.2.pb.gz") && e.contains("inuse_space"),
        "{e}"
    );
    let o = heapframe::report::TopOptions {
        focus: Some("(unclosed".into()),
        ..Default::default()
    };
    let e = heapframe::report::top(&p, &o).unwrap_err().to_string();
    assert!(e.contains("focus"), "{e}");
}

#[test]
fn incompatible_base_is_an_error() {
    let heap = Profile::from_bytes(&fixture("svc.heap.2.pb.gz"), "heap").unwrap();
    let gor = Profile::from_bytes(&fixture("svc.goroutine.pb.gz"), "goroutine").unwrap();
    let e = heapframe::report::subtract(&heap, &gor, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("heap and goroutine"), "{e}");
}

/// Whatever the direct reader does not read itself it leaves to prost, so
/// both paths accept the same inputs and build the same profile.
#[test]
fn direct_reader_and_prost_agree_on_unusual_encodings() {
    let agree = |bytes: &[u8], what: &str| {
        let direct = Profile::from_bytes(bytes, "x");
        let via_prost = pprof::decode(bytes, &Default::default())
            .map_err(|e| e.to_string())
            .and_then(|m| Profile::from_proto(&m).map_err(|e| e.to_string()));
        match (&direct, &via_prost) {
            (Ok(a), Ok(b)) => {
                let mut b = b.clone();
                b.source = a.source.clone();
                assert_eq!(*a, b, "{what}");
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{what}: {:?} / {:?}", direct.err(), via_prost.err()),
        }
        direct.is_ok()
    };
    // Found by the fuzzer: a key beyond u32 inside a sample (prost refuses).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        agree(&std::fs::read(&p).unwrap(), &p.display().to_string());
    }
    // A sample with an unknown group field, which prost skips.
    let head = proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        location: vec![proto::Location {
            id: 1,
            ..Default::default()
        }],
        string_table: vec![b"".to_vec(), b"a".to_vec(), b"b".to_vec()],
        ..Default::default()
    };
    let sample = proto::Sample {
        location_id: vec![1],
        value: vec![5],
        label: vec![],
    };
    let with_sample = |extra: &[u8]| {
        let mut s = sample.encode_to_vec();
        s.extend_from_slice(extra);
        let mut bytes = head.encode_to_vec();
        bytes.push(0x12);
        bytes.push(s.len() as u8);
        bytes.extend_from_slice(&s);
        bytes
    };
    assert!(agree(&with_sample(&[0x23, 0x24]), "unknown group"));
    assert!(!agree(&with_sample(&[0x23]), "unterminated group"));
    assert!(!agree(
        &with_sample(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0]),
        "key beyond u32"
    ));
    assert!(agree(&with_sample(&[]), "plain"));
}

#[test]
fn top_of_the_bytes_reads_unusual_frames_as_the_model_does() {
    use heapframe::report::{Granularity, TopOptions, top, top_bytes};
    let same = |m: &proto::Profile, what: &str| {
        let bytes = m.encode_to_vec();
        let p = Profile::from_bytes(&bytes, NAME).unwrap();
        for granularity in [
            Granularity::Functions,
            Granularity::FileFunctions,
            Granularity::Files,
            Granularity::Lines,
            Granularity::Addresses,
        ] {
            for noinlines in [false, true] {
                let opts = TopOptions {
                    granularity,
                    noinlines,
                    ..Default::default()
                };
                let want = top(&p, &opts).unwrap().to_text();
                let got = top_bytes(&bytes, NAME, &opts).unwrap().to_text();
                assert_eq!(got, want, "{what} {granularity:?} noinlines={noinlines}");
            }
        }
    };
    let st = |s: &[u8]| s.to_vec();
    let mut m = valid();
    m.string_table = vec![
        st(b""),
        st(b"inuse_space"),
        st(b"bytes"),
        st(b"main.leak"),
        st(b"/bin/svc"),
        st(b"main.leak"),                  // 5: the same name again
        st(b"/proc/self/cwd/./a/../b.go"), // 6: a file pprof cleans
        st(b"b.go"),                       // 7: what it cleans to
        st(b"main.\xff\xfe"),              // 8: not UTF-8
        st(b"main.\xfe\xff"),              // 9: not UTF-8, the same once made valid
    ];
    m.function = vec![
        proto::Function {
            id: 1,
            name: 3,
            filename: 6,
            start_line: 2,
            ..Default::default()
        },
        proto::Function {
            id: 2,
            name: 5,
            filename: 7,
            ..Default::default()
        },
        proto::Function {
            id: 3,
            name: 8,
            ..Default::default()
        },
        proto::Function {
            id: 4,
            name: 9,
            ..Default::default()
        },
        proto::Function {
            id: 5,
            start_line: 9,
            ..Default::default()
        },
    ];
    let line = |function_id, line, column| proto::Line {
        function_id,
        line,
        column,
    };
    m.location = vec![
        proto::Location {
            id: 1,
            mapping_id: 1,
            address: 0x1000,
            line: vec![line(1, 3, 1), line(2, 7, 2)],
            ..Default::default()
        },
        proto::Location {
            id: 7,
            mapping_id: 1,
            address: 0x2000,
            line: vec![line(3, 4, 0)],
            is_folded: true,
        },
        proto::Location {
            id: 3,
            address: 0x3000,
            line: vec![line(4, 5, 0), line(5, 6, 0)],
            ..Default::default()
        },
        proto::Location {
            id: 4,
            mapping_id: 1,
            address: 0x4000,
            ..Default::default()
        },
    ];
    m.sample = vec![
        proto::Sample {
            location_id: vec![1, 7, 3],
            value: vec![10],
            label: vec![],
        },
        proto::Sample {
            location_id: vec![4, 1],
            value: vec![7],
            label: vec![],
        },
        proto::Sample {
            location_id: vec![3, 3],
            value: vec![5],
            label: vec![],
        },
    ];
    same(&m, "names, files and locations in unusual shapes");

    // Unknown fields inside functions, locations and lines, as prost skips them.
    let mut bytes = Vec::new();
    for (field, msg) in [
        (4u8, {
            let mut b = m.location[0].encode_to_vec();
            b.extend_from_slice(&[0x38, 0x05, 0x42, 0x01, 0x00]); // fields 7 and 8
            b
        }),
        (5u8, {
            let mut b = m.function[0].encode_to_vec();
            b.extend_from_slice(&[0x30, 0x01]); // field 6
            b
        }),
    ] {
        bytes.push(field << 3 | 2);
        bytes.push(msg.len() as u8);
        bytes.extend_from_slice(&msg);
    }
    let mut rest = m.clone();
    rest.location.remove(0);
    rest.function.remove(0);
    bytes.extend_from_slice(&rest.encode_to_vec());
    let p = Profile::from_bytes(&bytes, NAME).unwrap();
    let opts = Default::default();
    assert_eq!(
        heapframe::report::top_bytes(&bytes, NAME, &opts)
            .unwrap()
            .to_text(),
        top(&p, &opts).unwrap().to_text()
    );

    // Bytes inside a location or function that prost refuses: the same error.
    for (field, msg) in [
        (4u8, vec![0x08, 0x01, 0x12, 0x01, 0x00]), // mapping_id with a length
        (5u8, vec![0x08, 0x02, 0x17]),             // wire type 7
        (4u8, vec![0x08, 0x01, 0x22, 0x02, 0x08]), // a truncated line
        (5u8, vec![0x08, 0x02, 0x13, 0x14]),       // a group in a known field's place
    ] {
        let mut bad = vec![field << 3 | 2, msg.len() as u8];
        bad.extend_from_slice(&msg);
        bad.extend_from_slice(&m.encode_to_vec());
        err(&bad);
    }
    let mut bad = m.clone();
    bad.function[1].system_name = 99;
    err(&bad.encode_to_vec());
    let mut bad = m.clone();
    bad.function[1].id = 1;
    err(&bad.encode_to_vec());
}
