/*
 * git-agent-review: the gate between a task's branch and its base. A review
 * records an evidence round (status, diff stat, patch, commits, checks);
 * --merge merges only the commit that round reviewed, then cleans up;
 * --request-changes and --abandon close the loop the other ways.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static const char usage_text[] =
	"usage: git agent review [<task>] [--check <cmd>]... [--stat-width <n>] [--json]\n"
	"   or: git agent review [<task>] --merge [--style <style>] [--keep] [--allow-out-of-scope] [--json]\n"
	"   or: git agent review [<task>] --request-changes[=<text>] [--json]\n"
	"   or: git agent review [<task>] --abandon [--force] [--keep-branch] [--json]\n"
	"\n"
	"    --check <cmd>         run <cmd> as a check of this round (repeatable)\n"
	"    --stat-width <n>      width of the diff stat (default 80)\n"
	"    --json                print one JSON object\n"
	"    --merge               merge the reviewed commit into the base\n"
	"    --style <style>       merge, ff or squash (default: agent.mergeStyle)\n"
	"    --keep                keep the worktree and branch after merging\n"
	"    --allow-out-of-scope  merge even when files outside the scope changed\n"
	"    --request-changes[=<text>]\n"
	"                          ask for changes (text from stdin without =<text>)\n"
	"    --abandon             remove the worktree and delete the branch\n"
	"    --force               abandon even with uncommitted changes\n"
	"    --keep-branch         abandon but keep the branch\n";

enum action { REVIEW, MERGE, REQUEST_CHANGES, ABANDON };

struct review_options {
	enum action action;
	int actions;		/* how many actions were given */
	const char *task;
	struct strlist checks;
	long stat_width;
	int json, keep, allow_out_of_scope, force, keep_branch;
	int style;		/* -1: agent.mergeStyle */
	char *changes;		/* --request-changes text */
	const char *mode_option; /* an option that needs another action, for the error */
	enum action mode_needs;
};

/* The task under review, its record held locked while we work. */
struct review {
	struct agent_repo repo;
	struct task task;
	char *record;
	int record_fd;
	git_oid head;		/* the branch head now */
	int worktree_missing;
	int branch_missing;	/* head is the reviewed one (--merge) */
	struct strlist env;
};

/* One check's outcome. */
struct check_result {
	char *command;
	int exit_code;
	int timed_out;
	long duration_ms;
};

/* What a round found, written to summary.json and shown to the user. */
struct evidence_round {
	int number;
	char *dir;		/* review/NN, once it exists */
	char *tmp;		/* where it is built */
	git_oid base_now, merge_base;
	long base_moved;
	size_t commits;
	size_t files, insertions, deletions;
	char patch_sha256[65];
	struct strlist uncommitted, out_of_scope;
	struct check_result *checks;
	size_t checks_nr;
	int report;
	struct strbuf stat;	/* diffstat.txt */
	struct strbuf status;	/* status.txt */
	struct strbuf summary;	/* summary.json */
};

#define CHECK_TIMED_OUT 124	/* as timeout(1) */

static void parse_options(struct review_options *o, int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_STAT_WIDTH, OPT_JSON, OPT_MERGE, OPT_STYLE, OPT_KEEP,
	       OPT_ALLOW_OUT_OF_SCOPE, OPT_REQUEST_CHANGES, OPT_ABANDON, OPT_FORCE,
	       OPT_KEEP_BRANCH, OPT_HELP };
	static const struct option longopts[] = {
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "stat-width", required_argument, NULL, OPT_STAT_WIDTH },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "merge", no_argument, NULL, OPT_MERGE },
		{ "style", required_argument, NULL, OPT_STYLE },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "allow-out-of-scope", no_argument, NULL, OPT_ALLOW_OUT_OF_SCOPE },
		{ "request-changes", optional_argument, NULL, OPT_REQUEST_CHANGES },
		{ "abandon", no_argument, NULL, OPT_ABANDON },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-branch", no_argument, NULL, OPT_KEEP_BRANCH },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	/* Which action each action-specific option belongs to. */
	struct { int set; const char *name; enum action needs; } belongs[] = {
		{ 0, "--check", REVIEW }, { 0, "--stat-width", REVIEW },
		{ 0, "--style", MERGE }, { 0, "--keep", MERGE },
		{ 0, "--allow-out-of-scope", MERGE },
		{ 0, "--force", ABANDON }, { 0, "--keep-branch", ABANDON },
	};
	static const char *action_names[] = { "a review", "--merge", "--request-changes", "--abandon" };
	int c;
	size_t i;
	char *end;

	memset(o, 0, sizeof(*o));
	o->style = -1;
	o->stat_width = 80;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CHECK: strlist_push(&o->checks, optarg); belongs[0].set = 1; break;
		case OPT_STAT_WIDTH:
			errno = 0;
			o->stat_width = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->stat_width < 1 || o->stat_width > 100000) {
				error("--stat-width expects a positive number, not '%s'", esc(optarg));
				usage_die(usage_text);
			}
			belongs[1].set = 1;
			break;
		case OPT_JSON: o->json = 1; break;
		case OPT_MERGE: o->action = MERGE; o->actions++; break;
		case OPT_STYLE:
			if (!strcmp(optarg, "merge"))
				o->style = MERGE_STYLE_MERGE;
			else if (!strcmp(optarg, "ff"))
				o->style = MERGE_STYLE_FF;
			else if (!strcmp(optarg, "squash"))
				o->style = MERGE_STYLE_SQUASH;
			else {
				error("unknown merge style '%s': use merge, ff or squash", esc(optarg));
				usage_die(usage_text);
			}
			belongs[2].set = 1;
			break;
		case OPT_KEEP: o->keep = 1; belongs[3].set = 1; break;
		case OPT_ALLOW_OUT_OF_SCOPE: o->allow_out_of_scope = 1; belongs[4].set = 1; break;
		case OPT_REQUEST_CHANGES:
			o->action = REQUEST_CHANGES;
			o->actions++;
			free(o->changes);
			o->changes = optarg ? xstrdup(optarg) : NULL;
			break;
		case OPT_ABANDON: o->action = ABANDON; o->actions++; break;
		case OPT_FORCE: o->force = 1; belongs[5].set = 1; break;
		case OPT_KEEP_BRANCH: o->keep_branch = 1; belongs[6].set = 1; break;
		case OPT_HELP: show_man_page("review");
		default:
			usage_getopt(c, usage_text, argv[optind - 1]);
		}
	}
	if (o->actions > 1) {
		error("--merge, --request-changes and --abandon cannot be used together");
		usage_die(usage_text);
	}
	for (i = 0; i < sizeof(belongs) / sizeof(*belongs); i++)
		if (belongs[i].set && belongs[i].needs != o->action) {
			error("%s only works with %s", belongs[i].name, action_names[belongs[i].needs]);
			usage_die(usage_text);
		}
	if (optind < argc)
		o->task = argv[optind++];
	if (optind < argc) {
		error("too many arguments: one task at a time");
		usage_die(usage_text);
	}
}

/* Finding the task */

static char *find_slug(struct agent_repo *r, const char *name)
{
	char *slug = task_find(r, name);

	if (slug)
		return slug;
	if (!name)
		die("not inside a task's worktree; name the task: git agent review <task>");
	die("task '%s' not found: name a task by its slug or its branch "
	    "(tasks are made by 'git agent spawn')", esc(name));
}

/* Opens and locks the record: shared for a review, exclusive to change the task. */
static void load_task(struct review *rv, const char *name, int exclusive)
{
	char *slug = find_slug(&rv->repo, name);
	long waited = 0;

	rv->record = task_record_path(&rv->repo, slug);
	rv->record_fd = open(rv->record, O_RDWR | O_CLOEXEC);
	if (rv->record_fd < 0) {
		free(slug);
		die_errno("cannot open the task record '%s'", esc(rv->record));
	}
	while (flock(rv->record_fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		if (errno != EWOULDBLOCK || !lock_backoff(&waited))
			die("task '%s' is busy: another git agent command holds its record", slug);
	free(slug);
	if (task_read_fd(rv->record_fd, rv->record, &rv->task) < 0)
		die("cannot read the task record '%s'", esc(rv->record));
}

static int latest_round(const struct task *t);

/* The head the latest round reviewed, if there is one. */
static int reviewed_head(const struct task *t, git_oid *out)
{
	char *path = xstrfmt("%s/review/%02d/summary.json", t->folder, latest_round(t));
	json_t *summary = json_load_file(path, 0, NULL);
	const char *head = json_string_value(json_object_get(summary, "head"));
	int found = head && !git_oid_fromstr(out, head);

	json_decref(summary);
	free(path);
	return found;
}

static void check_task_state(struct review *rv, enum action action)
{
	struct task *t = &rv->task;
	struct stat st;
	char *ref;
	int err;

	switch (t->status) {
	case TASK_PLANNED:
		if (action == ABANDON)
			return;
		die("task '%s' is only planned (dry run): it has no branch or worktree yet; "
		    "create them with: git agent spawn --create --name %s", t->slug, t->slug);
	case TASK_CREATING:
		/* A spawn at work holds the record locked: this one was killed. */
		die("task '%s' was left half-made by an interrupted spawn; roll it back and "
		    "create it again with: git agent spawn --create --name %s", t->slug, t->slug);
	case TASK_MERGED:
		die("task '%s' was merged; its evidence stays in '%s'", t->slug, esc(t->folder));
	case TASK_ABANDONED:
		die("task '%s' was abandoned; its evidence stays in '%s'", t->slug, esc(t->folder));
	case TASK_CREATED:
		break;
	}
	ref = xstrfmt("refs/heads/%s", t->branch);
	err = git_reference_name_to_id(&rv->head, rv->repo.repo, ref);
	free(ref);
	if (err < 0) {
		/* A merge killed after deleting it: merge_task() checks the base has the work. */
		if (action == MERGE && reviewed_head(t, &rv->head))
			rv->branch_missing = 1;
		else if (action != ABANDON)
			die("branch '%s' of task '%s' does not exist; it was deleted outside git agent, "
			    "or by a merge that was interrupted (then 'git agent review %s --merge' "
			    "finishes it)", esc(t->branch), t->slug, t->slug);
		else
			memset(&rv->head, 0, sizeof(rv->head));
	}
	rv->worktree_missing = lstat(t->worktree, &st) < 0;
}

/* Running git */

static void git_child(struct child *c, const char *dir)
{
	c->dir = dir;
	c->clean_git_env = 1;
	c->no_stdin = 1;
}

/* `git status --porcelain` of dir into out; dies when git fails. */
static void worktree_status(const char *dir, struct strbuf *out)
{
	const char *argv[] = { "status", "--porcelain", NULL };
	struct child c = CHILD_INIT;

	git_child(&c, dir);
	c.capture_out = 1;
	c.capture_err = 1;
	if (git_with_retry(&c, argv, "read a worktree's status"))
		die("cannot read the status of '%s': %s", esc(dir), c.err.buf);
	sb_add(out, c.out.buf ? c.out.buf : "", c.out.len);
	child_release(&c);
}

/* Undoes git's C-quoting of a path ("a\tb" and octal escapes). */
static void unquote_path(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"') {
		sb_add(out, s, len);
		return;
	}
	for (i = 1; i < len - 1; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 1 < len - 1) {
			ch = s[++i];
			if (ch >= '0' && ch <= '7' && i + 2 < len - 1) {
				ch = (char)(((s[i] - '0') << 6) | ((s[i + 1] - '0') << 3) | (s[i + 2] - '0'));
				i += 2;
			} else {
				const char *from = "abtnvfr", *to = "\a\b\t\n\v\f\r";
				const char *p = strchr(from, ch);

				if (p)
					ch = to[p - from];
			}
		}
		sb_addch(out, ch);
	}
}

