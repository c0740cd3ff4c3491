// SPDX-License-Identifier: GPL-3.0-or-later
// Guarded entry points into GLPK.
//
// GLPK reports misuse and internal failures by printing a message and calling
// abort(). These wrappers install glp_error_hook for the duration of one call;
// on a fatal error the hook frees the thread's GLPK environment (as GLPK's
// manual requires) and longjmp()s back here, so the caller gets an error code
// instead of a dead process. After such a failure every problem object created
// on this thread is gone: the caller must not touch or delete it.
#ifndef DEHPLAN_CGLPK_SUPPORT_H
#define DEHPLAN_CGLPK_SUPPORT_H

#include <glpk.h>

/// Runs glp_simplex under the error hook. Sets *fatal to 1 if GLPK hit a fatal error.
int dp_guarded_simplex(glp_prob *P, const glp_smcp *parm, int *fatal);

/// Runs glp_intopt under the error hook. Sets *fatal to 1 if GLPK hit a fatal error.
int dp_guarded_intopt(glp_prob *P, const glp_iocp *parm, int *fatal);

/// Runs glp_intopt under the error hook with a deadline (CLOCK_MONOTONIC seconds) that also
/// holds in the presolved path's root LP, which GLPK gives the whole limit again from its own
/// start (after the presolver): give it
/// parm->msg_lev = GLP_MSG_ON (its progress lines are the checkpoints; none is printed). Sets
/// *fatal to 1 on a fatal error and to 2 when the deadline passed before the first
/// branch-and-cut callback; either way the thread's GLPK environment, and every problem object
/// made on this thread, is gone. The callback calls dp_watch_disarm() (the search is then ended
/// by the callback). Without the deadline when it is infinite or a LiveLP problem is open on
/// this thread.
int dp_guarded_intopt_until(glp_prob *P, const glp_iocp *parm, double deadline, int *fatal);

/// Ends this thread's glp_intopt deadline check (see dp_guarded_intopt_until).
void dp_watch_disarm(void);

/// Frees this thread's GLPK environment (glp_free_env), unless a LiveLP problem is open on
/// this thread: then the environment, and the open problem, must stay.
void dp_release_env(void);

/// A LiveLP problem was created / deleted on this thread.
void dp_live_open(void);
void dp_live_close(void);

/// Counts the frees of this thread's GLPK environment, fatal errors included: a problem
/// created at an earlier count no longer exists.
unsigned long dp_env_epoch(void);

/// Keeps freed heap memory for reuse (glibc mallopt: trim threshold 512 MiB, top pad 64 MiB).
/// Returns 1 when applied, 0 where the C library is not glibc.
int dp_retain_freed_memory(void);

#endif
