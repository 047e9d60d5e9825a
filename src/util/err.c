/* err.c — filling a pl_err; see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pl_err_clear(pl_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

int pl_err_set(pl_err *e, int code, const char *fmt, ...)
{
	if (e == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->code = code;
	return -1;
}

void pl_fault_point(const char *name)
{
	const char *f = getenv("PARLEY_FAULT");
	if (f && strcmp(f, name) == 0)
		_exit(99);
}