/* The paths of porcelain status lines ("XY path" or "XY old -> new"). */
static void status_paths(const char *status, struct strlist *out)
{
	const char *line = status, *eol;
	struct strbuf path = STRBUF_INIT;

	for (; *line; line = *eol ? eol + 1 : eol) {
		const char *p, *arrow;

		eol = strchrnul(line, '\n');
		if (eol - line < 4 || *line == '#')
			continue;
		p = line + 3;
		arrow = memmem(p, eol - p, " -> ", 4);
		if (arrow && line[0] == 'R')
			p = arrow + 4;
		sb_reset(&path);
		unquote_path(&path, p, eol - p);
		strlist_push(out, path.buf ? path.buf : "");
	}
	sb_release(&path);
}

/* SHA-256 (FIPS 180-4), for the patch's fingerprint. */

struct sha256 {
	uint32_t h[8];
	unsigned char block[64];
	size_t fill;
	uint64_t bytes;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	memcpy(v, s->h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(*v));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		s->h[i] += v[i];
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memset(s, 0, sizeof(*s));
	memcpy(s->h, h0, sizeof(h0));
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->bytes += len;
	while (len) {
		size_t n = 64 - s->fill < len ? 64 - s->fill : len;

		memcpy(s->block + s->fill, p, n);
		s->fill += n, p += n, len -= n;
		if (s->fill == 64) {
			sha256_block(s, s->block);
			s->fill = 0;
		}
	}
}

static void sha256_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->bytes * 8;
	unsigned char pad = 0x80, len[8];
	int i;

	sha256_update(s, &pad, 1);
	pad = 0;
	while (s->fill != 56)
		sha256_update(s, &pad, 1);
	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", (unsigned)s->h[i]);
}

/*
 * libgit2 1.5 looks up the attributes of every file a diff touches, and each
 * lookup resolves the file's directory with realpath(3): on a 3,500-file diff
 * that is 75,000 readlink calls, a sixth of the review. While the diff runs
 * the directories do not change, so this definition in the executable, which
 * takes the place of libc's, remembers what it resolved (or failed to), and
 * resolves a path from its resolved directory with one lstat(2).
 */
static struct realpath_memo {
	int active;
	char **keys, **values;
	size_t size, nr;	/* open addressing; size is a power of two */
} realpath_memo;

static size_t memo_slot(const char *path)
{
	size_t h = 2166136261u, i;
	const char *p;

	for (p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h & (realpath_memo.size - 1); realpath_memo.keys[i];
	     i = (i + 1) & (realpath_memo.size - 1))
		if (!strcmp(realpath_memo.keys[i], path))
			break;
	return i;
}

static void memo_grow(void)
{
	struct realpath_memo old = realpath_memo;
	size_t i;

	realpath_memo.size = old.size ? old.size * 2 : 1024;
	realpath_memo.keys = xcalloc(realpath_memo.size, sizeof(char *));
	realpath_memo.values = xcalloc(realpath_memo.size, sizeof(char *));
	for (i = 0; i < old.size; i++)
		if (old.keys[i]) {
			size_t slot = memo_slot(old.keys[i]);

			realpath_memo.keys[slot] = old.keys[i];
			realpath_memo.values[slot] = old.values[i];
		}
	free(old.keys);
	free(old.values);
}

static void memo_clear(void)
{
	size_t i;

	for (i = 0; i < realpath_memo.size; i++) {
		free(realpath_memo.keys[i]);
		free(realpath_memo.values[i]);
	}
	free(realpath_memo.keys);
	free(realpath_memo.values);
	memset(&realpath_memo, 0, sizeof(realpath_memo));
}

static char *(*libc_realpath)(const char *, char *);

/*
 * The directory through the memo, then one lstat(2) of the last component:
 * libgit2 resolves every file's own path too, and those are all different.
 */
static char *resolve_via_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX], *joined, *dir;
	struct stat st;

	if (*path != '/' || !slash || slash == path || !slash[1] || strstr(path, "/.") ||
	    strstr(path, "//") || (size_t)(slash - path) >= sizeof(parent))
		return libc_realpath(path, NULL);
	dir = xstrndup(path, slash - path);
	if (!realpath(dir, parent)) {
		free(dir);
		return NULL;
	}
	free(dir);
	joined = path_join(parent, slash + 1);
	if (lstat(joined, &st) < 0) {
		free(joined);
		return NULL;
	}
	if (S_ISLNK(st.st_mode)) {
		free(joined);
		return libc_realpath(path, NULL);
	}
	return joined;
}

char *realpath(const char *path, char *resolved)
{
	char *found;
	size_t slot;

	if (!libc_realpath)
		*(void **)&libc_realpath = dlsym(RTLD_NEXT, "realpath");
	if (!realpath_memo.active || !path)
		return libc_realpath(path, resolved);
	if (realpath_memo.nr * 2 >= realpath_memo.size)
		memo_grow();
	slot = memo_slot(path);
	if (!realpath_memo.keys[slot]) {
		char *r = resolve_via_parent(path);

		/* A failure is remembered as its errno, after a NUL. */
		if (!r) {
			r = xmalloc(2);
			r[0] = '\0';
			r[1] = (char)errno;
		}
		/* The recursion may have grown the table: find the slot again. */
		if (realpath_memo.nr * 2 >= realpath_memo.size)
			memo_grow();
		slot = memo_slot(path);
		realpath_memo.keys[slot] = xstrdup(path);
		realpath_memo.values[slot] = r;
		realpath_memo.nr++;
	}
	found = realpath_memo.values[slot];
	if (!*found) {
		errno = (unsigned char)found[1];
		return NULL;
	}
	if (!resolved)
		return xstrdup(found);
	if (strlen(found) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return strcpy(resolved, found);
}

/* The diff: computed once, it gives the patch and the stat */

/* One line of `git diff --stat`, before layout. */
struct stat_file {
	char *name;		/* as git prints it: quoted, renames as a{b => c}d */
	size_t added, deleted;	/* lines, or bytes of binary files */
	int binary;
};

/* git's quote_c_style(): whether name needs quoting, and the quoted form. */
static int c_quote(struct strbuf *out, const char *name, int quote_path)
{
	const unsigned char *p;
	int need = 0;

	for (p = (const unsigned char *)name; *p && !need; p++)
		need = *p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f ||
		       (*p >= 0x80 && quote_path);
	if (!out || !need)
		return need;
	sb_addch(out, '"');
	for (p = (const unsigned char *)name; *p; p++) {
		const char *named = strchr("\a\b\t\n\v\f\r", *p);

		if (*p == '"' || *p == '\\')
			sb_addf(out, "\\%c", *p);
		else if (*p && named)
			sb_addf(out, "\\%c", "abtnvfr"[named - "\a\b\t\n\v\f\r"]);
		else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && quote_path))
			sb_addf(out, "\\%03o", *p);
		else
			sb_addch(out, *p);
	}
	sb_addch(out, '"');
	return need;
}

/* git's pprint_rename(): a common directory prefix and suffix outside braces. */
static void rename_name(struct strbuf *out, const char *a, const char *b, int quote_path)
{
	size_t len_a = strlen(a), len_b = strlen(b), pfx = 0, sfx = 0, i;
	long ia, ib, stop;

	if (c_quote(NULL, a, quote_path) || c_quote(NULL, b, quote_path)) {
		if (!c_quote(out, a, quote_path))
			sb_adds(out, a);
		sb_adds(out, " => ");
		if (!c_quote(out, b, quote_path))
			sb_adds(out, b);
		return;
	}
	for (i = 0; a[i] && b[i] && a[i] == b[i]; i++)
		if (a[i] == '/')
			pfx = i + 1;
	/* A common prefix ends in '/': the suffix loop may look at that slash. */
	stop = (long)pfx - (pfx ? 1 : 0);
	for (ia = len_a, ib = len_b; ia >= stop && ib >= stop && a[ia] == b[ib]; ia--, ib--)
		if (a[ia] == '/')
			sfx = len_a - ia;
	if (pfx + sfx) {
		sb_add(out, a, pfx);
		sb_addch(out, '{');
	}
	if (len_a > pfx + sfx)
		sb_add(out, a + pfx, len_a - pfx - sfx);
	sb_adds(out, " => ");
	if (len_b > pfx + sfx)
		sb_add(out, b + pfx, len_b - pfx - sfx);
	if (pfx + sfx) {
		sb_addch(out, '}');
		sb_add(out, a + len_a - sfx, sfx);
	}
}

