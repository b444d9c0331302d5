/*
 * tracegen: write a realistic, deterministic git-agent trace to stdout.
 *
 *   tracegen EVENTS TASKS
 *
 * Prints exactly EVENTS lines of the JSON events that git-agent itself
 * appends to <common-dir>/agent/trace.jsonl (same event names, same fields in
 * the same order, same compact jansson spelling), for exactly TASKS tasks
 * named task-00001-<title words> ... over 30 days (2026-10-22 to 2026-11-21,
 * UTC), oldest first.  A task's life: task.planned; then, unless it stays a
 * plan or fails to spawn (spawn.failed, setup.failed), worktree.created,
 * setup.done, and review rounds: check.passed/check.failed for each of its
 * 3-7 checks, review.recorded, then verdict.changes or the end: verdict.merge
 * + merge.done (sometimes after merge.refused or merge.failed) or
 * verdict.abandon, then worktree.removed and branch.deleted.  Tasks started
 * late are still open at the end.  The rest of EVENTS is made of events that
 * agents append with `git agent trace --emit` ("emitted":true).  Titles mix
 * ASCII with other scripts (UTF-8), some texts hold quotes, tabs, newlines and
 * the odd ANSI escape from an agent's output, as real logs do.
 *
 * Everything comes from a fixed-seed hash (splitmix64) of the task number and
 * the event, so the output is the same on every run (and on every machine
 * whose libm rounds exp() and log() alike: glibc's does).  Used by
 * bench/make-trace.sh; built there with `cc -O2 ... -lm`.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
/* 2026-10-22T00:00:00Z */
#define T0 1792627200000LL
#define SPAN (30 * DAY_MS)

enum kind {
	K_PLANNED, K_WT_CREATED, K_SETUP_DONE, K_SETUP_FAILED, K_SPAWN_FAILED,
	K_CHECK, K_REVIEW, K_V_CHANGES, K_MERGE_REFUSED, K_MERGE_FAILED, K_V_MERGE,
	K_MERGE_DONE, K_V_ABANDON, K_WT_REMOVED, K_BR_DELETED, K_EMITTED
};

struct ev {
	int64_t ts;		/* ms since the epoch */
	uint32_t seq;		/* generation order: ties keep a task's order */
	int32_t task;
	uint8_t kind;
	uint8_t round;
	uint16_t aux;		/* check number, emitted kind, variant */
};

enum outcome { O_PLAN, O_SPAWN_FAILED, O_SETUP_FAILED, O_MERGE, O_ABANDON, O_OPEN };

struct task {
	char slug[64];
	char title[192];
	uint8_t agent, base, nchecks, check0, rounds, clean_round, style, outcome;
	uint8_t refused, failed_round, keep, force, keep_branch;
	int64_t start, emit_from, emit_to;
	uint32_t size;		/* typical lines changed per round */
	int lifecycle;		/* lifecycle events kept (before the end of the window) */
	int emitted;		/* emitted events given to it */
};

static struct task *tasks;
static long long ntasks;
static struct ev *evs;
static size_t nevs, capevs;

/* splitmix64 */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t h(uint64_t a, uint64_t b, uint64_t c)
{
	return mix(mix(mix(a ^ 0x5eed5eedULL) ^ b) ^ c);
}

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix(r->s);
}

