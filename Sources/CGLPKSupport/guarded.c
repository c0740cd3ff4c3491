// SPDX-License-Identifier: GPL-3.0-or-later
#include "CGLPKSupport.h"
#include <setjmp.h>
#include <math.h>
#include <time.h>

// Per thread: how many LiveLP problems are open, and how many times the GLPK environment was
// freed (a problem made before a free is gone after it).
static _Thread_local int dp_open_live = 0;
static _Thread_local unsigned long dp_epoch = 0;

void dp_live_open(void) { dp_open_live++; }
void dp_live_close(void) { dp_open_live--; }
unsigned long dp_env_epoch(void) { return dp_epoch; }

void dp_release_env(void) {
    if (dp_open_live > 0) return;
    glp_free_env();
    dp_epoch++;
}

static void dp_error_hook(void *info) {
    jmp_buf *env = (jmp_buf *)info;
    dp_epoch++;
    // GLPK's manual: after a fatal error the environment is in an undefined
    // state; free it before leaving the hook with longjmp.
    glp_free_env();
    longjmp(*env, 1);
}

int dp_guarded_simplex(glp_prob *P, const glp_smcp *parm, int *fatal) {
    jmp_buf env;
    *fatal = 0;
    if (setjmp(env) != 0) {
        *fatal = 1;
        return -1;
    }
    glp_error_hook(dp_error_hook, &env);
    int ret = glp_simplex(P, parm);
    glp_error_hook(NULL, NULL);
    return ret;
}

int dp_guarded_intopt(glp_prob *P, const glp_iocp *parm, int *fatal) {
    jmp_buf env;
    *fatal = 0;
    if (setjmp(env) != 0) {
        *fatal = 1;
        return -1;
    }
    glp_error_hook(dp_error_hook, &env);
    int ret = glp_intopt(P, parm);
    glp_error_hook(NULL, NULL);
    return ret;
}

// A deadline for glp_intopt's presolved path. There GLPK runs its MIP presolver (no clock),
// then the root LP with the whole time limit again, counted from that LP's own start, and
// calls no callback until the tree starts. The progress lines
// that simplex prints (every 500 iterations) reach the terminal hook, which checks the clock:
// past the deadline it leaves GLPK with longjmp and frees the thread's environment, as after a
// fatal error. Armed until the first branch-and-cut callback (dp_watch_disarm); from there the
// callback keeps the deadline and ends the search in GLPK's own way.
typedef struct {
    jmp_buf *env;
    double deadline;
    int armed;
} dp_watch;

static _Thread_local dp_watch *dp_watch_current = NULL;

static double dp_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dp_term_hook(void *info, const char *s) {
    (void)s;
    dp_watch *w = (dp_watch *)info;
    if (w->armed && dp_monotonic() > w->deadline) longjmp(*w->env, 2);
    return 1;  // nothing reaches the terminal
}

void dp_watch_disarm(void) {
    if (dp_watch_current != NULL) dp_watch_current->armed = 0;
}

int dp_guarded_intopt_until(glp_prob *P, const glp_iocp *parm, double deadline, int *fatal) {
    // Cutting short frees the environment, which would take an open LiveLP problem with it.
    if (dp_open_live > 0 || isinf(deadline)) return dp_guarded_intopt(P, parm, fatal);
    jmp_buf env;
    dp_watch watch = { .env = &env, .deadline = deadline, .armed = 1 };
    *fatal = 0;
    int jumped = setjmp(env);
    if (jumped != 0) {
        dp_watch_current = NULL;
        if (jumped == 2) {
            glp_error_hook(NULL, NULL);
            glp_free_env();
            dp_epoch++;
        }
        *fatal = jumped;
        return -1;
    }
    glp_error_hook(dp_error_hook, &env);
    dp_watch_current = &watch;
    glp_term_hook(dp_term_hook, &watch);
    glp_term_out(GLP_ON);
    int ret = glp_intopt(P, parm);
    glp_term_out(GLP_OFF);
    glp_term_hook(NULL, NULL);
    glp_error_hook(NULL, NULL);
    dp_watch_current = NULL;
    return ret;
}

#if defined(__GLIBC__)
#include <malloc.h>
int dp_retain_freed_memory(void) {
    int ok = mallopt(M_TRIM_THRESHOLD, 512 << 20);
    ok &= mallopt(M_TOP_PAD, 64 << 20);
    return ok ? 1 : 0;
}
#else
int dp_retain_freed_memory(void) { return 0; }
#endif
