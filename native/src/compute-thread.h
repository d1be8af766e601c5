// The one thread that runs every graph computation of the process.
//
// ggml's CPU backend is built with OpenMP, and libgomp keeps a team of worker threads for each
// thread that opens a parallel region. Decodes called from libuv's pool land on a different pool
// thread from call to call, so up to four teams (4 x n_threads) would share the cores; libgomp
// then sees more threads than CPUs, cuts its spinning to almost nothing, and every barrier between
// two ops becomes a futex sleep and wake-up. Running all of them on one thread keeps one team,
// as llama.cpp's own tools have (measured: decode more than twice as fast on a 2-core machine).
#pragma once

#include <functional>

namespace moed {

// Runs fn on the compute thread and waits for it; rethrows what fn threw. Calls from several
// threads are served one at a time, in order.
void runOnComputeThread(const std::function<void()> & fn);

}  // namespace moed