static double unif(struct rng *r)
{
	return (double)(next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int64_t irange(struct rng *r, int64_t lo, int64_t hi)	/* inclusive */
{
	return lo + (int64_t)(next(r) % (uint64_t)(hi - lo + 1));
}

static int64_t logu(struct rng *r, double lo, double hi)	/* log-uniform */
{
	return (int64_t)exp(log(lo) + unif(r) * (log(hi) - log(lo)));
}

static int chance(struct rng *r, double p)
{
	return unif(r) < p;
}

/* -- words ------------------------------------------------------------- */

#define N(a) (sizeof(a) / sizeof(*(a)))

static const char *verbs[] = {
	"Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Migrate", "Rename",
	"Split", "Cache", "Validate", "Port", "Upgrade", "Handle errors in", "Test",
	"Simplify", "Deprecate", "Instrument", "Harden", "Localize",
};
static const char *objects[] = {
	"billing export", "invoice PDF renderer", "OAuth login flow", "user settings page",
	"CSV import", "rate limiter", "search index", "webhook retries", "audit log",
	"payment reconciliation", "session cookies", "feature flags", "email templates",
	"image thumbnails", "GraphQL schema", "admin dashboard", "notification service",
	"password reset", "data retention job", "S3 uploader", "currency conversion",
	"order history API", "signup form", "shipping calculator", "tax rules",
	"naïve datetime handling", "café menu translations", "Größenangaben im Export",
	"Überweisungs-API", "日本語ロケールの日付表示", "résumé upload", "ÅÄÖ sorting in search",
	"поиск по кириллице", "Ελληνικά μηνύματα σφάλματος", "emoji in commit messages 🚀",
	"crème brûlée recipe importer", "São Paulo time zone", "Zürich warehouse sync",
	"中文搜索分词", "RTL layout for العربية",
};
static const char *quals[] = {
	"", "", " for EU customers with the VAT breakdown", " in the admin panel",
	" behind the new-checkout feature flag", " (follow-up to the March incident)",
	" for accounts with more than 10k orders", " on mobile and tablet layouts",
	" after the 2.4 release", " without blocking the event loop", " — part 2",
	" for “enterprise” plans", " and add regression tests", " (ticket SHOP-%d)",
	" so that nightly jobs stop timing out", " using the shared retry policy",
};
static const char *agents[] = { "agent", "agent", "agent", "agent", "claude", "claude", "codex", "aider" };
static const char *bases[] = { "main", "main", "main", "main", "main", "main", "main", "main",
	"main", "main", "main", "main", "main", "main", "main", "main", "main", "develop",
	"develop", "release/2.4" };
static const char *checks[] = {
	"make lint",
	"make test",
	"npm test -- --ci --reporters=default --coverage=false",
	"pytest -q -x tests/unit -p no:cacheprovider",
	"cargo clippy --all-targets --all-features -- -D warnings",
	"go vet ./... && go test -race -count=1 ./internal/...",
	"./scripts/typecheck.sh --strict",
	"docker compose run --rm app bundle exec rspec spec/models spec/services",
	"shellcheck -x scripts/*.sh",
	"npx eslint --max-warnings=0 --ext .ts,.tsx src",
	"mypy --strict --python-version 3.11 app",
	"make integration-test DB=postgres://localhost:5432/shop_test",
};
static const char *files[] = {
	"src/billing/export.py", "app/models/invoice.rb", "web/src/settings/Page.tsx",
	"internal/ratelimit/limiter.go", "src/search/index.rs", "lib/webhooks/retry.ex",
	"db/migrations/0042_audit_log.sql", "config/flags.yaml", "templates/email/reset.html",
};
static const char *asks[] = {
	"Please add a test for the empty case.",
	"The retry loop never gives up: cap it at 5 attempts with backoff.",
	"Don't swallow the exception here; log it with the request id and re-raise.",
	"This changes the public API. Keep the old name as a deprecated alias.",
	"Split the migration: schema first, backfill in a second step.",
	"Use the shared HTTP client instead of creating one per call.",
	"The \"amount\" column is in cents; the export divides twice.",
	"Rebase onto main, the billing module moved.",
	"Revert the unrelated formatting changes in src/util/.",
	"Timezones: store UTC, convert only for display (see docs/time.md).",
	"Good progress. Two things:\n- rename `tmp2`\n- the N+1 query in the list view",
	"Checks fail on CI only: the test depends on the local time zone.",
	"Please keep lines under 100 columns and run the formatter.",
	"Avoid the global lock; a per-account lock is enough.",
};
static const char *emitted[] = {
	"progress", "progress", "progress", "note", "test.run", "ci.started", "ci.finished",
	"pr.opened", "deploy.preview", "lint.fixed",
};
static const char *progress[] = {
	"Read the task packet and the files it names; the export is built in src/billing/export.py "
	"and called from two places",
	"Wrote a failing test that reproduces the bug (tests/unit/test_export.py::test_vat_rounding)",
	"Implemented the change; running the unit tests before the slower integration suite",
	"Unit tests pass; updating the documentation and the changelog entry",
	"Addressed the review: renamed the helpers, added the missing test for the empty case, "
	"and removed the unrelated formatting changes",
	"Rebased onto the base branch, resolved 2 conflicts in the migration files",
	"Profiling: the slow path is the JSON encoding, not the query (1.8 s of 2.1 s)",
	"Waiting for the integration environment to come back up",
	"Refactored the parser into smaller functions\tno behaviour change intended",
	"Ran \"make test\": all green, 0 failures, 12 skipped (need a database)",
	"\033[32mPASS\033[0m tests/unit (412 tests, 3.2 s)",
	"Déployé sur l'environnement de recette ; les exports CSV sont corrects",
	"テストを追加しました。既存のテストもすべて通っています",
	"Blocked: the staging API key is missing from the task environment; asked in #platform",
};

/* -- output ------------------------------------------------------------ */

static char *out;
static size_t olen, ocap;

static void flush(void)
{
	if (olen && fwrite(out, 1, olen, stdout) != olen) {
		perror("tracegen: write");
		exit(1);
	}
	olen = 0;
}

static void put(const char *s, size_t n)
{
	if (olen + n > ocap)
		flush();
	memcpy(out + olen, s, n);
	olen += n;
}

static void puts_(const char *s)
{
	put(s, strlen(s));
}

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void putf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(buf, (size_t)n);
}

/* A JSON string as jansson writes it (JSON_COMPACT, UTF-8 left as is). */
static void putjs(const char *s)
{
	char esc[8];

	put("\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': put("\\\"", 2); break;
		case '\\': put("\\\\", 2); break;
		case '\b': put("\\b", 2); break;
		case '\f': put("\\f", 2); break;
		case '\n': put("\\n", 2); break;
		case '\r': put("\\r", 2); break;
		case '\t': put("\\t", 2); break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(esc, 6);
			} else {
				put(s, 1);
			}
		}
	}
	put("\"", 1);
}

