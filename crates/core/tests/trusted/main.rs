//! The rules of `tufmirror_core::trusted`, one scenario at a time, against metadata signed here
//! (a small repository simulator) and against a repository written by python-tuf.

mod delegations;
mod foreign;
mod sim;
mod top_level;
