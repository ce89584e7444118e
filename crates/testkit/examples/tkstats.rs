fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20000);
    let t = std::time::Instant::now();
    let idx = tufmirror_testkit::synthetic_index(n, 1);
    let el = t.elapsed();
    if let Ok(d) = std::env::var("DUMP") { tufmirror_testkit::write_index(std::path::Path::new(&d), &idx).unwrap(); }
    println!("{:?} in {el:?}", tufmirror_testkit::stats(&idx));
    let mut lens = [0usize; 70];
    for (p, _) in &idx { lens[p.rsplit('/').next().unwrap().len()] += 1; }
    println!("name lengths: {:?}", &lens[..40]);
    for (p, b) in idx.iter().step_by(n / 5) { println!("{p}: {}", String::from_utf8_lossy(b).lines().last().unwrap()); }
}
#[allow(dead_code)]
fn unused() {}