static void key(const char *k)
{
	put(",\"", 2);
	puts_(k);
	put("\":", 2);
}

static void kstr(const char *k, const char *v)
{
	key(k);
	putjs(v);
}

static void kint(const char *k, long long v)
{
	key(k);
	putf("%lld", v);
}

static void kbool(const char *k, int v)
{
	key(k);
	puts_(v ? "true" : "false");
}

static void hex(char *buf, int n, uint64_t a, uint64_t b, uint64_t c)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t x = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			x = h(a, b, c + (uint64_t)i);
		buf[i] = digits[x & 15];
		x >>= 4;
	}
	buf[n] = '\0';
}

static void khex(const char *k, int n, uint64_t a, uint64_t b, uint64_t c)
{
	char buf[65];

	hex(buf, n, a, b, c);
	kstr(k, buf);
}

/* days since 1970-01-01 -> civil date (Howard Hinnant's algorithm) */
static void civil(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put_ts(int64_t ms)
{
	int y, m, d;
	int64_t day = ms / DAY_MS, r = ms % DAY_MS;

	civil(day, &y, &m, &d);
	putf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(r / 3600000),
	     (int)(r / 60000 % 60), (int)(r / 1000 % 60), (int)(r % 1000));
}

/* -- the model --------------------------------------------------------- */

static void add(int64_t ts, int task, int kind, int round, int aux)
{
	if (nevs == capevs) {
		capevs = capevs ? capevs * 2 : 1 << 20;
		evs = realloc(evs, capevs * sizeof(*evs));
		if (!evs) {
			fputs("tracegen: out of memory\n", stderr);
			exit(1);
		}
	}
	evs[nevs].ts = ts;
	evs[nevs].seq = (uint32_t)nevs;
	evs[nevs].task = task;
	evs[nevs].kind = (uint8_t)kind;
	evs[nevs].round = (uint8_t)round;
	evs[nevs].aux = (uint16_t)aux;
	nevs++;
}

static void slugify(char *dst, size_t outsz, const char *title)
{
	size_t len = 0, max = 48, i, cut = 0;
	int pending = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)title; *p && len < outsz - 2; p++) {
		int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9');
		if (!alnum) {
			pending = len > 0;
			continue;
		}
		if (pending)
			dst[len++] = '-';
		pending = 0;
		dst[len++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (len > max)
			break;
	}
	dst[len] = '\0';
	if (len > max) {
		for (i = 1; i <= max; i++)
			if (dst[i] == '-')
				cut = i;
		dst[cut ? cut : max] = '\0';
	}
}

static int check_fails(const struct task *t, int ti, int round, int k)
{
	uint64_t x = h((uint64_t)ti, 0xc4ec, (uint64_t)(round * 16 + k)) % 1000;

	if (round >= t->clean_round)
		return 0;
	return x < (uint64_t)(round == 1 ? 220 : 120);
}

