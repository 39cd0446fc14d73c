//! The calling thread's CPU time, exact to the nanosecond: the webhook benches and the
//! 1 M-record comparison measure CPU, not wall time, which on a shared machine also counts
//! the moments the thread waits for a CPU.

use std::time::Duration;

/// This thread's CPU time (user + system) so far, with the running slice included
/// (`/proc/thread-self/schedstat` only moves at a context switch or a tick, 4 ms here).
pub fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "CLOCK_THREAD_CPUTIME_ID is available on Linux");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
