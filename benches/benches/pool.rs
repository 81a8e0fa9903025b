//! What a parallel step costs before any search runs: a rayon `join` of two
//! 100 µs halves on a 2-thread pool, right after the calling thread worked alone for
//! a while (as the per-residence searches come right after the serial hierarchy
//! build). On an ideal machine every case takes 100 µs; the excess is the time the
//! idle worker takes to join in, a floor under any parallel step of that size.

use std::hint::spin_loop;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        spin_loop();
    }
}

fn pool(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let half = Duration::from_micros(100);
    let mut group = c.benchmark_group("pool/join_2x100us_after_working_alone");
    group.sample_size(20);
    for alone_us in [0u64, 200, 2_000, 20_000] {
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{alone_us}us")),
            &alone_us,
            |b, &alone_us| {
                b.iter_custom(|iters| {
                    pool.install(|| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            // The calling thread works alone (not timed); the
                            // worker has nothing to do and goes idle.
                            spin(Duration::from_micros(alone_us));
                            let t = Instant::now();
                            rayon::join(|| spin(half), || spin(half));
                            total += t.elapsed();
                        }
                        total
                    })
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, pool);
criterion_main!(benches);