static int check_duration(int ti, int round, int k)
{
	struct rng r = { h((uint64_t)ti, 0xd0e, (uint64_t)(round * 16 + k)) };

	return (int)logu(&r, 300, k % 4 == 3 ? 900000 : 120000);
}

static int uncommitted(const struct task *t, int ti, int round)
{
	if (round >= t->clean_round)
		return 0;
	return h((uint64_t)ti, 0x0c, (uint64_t)round) % 10 == 0 ? 1 + (int)(h((uint64_t)ti, 0x0d, (uint64_t)round) % 3) : 0;
}

static void plan_task(int ti, double mean_rounds)
{
	struct task *t = &tasks[ti];
	struct rng r = { h((uint64_t)ti, 0x7a5c, 0) };
	int64_t ts, end = T0 + SPAN;
	int round, k, extra = 0;
	size_t first = nevs;
	char full[256];
	double u;

	{
		char q[96];

		snprintf(q, sizeof(q), quals[next(&r) % N(quals)], (int)irange(&r, 100, 9999));
		snprintf(t->title, sizeof(t->title), "%s %s%s", verbs[next(&r) % N(verbs)],
			 objects[next(&r) % N(objects)], q);
	}
	snprintf(full, sizeof(full), "task %05d %s", ti + 1, t->title);
	slugify(t->slug, sizeof(t->slug), full);
	t->agent = (uint8_t)(next(&r) % N(agents));
	t->base = (uint8_t)(next(&r) % N(bases));
	t->nchecks = (uint8_t)irange(&r, 3, 7);
	t->check0 = (uint8_t)(next(&r) % N(checks));
	t->style = (uint8_t)(next(&r) % 10);	/* 0-4 squash, 5-7 merge, 8-9 ff */
	t->size = (uint32_t)logu(&r, 3, 3000);
	/* Tasks are numbered in the order they are planned, over 29 days. */
	t->start = T0 + (int64_t)(((double)ti + unif(&r)) * (double)(SPAN - DAY_MS) /
				  (double)ntasks);
	u = unif(&r);
	t->outcome = u < 0.03 ? O_PLAN : u < 0.045 ? O_SPAWN_FAILED : u < 0.06 ? O_SETUP_FAILED :
		     u < 0.87 ? O_MERGE : u < 0.95 ? O_ABANDON : O_OPEN;
	t->rounds = (uint8_t)(1 + (int)fmin(-log(1.0 - unif(&r)) * (mean_rounds - 1.0), 24.0));
	t->refused = t->outcome == O_MERGE && chance(&r, 0.05);
	t->failed_round = t->outcome == O_MERGE && chance(&r, 0.04) ? t->rounds : 0;
	if (t->failed_round)
		extra = 1;	/* a conflict: the agent rebases, one more round */
	t->clean_round = (uint8_t)(t->outcome == O_MERGE ? t->rounds : 255);
	t->keep = chance(&r, 0.08);
	t->force = chance(&r, 0.3);
	t->keep_branch = chance(&r, 0.15);

	ts = t->start;
	add(ts, ti, K_PLANNED, 0, 0);
	if (t->outcome == O_PLAN)
		goto done;
	/* Most tasks are created at once (spawn --create); some plans wait hours. */
	ts += chance(&r, 0.1) ? logu(&r, 600000, 2 * DAY_MS) : irange(&r, 3, 40);
	if (t->outcome == O_SPAWN_FAILED) {
		add(ts + logu(&r, 20, 60000), ti, K_SPAWN_FAILED, 0, (int)(next(&r) % 3));
		goto done;
	}
	ts += logu(&r, 40, 4000);
	add(ts, ti, K_WT_CREATED, 0, 0);
	ts += logu(&r, 2, 180000);
	if (t->outcome == O_SETUP_FAILED) {
		add(ts, ti, K_SETUP_FAILED, 0, 0);
		add(ts + irange(&r, 1, 400), ti, K_SPAWN_FAILED, 0, 3);
		goto done;
	}
	add(ts, ti, K_SETUP_DONE, 0, 0);
	t->emit_from = ts;
	for (round = 1; round <= t->rounds + extra; round++) {
		ts += logu(&r, 120000, 4 * 3600000.0);	/* the agent works */
		for (k = 0; k < t->nchecks; k++) {
			ts += check_duration(ti, round, k);
			add(ts, ti, K_CHECK, round, k);
		}
		ts += logu(&r, 40, 600);
		add(ts, ti, K_REVIEW, round, 0);
		t->emit_to = ts;
		ts += logu(&r, 30000, 20 * 3600000.0);	/* a human reads it */
		if (round < t->rounds + extra) {
			if (round == t->failed_round) {
				if (next(&r) % 2)
					add(ts, ti, K_V_MERGE, round, 1);
				add(ts + logu(&r, 20, 3000), ti, K_MERGE_FAILED, round, 0);
			} else {
				add(ts, ti, K_V_CHANGES, round, (int)(next(&r) % N(asks)));
			}
			continue;
		}
		if (t->outcome == O_OPEN)
			break;
		if (t->outcome == O_ABANDON) {
			add(ts, ti, K_V_ABANDON, round, 0);
			ts += logu(&r, 30, 3000);
			add(ts, ti, K_WT_REMOVED, round, 0);
			if (!t->keep_branch)
				add(ts + irange(&r, 1, 30), ti, K_BR_DELETED, round, 0);
			break;
		}
		if (t->refused) {
			add(ts, ti, K_MERGE_REFUSED, round, (int)(next(&r) % 3));
			ts += logu(&r, 20000, 1800000);
		}
		add(ts, ti, K_V_MERGE, round, 0);
		ts += logu(&r, 30, 5000);
		add(ts, ti, K_MERGE_DONE, round, 0);
		if (!t->keep) {
			ts += logu(&r, 30, 3000);
			add(ts, ti, K_WT_REMOVED, round, 0);
			add(ts + irange(&r, 1, 30), ti, K_BR_DELETED, round, 0);
		}
	}
done:
	/* The log ends now: a task still going then has no later events. */
	while (nevs > first && evs[nevs - 1].ts >= end)
		nevs--;
	t->lifecycle = (int)(nevs - first);
	if (t->emit_to > end)
		t->emit_to = end - 1;
	if (t->emit_to <= t->emit_from)
		t->emit_from = t->emit_to = 0;
}