static int decimal_width(size_t n)
{
	int w = 1;

	while (n >= 10)
		n /= 10, w++;
	return w;
}

static size_t scale_linear(size_t it, size_t width, size_t max_change)
{
	return it ? 1 + it * (width - 1) / max_change : 0;
}

/* git's show_stats(): the layout of `git diff --stat=<width>`, byte for byte. */
static void format_stat(struct strbuf *out, struct stat_file *files, size_t nr, long width,
			long graph_limit)
{
	size_t max_change = 0, max_len = 0, adds = 0, dels = 0, i;
	long number_width = 0, bin_width = 0, graph_width, name_width;

	if (!nr)
		return;
	for (i = 0; i < nr; i++) {
		size_t len = strlen(files[i].name), change = files[i].added + files[i].deleted;

		if (max_len < len)
			max_len = len;
		if (files[i].binary) {
			long w = 14 + decimal_width(files[i].added) + decimal_width(files[i].deleted);

			if (bin_width < w)
				bin_width = w;
			number_width = 3;
			continue;
		}
		if (max_change < change)
			max_change = change;
	}
	if (decimal_width(max_change) > number_width)
		number_width = decimal_width(max_change);
	if (width < 16 + 6 + number_width)
		width = 16 + 6 + number_width;
	graph_width = (long)max_change + 4 > bin_width ? (long)max_change : bin_width - 4;
	if (graph_limit && graph_limit < graph_width)
		graph_width = graph_limit;
	name_width = (long)max_len;
	if (name_width + number_width + 6 + graph_width > width) {
		if (graph_width > width * 3 / 8 - number_width - 6) {
			graph_width = width * 3 / 8 - number_width - 6;
			if (graph_width < 6)
				graph_width = 6;
		}
		if (graph_limit && graph_width > graph_limit)
			graph_width = graph_limit;
		if (name_width > width - number_width - 6 - graph_width)
			name_width = width - number_width - 6 - graph_width;
		else
			graph_width = width - number_width - 6 - name_width;
	}
	for (i = 0; i < nr; i++) {
		struct stat_file *f = &files[i];
		const char *name = f->name, *prefix = "";
		long len = name_width, name_len = (long)strlen(name);
		size_t add = f->added, del = f->deleted;

		if (name_width < name_len) {
			const char *slash;

			prefix = "...";
			len -= 3;
			name += name_len - len;
			if ((slash = strchr(name, '/')))
				name = slash;
		}
		sb_addf(out, " %s%-*s |", prefix, (int)len, name);
		if (f->binary) {
			sb_addf(out, " %*s", (int)number_width, "Bin");
			if (add || del)
				sb_addf(out, " %zu -> %zu bytes", del, add);
			sb_addch(out, '\n');
			continue;
		}
		adds += add;
		dels += del;
		if ((size_t)graph_width <= max_change) {
			size_t total = scale_linear(add + del, graph_width, max_change);

			if (total < 2 && add && del)
				total = 2;
			if (add < del) {
				add = scale_linear(add, graph_width, max_change);
				del = total - add;
			} else {
				del = scale_linear(del, graph_width, max_change);
				add = total - del;
			}
		}
		sb_addf(out, " %*zu%s", (int)number_width, f->added + f->deleted,
			f->added + f->deleted ? " " : "");
		for (; add; add--)
			sb_addch(out, '+');
		for (; del; del--)
			sb_addch(out, '-');
		sb_addch(out, '\n');
	}
	sb_addf(out, nr == 1 ? " %zu file changed" : " %zu files changed", nr);
	if (adds || !dels)
		sb_addf(out, adds == 1 ? ", %zu insertion(+)" : ", %zu insertions(+)", adds);
	if (dels || !adds)
		sb_addf(out, dels == 1 ? ", %zu deletion(-)" : ", %zu deletions(-)", dels);
	sb_addch(out, '\n');
}

static int config_int(git_config *cfg, const char *key, int fallback)
{
	int32_t v;

	return cfg && !git_config_get_int32(&v, cfg, key) ? (int)v : fallback;
}

static int config_bool(git_config *cfg, const char *key, int fallback)
{
	int v;

	return cfg && !git_config_get_bool(&v, cfg, key) ? v : fallback;
}

static int path_in_scope(const struct task *t, const char *path)
{
	size_t i;

	if (!t->scope.nr)
		return 1;
	for (i = 0; i < t->scope.nr; i++) {
		const char *s = t->scope.items[i];
		size_t len = strlen(s);

		while (len > 1 && s[len - 1] == '/')
			len--;
		if (!strcmp(s, ".") || (!strncmp(path, s, len) && (!path[len] || path[len] == '/')) ||
		    !fnmatch(s, path, 0))
			return 1;
	}
	return 0;
}

/*
 * Writes diff.patch (full index, binary hunks) and fills the stat, the
 * totals, the patch's sha256 and the out-of-scope paths: one pass.
 */
static void compute_diff(struct review *rv, struct evidence_round *er, long stat_width)
{
	git_repository *repo = rv->repo.repo;
	git_diff_options opts;
	git_diff_find_options find;
	git_commit *base_commit = NULL, *head_commit = NULL;
	git_tree *base_tree = NULL, *head_tree = NULL;
	git_diff *diff = NULL;
	git_config *cfg = NULL;
	struct stat_file *files;
	struct sha256 sha;
	char *path = path_join(er->tmp, "diff.patch");
	size_t nr, i;
	int fd, quote_path;

	if (git_repository_config_snapshot(&cfg, repo) < 0)
		cfg = NULL;
	quote_path = config_bool(cfg, "core.quotepath", 1);
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	git_diff_find_options_init(&find, GIT_DIFF_FIND_OPTIONS_VERSION);
	opts.flags |= GIT_DIFF_SHOW_BINARY;
	opts.id_abbrev = GIT_OID_HEXSZ;
	if (git_commit_lookup(&base_commit, repo, &er->merge_base) < 0 ||
	    git_commit_lookup(&head_commit, repo, &rv->head) < 0 ||
	    git_commit_tree(&base_tree, base_commit) < 0 ||
	    git_commit_tree(&head_tree, head_commit) < 0)
		die_git("cannot read '%s' and its merge base", esc(rv->task.branch));
	realpath_memo.active = 1;
	if (git_diff_tree_to_tree(&diff, repo, base_tree, head_tree, &opts) < 0)
		die_git("cannot diff '%s' against its merge base", esc(rv->task.branch));
	find.flags = GIT_DIFF_FIND_BY_CONFIG;
	if (git_diff_find_similar(diff, &find) < 0)
		die_git("cannot find renames in the diff of '%s'", esc(rv->task.branch));

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		die_errno("cannot write '%s'", esc_free(path));
	sha256_init(&sha);
	nr = git_diff_num_deltas(diff);
	files = xcalloc(nr ? nr : 1, sizeof(*files));
	for (i = 0; i < nr; i++) {
		git_patch *patch = NULL;
		git_buf text = { NULL, 0, 0 };
		const git_diff_delta *d;
		struct strbuf name = STRBUF_INIT;
		size_t add = 0, del = 0;

		if (interrupted)
			die("interrupted by signal %d", (int)interrupted);
		if (git_patch_from_diff(&patch, diff, i) < 0 || git_patch_to_buf(&text, patch) < 0)
			die_git("cannot make the patch of '%s'", esc(rv->task.branch));
		if (write_all(fd, text.ptr, text.size) < 0)
			die_errno("cannot write '%s'", esc(path));
		sha256_update(&sha, text.ptr, text.size);
		d = git_patch_get_delta(patch);
		if (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED)
			rename_name(&name, d->old_file.path, d->new_file.path, quote_path);
		else if (!c_quote(&name, d->new_file.path, quote_path))
			sb_adds(&name, d->new_file.path);
		files[i].name = sb_detach(&name);
		if (d->flags & GIT_DIFF_FLAG_BINARY) {
			files[i].binary = 1;
			if (!git_oid_equal(&d->old_file.id, &d->new_file.id)) {
				files[i].added = d->new_file.size;
				files[i].deleted = d->old_file.size;
			}
		} else {
			git_patch_line_stats(NULL, &add, &del, patch);
			files[i].added = add;
			files[i].deleted = del;
			er->insertions += add;
			er->deletions += del;
		}
		if (!path_in_scope(&rv->task, d->new_file.path))
			strlist_push(&er->out_of_scope, d->new_file.path);
		else if (d->status == GIT_DELTA_RENAMED && !path_in_scope(&rv->task, d->old_file.path))
			strlist_push(&er->out_of_scope, d->old_file.path);
		git_buf_dispose(&text);
		git_patch_free(patch);
	}
	memo_clear();
	if (close(fd) < 0)
		die_errno("cannot write '%s'", esc(path));
	sha256_hex(&sha, er->patch_sha256);
	er->files = nr;
	format_stat(&er->stat, files, nr, stat_width, config_int(cfg, "diff.statgraphwidth", 0));
	for (i = 0; i < nr; i++)
		free(files[i].name);
	free(files);
	free(path);
	git_diff_free(diff);
	git_tree_free(base_tree);
	git_tree_free(head_tree);
	git_commit_free(base_commit);
	git_commit_free(head_commit);
	git_config_free(cfg);
}

/* The base, now and at spawn, and where the branch left it. */
static void resolve_range(struct review *rv, struct evidence_round *er)
{
	struct task *t = &rv->task;
	git_object *obj = NULL;
	git_oid spawned;
	char *spec = xstrfmt("%s^{commit}", t->base);
	size_t ahead = 0, behind = 0;
	int err;

	if (*t->base && !git_revparse_single(&obj, rv->repo.repo, spec)) {
		git_oid_cpy(&er->base_now, git_object_id(obj));
	} else if (git_oid_fromstr(&er->base_now, t->base_sha) < 0) {
		free(spec);
		die("task '%s' has no usable base: '%s' does not resolve", t->slug, esc(t->base));
	} else {
		warning("base '%s' no longer resolves; using the commit the task began from",
			esc(t->base));
	}
	git_object_free(obj);
	free(spec);
	err = git_merge_base(&er->merge_base, rv->repo.repo, &er->base_now, &rv->head);
	if (err == GIT_ENOTFOUND)
		die("branch '%s' and base '%s' have no common history: there is nothing "
		    "to review against", esc(t->branch), esc(t->base));
	if (err < 0)
		die_git("cannot find the merge base of '%s' and '%s'", esc(t->branch), esc(t->base));
	if (!git_oid_fromstr(&spawned, t->base_sha) &&
	    !git_graph_ahead_behind(&ahead, &behind, rv->repo.repo, &er->base_now, &spawned))
		er->base_moved = (long)ahead;
}

