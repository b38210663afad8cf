//! Any bytes: decoding must return a profile or an error, never panic, the
//! direct sample reader must agree with prost, `top_bytes` with `top`, and a
//! decoded profile must survive the whole top pipeline (with a base too).
#![no_main]

use heapframe::Profile;
use heapframe::pprof::ReadOptions;
use heapframe::report::{self, BaseMode, Granularity, TopOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        max_decompressed_bytes: 16 << 20,
    };
    // The direct reader and the prost path accept the same inputs and
    // build the same model.
    let direct = Profile::from_bytes_with(data, "fuzz", &opts);
    let via_prost = heapframe::pprof::decode(data, &opts)
        .map_err(|e| e.to_string())
        .and_then(|m| Profile::from_proto(&m).map_err(|e| e.to_string()));
    // Legacy text heap profiles and goroutine text are read by the decoder
    // only (prost reads protobuf): they must decode or be refused, and
    // survive `top` below.
    let text = heapframe::pprof::uncompressed(data, &opts).is_ok_and(|raw| {
        raw.starts_with(b"heap profile:")
            || heapframe::profile::goroutine_text::is_goroutine_text(&raw)
    });
    match (&direct, &via_prost) {
        _ if text => {}
        (Ok(a), Ok(b)) => {
            let mut b = b.clone();
            b.source = a.source.clone();
            assert_eq!(*a, b, "the two readers disagree");
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("one reader accepts, the other refuses: {:?} / {:?}", a.as_ref().err(), b.as_ref().err()),
    }
    // It refuses exactly what decoding and `top` refuse, with the same
    // words (beyond this target's smaller size bound it may read more), and
    // prints the same report.
    let direct_top = report::top_bytes(data, "fuzz", &TopOptions::default()).map(|r| r.to_text());
    let too_large = |e: &heapframe::Error| {
        matches!(e, heapframe::Error::Profile { error: heapframe::ProfileError::TooLarge { .. }, .. })
    };
    let Ok(p) = direct else {
        let a = direct.unwrap_err();
        match &direct_top {
            Ok(_) => assert!(too_large(&a), "top_bytes reads what the decoder refuses: {a}"),
            Err(b) if !too_large(&a) => {
                assert_eq!(a.to_string(), b.to_string(), "top_bytes and the decoder refuse differently")
            }
            Err(_) => {}
        }
        return;
    };
    let decoded_top = report::top(&p, &TopOptions::default()).map(|r| r.to_text());
    match (&direct_top, &decoded_top) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "top_bytes differs from top"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "top_bytes and top refuse differently"),
        (a, b) => panic!("top_bytes and top disagree: {:?} / {:?}", a.as_ref().err(), b.as_ref().err()),
    }
    for (i, g) in [Granularity::Functions, Granularity::Lines, Granularity::Files, Granularity::Addresses]
        .into_iter()
        .enumerate()
    {
        let o = TopOptions {
            granularity: g,
            node_count: i * 3,
            cum: i % 2 == 1,
            hide: (i == 2).then(|| "runtime".to_string()),
            focus: (i == 3).then(|| "main".to_string()),
            ..TopOptions::default()
        };
        if let Ok(r) = report::top(&p, &o) {
            let _ = r.to_text();
        }
    }
    let diff_base = report::BaseOptions {
        mode: BaseMode::DiffBase,
        normalize: true,
    };
    if let Ok(d) = report::subtract(&p, &p, &diff_base)
        && let Ok(r) = report::top(&d, &TopOptions::default())
    {
        let _ = r.to_text();
    }
    // Round trip: what we decoded encodes and decodes to the same model.
    let again = Profile::from_bytes(&heapframe::pprof::encode_gzip(&p.to_proto()), "fuzz").expect("re-decode");
    assert_eq!(again.samples, p.samples);
});
