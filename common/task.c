/*
 * Task records: <common-dir>/agent/tasks/<slug>.ini, written here and read
 * back with inih.
 *
 * inih splits lines longer than 200 bytes silently, strips whitespace at
 * both ends of a value and cuts it at " ;". So values are escaped (\\, \n,
 * \t, \r, \xNN for other control bytes, ';' and edge spaces) and long ones
 * are written in pieces: "key+ = more" continues the previous "key".
 */
#define _GNU_SOURCE
#define INI_HANDLER_LINENO 1	/* the Debian library passes the line number */
#include <ini.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define PIECE_MAX 100

static void flush_piece(struct strbuf *out, const char *key, int continued,
			struct strbuf *piece)
{
	if (piece->len && piece->buf[piece->len - 1] == ' ') {
		piece->len--;
		sb_adds(piece, "\\x20");
	}
	sb_addf(out, "%s%s = %s\n", key, continued ? "+" : "", piece->buf ? piece->buf : "");
	sb_reset(piece);
}

static void put_value(struct strbuf *out, const char *key, const char *value)
{
	struct strbuf piece = STRBUF_INIT;
	const unsigned char *p;
	int continued = 0;

	for (p = (const unsigned char *)value; *p; p++) {
		if (piece.len >= PIECE_MAX) {
			flush_piece(out, key, continued, &piece);
			continued = 1;
		}
		if (*p == '\\')
			sb_adds(&piece, "\\\\");
		else if (*p == '\n')
			sb_adds(&piece, "\\n");
		else if (*p == '\t')
			sb_adds(&piece, "\\t");
		else if (*p == '\r')
			sb_adds(&piece, "\\r");
		else if (*p < 0x20 || *p == 0x7f || *p == ';' || (*p == ' ' && !piece.len))
			sb_addf(&piece, "\\x%02x", *p);
		else
			sb_addch(&piece, *p);
	}
	flush_piece(out, key, continued, &piece);
	sb_release(&piece);
}

static void put_list(struct strbuf *out, const char *key, const struct strlist *list)
{
	size_t i;

	for (i = 0; i < list->nr; i++)
		put_value(out, key, list->items[i]);
}

static const char *status_names[] = {
	"planned", "creating", "created", "merged", "abandoned"
};
#define STATUS_NR (sizeof(status_names) / sizeof(*status_names))

const char *task_status_name(enum task_status status)
{
	return status_names[status];
}

void task_format(struct strbuf *out, const struct task *t)
{
	sb_adds(out, "; git-agent task record: written by git agent spawn and review\n[task]\n");
	put_value(out, "slug", t->slug);
	put_value(out, "status", task_status_name(t->status));
	put_value(out, "title", t->title);
	if (t->description)
		put_value(out, "description", t->description);
	put_value(out, "agent", t->agent);
	put_value(out, "branch", t->branch);
	put_value(out, "base", t->base);
	put_value(out, "base-sha", t->base_sha);
	put_value(out, "worktree", t->worktree);
	put_value(out, "folder", t->folder);
	put_value(out, "created", t->created);
	sb_addf(out, "port = %d\n", t->port);
	put_list(out, "scope", &t->scope);
	put_list(out, "step", &t->steps);
	put_list(out, "check", &t->checks);
	if (t->changes_round >= 0)
		sb_addf(out, "changes-round = %d\n", t->changes_round);
}

static void decode_value(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v != '\\' || !v[1]) {
			sb_addch(out, *v);
			continue;
		}
		v++;
		if (*v == 'n')
			sb_addch(out, '\n');
		else if (*v == 't')
			sb_addch(out, '\t');
		else if (*v == 'r')
			sb_addch(out, '\r');
		else if (*v == 'x' && isxdigit((unsigned char)v[1]) &&
			 isxdigit((unsigned char)v[2]) && (v[1] != '0' || v[2] != '0')) {
			char hex[3] = { v[1], v[2], 0 };

			sb_addch(out, (int)strtol(hex, NULL, 16));
			v += 2;
		} else
			sb_addch(out, *v);
	}
}

struct parse_state {
	struct task *task;
	struct strbuf *err;
	char **last;		/* the value a "key+" line continues */
	size_t last_len, last_alloc;	/* 0: not measured yet */
};

/* The next "key+" lines continue *slot (NULL: nothing). */
static void continue_with(struct parse_state *st, char **slot)
{
	st->last = slot;
	st->last_len = st->last_alloc = 0;
}