static int cmp_ev(const void *pa, const void *pb)
{
	const struct ev *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* -- printing ---------------------------------------------------------- */

static const char *base_name(const struct task *t)
{
	return bases[t->base];
}

static void base_sha(const struct task *t)
{
	/* The base moves every 3 hours or so: tasks started together share it. */
	khex("base_sha", 40, 0xba5e, t->base, (uint64_t)(t->start / (3 * 3600000LL)));
}

static void branch(const struct task *t)
{
	char b[128];

	snprintf(b, sizeof(b), "%s/%s", agents[t->agent], t->slug);
	kstr("branch", b);
}

static void worktree(const struct task *t)
{
	char w[128];

	snprintf(w, sizeof(w), "/home/dev/src/shop-worktrees/%s", t->slug);
	kstr("worktree", w);
}

static const char *check_cmd(const struct task *t, int k)
{
	return checks[(t->check0 + k) % N(checks)];
}

static void print_ev(const struct ev *e)
{
	const struct task *t = &tasks[e->task];
	int ti = e->task, k, failed, unc;
	char buf[512];
	static const char *names[] = {
		"task.planned", "worktree.created", "setup.done", "setup.failed", "spawn.failed",
		"check.", "review.recorded", "verdict.changes", "merge.refused", "merge.failed",
		"verdict.merge", "merge.done", "verdict.abandon", "worktree.removed",
		"branch.deleted", "",
	};
	static const char *styles[] = { "squash", "squash", "squash", "squash", "squash",
		"merge", "merge", "merge", "ff", "ff" };
	const char *name = names[e->kind];
	struct rng r = { h((uint64_t)ti, 0xe7e, (uint64_t)(e->kind * 4096 + e->round * 16 + e->aux)) };

	if (e->kind == K_CHECK)
		name = check_fails(t, ti, e->round, e->aux) ? "check.failed" : "check.passed";
	else if (e->kind == K_EMITTED)
		name = emitted[e->aux % N(emitted)];
	puts_("{\"v\":1,\"ts\":\"");
	put_ts(e->ts);
	puts_("\",\"event\":");
	putjs(name);
	kstr("task", t->slug);
	switch (e->kind) {
	case K_PLANNED:
		kstr("title", t->title);
		branch(t);
		kstr("base", base_name(t));
		base_sha(t);
		worktree(t);
		snprintf(buf, sizeof(buf), "/home/dev/src/shop/.git/agent/tasks/%s", t->slug);
		kstr("folder", buf);
		break;
	case K_WT_CREATED:
		branch(t);
		kstr("base", base_name(t));
		base_sha(t);
		worktree(t);
		break;
	case K_SETUP_DONE:
		kint("copied", (long long)(h((uint64_t)ti, 1, 0) % 4));
		kint("linked", (long long)(h((uint64_t)ti, 2, 0) % 3));
		kint("commands", (long long)(h((uint64_t)ti, 3, 0) % 3));
		break;
	case K_SETUP_FAILED:
		kstr("command", h((uint64_t)ti, 4, 0) % 2 ? "npm ci" : "make deps");
		kint("exit", h((uint64_t)ti, 5, 0) % 2 ? 1 : 2);
		break;
	case K_SPAWN_FAILED:
		switch (e->aux) {
		case 0:
			snprintf(buf, sizeof(buf), "'/home/dev/src/shop-worktrees/%s' already exists", t->slug);
			break;
		case 1:
			snprintf(buf, sizeof(buf), "the main worktree has uncommitted changes "
				 "(--allow-dirty to spawn anyway)");
			break;
		case 2:
			snprintf(buf, sizeof(buf), "interrupted");
			break;
		default:
			snprintf(buf, sizeof(buf), "setup command '%s' failed (exit %d)",
				 h((uint64_t)ti, 4, 0) % 2 ? "npm ci" : "make deps",
				 h((uint64_t)ti, 5, 0) % 2 ? 1 : 2);
		}
		kstr("reason", buf);
		break;
	case K_CHECK:
		failed = check_fails(t, ti, e->round, e->aux);
		k = failed && h((uint64_t)ti, 6, (uint64_t)(e->round * 16 + e->aux)) % 20 == 0;	/* timed out */
		kint("round", e->round);
		kstr("command", check_cmd(t, e->aux));
		kint("exit", failed ? (k ? 124 : 1 + (int)(next(&r) % 2)) : 0);
		kbool("timed_out", k);
		kint("duration_ms", check_duration(ti, e->round, e->aux));
		break;
	case K_REVIEW:
		for (failed = 0, k = 0; k < t->nchecks; k++)
			failed += check_fails(t, ti, e->round, k);
		unc = uncommitted(t, ti, e->round);
		kint("round", e->round);
		khex("head", 40, (uint64_t)ti, 0x4ead, e->round);
		kint("base_moved", next(&r) % 6 == 0 ? irange(&r, 1, 40) : 0);
		kint("files_changed", 1 + (long long)(t->size / 40) + irange(&r, 0, 3));
		kint("insertions", (long long)t->size + irange(&r, 0, t->size / 4 + 5));
		kint("deletions", (long long)(t->size / 3) + irange(&r, 0, t->size / 8 + 2));
		kint("uncommitted", unc);
		kint("out_of_scope", next(&r) % 25 == 0 ? irange(&r, 1, 4) : 0);
		kint("checks_failed", failed);
		khex("patch_sha256", 64, (uint64_t)ti, 0x9a7c, e->round);
		kbool("mergeable", !failed && !unc);
		break;
	case K_V_CHANGES:
		kint("round", e->round);
		if (next(&r) % 3 == 0)
			snprintf(buf, sizeof(buf), "%s", asks[e->aux % N(asks)]);
		else if (next(&r) % 2)
			snprintf(buf, sizeof(buf), "%s %s", asks[e->aux % N(asks)],
				 asks[(e->aux + 5) % N(asks)]);
		else
			snprintf(buf, sizeof(buf), "%s\n\n%s\n%s", asks[e->aux % N(asks)],
				 asks[(e->aux + 3) % N(asks)], asks[(e->aux + 8) % N(asks)]);
		kstr("text", buf);
		break;
	case K_MERGE_REFUSED:
		key("reasons");
		put("[", 1);
		if (e->aux == 2) {
			snprintf(buf, sizeof(buf), "'%s' is checked out in '/home/dev/src/shop', which has "
				 "uncommitted changes: commit or stash them first", base_name(t));
			putjs(buf);
		} else {
			snprintf(buf, sizeof(buf), "the task worktree '/home/dev/src/shop-worktrees/%s' "
				 "has uncommitted changes", t->slug);
			putjs(buf);
		}
		if (e->aux == 1) {
			char a[8], b[8];

			hex(a, 7, (uint64_t)ti, 0x4ead, e->round);
			hex(b, 7, (uint64_t)ti, 0x4eae, e->round);
			snprintf(buf, sizeof(buf), "branch '%s/%s' moved since review round %02d "
				 "(reviewed %s, now %s): review it again", agents[t->agent],
				 t->slug, e->round, a, b);
			put(",", 1);
			putjs(buf);
		}
		put("]", 1);
		break;
	case K_MERGE_FAILED:
		snprintf(buf, sizeof(buf), "merging '%s/%s' into '%s' would conflict in: %s; nothing "
			 "was changed: rebase the task onto '%s' and review again", agents[t->agent],
			 t->slug, base_name(t), files[h((uint64_t)ti, 7, 0) % N(files)], base_name(t));
		kstr("reason", buf);
		kstr("into", base_name(t));
		break;
	case K_V_MERGE:
		kint("round", e->round);
		khex("head", 40, (uint64_t)ti, 0x4ead, e->round);
		kstr("style", styles[t->style]);
		kstr("into", base_name(t));
		break;
	case K_MERGE_DONE:
		kstr("into", base_name(t));
		kstr("style", styles[t->style]);
		khex("head", 40, (uint64_t)ti, 0x4ead, e->round);
		if (t->style >= 8)
			khex("commit", 40, (uint64_t)ti, 0x4ead, e->round);
		else
			khex("commit", 40, (uint64_t)ti, 0xc0, e->round);
		break;
	case K_V_ABANDON:
		kbool("force", t->force);
		kbool("keep_branch", t->keep_branch);
		break;
	case K_WT_REMOVED:
		worktree(t);
		break;
	case K_BR_DELETED:
		branch(t);
		khex("head", 40, (uint64_t)ti, 0x4ead, e->round);
		break;
	case K_EMITTED:
		kbool("emitted", 1);
		switch (e->aux % N(emitted)) {
		case 3:	/* note */
			k = (int)(next(&r) % N(asks));
			snprintf(buf, sizeof(buf), "Reviewer said: %s I will also check: %s", asks[k],
				 asks[(k + 4) % N(asks)]);
			kstr("message", buf);
			break;
		case 4:	/* test.run */
			snprintf(buf, sizeof(buf), "%s: %d passed, %d skipped",
				 check_cmd(t, (int)(next(&r) % t->nchecks)), (int)irange(&r, 10, 3000),
				 (int)irange(&r, 0, 20));
			kstr("message", buf);
			snprintf(buf, sizeof(buf), "%d", (int)irange(&r, 200, 600000));
			kstr("duration_ms", buf);
			break;
		case 5:	/* ci.started */
		case 6:	/* ci.finished */
			k = (int)(h((uint64_t)ti, 8, e->aux / N(emitted)) % 900000) + 100000;
			snprintf(buf, sizeof(buf), "CI pipeline #%d %s", k,
				 e->aux % N(emitted) == 5 ? "started" : "finished");
			kstr("message", buf);
			snprintf(buf, sizeof(buf), "https://ci.example.com/shop/-/pipelines/%d", k);
			kstr("url", buf);
			khex("commit", 40, (uint64_t)ti, 0xc1, e->aux / N(emitted));
			if (e->aux % N(emitted) == 6) {
				kstr("status", next(&r) % 5 ? "success" : "failed");
				snprintf(buf, sizeof(buf), "%d", (int)irange(&r, 60, 3600));
				kstr("duration_s", buf);
			}
			break;
		case 7:	/* pr.opened */
			kstr("message", t->title);
			snprintf(buf, sizeof(buf), "%d", (int)(ti + 1000));
			kstr("number", buf);
			snprintf(buf, sizeof(buf), "https://git.example.com/shop/shop/pulls/%d", ti + 1000);
			kstr("url", buf);
			break;
		case 8:	/* deploy.preview */
			snprintf(buf, sizeof(buf), "Preview deployed for %s", t->slug);
			kstr("message", buf);
			snprintf(buf, sizeof(buf), "https://%s.preview.example.com/", t->slug);
			kstr("url", buf);
			khex("commit", 40, (uint64_t)ti, 0xc2, e->aux / N(emitted));
			break;
		case 9:	/* lint.fixed */
			snprintf(buf, sizeof(buf), "Fixed %d lint warnings", (int)irange(&r, 1, 80));
			kstr("message", buf);
			break;
		default:	/* progress: one to three sentences */
			k = (int)(next(&r) % N(progress));
			switch (next(&r) % 3) {
			case 0:
				snprintf(buf, sizeof(buf), "%s", progress[k]);
				break;
			case 1:
				snprintf(buf, sizeof(buf), "%s. %s", progress[k],
					 progress[(k + 3) % N(progress)]);
				break;
			default:
				snprintf(buf, sizeof(buf), "%s. %s. %s", progress[k],
					 progress[(k + 3) % N(progress)], progress[(k + 7) % N(progress)]);
			}
			kstr("message", buf);
			if (next(&r) % 2) {
				snprintf(buf, sizeof(buf), "%d/%d", (int)irange(&r, 1, 7), 7);
				kstr("step", buf);
			}
		}
		break;
	}
	put("}\n", 2);
}

int main(int argc, char **argv)
{
	long long nevents, life = 0, free_ev, given = 0, i;
	double mean_rounds;
	int ti, j;

	if (argc != 3 || (nevents = atoll(argv[1])) <= 0 || (ntasks = atoll(argv[2])) <= 0 ||
	    ntasks > 99999) {
		fputs("usage: tracegen EVENTS TASKS (1 <= TASKS <= 99999)\n", stderr);
		return 129;
	}
	if (nevents < 3 * ntasks) {
		fputs("tracegen: EVENTS must be at least 3 x TASKS\n", stderr);
		return 129;
	}
	tasks = calloc((size_t)ntasks, sizeof(*tasks));
	ocap = 1 << 20;
	out = malloc(ocap);
	if (!tasks || !out) {
		fputs("tracegen: out of memory\n", stderr);
		return 1;
	}
	/*
	 * Review rounds: about a quarter of a task's events are the agents' own
	 * (emitted); a round costs its checks (5 on average), the review and the
	 * verdict; the start and the end about 7 more.
	 */
	mean_rounds = ((double)nevents / (double)ntasks * 0.75 - 7.0) / 6.5;
	if (mean_rounds < 1.0)
		mean_rounds = 1.0;
	for (ti = 0; ti < ntasks; ti++) {
		plan_task(ti, mean_rounds);
		life += tasks[ti].lifecycle;
	}
	if (life > nevents) {
		/* Too few events for the tasks: keep every task.planned, cut the latest. */
		long long keep = (long long)nevs;

		qsort(evs, nevs, sizeof(*evs), cmp_ev);
		for (i = (long long)nevs - 1; i >= 0 && keep > nevents; i--)
			if (evs[i].kind != K_PLANNED) {
				evs[i].kind = 255;
				keep--;
			}
		for (i = 0, j = 0; i < (long long)nevs; i++)
			if (evs[i].kind != 255)
				evs[j++] = evs[i];
		nevs = (size_t)j;
	} else {
		/* The agents' own events, spread over the tasks that have a worktree. */
		long long weight = 0, w;

		free_ev = nevents - life;
		for (ti = 0; ti < ntasks; ti++)
			if (tasks[ti].emit_to)
				weight += tasks[ti].lifecycle;
		for (ti = 0; ti < ntasks && weight; ti++) {
			struct task *t = &tasks[ti];

			if (!t->emit_to)
				continue;
			w = (long long)((double)free_ev * t->lifecycle / (double)weight);
			t->emitted = (int)w;
			given += w;
		}
		/* The rounding rest, one each, to tasks in a fixed scattered order. */
		for (i = 0; given < free_ev; i++) {
			ti = (int)(h(0xe2, (uint64_t)i, 0) % (uint64_t)ntasks);
			if (tasks[ti].emit_to) {
				tasks[ti].emitted++;
				given++;
			}
		}
		for (ti = 0; ti < ntasks; ti++) {
			struct task *t = &tasks[ti];
			struct rng r = { h((uint64_t)ti, 0xe3, 0) };

			for (j = 0; j < t->emitted; j++) {
				int64_t ts = t->emit_from + 1 + irange(&r, 0, t->emit_to - t->emit_from - 2);

				add(ts, ti, K_EMITTED, 0, (int)(next(&r) % N(emitted)) + (int)N(emitted) * (j % 6000));
			}
		}
		qsort(evs, nevs, sizeof(*evs), cmp_ev);
	}
	for (i = 0; i < (long long)nevs; i++)
		print_ev(&evs[i]);
	flush();
	if (fflush(stdout) != 0) {
		perror("tracegen: write");
		return 1;
	}
	return 0;
}
