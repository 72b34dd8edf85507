// How ptqflow avoids OpenMP's spin-waiting.
//
// The executor's intra-op threads are OpenMP (the runtime Debian's oneDNN is built with). By
// default libgomp keeps an idle team thread spinning after every parallel region; on a busy
// machine (or with several sessions, each its own OpenMP team) the spinning threads take the
// cores the working threads need, and a 2-thread run becomes 10-100x slower than a 1-thread run
// (measured in perf/exec_bench). With OMP_WAIT_POLICY=passive idle threads sleep at once: 2
// threads are then faster than 1 even under load. libgomp reads the variable only when it is
// loaded, before main(), so a program must set it in its environment or re-execute itself:
// programs (cli/, perf/) call ReexecWithPassiveOpenMpWait first thing in main().
//
// Thread-safety: call from main() before any other thread exists.
#pragma once

namespace ptqflow::exec {

// If OMP_WAIT_POLICY is not set, sets it to "passive" and re-executes the running program
// (/proc/self/exe) with the same arguments; does not return then. Returns (doing nothing) when
// the variable is already set, whatever its value (the user's choice wins), or if re-executing
// fails.
void ReexecWithPassiveOpenMpWait(char** argv);

}  // namespace ptqflow::exec
