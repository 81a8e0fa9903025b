//! Times one read of a file (wall and CPU seconds): `cargo run --release -p
//! livingcircle-osm --example readtime -- FILE [network]`.
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let t = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}
fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let opts = livingcircle_osm::ReadOptions {
        network_only: std::env::args().nth(2).as_deref() == Some("network"),
        ..Default::default()
    };
    let (c0, t) = (cpu(), std::time::Instant::now());
    let d = livingcircle_osm::read(std::path::Path::new(&path), &opts).expect("read");
    println!(
        "{:?} reread {} blobs of {}",
        d.seconds, d.stats.blobs_reread, d.stats.blobs
    );
    println!(
        "wall {:.3} s cpu {:.2} s pieces {} residences {} features {} index {} MB",
        t.elapsed().as_secs_f64(),
        cpu() - c0,
        d.network.piece_count(),
        d.residences.len(),
        d.features.len(),
        d.stats.node_index_bytes >> 20
    );
}
