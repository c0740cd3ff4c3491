// SPDX-License-Identifier: GPL-3.0-or-later
#include "CGLPKSupport.h"
#include <setjmp.h>

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
