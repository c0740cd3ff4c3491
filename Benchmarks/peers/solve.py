#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""External solver for `dehplan plan --external-solver`: solves dehplan's aggregated model
(free MPS written by dehplan) with HiGHS, CBC (through PuLP) or OR-Tools CP-SAT and writes the
answer in the format dehplan reads back (status, bound, seconds, values in column order).

    solve.py highs|cbc|cpsat MODEL.mps SOLUTION.txt TIME_LIMIT_S

Each solver runs with its default settings (threads included) and the time limit; the file
also carries the peak resident memory and CPU seconds of this process and its children.
"""
import math
import resource
import sys
import time

solver, mps, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])


def column_index(name):
    return int(name[1:]) - 1  # dehplan names columns C1..Cn


def write(status, bound, seconds, values):
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = max(me.ru_maxrss, kids.ru_maxrss)  # CBC runs as a child process of PuLP
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    with open(out, "w") as f:
        f.write(f"status {status}\n")
        f.write(f"bound {bound if bound is not None and math.isfinite(bound) else 'none'}\n")
        f.write(f"seconds {seconds:.6f}\n")
        f.write(f"peak_rss_kb {rss}\n")
        f.write(f"cpu_seconds {cpu:.3f}\n")
        f.write("values\n")
        for v in values:
            f.write(f"{v!r}\n")


def solve_highs():
    import highspy
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", limit)
    h.readModel(mps)
    n = h.getNumCol()
    start = time.monotonic()
    h.run()
    seconds = time.monotonic() - start
    status = h.getModelStatus()
    info = h.getInfo()
    values = list(h.getSolution().col_value) if info.primal_solution_status == 2 else []
    bound = info.mip_dual_bound
    if status == highspy.HighsModelStatus.kOptimal:
        s = "optimal"
    elif status == highspy.HighsModelStatus.kInfeasible:
        s = "infeasible"
    elif values:
        s = "feasible"
    else:
        s = "no-solution"
    # Column order: HiGHS keeps the file's order (C1..Cn).
    names = [h.getColName(j)[1] for j in range(n)]
    ordered = [0.0] * n
    for name, v in zip(names, values):
        ordered[column_index(name)] = v
    write(s, bound, seconds, ordered if values else [])


def solve_cbc():
    import pulp
    _, problem = pulp.LpProblem.fromMPS(mps, sense=pulp.LpMinimize)
    start = time.monotonic()
    problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    seconds = time.monotonic() - start
    variables = problem.variables()
    n = max(column_index(v.name) for v in variables) + 1
    values = [0.0] * n
    have = all(v.varValue is not None for v in variables)
    for v in variables:
        values[column_index(v.name)] = v.varValue or 0.0
    # PuLP reports "Optimal" for a solution found within the time limit too (status 1 with
    # sol_status 2 = "integer feasible"); the bound is not exposed, so none is claimed.
    if problem.sol_status == pulp.LpSolutionOptimal:
        s, bound = "optimal", pulp.value(problem.objective)
    elif problem.sol_status == pulp.LpSolutionIntegerFeasible and have:
        s, bound = "feasible", None
    elif problem.sol_status == pulp.LpSolutionInfeasible:
        s, bound = "infeasible", None
    else:
        s, bound = "no-solution", None
    write(s, bound, seconds, values if have and s in ("optimal", "feasible") else [])


def solve_cpsat():
    from ortools.linear_solver.python import model_builder as mb
    model = mb.Model()
    model.import_from_mps_file(mps)
    n = model.num_variables
    solver = mb.Solver("sat")
    solver.set_time_limit_in_seconds(limit)
    start = time.monotonic()
    status = solver.solve(model)
    seconds = time.monotonic() - start
    if status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        values = [0.0] * n
        for j in range(n):
            var = model.var_from_index(j)
            values[column_index(var.name)] = solver.value(var)
        s = "optimal" if status == mb.SolveStatus.OPTIMAL else "feasible"
        write(s, solver.best_objective_bound, seconds, values)
    elif status == mb.SolveStatus.INFEASIBLE:
        write("infeasible", None, seconds, [])
    else:
        write("no-solution", None, seconds, [])


{"highs": solve_highs, "cbc": solve_cbc, "cpsat": solve_cpsat}[solver]()
