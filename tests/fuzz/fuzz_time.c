/*
 * The time parsers: parse_event_time() (an event's "ts"), parse_iso_time()
 * and parse_when() (--since, --until), in several time zones.
 *
 * Properties: no crash and no undefined behaviour (overflow included); a
 * time any of them accepts, written by format_time_utc(), parses back to the
 * same millisecond (so a time outside the years 0000 to 9999 UTC must be
 * refused); UTC times agree with timegm(); the event parser's fast path
 * agrees with the general parser; a zone-less time accepted as UTC is
 * accepted as local time too, away from the ends of that range; an age
 * ("90m") is exactly that long before now; --until of a date alone is the
 * last millisecond of that local day.
 */
#define _GNU_SOURCE
#include <time.h>

#include "fuzz.h"

/* Zones with and without summer time, behind and ahead of UTC, one whose day starts at 01:00. */
static const char *zones[] = {
	"UTC0",
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"EST5EDT,M3.2.0,M11.1.0",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"<-03>3<-02>,M10.3.0/0,M2.3.0/0",
	"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
};

#define FIRST_MS (-62167219200000LL)	/* 0000-01-01T00:00:00.000Z */
#define LAST_MS 253402300799999LL	/* 9999-12-31T23:59:59.999Z */
#define DAY_MS 86400000LL
#define NOW 1795000000123LL	/* 2026-11-18T...: a fixed "now" for ages */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", zones[0], 1);
	tzset();
	return 0;
}

static void set_zone(size_t which)
{
	static size_t current;

	if (which == current)
		return;
	setenv("TZ", zones[which], 1);
	tzset();
	current = which;
}

/* format_time_utc(ms) must parse back to ms. */
static void check_round_trip(const char *s, size_t len, long long ms, const char *who)
{
	char out[32];
	long long back;

	format_time_utc(out, ms);
	fuzz_check(strlen(out) == 24, "%s('%s') = %lld, written as '%s'", who, fuzz_show(s, len), ms,
		   out);
	fuzz_check(!parse_event_time(out, strlen(out), &back),
		   "%s('%s') = %lld, written as '%s', which does not parse", who, fuzz_show(s, len),
		   ms, out);
	fuzz_check(back == ms, "%s('%s') = %lld, written as '%s', which parses as %lld", who,
		   fuzz_show(s, len), ms, out, back);
}

