//! The engine of `tufmirror serve` and `tufmirror sync`: what the daemon is configured to do,
//! and (as it grows) syncing from upstream and publishing snapshots through `tufmirror-repo`.

pub mod config;
pub mod decide;
pub mod selection;