/* Checks */

static void run_check(struct review *rv, struct evidence_round *er, size_t n,
		      struct check_result *res)
{
	struct child c = CHILD_INIT;
	const char *argv[4];
	char *name = xstrfmt("checks/%02zu.out", n + 1), *out = path_join(er->tmp, name);
	long long start = monotonic_ms();
	int status;

	free(name);
	if (rv->worktree_missing) {
		write_file_atomic(out, "the task worktree is missing\n", 29, 0666);
		res->exit_code = 127;
		goto finish;
	}
	task_command(&c, argv, res->command, &rv->task, &rv->env);
	c.out_path = out;
	c.err_to_out = 1;
	c.new_process_group = 1;
	if (start_child(&c) < 0)
		die_errno("cannot run the check '%s'", esc(res->command));
	status = wait_group(c.pid, (long long)rv->repo.config.check_timeout * 1000,
			    &res->timed_out, NULL, NULL);
	if (interrupted)
		die("interrupted by signal %d while running the check '%s'", (int)interrupted,
		    esc(res->command));
	res->exit_code = res->timed_out ? CHECK_TIMED_OUT :
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
finish:
	res->duration_ms = monotonic_ms() - start;
	free(out);
}

static void add_check(struct strlist *list, const char *cmd)
{
	size_t i;

	for (i = 0; i < list->nr; i++)
		if (!strcmp(list->items[i], cmd))
			return;
	strlist_push(list, cmd);
}

static void write_text(const char *dir, const char *name, const char *text, size_t len)
{
	char *path = path_join(dir, name);

	if (write_file_atomic(path, text ? text : "", len, 0666) < 0)
		die_errno("cannot write '%s'", esc_free(path));
	free(path);
}

static void run_checks(struct review *rv, struct evidence_round *er,
		       const struct review_options *o)
{
	struct strlist all = STRLIST_INIT;
	char *dir = path_join(er->tmp, "checks");
	size_t i;

	for (i = 0; i < o->checks.nr; i++)
		add_check(&all, o->checks.items[i]);
	for (i = 0; i < rv->task.checks.nr; i++)
		add_check(&all, rv->task.checks.items[i]);
	for (i = 0; i < rv->repo.config.check.nr; i++)
		add_check(&all, rv->repo.config.check.items[i]);
	if (all.nr && mkdir(dir, 0777) < 0)
		die_errno("cannot create '%s'", esc_free(dir));
	er->checks = xcalloc(all.nr ? all.nr : 1, sizeof(*er->checks));
	er->checks_nr = all.nr;
	for (i = 0; i < all.nr; i++) {
		struct check_result *res = &er->checks[i];
		char *name, code[16];
		char *cmd = xstrfmt("%s\n", all.items[i]);
		json_t *e;

		res->command = xstrdup(all.items[i]);
		progress("check %zu/%zu: %s", i + 1, all.nr, esc(res->command));
		name = xstrfmt("%02zu.cmd", i + 1);
		write_text(dir, name, cmd, strlen(cmd));
		free(name);
		run_check(rv, er, i, res);
		snprintf(code, sizeof(code), "%d\n", res->exit_code);
		name = xstrfmt("%02zu.exit", i + 1);
		write_text(dir, name, code, strlen(code));
		free(name);
		free(cmd);
		e = trace_event(res->exit_code ? "check.failed" : "check.passed", rv->task.slug);
		json_object_set_new(e, "round", json_integer(er->number));
		json_object_set_new(e, "command", json_text(res->command));
		json_object_set_new(e, "exit", json_integer(res->exit_code));
		json_object_set_new(e, "timed_out", json_boolean(res->timed_out));
		json_object_set_new(e, "duration_ms", json_integer(res->duration_ms));
		trace_log_or_die(&rv->repo, e);
	}
	strlist_clear(&all);
	free(dir);
}

/* The evidence round */

static char *review_dir(const struct task *t)
{
	return path_join(t->folder, "review");
}

/* The highest round number in review/, or 0. */
static int latest_round(const struct task *t)
{
	char *dir = review_dir(t);
	DIR *d = opendir(dir);
	struct dirent *de;
	int latest = 0;

	while (d && (de = readdir(d))) {
		const char *p = de->d_name;

		if (*p && strspn(p, "0123456789") == strlen(p) && atoi(p) > latest)
			latest = atoi(p);
	}
	if (d)
		closedir(d);
	free(dir);
	return latest;
}

/* Removes the rounds killed reviews left half-built (review/.new-<pid>). */
static void remove_stale_rounds(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		long pid;

		if (strncmp(de->d_name, ".new-", 5))
			continue;
		pid = atol(de->d_name + 5);
		if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			char *path = path_join(dir, de->d_name);

			remove_tree(path);
			free(path);
		}
	}
	if (d)
		closedir(d);
}

static char *building_round;

static void drop_round(const char *message)
{
	(void)message;
	if (building_round)
		remove_tree(building_round);
}

static json_t *round_summary(struct review *rv, const struct evidence_round *er);

/*
 * Gives the built round its number, the next one free, atomically: its
 * summary.json, which names the number, is written before, so a round is
 * never seen without it. Returns the summary.
 */
static json_t *publish_round(struct review *rv, struct evidence_round *er)
{
	char *dir = review_dir(&rv->task);
	int n = latest_round(&rv->task) + 1;
	json_t *summary;

	if (n < er->number)
		n = er->number;
	for (;; n++) {
		char name[16], *text;

		snprintf(name, sizeof(name), "%02d", n);
		er->number = n;
		er->dir = path_join(dir, name);
		summary = round_summary(rv, er);
		text = json_dumps(summary, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		sb_reset(&er->summary);
		sb_addf(&er->summary, "%s\n", text);
		free(text);
		write_text(er->tmp, "summary.json", er->summary.buf, er->summary.len);
		if (!rename(er->tmp, er->dir))
			break;
		if (errno != EEXIST && errno != ENOTEMPTY) {
			json_decref(summary);
			free(dir);
			die_errno("cannot create the round '%s'", esc(er->dir));
		}
		json_decref(summary);
		free(er->dir);
	}
	building_round = er->dir;	/* until its event is in the trace */
	free(dir);
	return summary;
}

static void copy_report(struct review *rv, struct evidence_round *er)
{
	char *from = path_join(rv->task.folder, "report.md");
	struct strbuf text = STRBUF_INIT;

	if (!sb_read_file(&text, from)) {
		write_text(er->tmp, "report.md", text.buf, text.len);
		er->report = 1;
	}
	sb_release(&text);
	free(from);
}

static void list_blockers(const struct evidence_round *er, struct strlist *out)
{
	size_t i;

	if (er->uncommitted.nr)
		strlist_push(out, "the worktree has uncommitted changes");
	for (i = 0; i < er->checks_nr; i++) {
		const struct check_result *c = &er->checks[i];
		char *s = c->timed_out ? xstrfmt("check '%s' timed out", esc(c->command)) :
			c->exit_code ? xstrfmt("check '%s' failed (exit %d)", esc(c->command),
					       c->exit_code) : NULL;

		if (s)
			strlist_push(out, s);
		free(s);
	}
	if (er->out_of_scope.nr) {
		char *s = xstrfmt("%zu changed path%s out of scope", er->out_of_scope.nr,
				  er->out_of_scope.nr == 1 ? " is" : "s are");

		strlist_push(out, s);
		free(s);
	}
}

static json_t *json_paths(const struct strlist *list)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < list->nr; i++)
		json_array_append_new(a, json_text(list->items[i]));
	return a;
}

static json_t *oid_json(const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];

	return json_string(git_oid_tostr(hex, sizeof(hex), oid));
}

static json_t *round_summary(struct review *rv, const struct evidence_round *er)
{
	struct task *t = &rv->task;
	json_t *j = json_object(), *checks = json_array();
	struct strlist blockers = STRLIST_INIT;
	char ts[32];
	size_t i;

	format_timestamp(ts);
	json_object_set_new(j, "version", json_integer(1));
	json_object_set_new(j, "task", json_string(t->slug));
	json_object_set_new(j, "round", json_integer(er->number));
	json_object_set_new(j, "evidence", json_text(er->dir));
	json_object_set_new(j, "reviewed_at", json_string(ts));
	json_object_set_new(j, "branch", json_text(t->branch));
	json_object_set_new(j, "head", oid_json(&rv->head));
	json_object_set_new(j, "base", json_text(t->base));
	json_object_set_new(j, "base_sha", json_text(t->base_sha));
	json_object_set_new(j, "base_now", oid_json(&er->base_now));
	json_object_set_new(j, "base_moved", json_integer(er->base_moved));
	json_object_set_new(j, "merge_base", oid_json(&er->merge_base));
	json_object_set_new(j, "worktree", json_text(t->worktree));
	json_object_set_new(j, "worktree_missing", json_boolean(rv->worktree_missing));
	json_object_set_new(j, "commits", json_integer(er->commits));
	json_object_set_new(j, "files_changed", json_integer(er->files));
	json_object_set_new(j, "insertions", json_integer(er->insertions));
	json_object_set_new(j, "deletions", json_integer(er->deletions));
	json_object_set_new(j, "patch_sha256", json_string(er->patch_sha256));
	json_object_set_new(j, "uncommitted", json_paths(&er->uncommitted));
	json_object_set_new(j, "out_of_scope", json_paths(&er->out_of_scope));
	for (i = 0; i < er->checks_nr; i++) {
		const struct check_result *c = &er->checks[i];
		json_t *cj = json_object();
		char *out = xstrfmt("checks/%02zu.out", i + 1);

		json_object_set_new(cj, "command", json_text(c->command));
		json_object_set_new(cj, "exit", json_integer(c->exit_code));
		json_object_set_new(cj, "passed", json_boolean(!c->exit_code));
		json_object_set_new(cj, "timed_out", json_boolean(c->timed_out));
		json_object_set_new(cj, "duration_ms", json_integer(c->duration_ms));
		json_object_set_new(cj, "output", json_string(out));
		json_array_append_new(checks, cj);
		free(out);
	}
	json_object_set_new(j, "checks", checks);
	json_object_set_new(j, "report", er->report ? json_string("report.md") : json_null());
	list_blockers(er, &blockers);
	json_object_set_new(j, "mergeable", json_boolean(!blockers.nr));
	json_object_set_new(j, "blockers", json_paths(&blockers));
	strlist_clear(&blockers);
	return j;
}