/* The same time by the C library: digits of an ISO time with a zone or none (UTC). */
static int reference_utc(const char *s, size_t len, long long *out)
{
	char buf[64], *p;
	struct tm tm;
	long long ms = 0, scale = 100, zone = 0;
	time_t t;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (sscanf(buf, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return -1;
	if (len == 10)
		goto done;	/* a date alone: its midnight */
	p = buf + 11;
	tm.tm_hour = atoi(p);
	tm.tm_min = atoi(p + 3);
	p += 5;
	if (*p == ':') {
		tm.tm_sec = atoi(p + 1);
		p += 3;
		if (*p == '.' || *p == ',')
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				ms += (*p - '0') * scale;
	}
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		zone = atoi(p + 1) / (p[3] == ':' || !p[3] ? 1 : 100) * 60;
		zone += p[3] == ':' ? atoi(p + 4) : p[3] ? atoi(p + 3) % 100 : 0;
		zone *= sign;
	}
done:
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	*out = ((long long)t - zone * 60) * 1000 + ms;
	return 0;
}

/* The local date of a millisecond. */
static void local_date(long long ms, int *y, int *m, int *d)
{
	time_t t = (time_t)(ms / 1000 - (ms < 0 && ms % 1000));
	struct tm tm;

	localtime_r(&t, &tm);
	*y = tm.tm_year + 1900, *m = tm.tm_mon + 1, *d = tm.tm_mday;
}

static void check_iso(const char *s, size_t len)
{
	long long utc, local, event, ref;
	int utc_date_only, local_date_only;
	int utc_ok = !parse_iso_time(s, len, 0, &utc, &utc_date_only);
	int local_ok = !parse_iso_time(s, len, 1, &local, &local_date_only);
	int event_ok = !parse_event_time(s, len, &event);

	/* Away from the ends of year 0000 and 9999 no zone can carry a time out of range. */
	fuzz_check(local_ok || !utc_ok || utc < FIRST_MS + 2 * DAY_MS || utc > LAST_MS - 2 * DAY_MS,
		   "'%s' is a time as UTC but not as local time", fuzz_show(s, len));
	fuzz_check(utc_ok || !local_ok || local < FIRST_MS + 2 * DAY_MS || local > LAST_MS - 2 * DAY_MS,
		   "'%s' is a local time but not a time as UTC", fuzz_show(s, len));
	fuzz_check(event_ok == (utc_ok && !utc_date_only),
		   "parse_event_time('%s') = %d, parse_iso_time = %d", fuzz_show(s, len), event_ok,
		   utc_ok);
	if (utc_ok) {
		check_round_trip(s, len, utc, "parse_iso_time");
		fuzz_check(utc_date_only == local_date_only, "'%s': date alone or not", fuzz_show(s, len));
		if (!reference_utc(s, len, &ref))
			fuzz_check(ref == utc, "parse_iso_time('%s') = %lld, timegm says %lld",
				   fuzz_show(s, len), utc, ref);
	}
	if (local_ok)
		check_round_trip(s, len, local, "parse_iso_time(local)");
	if (event_ok) {
		check_round_trip(s, len, event, "parse_event_time");
		fuzz_check(event == utc, "parse_event_time('%s') = %lld, parse_iso_time = %lld",
			   fuzz_show(s, len), event, utc);
	}
}

static void check_when(const char *arg)
{
	size_t len = strlen(arg);
	long long since, until, iso;
	int date_only;
	int since_ok = !parse_when(arg, NOW, 0, &since);
	int until_ok = !parse_when(arg, NOW, 1, &until);

	fuzz_check(since_ok == until_ok, "parse_when('%s'): since %d, until %d", fuzz_show(arg, len),
		   since_ok, until_ok);
	if (!since_ok)
		return;
	if (len >= 2 && arg[0] >= '0' && arg[0] <= '9' && strspn(arg, "0123456789") == len - 1) {
		static const char units[] = "smhdw";
		static const long long unit_ms[] = { 1000, 60000, 3600000, 86400000, 604800000 };
		const char *u = strchr(units, arg[len - 1]);
		long long n = strtoll(arg, NULL, 10);

		fuzz_check(u && len <= 10, "parse_when('%s') accepts an age it should not",
			   fuzz_show(arg, len));
		fuzz_check(since == NOW - n * unit_ms[u - units] && until == since,
			   "parse_when('%s') = %lld", fuzz_show(arg, len), since);
		return;
	}
	fuzz_check(!parse_iso_time(arg, len, 1, &iso, &date_only) && iso == since,
		   "parse_when('%s') = %lld is not its local ISO time", fuzz_show(arg, len), since);
	check_round_trip(arg, len, since, "parse_when");
	if (date_only) {
		int y, m, d, y2, m2, d2;

		local_date(since, &y, &m, &d);
		local_date(until, &y2, &m2, &d2);
		fuzz_check(y == y2 && m == m2 && d == d2 && until > since,
			   "--until '%s' = %lld is not on the day that starts at %lld",
			   fuzz_show(arg, len), until, since);
		local_date(until + 1, &y2, &m2, &d2);
		fuzz_check(y != y2 || m != m2 || d != d2,
			   "--until '%s' = %lld is not the last millisecond of its day",
			   fuzz_show(arg, len), until);
	} else {
		check_round_trip(arg, len, until, "parse_when(until)");
		fuzz_check(until == since, "parse_when('%s'): until %lld, since %lld",
			   fuzz_show(arg, len), until, since);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the input's bytes, so a read past them is caught. */
	char *exact, *text;

	if (size > 64)
		return 0;	/* longer is never a time; 64 bytes cover every form */
	exact = xmalloc(size ? size : 1);
	memcpy(exact, data, size);
	set_zone(size % (sizeof(zones) / sizeof(*zones)));
	check_iso(exact, size);
	text = fuzz_string(data, size);
	check_when(text);
	free(text);
	free(exact);
	return 0;
}
