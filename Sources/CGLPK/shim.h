// SPDX-License-Identifier: GPL-3.0-or-later
// Debian's libglpk-dev ships no pkg-config file; the header lives in /usr/include.
#ifndef DEHPLAN_CGLPK_SHIM_H
#define DEHPLAN_CGLPK_SHIM_H
#include <glpk.h>
#endif