/* `git log --format='%H %s' <merge-base>..<head>` into commits.txt, counted. */
static void list_commits(struct review *rv, struct evidence_round *er, struct child *c)
{
	char mb[GIT_OID_HEXSZ + 1], head[GIT_OID_HEXSZ + 1], *range, *out;
	const char *argv[] = { "log", "--no-color", "--format=%H %s", NULL, NULL };

	git_oid_tostr(mb, sizeof(mb), &er->merge_base);
	git_oid_tostr(head, sizeof(head), &rv->head);
	range = xstrfmt("%s..%s", mb, head);
	out = path_join(er->tmp, "commits.txt");
	argv[3] = range;
	git_child(c, rv->repo.root);
	c->out_path = out;
	c->capture_err = 1;
	if (start_git(c, argv) < 0)
		die_errno("cannot run git log");
	free(range);
	c->out_path = NULL;
	free(out);
}

static void count_commits(struct evidence_round *er)
{
	char *path = path_join(er->tmp, "commits.txt");
	struct strbuf text = STRBUF_INIT;
	size_t i;

	if (sb_read_file(&text, path) < 0)
		die_errno("cannot read '%s'", esc_free(path));
	for (i = 0; i < text.len; i++)
		er->commits += text.buf[i] == '\n';
	sb_release(&text);
	free(path);
}

/* The worktree's status (run beside the diff) into status.txt. */
static void start_status(struct review *rv, struct evidence_round *er, struct child *c)
{
	const char *argv[] = { "status", "--porcelain", NULL };

	if (rv->worktree_missing) {
		sb_addf(&er->status, "# the task worktree is missing: %s\n", rv->task.worktree);
		return;
	}
	git_child(c, rv->task.worktree);
	c->capture_out = 1;
	c->capture_err = 1;
	if (start_git(c, argv) < 0)
		die_errno("cannot run git status");
}

static void finish_status(struct review *rv, struct evidence_round *er, struct child *c)
{
	const char *argv[] = { "status", "--porcelain", NULL };
	int ret;

	if (rv->worktree_missing)
		return;
	ret = finish_child(c);
	/* Another git process may hold the index lock: wait for it, as git would. */
	if (ret && is_contention(c->err.buf)) {
		child_release(c);
		ret = git_with_retry(c, argv, "read the worktree's status");
	}
	if (ret)
		die("cannot read the status of '%s': %s", esc(rv->task.worktree), c->err.buf);
	sb_add(&er->status, c->out.buf ? c->out.buf : "", c->out.len);
	status_paths(er->status.buf ? er->status.buf : "", &er->uncommitted);
}

/* review.recorded: the summary's headline fields, and counts for its lists. */
static void log_round(struct review *rv, const struct evidence_round *er, json_t *summary)
{
	static const char *copied[] = {
		"round", "head", "base_moved", "files_changed", "insertions", "deletions"
	};
	json_t *e = trace_event("review.recorded", rv->task.slug);
	size_t failed = 0, i;

	for (i = 0; i < sizeof(copied) / sizeof(*copied); i++)
		json_object_set(e, copied[i], json_object_get(summary, copied[i]));
	for (i = 0; i < er->checks_nr; i++)
		failed += er->checks[i].exit_code != 0;
	json_object_set_new(e, "uncommitted", json_integer(er->uncommitted.nr));
	json_object_set_new(e, "out_of_scope", json_integer(er->out_of_scope.nr));
	json_object_set_new(e, "checks_failed", json_integer(failed));
	json_object_set(e, "patch_sha256", json_object_get(summary, "patch_sha256"));
	json_object_set(e, "mergeable", json_object_get(summary, "mergeable"));
	trace_log_or_die(&rv->repo, e);
}

/* Prints text line by line with every control character escaped. */
static void print_escaped_lines(FILE *out, const char *indent, const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	escape_control_keeping(&sb, text, "\n");
	if (sb.len) {
		const char *line = sb.buf, *eol;

		for (; *line; line = *eol ? eol + 1 : eol) {
			eol = strchrnul(line, '\n');
			fprintf(out, "%s%.*s\n", indent, (int)(eol - line), line);
		}
	}
	sb_release(&sb);
}

static void print_round(struct review *rv, const struct evidence_round *er, json_t *summary)
{
	struct task *t = &rv->task;
	json_t *blockers = json_object_get(summary, "blockers");
	char head[8];
	size_t i;

	git_oid_tostr(head, sizeof(head), &rv->head);
	printf("task '%s': review round %02d of %s at %s\n", t->slug, er->number,
	       esc(t->branch), head);
	if (er->base_moved)
		printf("base '%s' moved %ld commit%s since the task began\n", esc(t->base),
		       er->base_moved, er->base_moved == 1 ? "" : "s");
	else
		printf("base '%s' has not moved since the task began\n", esc(t->base));
	putchar('\n');
	if (er->stat.len)
		print_escaped_lines(stdout, "", er->stat.buf);
	else
		printf("no changes against the merge base\n");
	putchar('\n');
	if (rv->worktree_missing) {
		printf("the task worktree is missing: %s\n", esc(t->worktree));
	} else if (er->status.len) {
		printf("uncommitted changes in the worktree (not part of the patch):\n");
		print_escaped_lines(stdout, "", er->status.buf);
	} else {
		printf("worktree clean\n");
	}
	if (er->checks_nr)
		printf("checks:\n");
	for (i = 0; i < er->checks_nr; i++) {
		const struct check_result *c = &er->checks[i];

		if (c->timed_out)
			printf("  FAILED (timed out): %s\n", esc(c->command));
		else if (c->exit_code)
			printf("  FAILED (exit %d): %s\n", c->exit_code, esc(c->command));
		else
			printf("  passed: %s\n", esc(c->command));
	}
	if (er->out_of_scope.nr)
		printf("out of scope:\n");
	for (i = 0; i < er->out_of_scope.nr; i++)
		printf("  %s\n", esc(er->out_of_scope.items[i]));
	if (!json_array_size(blockers)) {
		printf("verdict: ready to merge\n");
	} else {
		printf("verdict: not ready to merge\n");
		for (i = 0; i < json_array_size(blockers); i++)
			printf("  - %s\n", json_string_value(json_array_get(blockers, i)));
	}
	printf("evidence: %s\n", esc(er->dir));
	if (!json_array_size(blockers))
		printf("next: git agent review %s --merge\n", t->slug);
	else
		printf("next: fix it and commit, then: git agent review %s\n"
		       "  or: git agent review %s --request-changes='<what to change>'\n",
		       t->slug, t->slug);
}

static int record_round(struct review *rv, const struct review_options *o)
{
	struct evidence_round er;
	struct child status = CHILD_INIT, log = CHILD_INIT;
	char *dir = review_dir(&rv->task), *tmp_name = xstrfmt(".new-%ld", (long)getpid());
	json_t *summary;
	size_t i;
	int failed = 0;

	memset(&er, 0, sizeof(er));
	resolve_range(rv, &er);
	if (mkdir_p(dir, 0777) < 0) {
		free(tmp_name);
		die_errno("cannot create '%s'", esc_free(dir));
	}
	remove_stale_rounds(dir);
	er.tmp = path_join(dir, tmp_name);
	remove_tree(er.tmp);
	if (mkdir(er.tmp, 0777) < 0)
		die_errno("cannot create '%s'", esc(er.tmp));
	building_round = er.tmp;
	set_die_hook(drop_round);

	start_status(rv, &er, &status);
	list_commits(rv, &er, &log);
	compute_diff(rv, &er, o->stat_width);
	finish_status(rv, &er, &status);
	if (finish_child(&log))
		die("git log failed: %s", log.err.buf);
	count_commits(&er);
	write_text(er.tmp, "status.txt", er.status.buf, er.status.len);
	write_text(er.tmp, "diffstat.txt", er.stat.buf, er.stat.len);
	copy_report(rv, &er);
	/* Checks log their round: number it now, and again if another review takes it. */
	er.number = latest_round(&rv->task) + 1;
	run_checks(rv, &er, o);
	summary = publish_round(rv, &er);
	log_round(rv, &er, summary);
	building_round = NULL;
	set_die_hook(NULL);
	if (o->json)
		json_write_stdout(er.summary.buf, er.summary.len, isatty(STDOUT_FILENO));
	else
		print_round(rv, &er, summary);
	finish_stdout();
	for (i = 0; i < er.checks_nr; i++) {
		failed |= er.checks[i].exit_code != 0;
		free(er.checks[i].command);
	}
	json_decref(summary);
	child_release(&status);
	child_release(&log);
	free(er.checks);
	strlist_clear(&er.uncommitted);
	strlist_clear(&er.out_of_scope);
	sb_release(&er.stat);
	sb_release(&er.status);
	sb_release(&er.summary);
	free(er.dir);
	free(er.tmp);
	free(tmp_name);
	free(dir);
	return failed ? EXIT_GATE : 0;
}

/* --merge */

