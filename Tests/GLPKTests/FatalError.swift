// SPDX-License-Identifier: GPL-3.0-or-later

import CGLPK
import CGLPKSupport

/// Runs GLPK's branch-and-cut with an invalid parameter so that GLPK raises a fatal error,
/// which the guarded entry point must turn into a return instead of abort().
func provokeFatalErrorForTesting() -> Bool {
    guard let problem = glp_create_prob() else { return false }
    glp_add_cols(problem, 1)
    glp_set_col_kind(problem, 1, GLP_IV)
    var parm = glp_iocp()
    glp_init_iocp(&parm)
    parm.msg_lev = 12345  // invalid: GLPK calls its error handler
    var fatal: Int32 = 0
    _ = dp_guarded_intopt(problem, &parm, &fatal)
    if fatal == 0 { glp_delete_prob(problem) }  // after a fatal error the environment (and problem) is gone
    dp_release_env()
    return fatal != 0
}
