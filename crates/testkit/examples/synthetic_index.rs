//! Prints the shape of a synthetic index and optionally writes it to disk.
//!
//! ```text
//! cargo run --release -p tufmirror-testkit --example synthetic_index -- [FILES] [SEED] [OUT_DIR]
//! ```

use std::path::Path;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let files: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(254_000);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let out = args.next();

    let t = Instant::now();
    let index = tufmirror_testkit::synthetic_index(files, seed);
    println!("generated in {:?}", t.elapsed());
    println!("{:#?}", tufmirror_testkit::stats(&index));

    let mut name_lengths = [0usize; 65];
    for (path, _) in &index {
        let name = path.rsplit('/').next().unwrap_or_default();
        name_lengths[name.len().min(64)] += 1;
    }
    println!("crate names by length (1..=64): {:?}", &name_lengths[1..]);

    if let Some(dir) = out {
        let t = Instant::now();
        tufmirror_testkit::write_index(Path::new(&dir), &index)?;
        println!("written to {dir} in {:?}", t.elapsed());
    }
    Ok(())
}