static json_t *load_round(const struct task *t, int round)
{
	char *dir = review_dir(t), *path = xstrfmt("%s/%02d/summary.json", dir, round);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);

	if (!j || !json_is_object(j)) {
		json_decref(j);
		free(dir);
		die("cannot read the evidence of round %02d '%s': %s", round, esc_free(path),
		    err.text);
	}
	free(path);
	free(dir);
	return j;
}

/* The gate: every condition that fails, so the user sees them all at once. */
static void check_gate(struct review *rv, const struct review_options *o, int round,
		       json_t *summary, struct strlist *reasons)
{
	struct task *t = &rv->task;
	const char *reviewed = json_string_value(json_object_get(summary, "head"));
	json_t *checks = json_object_get(summary, "checks");
	json_t *oos = json_object_get(summary, "out_of_scope");
	char now[GIT_OID_HEXSZ + 1];
	size_t i;

	git_oid_tostr(now, sizeof(now), &rv->head);
	if (!reviewed || strcmp(reviewed, now)) {
		char *s = xstrfmt("branch '%s' moved since review round %02d (reviewed %.7s, now %.7s): "
				  "review it again", esc(t->branch), round, reviewed ? reviewed : "?", now);

		strlist_push(reasons, s);
		free(s);
	}
	if (!rv->worktree_missing) {
		struct strbuf status = STRBUF_INIT;

		worktree_status(t->worktree, &status);
		if (status.len) {
			char *s = xstrfmt("the task worktree '%s' has uncommitted changes", esc(t->worktree));

			strlist_push(reasons, s);
			free(s);
		}
		sb_release(&status);
	}
	for (i = 0; i < json_array_size(checks); i++) {
		json_t *c = json_array_get(checks, i);
		const char *cmd = json_string_value(json_object_get(c, "command"));
		char *s = NULL;

		if (json_is_true(json_object_get(c, "timed_out")))
			s = xstrfmt("check '%s' timed out in round %02d", esc(cmd ? cmd : ""), round);
		else if (!json_is_true(json_object_get(c, "passed")))
			s = xstrfmt("check '%s' failed (exit %d) in round %02d", esc(cmd ? cmd : ""),
				    (int)json_integer_value(json_object_get(c, "exit")), round);
		if (s)
			strlist_push(reasons, s);
		free(s);
	}
	if (json_array_size(oos) && !o->allow_out_of_scope) {
		struct strbuf s = STRBUF_INIT;

		sb_addf(&s, "files out of scope changed (--allow-out-of-scope to merge anyway):");
		for (i = 0; i < json_array_size(oos) && i < 10; i++)
			sb_addf(&s, " %s", esc(json_string_value(json_array_get(oos, i))));
		if (json_array_size(oos) > 10)
			sb_addf(&s, " and %zu more", json_array_size(oos) - 10);
		strlist_push(reasons, s.buf);
		sb_release(&s);
	}
	if (t->changes_round >= round) {
		char *s = xstrfmt("changes were requested after review round %02d: review the "
				  "agent's next commit", round);

		strlist_push(reasons, s);
		free(s);
	}
}

/* Where the merge goes: the base as a local branch. */
static char *merge_target(struct review *rv)
{
	struct task *t = &rv->task;
	git_reference *ref = NULL, *local = NULL;
	char *target = NULL;

	if (!*t->base || git_reference_dwim(&ref, rv->repo.repo, t->base) < 0)
		die("task '%s' began from '%s', which is not a branch: there is nothing to merge "
		    "into; merge '%s' yourself", t->slug, esc(t->base), esc(t->branch));
	if (git_reference_is_branch(ref)) {
		target = xstrdup(git_reference_name(ref));
	} else if (git_reference_is_remote(ref)) {
		/* origin/main: the local branch of that name */
		const char *slash = strchr(git_reference_shorthand(ref), '/');
		char *name = slash ? xstrfmt("refs/heads/%s", slash + 1) : NULL;

		if (name && !git_reference_lookup(&local, rv->repo.repo, name))
			target = name;
		else
			free(name);
	}
	if (!target)
		die("task '%s' began from '%s', which is not a local branch; merge '%s' yourself",
		    t->slug, esc(t->base), esc(t->branch));
	git_reference_free(local);
	git_reference_free(ref);
	return target;
}

/* The worktree (main or linked) that has branch checked out, or NULL. */
static char *checked_out_in(struct review *rv, const char *branch)
{
	const char *argv[] = { "worktree", "list", "--porcelain", "-z", NULL };
	struct child c = CHILD_INIT;
	char *found = NULL, *worktree = NULL;
	size_t off = 0;

	git_child(&c, rv->repo.root);
	c.capture_out = 1;
	c.capture_err = 1;
	if (git_with_retry(&c, argv, "list worktrees"))
		die("cannot list worktrees: %s", c.err.buf);
	while (c.out.buf && off < c.out.len && !found) {
		const char *field = c.out.buf + off;

		off += strlen(field) + 1;
		if (!strncmp(field, "worktree ", 9))
			worktree = (char *)field + 9;
		else if (!strncmp(field, "branch ", 7) && !strcmp(field + 7, branch) && worktree)
			found = xstrdup(worktree);
	}
	child_release(&c);
	return found;
}

/* The paths a merge of head into target would conflict on, in memory. */
static int merge_conflicts(struct review *rv, git_commit *target, git_commit *head,
			   git_index **out, struct strbuf *paths)
{
	git_index_conflict_iterator *it = NULL;
	const git_index_entry *anc, *ours, *theirs;
	git_index *index = NULL;
	int n = 0;

	if (git_merge_commits(&index, rv->repo.repo, target, head, NULL) < 0)
		die_git("cannot merge '%s' in memory", esc(rv->task.branch));
	if (git_index_has_conflicts(index) && !git_index_conflict_iterator_new(&it, index)) {
		while (!git_index_conflict_next(&anc, &ours, &theirs, it)) {
			const char *p = ours ? ours->path : theirs ? theirs->path : anc->path;

			if (n++ < 10)
				sb_addf(paths, " %s", esc(p));
		}
		git_index_conflict_iterator_free(it);
	}
	if (n > 10)
		sb_addf(paths, " and %d more", n - 10);
	*out = index;
	return n;
}

static const char *style_name(int style)
{
	return style == MERGE_STYLE_FF ? "ff" : style == MERGE_STYLE_SQUASH ? "squash" : "merge";
}

static void merge_message(struct review *rv, int round, int style, struct strbuf *msg)
{
	struct task *t = &rv->task;
	char head[GIT_OID_HEXSZ + 1];
	const char *title = esc(t->title);

	git_oid_tostr(head, sizeof(head), &rv->head);
	if (style == MERGE_STYLE_SQUASH)
		sb_addf(msg, "%s\n\nSquashed from branch '%s' (task %s).\n", title, t->branch, t->slug);
	else
		sb_addf(msg, "Merge branch '%s'\n\nTask %s: %s\n", t->branch, t->slug, title);
	sb_addf(msg, "Reviewed in round %02d at %s by git agent review.\n", round, head);
}

/* The signature git would use: GIT_{AUTHOR,COMMITTER}_{NAME,EMAIL}, else the config. */
static git_signature *signature(git_repository *repo, const char *who)
{
	char *name_var = xstrfmt("GIT_%s_NAME", who), *email_var = xstrfmt("GIT_%s_EMAIL", who);
	const char *name = getenv(name_var), *email = getenv(email_var);
	git_signature *sig = NULL, *dflt = NULL;

	free(name_var);
	free(email_var);
	if (git_signature_default(&dflt, repo) < 0 && (!name || !email))
		die_git("cannot merge: git has no identity (set user.name and user.email)");
	if (git_signature_now(&sig, name ? name : dflt->name, email ? email : dflt->email) < 0)
		die_git("cannot merge: bad identity");
	git_signature_free(dflt);
	return sig;
}

/* A ref checked out nowhere moves with libgit2, if nobody moved it meanwhile. */
static int merge_ref_directly(struct review *rv, const char *target, git_commit *base,
			      git_commit *head, git_index *index, int style, const char *msg,
			      git_oid *out, struct strbuf *why)
{
	git_repository *repo = rv->repo.repo;
	git_reference *ref = NULL;
	git_oid tree_id;
	git_tree *tree = NULL;
	git_signature *author = NULL, *committer = NULL;
	const git_commit *parents[2] = { base, head };
	char *log = xstrfmt("git agent review: %s of %s", style_name(style), rv->task.branch);
	long waited = 0;
	int err;

	if (style == MERGE_STYLE_FF) {
		git_oid_cpy(out, git_commit_id(head));
	} else {
		author = signature(repo, "AUTHOR");
		committer = signature(repo, "COMMITTER");
		if (git_index_write_tree_to(&tree_id, index, repo) < 0 ||
		    git_tree_lookup(&tree, repo, &tree_id) < 0 ||
		    git_commit_create(out, repo, NULL, author, committer, NULL, msg, tree,
				      style == MERGE_STYLE_SQUASH ? 1 : 2, parents) < 0) {
			git_tree_free(tree);
			git_signature_free(author);
			git_signature_free(committer);
			free(log);
			die_git("cannot write the merge commit");
		}
	}
	while ((err = git_reference_create_matching(&ref, repo, target, out, 1,
						    git_commit_id(base), log)) == GIT_ELOCKED &&
	       lock_backoff(&waited))
		;
	git_reference_free(ref);
	git_tree_free(tree);
	git_signature_free(author);
	git_signature_free(committer);
	free(log);
	if (err == GIT_EMODIFIED)
		sb_addf(why, "'%s' was moved by another process while the merge was made: run "
			"'git agent review %s --merge' again", esc(target + 11), rv->task.slug);
	else if (err < 0)
		sb_addf(why, "cannot update '%s': %s", esc(target), git_error_text());
	return err < 0 ? -1 : 0;
}

/*
 * Takes a failed merge back in a worktree that was clean: git merge that
 * meets another git process (a `git status` refreshing the index) can stop
 * after staging the merge, without MERGE_HEAD, so only a hard reset to HEAD
 * undoes every way it fails.
 */
