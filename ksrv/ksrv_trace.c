// SPDX-License-Identifier: GPL-2.0
/* The one place ksrv's trace events are instantiated. */
#define CREATE_TRACE_POINTS
#include "ksrv_trace.h"
