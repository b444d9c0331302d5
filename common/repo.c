/* The repository, found the way git finds it, and `git config agent.*`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/*
 * libgit2 1.5 on Debian, built with mbedTLS, parses the whole CA bundle in
 * git_libgit2_init(): about 5 ms of every run, half the budget of a dry-run
 * spawn. git-agent never lets libgit2 talk to a remote (the git CLI fetches,
 * with the user's credential helpers), so the certificates are never used:
 * this definition in the executable takes the place of mbedTLS's. A libgit2
 * built with OpenSSL never calls it.
 */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

const char *git_error_text(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

void die_git(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_with(git_error_text(), fmt, ap);
}

int branch_prefix_is_valid(const char *prefix)
{
	char *ref = xstrfmt("refs/heads/%s/x", prefix);
	int valid = 0;

	git_reference_name_is_valid(&valid, ref);
	free(ref);
	/* git also refuses what libgit2 1.5 lets pass: DEL, and a leading '-' (an option). */
	return valid && *prefix != '-' && !strchr(prefix, 0x7f) && prefix[strlen(prefix) - 1] != '/';
}

int parse_bool(const char *value)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0", "" };
	size_t i;

	if (!value)
		return 1;	/* "[agent] fetch" alone means true, as in git */
	for (i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (!strcasecmp(value, yes[i]))
			return 1;
	for (i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (!strcasecmp(value, no[i]))
			return 0;
	/* Like git, any integer (with an optional k, m or g) is a boolean too. */
	{
		char *end;
		long n;

		errno = 0;
		n = strtol(value, &end, 0);
		if (end != value && !errno && (!*end || (strchr("kKmMgG", *end) && !end[1])))
			return n != 0;
	}
	return -1;
}

/*
 * Lower-cases the section and the name, keeping a subsection's case:
 * "Agent.Sub.Key" becomes "agent.Sub.key", as git canonicalises keys.
 */
static void canonicalize_key(char *key)
{
	char *first = strchr(key, '.'), *last = strrchr(key, '.'), *p;

	for (p = key; *p && (!first || p < first); p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	for (p = last ? last : key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
}

/* git's isspace(): what separates the pairs, and is trimmed off an old-format key. */
static int is_git_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim_git_space(struct strbuf *sb)
{
	size_t start = 0;

	while (sb->len && is_git_space(sb->buf[sb->len - 1]))
		sb->len--;
	while (start < sb->len && is_git_space(sb->buf[start]))
		start++;
	if (!sb->buf)
		return;
	memmove(sb->buf, sb->buf + start, sb->len - start);
	sb->len -= start;
	sb->buf[sb->len] = '\0';
}

/* Reads one shell-single-quoted word as git's sq_quote writes it. */
static const char *sq_dequote_word(const char *p, struct strbuf *out)
{
	if (*p != '\'')
		return NULL;
	p++;
	for (;;) {
		if (!*p)
			return NULL;
		if (*p != '\'') {
			sb_addch(out, *p++);
			continue;
		}
		/* A closing quote, maybe followed by \' or \! and a reopening one. */
		p++;
		if (*p == '\\' && (p[1] == '\'' || p[1] == '!') && p[2] == '\'') {
			sb_addch(out, p[1]);
			p += 3;
			continue;
		}
		return p;
	}
}

int parse_config_parameters(const char *env, struct config_param **out, size_t *nr)
{
	struct config_param *params = NULL;
	size_t n = 0, alloc = 0;
	const char *p = env;

	while (*p) {
		struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
		int has_value = 0;

		while (is_git_space(*p))
			p++;
		if (!*p)
			break;
		if (!(p = sq_dequote_word(p, &key)))
			goto bad;
		if (*p == '=') {
			/* New format: 'key'='value', or 'key'= for no value. */
			p++;
			if (*p == '\'') {
				if (!(p = sq_dequote_word(p, &value)))
					goto bad;
				has_value = 1;
			}
		} else {
			/* Old format: 'key=value', the key trimmed as git does. */
			char *eq = key.buf ? strchr(key.buf, '=') : NULL;

			if (eq) {
				sb_adds(&value, eq + 1);
				key.len = eq - key.buf;
				*eq = '\0';
				has_value = 1;
			}
			trim_git_space(&key);
		}
		if (*p && !is_git_space(*p)) {
bad:
			sb_release(&key);
			sb_release(&value);
			free_config_params(params, n);
			return -1;
		}
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			params = xrealloc(params, alloc * sizeof(*params));
		}
		params[n].key = sb_detach(&key);
		canonicalize_key(params[n].key);
		params[n].value = has_value ? sb_detach(&value) : NULL;
		sb_release(&value);
		n++;
	}
	*out = params;
	*nr = n;
	return 0;
}

void free_config_params(struct config_param *params, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
}

/* One agent.* value in the order git would apply it. */
struct config_entry {
	char *key;
	char *value;		/* NULL: the key alone */
	int level;		/* lower levels first; the command line last */
	size_t seq;
};

struct config_entries {
	struct config_entry *items;
	size_t nr, alloc;
};

static void add_entry(struct config_entries *e, const char *key, const char *value, int level)
{
	if (e->nr == e->alloc) {
		e->alloc = e->alloc ? e->alloc * 2 : 16;
		e->items = xrealloc(e->items, e->alloc * sizeof(*e->items));
	}
	e->items[e->nr].key = xstrdup(key);
	canonicalize_key(e->items[e->nr].key);
	e->items[e->nr].value = value ? xstrdup(value) : NULL;
	e->items[e->nr].level = level;
	e->items[e->nr].seq = e->nr;
	e->nr++;
}

static int collect_entry(const git_config_entry *entry, void *payload)
{
	/* Filtered here: libgit2 1.5's regex matching leaks pcre2 match data. */
	if (!strncasecmp(entry->name, "agent.", 6))
		add_entry(payload, entry->name, entry->value, (int)entry->level);
	return 0;
}

static int entry_order(const void *a, const void *b)
{
	const struct config_entry *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* `git -c` and GIT_CONFIG_COUNT values, which libgit2 1.5 does not read. */
/* Whether key is wanted: "section." takes the section, anything else one key. */
static int key_wanted(const char *key, const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '.')
		return !strncasecmp(key, want, n);
	return !strcasecmp(key, want);
}

static void collect_command_line(struct config_entries *e, const char *want)
{
	const char *env = getenv("GIT_CONFIG_PARAMETERS"), *count;
	struct config_param *params;
	size_t nr, i;
	int level = INT_MAX;	/* after every file, as git applies -c */

	if (env && *env) {
		if (parse_config_parameters(env, &params, &nr) < 0)
			die("bogus format in GIT_CONFIG_PARAMETERS");
		for (i = 0; i < nr; i++)
			if (key_wanted(params[i].key, want))
				add_entry(e, params[i].key, params[i].value, level);
		free_config_params(params, nr);
	}
	if ((count = getenv("GIT_CONFIG_COUNT")) && *count) {
		char *end;
		long n = strtol(count, &end, 10);

		if (*end || n < 0)
			die("bogus count in GIT_CONFIG_COUNT: '%s'", count);
		for (i = 0; i < (size_t)n; i++) {
			char name[64];
			const char *key, *value;

			snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%zu", i);
			if (!(key = getenv(name)))
				die("missing config key %s", name);
			snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%zu", i);
			if (!(value = getenv(name)))
				die("missing config value %s", name);
			if (key_wanted(key, want))
				add_entry(e, key, value, level);
		}
	}
}

NORETURN static void bad_value(const char *key, const char *value, const char *expected)
{
	die("bad value '%s' for '%s': expected %s", value ? esc(value) : "(none)", esc(key), expected);
}

static const char *need_value(const struct config_entry *e)
{
	if (!e->value || !*e->value)
		die("missing value for '%s'", e->key);
	return e->value;
}

static void set_string(char **slot, const struct config_entry *e)
{
	free(*slot);
	*slot = xstrdup(need_value(e));
}

static void set_path(char **slot, const struct config_entry *e, const char *root)
{
	char *path = path_resolve(root, need_value(e));

	free(*slot);
	*slot = path_canonical(path);
	free(path);
}

/* A positive integer up to max; what says what is accepted, for the error. */
static long parse_positive(const struct config_entry *e, long max, const char *what)
{
	const char *v = e->value ? e->value : "";
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n <= 0 || n > max)
		bad_value(e->key, e->value, what);
	return n;
}

static void apply_entry(struct agent_config *c, const struct config_entry *e, const char *root)
{
	const char *k = e->key + strlen("agent.");
	int b;

	if (!strcmp(k, "mode")) {
		if (e->value && !strcmp(e->value, "dry-run"))
			c->mode = MODE_DRY_RUN;
		else if (e->value && !strcmp(e->value, "create"))
			c->mode = MODE_CREATE;
		else
			bad_value(e->key, e->value, "dry-run or create");
	} else if (!strcmp(k, "base")) {
		set_string(&c->base, e);
	} else if (!strcmp(k, "fetch") || !strcmp(k, "removeaftermerge")) {
		if ((b = parse_bool(e->value)) < 0)
			bad_value(e->key, e->value, "a boolean (true or false)");
		*(k[0] == 'f' ? &c->fetch : &c->remove_after_merge) = b;
	} else if (!strcmp(k, "remote")) {
		if (*need_value(e) == '-')	/* git fetch would take it as an option */
			bad_value(e->key, e->value, "a remote name or URL");
		set_string(&c->remote, e);
	} else if (!strcmp(k, "branchprefix")) {
		if (!branch_prefix_is_valid(need_value(e)))
			bad_value(e->key, e->value, "a valid branch name component");
		set_string(&c->branch_prefix, e);
	} else if (!strcmp(k, "worktreedir")) {
		set_path(&c->worktree_dir, e, root);
	} else if (!strcmp(k, "dir")) {
		set_path(&c->task_dir, e, root);
	} else if (!strcmp(k, "trace")) {
		set_path(&c->trace, e, root);
	} else if (!strcmp(k, "copy")) {
		strlist_push(&c->copy, need_value(e));
	} else if (!strcmp(k, "link")) {
		strlist_push(&c->link, need_value(e));
	} else if (!strcmp(k, "setup")) {
		strlist_push(&c->setup, need_value(e));
	} else if (!strcmp(k, "command")) {
		strlist_push(&c->command, need_value(e));
	} else if (!strcmp(k, "check")) {
		strlist_push(&c->check, need_value(e));
	} else if (!strcmp(k, "retrypattern") || !strcmp(k, "envpattern")) {
		regex_t re;

		if (regcomp(&re, need_value(e), REG_EXTENDED | REG_ICASE | REG_NOSUB))
			bad_value(e->key, e->value, "a POSIX extended regular expression");
		regfree(&re);
		strlist_push(k[0] == 'r' ? &c->retry_pattern : &c->env_pattern, e->value);
	} else if (!strcmp(k, "checktimeout")) {
		c->check_timeout = parse_positive(e, CHECK_TIMEOUT_MAX,
						  "a positive number of seconds, at most 31536000 (a year)");
	} else if (!strcmp(k, "mergestyle")) {
		if (e->value && !strcmp(e->value, "merge"))
			c->merge_style = MERGE_STYLE_MERGE;
		else if (e->value && !strcmp(e->value, "ff"))
			c->merge_style = MERGE_STYLE_FF;
		else if (e->value && !strcmp(e->value, "squash"))
			c->merge_style = MERGE_STYLE_SQUASH;
		else
			bad_value(e->key, e->value, "merge, ff or squash");
	} else if (!strcmp(k, "template")) {
		set_path(&c->template, e, root);
	} else if (!strcmp(k, "jobs")) {
		c->jobs = parse_positive(e, JOBS_MAX, "a number of tasks from 1 to 1000");
	}
	/* Unknown agent.* keys are ignored, as git ignores unknown keys. */
}

static void read_config(struct agent_repo *r)
{
	struct agent_config *c = &r->config;
	struct config_entries entries = { NULL, 0, 0 };
	git_config *cfg = NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->mode = MODE_DRY_RUN;
	c->remote = xstrdup("origin");
	c->branch_prefix = xstrdup("agent");
	c->check_timeout = 600;
	c->merge_style = MERGE_STYLE_MERGE;
	c->remove_after_merge = 1;
	c->jobs = 2;

	if (git_repository_config_snapshot(&cfg, r->repo) < 0)
		die_git("cannot read the git configuration");
	if (git_config_foreach(cfg, collect_entry, &entries) < 0)
		die_git("cannot read the git configuration");
	git_config_free(cfg);
	collect_command_line(&entries, "agent.");
	if (entries.nr)
		qsort(entries.items, entries.nr, sizeof(*entries.items), entry_order);
	for (i = 0; i < entries.nr; i++) {
		apply_entry(c, &entries.items[i], r->root);
		free(entries.items[i].key);
		free(entries.items[i].value);
	}
	free(entries.items);

	if (!c->worktree_dir) {
		char *path = xstrfmt("%s/../%s-worktrees", r->root, r->name);

		/* Canonical, so "inside the main worktree" can be told reliably. */
		c->worktree_dir = path_canonical(path);
		free(path);
	}
	if (!c->task_dir)
		c->task_dir = xstrdup(r->record_dir);
	if (!c->trace)
		c->trace = path_join(r->agent_dir, "trace.jsonl");
}

char *config_string(const struct agent_repo *r, const char *key)
{
	struct config_entries cl = { NULL, 0, 0 };
	git_config *cfg = NULL;
	git_buf buf = { NULL, 0, 0 };
	char *value = NULL;
	size_t i;

	collect_command_line(&cl, key);
	if (cl.nr) {	/* the last -c wins; a key alone is "true" */
		value = xstrdup(cl.items[cl.nr - 1].value ? cl.items[cl.nr - 1].value : "true");
	} else if (!git_repository_config_snapshot(&cfg, r->repo) &&
		   !git_config_get_string_buf(&buf, cfg, key)) {
		value = xstrdup(buf.ptr);
	}
	for (i = 0; i < cl.nr; i++) {
		free(cl.items[i].key);
		free(cl.items[i].value);
	}
	free(cl.items);
	git_buf_dispose(&buf);
	git_config_free(cfg);
	return value;
}

void agent_repo_open(struct agent_repo *out)
{
	const char *extensions[] = { "worktreeconfig" };
	const char *env;
	int err;

	memset(out, 0, sizeof(*out));
	if ((env = getenv("GIT_WORK_TREE")) && *env)
		die("GIT_WORK_TREE is not supported (libgit2 1.5 cannot honour it); "
		    "unset it and run git agent from inside the worktree");
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_EXTENSIONS, extensions, 1);

	err = git_repository_open_ext(&out->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (err == GIT_ENOTFOUND)
		die("not a git repository (or any of the parent directories): %s",
		    git_error_text());
	if (err < 0)
		die_git("cannot open the repository");
	out->common_dir = path_canonical(git_repository_commondir(out->repo));
	if (git_repository_is_bare(out->repo))
		die("bare repositories are not supported: git agent needs a main worktree");
	if (git_repository_is_worktree(out->repo)) {
		if (git_repository_open(&out->main, out->common_dir) < 0)
			die_git("cannot open the main repository '%s'", out->common_dir);
		if (!git_repository_workdir(out->main))
			die("bare repositories are not supported: git agent needs a main worktree");
	} else {
		out->main = out->repo;
	}
	out->root = path_canonical(git_repository_workdir(out->main));
	out->name = xstrdup(strrchr(out->root, '/') ? strrchr(out->root, '/') + 1 : out->root);
	out->agent_dir = path_join(out->common_dir, "agent");
	out->record_dir = path_join(out->agent_dir, "tasks");
	read_config(out);
}

void agent_repo_close(struct agent_repo *r)
{
	struct agent_config *c = &r->config;

	free(c->base);
	free(c->remote);
	free(c->branch_prefix);
	free(c->worktree_dir);
	free(c->task_dir);
	free(c->trace);
	free(c->template);
	strlist_clear(&c->copy);
	strlist_clear(&c->link);
	strlist_clear(&c->setup);
	strlist_clear(&c->command);
	strlist_clear(&c->check);
	strlist_clear(&c->retry_pattern);
	strlist_clear(&c->env_pattern);
	if (r->main && r->main != r->repo)
		git_repository_free(r->main);
	git_repository_free(r->repo);
	free(r->common_dir);
	free(r->root);
	free(r->name);
	free(r->agent_dir);
	free(r->record_dir);
	memset(r, 0, sizeof(*r));
	git_libgit2_shutdown();
}

/* `git worktree remove`, its error message in *err. */
static int git_worktree_remove(const struct agent_repo *r, const char *path, int force,
			       struct strbuf *err)
{
	const char *argv[] = { "worktree", "remove", NULL, NULL, NULL, NULL };
	struct child c = CHILD_INIT;
	int n = 2, ret;

	while (force-- > 0 && n < 4)
		argv[n++] = "--force";
	argv[n] = path;
	c.dir = r->root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_err = 1;
	ret = git_with_retry(&c, argv, "remove a worktree");
	if (c.err.len)
		sb_add(err, c.err.buf, c.err.len);
	child_release(&c);
	return ret;
}

/*
 * git 2.39 locks nothing for worktrees: a prune removes the entry an add is
 * still writing (it has no gitdir yet), or one a remove is removing too, and
 * half an entry stays. Between git agent commands, adds hold
 * worktree-add.lock shared and a prune skips while any does; removes and
 * their prunes take turns on worktree-remove.lock. -1 when the lock cannot
 * be had: then they go without, as git does.
 */
static int worktree_lock(const struct agent_repo *r, const char *name, int operation)
{
	char *path = path_join(r->agent_dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	free(path);
	if (fd < 0)
		return -1;
	while (flock(fd, operation) < 0)
		if (errno != EINTR || interrupted) {
			close(fd);
			return -1;
		}
	return fd;
}

int hold_worktree_add(const struct agent_repo *r)
{
	return worktree_lock(r, "worktree-add.lock", LOCK_SH);
}

void release_worktree_lock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void prune_worktrees(const struct agent_repo *r)
{
	const char *argv[] = { "worktree", "prune", NULL };
	struct child c = CHILD_INIT;
	int no_adds = worktree_lock(r, "worktree-add.lock", LOCK_EX | LOCK_NB);

	if (no_adds < 0)
		return;		/* the next prune, or git gc's, does it */

	c.dir = r->root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_out = 1;
	c.capture_err = 1;	/* git_with_retry() tells contention by it */
	git_with_retry(&c, argv, "prune worktrees");
	child_release(&c);
	release_worktree_lock(no_adds);
}

int remove_worktree(const struct agent_repo *r, const char *path, int force)
{
	struct strbuf err = STRBUF_INIT;
	struct stat st;
	int ret = 0, lock = worktree_lock(r, "worktree-remove.lock", LOCK_EX);

	if (!lstat(path, &st) && git_worktree_remove(r, path, force, &err)) {
		warning("cannot remove the worktree '%s': %s", esc(path), err.buf);
		ret = -1;
	}
	prune_worktrees(r);
	release_worktree_lock(lock);
	sb_release(&err);
	return ret;
}

void remove_own_worktree(const struct agent_repo *r, const char *path)
{
	struct strbuf err = STRBUF_INIT;
	struct stat st;
	int lock = worktree_lock(r, "worktree-remove.lock", LOCK_EX);

	if (!lstat(path, &st) && git_worktree_remove(r, path, 2, &err) &&
	    remove_tree(path) < 0)
		warning("cannot remove the worktree '%s': %s", esc(path),
			err.len ? err.buf : strerror(errno));
	prune_worktrees(r);
	release_worktree_lock(lock);
	sb_release(&err);
}

int delete_branch_at(const struct agent_repo *r, const char *branch, const char *expected)
{
	char *name = xstrfmt("refs/heads/%s", branch);
	const char *argv[] = { "update-ref", "-d", name, expected, NULL };
	struct child c = CHILD_INIT;
	git_reference *ref = NULL;
	git_oid want;
	int ret = 1;

	if (git_reference_lookup(&ref, r->repo, name) < 0)
		goto done;
	if (git_oid_fromstr(&want, expected) < 0 ||
	    !git_reference_target(ref) || git_oid_cmp(git_reference_target(ref), &want)) {
		warning("keeping branch '%s': it has moved", esc(branch));
		goto done;
	}
	/*
	 * git, not libgit2 1.5: git deletes a ref holding packed-refs.lock, so
	 * a `git pack-refs` (git gc) at work cannot write it back from the
	 * loose ref it read; libgit2 takes no such lock for a loose ref.
	 */
	c.dir = r->root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_err = 1;
	ret = 0;
	if (git_with_retry(&c, argv, "delete a branch")) {
		warning("cannot delete branch '%s': %s", esc(branch), c.err.buf);
		ret = -1;
	}
	child_release(&c);
done:
	git_reference_free(ref);
	free(name);
	return ret;
}