static void undo_merge(const char *dir)
{
	const char *reset[] = { "reset", "--hard", "--quiet", "HEAD", NULL };
	struct child c = CHILD_INIT;

	git_child(&c, dir);
	c.capture_err = 1;	/* git_with_retry() tells contention by it */
	if (git_with_retry(&c, reset, "undo the merge"))
		warning("cannot undo the failed merge in '%s': %s", esc(dir), c.err.buf);
	child_release(&c);
}

/*
 * Runs git in the worktree that has the target checked out. A failure is
 * undone; one that came from another git process holding the index is
 * tried again.
 */
static int merge_in_worktree(struct review *rv, const char *dir, int style, const char *msg,
			     struct strbuf *why)
{
	char head[GIT_OID_HEXSZ + 1];
	const char *merge[] = { "merge", "--no-ff", "--no-edit", "-m", msg, head, NULL };
	const char *ff[] = { "merge", "--ff-only", head, NULL };
	const char *squash[] = { "merge", "--squash", head, NULL };
	const char *commit[] = { "commit", "--no-edit", "-m", msg, NULL };
	const char *env[] = { "GIT_MERGE_AUTOEDIT=no", NULL };
	struct child c = CHILD_INIT;
	long waited = 0;
	int ret, busy;

	git_oid_tostr(head, sizeof(head), &rv->head);
	git_child(&c, dir);
	c.env = env;
	c.capture_out = 1;
	c.capture_err = 1;
	for (;;) {
		sb_reset(&c.out);
		sb_reset(&c.err);
		ret = run_git(&c, style == MERGE_STYLE_FF ? ff :
			      style == MERGE_STYLE_SQUASH ? squash : merge);
		if (ret < 0)
			die_errno("cannot run git to merge");
		if (!ret && style == MERGE_STYLE_SQUASH)
			ret = git_with_retry(&c, commit, "commit the squashed merge");
		if (!ret)
			break;
		busy = is_contention(c.err.buf) ||
		       (c.err.buf && strstr(c.err.buf, "Unable to write index"));
		undo_merge(dir);
		if (!busy || !lock_backoff(&waited))
			break;
	}
	if (ret) {
		sb_add(why, c.err.buf ? c.err.buf : "", c.err.len);
		sb_add(why, c.out.buf ? c.out.buf : "", c.out.len);
	}
	child_release(&c);
	return ret ? -1 : 0;
}

static void log_refused(struct review *rv, const struct strlist *reasons)
{
	json_t *e = trace_event("merge.refused", rv->task.slug);

	json_object_set_new(e, "reasons", json_paths(reasons));
	trace_log(&rv->repo, e);
}

struct merge_result {
	int round, style, merged, removed_worktree, deleted_branch;
	int failed;		/* a conflict: merge.failed is logged */
	char *into;
	git_oid commit;
	struct strlist reasons;
};

static void print_merge(struct review *rv, const struct merge_result *m, int json)
{
	char head[GIT_OID_HEXSZ + 1];
	size_t i;

	git_oid_tostr(head, sizeof(head), &rv->head);
	if (json) {
		json_t *j = json_object();

		json_object_set_new(j, "task", json_string(rv->task.slug));
		json_object_set_new(j, "round", m->round ? json_integer(m->round) : json_null());
		json_object_set_new(j, "merged", json_boolean(m->merged));
		json_object_set_new(j, "into", m->into ? json_text(m->into + 11) : json_null());
		json_object_set_new(j, "style", json_string(style_name(m->style)));
		json_object_set_new(j, "head", json_string(head));
		json_object_set_new(j, "commit", m->merged ? oid_json(&m->commit) : json_null());
		json_object_set_new(j, "removed_worktree", json_boolean(m->removed_worktree));
		json_object_set_new(j, "deleted_branch", json_boolean(m->deleted_branch));
		json_object_set_new(j, "reasons", json_paths(&m->reasons));
		json_print(j);
	}
	if (!m->merged) {
		error("cannot merge task '%s':", rv->task.slug);
		for (i = 0; i < m->reasons.nr; i++)
			fprintf(stderr, "  - %s\n", m->reasons.items[i]);
	} else if (!json) {
		char commit[8];

		git_oid_tostr(commit, sizeof(commit), &m->commit);
		printf("merged task '%s' into '%s' (%s): %s\n", rv->task.slug, esc(m->into + 11),
		       style_name(m->style), commit);
		if (m->removed_worktree)
			printf("removed worktree %s\n", esc(rv->task.worktree));
		if (m->deleted_branch)
			printf("deleted branch %s (was %.7s)\n", esc(rv->task.branch), head);
	}
	finish_stdout();
}

static void set_status(struct review *rv, enum task_status status)
{
	rv->task.status = status;
	if (task_write_fd(rv->record_fd, &rv->task) < 0)
		die_errno("cannot write the task record '%s'", esc(rv->record));
}

/* Removes the task's worktree and branch, logging each. */
static void clean_up(struct review *rv, int force, int keep_branch, int *removed, int *deleted)
{
	char head[GIT_OID_HEXSZ + 1];
	json_t *e;

	git_oid_tostr(head, sizeof(head), &rv->head);
	if (!remove_worktree(&rv->repo, rv->task.worktree, force)) {
		*removed = 1;
		e = trace_event("worktree.removed", rv->task.slug);
		json_object_set_new(e, "worktree", json_text(rv->task.worktree));
		trace_log(&rv->repo, e);
	}
	test_die_point("merge-worktree-removed");
	if (!keep_branch && !git_oid_is_zero(&rv->head) &&
	    !delete_branch_at(&rv->repo, rv->task.branch, head)) {
		*deleted = 1;
		e = trace_event("branch.deleted", rv->task.slug);
		json_object_set_new(e, "branch", json_text(rv->task.branch));
		json_object_set_new(e, "head", json_string(head));
		trace_log(&rv->repo, e);
	}
}

/*
 * Whether base has the task's work already: a merge or fast-forward made
 * head an ancestor, or a squash left nothing to add. Then a merge killed
 * after it moved the base is finished by the next one, not made twice.
 */
static int has_task_work(struct review *rv, git_commit *base, git_commit *head, int style)
{
	git_repository *repo = rv->repo.repo;
	git_index *index = NULL;
	git_oid tree;
	int same;

	if (git_oid_equal(git_commit_id(base), git_commit_id(head)) ||
	    git_graph_descendant_of(repo, git_commit_id(base), git_commit_id(head)) == 1)
		return 1;
	if (style != MERGE_STYLE_SQUASH || git_merge_commits(&index, repo, base, head, NULL) < 0)
		return 0;
	same = !git_index_has_conflicts(index) && !git_index_write_tree_to(&tree, index, repo) &&
	       git_oid_equal(&tree, git_commit_tree_id(base));
	git_index_free(index);
	return same;
}

/*
 * What can stop a merge the gate allowed: a dirty worktree that has the
 * base checked out, a fast-forward that is not one, conflicts.
 */
static void check_merge(struct review *rv, struct merge_result *m, git_commit *base,
			git_commit *head, git_index **index, char **worktree)
{
	git_repository *repo = rv->repo.repo;
	const git_oid *target_id = git_commit_id(base);
	json_t *e;

	*worktree = checked_out_in(rv, m->into);
	if (*worktree) {
		struct strbuf status = STRBUF_INIT;

		worktree_status(*worktree, &status);
		if (status.len) {
			char *s = xstrfmt("'%s' is checked out in '%s', which has uncommitted changes: "
					  "commit or stash them first", esc(m->into + 11), esc(*worktree));

			strlist_push(&m->reasons, s);
			free(s);
		}
		sb_release(&status);
	}
	if (!m->reasons.nr && m->style == MERGE_STYLE_FF &&
	    !git_oid_equal(target_id, &rv->head) &&
	    git_graph_descendant_of(repo, &rv->head, target_id) != 1) {
		char *s = xstrfmt("cannot fast-forward '%s' to '%s': '%s' has commits the task "
				  "branch lacks; use --style merge or squash", esc(m->into + 11),
				  esc(rv->task.branch), esc(m->into + 11));

		strlist_push(&m->reasons, s);
		free(s);
	}
	if (!m->reasons.nr && m->style != MERGE_STYLE_FF) {
		struct strbuf paths = STRBUF_INIT;

		if (merge_conflicts(rv, base, head, index, &paths)) {
			char *s = xstrfmt("merging '%s' into '%s' would conflict in:%s; nothing was "
					  "changed: rebase the task onto '%s' and review again",
					  esc(rv->task.branch), esc(m->into + 11), paths.buf,
					  esc(m->into + 11));

			strlist_push(&m->reasons, s);
			e = trace_event("merge.failed", rv->task.slug);
			json_object_set_new(e, "reason", json_text(s));
			json_object_set_new(e, "into", json_text(m->into + 11));
			trace_log(&rv->repo, e);
			free(s);
			m->failed = 1;
		}
		sb_release(&paths);
	}
}

/*
 * Merges into one repository take turns: two merges into a checked-out
 * branch would meet in its index and MERGE_HEAD, and two updates of one ref
 * would refuse each other. A flock(2), so a killed merge holds nothing.
 */
static int lock_merges(struct review *rv)
{
	char *path = path_join(rv->repo.agent_dir, "merge.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		die_errno("cannot open '%s'", esc_free(path));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		progress("waiting for another merge to finish...");
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR || interrupted)
				die("cannot lock '%s': %s", esc_free(path),
				    interrupted ? "interrupted" : strerror(errno));
	}
	free(path);
	return fd;
}

