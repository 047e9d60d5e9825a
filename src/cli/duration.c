/*
 * duration.c — the durations options take (--expires): a whole number of
 * seconds, minutes, hours, days or weeks. It only parses; what a duration
 * means is the caller's.
 */
#include <stdlib.h>

#include "cli/cli.h"

int pl_cli_parse_duration(const char *s, uint64_t *seconds)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	unsigned long long x = strtoull(s, &end, 10);
	uint64_t mult = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	else if (*end == 'd')
		mult = 86400, end++;
	else if (*end == 'w')
		mult = 7 * 86400, end++;
	if (*end != '\0' || x == 0 || x > (10ULL * 365 * 86400) / mult)
		return -1;
	*seconds = (uint64_t)x * mult;
	return 0;
}
