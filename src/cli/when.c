/*
 * when.c — the absolute times the command line takes (--expires) and the
 * way the text views show a time: in UTC, which both sides share, and in
 * the reader's own time zone (TZ), which is how a person thinks of it.
 *
 * A time without a zone is refused rather than guessed: "18:00" in Tehran
 * and in Washington are eight and a half hours apart, and an expiry signed
 * into a proposal cannot be corrected afterwards.
 */
#define _DEFAULT_SOURCE /* timegm, tm_gmtoff */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/codec.h"

/* Exactly n digits at *p (advanced past them) as a number; -1 otherwise. */
static int digits(const char **p, int n)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return x;
}

static int days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* An IANA zone name (Asia/Tehran): letters, digits and _+-/ only, no "..",
 * so it cannot name a file outside the zone database. */
static int zone_name_ok(const char *z)
{
	if (*z == '\0' || *z == '/' || strstr(z, "..") != NULL || strlen(z) > 64)
		return 0;
	for (const char *q = z; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("_+-/", *q))
			return 0;
	return 1;
}

/* The wall-clock tm in the IANA zone `zone` as Unix time; -1 if the zone
 * is unknown. Swaps TZ for the call and puts it back. */
static int zone_time(const char *zone, struct tm *tm, int64_t *out)
{
	char path[128];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	char magic[4] = {0};
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	if (got != 4 || memcmp(magic, "TZif", 4) != 0)
		return -1;
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	if (old && saved == NULL)
		return -1;
	setenv("TZ", zone, 1);
	tzset();
	tm->tm_isdst = -1;
	time_t t = mktime(tm);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	*out = (int64_t)t;
	return t == (time_t)-1 ? -1 : 0;
}

int pl_cli_parse_when(const char *s, uint64_t now, uint64_t *out, char *why, size_t cap)
{
	static const char example[] = "e.g. 2026-12-06T18:00:00Z, 2026-12-06T18:00+03:30 or "
				      "\"2026-12-06 18:00 Asia/Tehran\"";
	const char *p = s;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			snprintf(why, cap, "the time holds a control character; %s", example);
			return -1;
		}
	int y = digits(&p, 4), mo, d, h, mi, sec = 0;
	if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 0)
		goto bad;
	if (*p == '\0') {
		snprintf(why, cap, "%s is a date without a time and time zone; give both, %s", s,
			 example);
		return -1;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		goto bad;
	p++;
	if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0)
		goto bad;
	if (*p == ':') {
		p++;
		if ((sec = digits(&p, 2)) < 0)
			goto bad;
		if (*p == '.') /* fractions of a second: dropped */
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 ||
	    sec > 60) {
		snprintf(why, cap, "%s is not a real date and time; %s", s, example);
		return -1;
	}
	if (sec == 60)
		sec = 59; /* a leap second: the second before it */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	int64_t t;
	if (*p == ' ')
		p++;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		t = (int64_t)timegm(&tm);
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if ((oh = digits(&p, 2)) < 0)
			goto bad;
		if (*p == ':')
			p++;
		if ((om = digits(&p, 2)) < 0 || *p != '\0' || oh > 23 || om > 59)
			goto bad;
		t = (int64_t)timegm(&tm) - sign * (int64_t)(oh * 3600 + om * 60);
	} else if (strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0) {
		t = (int64_t)timegm(&tm);
	} else if (*p == '\0') {
		snprintf(why, cap, "%s has no time zone; add one, %s", s, example);
		return -1;
	} else if (!zone_name_ok(p) || zone_time(p, &tm, &t) != 0) {
		snprintf(why, cap,
			 "unknown time zone \"%s\"; use Z, an offset such as +03:30, or a "
			 "zone name such as Asia/Tehran",
			 p);
		return -1;
	}
	if (t <= (int64_t)now) {
		char at[PL_RFC3339_LEN];
		pl_time_rfc3339(at, t < 0 ? 0 : (uint64_t)t);
		snprintf(why, cap, "%s (%s) is already past; give a time in the future", s, at);
		return -1;
	}
	*out = (uint64_t)t;
	return 0;
bad:
	snprintf(why, cap, "cannot read \"%s\" as a date and time; %s", s, example);
	return -1;
}

void pl_cli_time_text(char *out, size_t cap, uint64_t t)
{
	char utc[PL_RFC3339_LEN];
	pl_time_rfc3339(utc, t);
	time_t tt = (time_t)t;
	struct tm lt;
	tzset(); /* localtime_r need not read TZ itself */
	char local[64];
	if (localtime_r(&tt, &lt) == NULL || lt.tm_gmtoff == 0 ||
	    strftime(local, sizeof local, "%Y-%m-%d %H:%M %Z", &lt) == 0) {
		snprintf(out, cap, "%s", utc);
		return;
	}
	snprintf(out, cap, "%s (%s)", utc, local);
}