static int merge_task(struct review *rv, const struct review_options *o)
{
	struct merge_result m;
	git_repository *repo = rv->repo.repo;
	git_commit *base = NULL, *head = NULL;
	git_index *index = NULL;
	git_oid target_id;
	struct strbuf msg = STRBUF_INIT, why = STRBUF_INIT;
	json_t *summary = NULL, *e;
	char *worktree = NULL;
	int ret = EXIT_GATE, already, lock = -1;

	memset(&m, 0, sizeof(m));
	m.style = o->style >= 0 ? o->style : (int)rv->repo.config.merge_style;
	m.round = latest_round(&rv->task);
	if (!m.round) {
		char *s = xstrfmt("no review round yet: run 'git agent review %s' first", rv->task.slug);

		strlist_push(&m.reasons, s);
		free(s);
	} else {
		summary = load_round(&rv->task, m.round);
		check_gate(rv, o, m.round, summary, &m.reasons);
	}
	if (m.reasons.nr)
		goto refused;
	m.into = merge_target(rv);
	lock = lock_merges(rv);
	if (git_reference_name_to_id(&target_id, repo, m.into) < 0 ||
	    git_commit_lookup(&base, repo, &target_id) < 0 ||
	    git_commit_lookup(&head, repo, &rv->head) < 0)
		die_git("cannot read '%s'", esc(m.into));
	already = has_task_work(rv, base, head, m.style);
	if (!already && rv->branch_missing)
		die("branch '%s' of task '%s' does not exist; it was deleted outside git agent",
		    esc(rv->task.branch), rv->task.slug);
	if (!already)
		check_merge(rv, &m, base, head, &index, &worktree);
	if (m.failed)
		goto done;
	if (m.reasons.nr)
		goto refused;

	e = trace_event("verdict.merge", rv->task.slug);
	json_object_set_new(e, "round", json_integer(m.round));
	json_object_set_new(e, "head", oid_json(&rv->head));
	json_object_set_new(e, "style", json_string(style_name(m.style)));
	json_object_set_new(e, "into", json_text(m.into + 11));
	trace_log_or_die(&rv->repo, e);
	test_die_point("merge-gate");
	merge_message(rv, m.round, m.style, &msg);
	if (already) {
		warning("'%s' already has the work of '%s' (an interrupted merge, or one made "
			"by hand): finishing the merge of task '%s'", esc(m.into + 11),
			esc(rv->task.branch), rv->task.slug);
	} else if (worktree ? merge_in_worktree(rv, worktree, m.style, msg.buf, &why) :
		   merge_ref_directly(rv, m.into, base, head, index, m.style, msg.buf, &m.commit, &why)) {
		char *s = xstrfmt("git could not merge '%s' into '%s'; nothing was changed%s%s",
				  esc(rv->task.branch), esc(m.into + 11), why.len ? ":\n" : "",
				  why.len ? esc(why.buf) : "");

		strlist_push(&m.reasons, s);
		e = trace_event("merge.failed", rv->task.slug);
		json_object_set_new(e, "reason", json_text(why.len ? why.buf : s));
		json_object_set_new(e, "into", json_text(m.into + 11));
		trace_log(&rv->repo, e);
		free(s);
		goto done;
	}
	if (git_reference_name_to_id(&m.commit, repo, m.into) < 0)
		die_git("cannot read '%s'", esc(m.into));
	close(lock);	/* the next merge may go */
	lock = -1;
	test_die_point("merge-ref");
	m.merged = 1;
	ret = 0;
	e = trace_event("merge.done", rv->task.slug);
	json_object_set_new(e, "into", json_text(m.into + 11));
	json_object_set_new(e, "style", json_string(style_name(m.style)));
	json_object_set_new(e, "head", oid_json(&rv->head));
	json_object_set_new(e, "commit", oid_json(&m.commit));
	trace_log(&rv->repo, e);
	/*
	 * The record says merged last: a merge killed before is finished by
	 * the next --merge, which finds the work in the base already.
	 */
	if (!o->keep && rv->repo.config.remove_after_merge)
		clean_up(rv, 1, 0, &m.removed_worktree, &m.deleted_branch);
	test_die_point("merge-branch-deleted");
	set_status(rv, TASK_MERGED);
	goto done;
refused:
	log_refused(rv, &m.reasons);
done:
	if (lock >= 0)
		close(lock);
	print_merge(rv, &m, o->json);
	json_decref(summary);
	git_index_free(index);
	git_commit_free(base);
	git_commit_free(head);
	strlist_clear(&m.reasons);
	sb_release(&msg);
	sb_release(&why);
	free(worktree);
	free(m.into);
	return ret;
}

/* --request-changes */

static char *read_request(const struct review_options *o)
{
	struct strbuf sb = STRBUF_INIT;

	if (o->changes)
		sb_adds(&sb, o->changes);
	else if (!isatty(0) && sb_read_fd(&sb, 0) < 0)
		die_errno("cannot read the requested changes from stdin");
	if (memchr(sb.buf ? sb.buf : "", '\0', sb.len))
		die("the requested changes on stdin hold a NUL byte: they must be text");
	while (sb.len && strchr("\n\t ", sb.buf[sb.len - 1]))
		sb.buf[--sb.len] = '\0';
	if (!sb.len) {
		error("--request-changes needs the text of the request: "
		      "--request-changes=<text>, or the text on stdin");
		usage_die(usage_text);
	}
	return sb_detach(&sb);
}

/*
 * Appends the request to packet.md, under one "Requested changes" heading:
 * the first request adds it. The record says whether one came before, as
 * the packet cannot: its description may hold that heading's line too.
 */
static void append_to_packet(struct review *rv, int round, const char *text)
{
	char *packet = path_join(rv->task.folder, "packet.md");
	struct strbuf now = STRBUF_INIT, add = STRBUF_INIT;
	int fd = open(packet, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0 || flock(fd, LOCK_EX) < 0 || sb_read_fd(&now, fd) < 0)
		die_errno("cannot update the packet '%s'", esc_free(packet));
	if (now.len && now.buf[now.len - 1] != '\n')
		sb_addch(&add, '\n');
	if (rv->task.changes_round < 0)
		sb_adds(&add, "\n## Requested changes\n\n"
			"The reviewer asked for these changes. Make them, commit, and update your report.\n");
	if (round)
		sb_addf(&add, "\n### After review round %02d\n\n", round);
	else
		sb_adds(&add, "\n### Before any review round\n\n");
	md_fenced(&add, text);
	if (write_all(fd, add.buf, add.len) < 0 || close(fd) < 0)
		die_errno("cannot update the packet '%s'", esc(packet));
	sb_release(&now);
	sb_release(&add);
	free(packet);
}

static int request_changes(struct review *rv, const struct review_options *o)
{
	char *text = read_request(o);
	int round = latest_round(&rv->task);
	json_t *e = trace_event("verdict.changes", rv->task.slug);

	append_to_packet(rv, round, text);
	rv->task.changes_round = round;
	set_status(rv, rv->task.status);
	json_object_set_new(e, "round", round ? json_integer(round) : json_null());
	json_object_set_new(e, "text", json_text(text));
	trace_log(&rv->repo, e);
	if (o->json) {
		json_t *j = json_object();
		char *packet = path_join(rv->task.folder, "packet.md");

		json_object_set_new(j, "task", json_string(rv->task.slug));
		json_object_set_new(j, "round", round ? json_integer(round) : json_null());
		json_object_set_new(j, "packet", json_text(packet));
		json_print(j);
		free(packet);
	} else {
		printf("requested changes to task '%s'; they are in its packet %s/packet.md\n",
		       rv->task.slug, esc(rv->task.folder));
		printf("next: hand the agent the packet again, then: git agent review %s\n",
		       rv->task.slug);
	}
	finish_stdout();
	free(text);
	return 0;
}

/* --abandon */

static int abandon_task(struct review *rv, const struct review_options *o)
{
	int removed = 0, deleted = 0, stopped;
	json_t *e;

	if (rv->task.status == TASK_CREATED && !rv->worktree_missing && !o->force) {
		struct strbuf status = STRBUF_INIT;

		worktree_status(rv->task.worktree, &status);
		if (status.len) {
			error("cannot abandon task '%s': its worktree '%s' has uncommitted changes "
			      "(--force throws them away):", rv->task.slug, esc(rv->task.worktree));
			print_escaped_lines(stderr, "  ", status.buf);
			sb_release(&status);
			return EXIT_GATE;
		}
		sb_release(&status);
	}
	/* Nothing may go on writing into a worktree that is being removed. */
	stopped = agent_stop(&rv->task);
	e = trace_event("verdict.abandon", rv->task.slug);
	json_object_set_new(e, "force", json_boolean(o->force));
	json_object_set_new(e, "keep_branch", json_boolean(o->keep_branch));
	trace_log(&rv->repo, e);
	if (rv->task.status == TASK_CREATED)
		clean_up(rv, o->force ? 2 : 1, o->keep_branch, &removed, &deleted);
	set_status(rv, TASK_ABANDONED);
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "task", json_string(rv->task.slug));
		json_object_set_new(j, "stopped_agent", json_boolean(stopped));
		json_object_set_new(j, "removed_worktree", json_boolean(removed));
		json_object_set_new(j, "deleted_branch", json_boolean(deleted));
		json_print(j);
	} else {
		printf("abandoned task '%s'\n", rv->task.slug);
		if (stopped)
			printf("stopped its agent\n");
		if (removed)
			printf("removed worktree %s\n", esc(rv->task.worktree));
		if (deleted)
			printf("deleted branch %s (was %.7s)\n", esc(rv->task.branch),
			       git_oid_tostr_s(&rv->head));
		printf("its evidence stays in %s\n", esc(rv->task.folder));
	}
	finish_stdout();
	return 0;
}

int main(int argc, char **argv)
{
	struct review_options opts;
	struct review rv;
	int ret = 0;

	ignore_file_size_signal();
	parse_options(&opts, argc, argv);
	memset(&rv, 0, sizeof(rv));
	rv.record_fd = -1;
	agent_repo_open(&rv.repo);
	load_task(&rv, opts.task, opts.action != REVIEW);
	check_task_state(&rv, opts.action);
	catch_interrupts();
	task_environment(&rv.repo, &rv.task, &rv.env);
	switch (opts.action) {
	case REVIEW: ret = record_round(&rv, &opts); break;
	case MERGE: ret = merge_task(&rv, &opts); break;
	case REQUEST_CHANGES: ret = request_changes(&rv, &opts); break;
	case ABANDON: ret = abandon_task(&rv, &opts); break;
	}
	close(rv.record_fd);
	task_release(&rv.task);
	strlist_clear(&rv.env);
	strlist_clear(&opts.checks);
	free(rv.record);
	free(opts.changes);
	agent_repo_close(&rv.repo);
	return ret;
}