/* Appends a piece to the value being continued, in amortised linear time (a 1 MB value has 10,000). */
static void append_piece(struct parse_state *st, const struct strbuf *piece)
{
	if (!st->last_alloc) {
		st->last_len = strlen(*st->last);
		st->last_alloc = st->last_len + 1;
	}
	if (st->last_len + piece->len + 1 > st->last_alloc) {
		st->last_alloc = (st->last_len + piece->len + 1) * 2;
		*st->last = xrealloc(*st->last, st->last_alloc);
	}
	if (piece->len)
		memcpy(*st->last + st->last_len, piece->buf, piece->len);
	st->last_len += piece->len;
	(*st->last)[st->last_len] = '\0';
}

static char **field(struct task *t, const char *name)
{
	static const struct { const char *name; size_t offset; } fields[] = {
		{ "slug", offsetof(struct task, slug) },
		{ "title", offsetof(struct task, title) },
		{ "description", offsetof(struct task, description) },
		{ "agent", offsetof(struct task, agent) },
		{ "branch", offsetof(struct task, branch) },
		{ "base", offsetof(struct task, base) },
		{ "base-sha", offsetof(struct task, base_sha) },
		{ "worktree", offsetof(struct task, worktree) },
		{ "folder", offsetof(struct task, folder) },
		{ "created", offsetof(struct task, created) },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (!strcmp(name, fields[i].name))
			return (char **)((char *)t + fields[i].offset);
	return NULL;
}

static struct strlist *list_field(struct task *t, const char *name)
{
	if (!strcmp(name, "scope"))
		return &t->scope;
	if (!strcmp(name, "step"))
		return &t->steps;
	if (!strcmp(name, "check"))
		return &t->checks;
	return NULL;
}

static int handle_line(void *user, const char *section, const char *name,
		       const char *value, int lineno)
{
	struct parse_state *st = user;
	struct strbuf decoded = STRBUF_INIT;
	size_t len = strlen(name);
	struct strlist *list;
	char **slot;

	if (strcmp(section, "task")) {
		sb_addf(st->err, "line %d: unexpected section '%s'", lineno, section);
		return 0;
	}
	decode_value(&decoded, value);
	if (len && name[len - 1] == '+') {
		if (!st->last) {
			sb_addf(st->err, "line %d: '%s' continues nothing", lineno, name);
			sb_release(&decoded);
			return 0;
		}
		append_piece(st, &decoded);
	} else if (!strcmp(name, "status")) {
		size_t i;

		for (i = 0; i < STATUS_NR; i++)
			if (!strcmp(decoded.buf ? decoded.buf : "", status_names[i]))
				st->task->status = (enum task_status)i;
		continue_with(st, NULL);
	} else if (!strcmp(name, "port")) {
		st->task->port = atoi(decoded.buf ? decoded.buf : "0");
		continue_with(st, NULL);
	} else if (!strcmp(name, "changes-round")) {
		int round = atoi(decoded.buf ? decoded.buf : "0");

		st->task->changes_round = round < 0 ? -1 : round;	/* below 0: none, as written */
		continue_with(st, NULL);
	} else if ((slot = field(st->task, name))) {
		free(*slot);
		*slot = sb_detach(&decoded);
		continue_with(st, slot);
	} else if ((list = list_field(st->task, name))) {
		strlist_push(list, decoded.buf ? decoded.buf : "");
		continue_with(st, &list->items[list->nr - 1]);
	} else {
		continue_with(st, NULL);	/* a key from a newer version: ignored */
	}
	sb_release(&decoded);
	return 1;
}

int task_parse(struct task *t, const char *text, struct strbuf *err)
{
	struct parse_state st = { t, err, NULL, 0, 0 };
	int ret;

	memset(t, 0, sizeof(*t));
	t->status = TASK_CREATING;	/* a record without a status is half-made */
	t->changes_round = -1;
	ret = ini_parse_string(text, handle_line, &st);
	if (ret && !err->len)
		sb_addf(err, "line %d: not a task record line", ret);
	if (!ret && (!t->slug || !t->title || !t->branch || !t->worktree || !t->folder)) {
		sb_adds(err, "incomplete task record");
		ret = -1;
	}
	if (!ret) {
		if (!t->agent)
			t->agent = xstrdup("agent");
		if (!t->base)
			t->base = xstrdup("");
		if (!t->base_sha)
			t->base_sha = xstrdup("");
		if (!t->created)
			t->created = xstrdup("");
	}
	return ret ? -1 : 0;
}

void task_release(struct task *t)
{
	free(t->slug);
	free(t->title);
	free(t->description);
	free(t->agent);
	free(t->branch);
	free(t->base);
	free(t->base_sha);
	free(t->worktree);
	free(t->folder);
	free(t->created);
	strlist_clear(&t->scope);
	strlist_clear(&t->steps);
	strlist_clear(&t->checks);
	memset(t, 0, sizeof(*t));
	t->changes_round = -1;
}

int task_write_fd(int fd, const struct task *t)
{
	struct strbuf text = STRBUF_INIT;
	size_t done = 0;
	int ret = 0;

	task_format(&text, t);
	while (!ret && done < text.len) {
		ssize_t n = pwrite(fd, text.buf + done, text.len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENOSPC;
			ret = -1;
		} else {
			done += (size_t)n;
		}
	}
	if (!ret && ftruncate(fd, (off_t)text.len) < 0)
		ret = -1;
	sb_release(&text);
	return ret;
}

int task_read_fd(int fd, const char *path, struct task *t)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	int ret;

	if (lseek(fd, 0, SEEK_SET) < 0 || sb_read_fd(&text, fd) < 0)
		die_errno("cannot read the task record '%s'", esc(path));
	ret = task_parse(t, text.buf ? text.buf : "", &err);
	if (ret < 0 && text.len)
		warning("task record '%s': %s", esc(path), err.buf);
	sb_release(&text);
	sb_release(&err);
	return ret;
}

static void add_env(struct strlist *env, const char *name, const char *value)
{
	char *kv = xstrfmt("%s=%s", name, value);

	strlist_push(env, kv);
	free(kv);
}

void task_environment(const struct agent_repo *r, const struct task *t, struct strlist *env)
{
	char port[16];
	char *packet = path_join(t->folder, "packet.md"), *report = path_join(t->folder, "report.md");

	snprintf(port, sizeof(port), "%d", t->port);
	add_env(env, "AGENT_TASK", t->slug);
	add_env(env, "AGENT_TITLE", t->title);
	add_env(env, "AGENT_BRANCH", t->branch);
	add_env(env, "AGENT_BASE", t->base);
	add_env(env, "AGENT_BASE_SHA", t->base_sha);
	add_env(env, "AGENT_WORKTREE", t->worktree);
	add_env(env, "AGENT_PACKET", packet);
	add_env(env, "AGENT_REPORT", report);
	add_env(env, "AGENT_TRACE", r->config.trace);
	add_env(env, "AGENT_PORT", port);
	free(packet);
	free(report);
}

void task_command(struct child *c, const char *argv[4], const char *cmd,
		  const struct task *t, const struct strlist *env)
{
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	c->argv = argv;
	c->dir = t->worktree;
	c->env = (const char **)env->items;
	c->clean_git_env = 1;
	c->no_stdin = 1;
}

char *task_record_path(const struct agent_repo *r, const char *slug)
{
	char *name = xstrfmt("%s.ini", slug);
	char *path = path_join(r->record_dir, name);

	free(name);
	return path;
}

static int read_task_file(const char *path, struct task *t)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	int ret = -1;

	if (!sb_read_file(&text, path))
		ret = task_parse(t, text.buf ? text.buf : "", &err);
	else if (errno != ENOENT)
		warning("cannot read the task record '%s': %s", esc(path), strerror(errno));
	sb_release(&text);
	sb_release(&err);
	if (ret < 0)
		task_release(t);
	return ret;
}

/*
 * The slug of the record that matches: by branch name when branch is set,
 * else the one whose worktree holds dir.
 */
static char *scan_records(struct agent_repo *r, const char *branch, const char *dir)
{
	DIR *d = opendir(r->record_dir);
	struct dirent *de;
	char *found = NULL;

	if (!d && errno != ENOENT)
		die_errno("cannot read the task records in '%s'", esc(r->record_dir));
	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct task t;
		char *path;

		if (len < 5 || strcmp(de->d_name + len - 4, ".ini"))
			continue;
		path = path_join(r->record_dir, de->d_name);
		if (!read_task_file(path, &t)) {
			if (branch && !strcmp(t.branch, branch)) {
				found = xstrdup(t.slug);
			} else if (dir) {
				char *wt = path_canonical(t.worktree);

				if (path_is_inside(dir, wt))
					found = xstrdup(t.slug);
				free(wt);
			}
			task_release(&t);
		}
		free(path);
	}
	closedir(d);
	return found;
}

char *task_find(struct agent_repo *r, const char *name)
{
	char *slug = NULL;

	if (!name) {
		const char *workdir = git_repository_workdir(r->repo);
		char *cwd = getcwd(NULL, 0), *here;

		here = path_canonical(cwd ? cwd : (workdir ? workdir : "."));
		slug = scan_records(r, NULL, here);
		free(here);
		free(cwd);
		return slug;
	}
	if (slug_is_valid(name)) {
		char *record = task_record_path(r, name);

		if (!access(record, F_OK))
			slug = xstrdup(name);
		else if (errno != ENOENT)
			die_errno("cannot read the task record '%s'", esc_free(record));
		free(record);
	}
	if (!slug)
		slug = scan_records(r, !strncmp(name, "refs/heads/", 11) ? name + 11 : name, NULL);
	return slug;
}
