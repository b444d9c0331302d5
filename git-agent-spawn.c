/*
 * git-agent-spawn: a task becomes a record, a packet, a branch, an isolated
 * worktree and trace events. Dry-run (the default) stops after the packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static const char usage_text[] =
	"usage: git agent spawn [<options>] <title>...\n"
	"   or: git agent spawn --from <file> [-j <n>] [--create] [--run[=<cmd>]]\n"
	"\n"
	"    --create              create the branch and worktree (default: dry run)\n"
	"    --dry-run             write the task record and packet only\n"
	"    --base <ref>          start from <ref> (default: agent.base, else HEAD)\n"
	"    --fetch, --no-fetch   fetch agent.remote before creating\n"
	"    --agent <name>        branch prefix: <name>/<slug>\n"
	"    --name <slug>         the task's name; adopts a planned task of that name\n"
	"    --out <dir>           put the task folder in <dir>/<slug>\n"
	"    -m, --message <text>  the task's description\n"
	"    -F, --file <file>     read the description from <file> ('-': stdin)\n"
	"    --scope <path>        a path the task may change (repeatable)\n"
	"    --step <text>         a step of the task (repeatable)\n"
	"    --check <cmd>         a check review will run (repeatable)\n"
	"    --allow-dirty         create even when the main worktree is dirty\n"
	"    --keep-failed         keep the worktree when a setup command fails\n"
	"    --run[=<cmd>]         start the agent (default: agent.command) in the background\n"
	"    --wait                with --run: stay, show the agent's output, exit with its status\n"
	"    --timeout <time>      with --run: end the agent after <time> (30s, 10m, 2h)\n"
	"    --from <file>         spawn every task of an INI batch file or features.json\n"
	"    -j, --jobs <n>        with --from: at most <n> at once (default: agent.jobs)\n"
	"    --json                print one JSON object\n";

#define DIRTY_PATHS_SHOWN 10
#define FREE_AND_NULL(p) (free(p), (p) = NULL)

struct spawn_options {
	int mode;		/* -1: agent.mode */
	int fetch;		/* -1: agent.fetch */
	const char *base, *agent, *name, *out, *message, *message_file;
	struct strlist scope, steps, checks;
	int allow_dirty, keep_failed, json;
	int run, wait;
	const char *run_command;	/* --run=<cmd>, or NULL: agent.command */
	long timeout;			/* seconds; 0: none */
	const char *from;		/* --from: a batch file */
	long jobs;			/* -j; 0: agent.jobs */
	char *title;		/* the words joined, or NULL */
};

/* What this spawn made, so a failure can take exactly that back. */
struct spawn {
	struct agent_repo repo;
	struct task task;
	int mode;
	char *record;
	int record_fd;		/* exclusively locked while we create */
	int adopted;
	int rerun;		/* a created task whose agent runs again */
	int keep_packet;	/* the planned packet was edited by hand */
	int made_folder, made_branch, made_worktree;
	git_oid base_oid;
	struct strlist env;	/* the task environment, "NAME=value" */
};

/* "90", "90s", "15m", "2h": seconds, or -1. */
static long parse_duration(const char *arg)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || n <= 0 || n > 100000000)
		return -1;
	if (!strcmp(end, "m"))
		return n * 60;
	if (!strcmp(end, "h"))
		return n * 3600;
	return !*end || !strcmp(end, "s") ? n : -1;
}

static void parse_options(struct spawn_options *o, int argc, char **argv)
{
	enum { OPT_CREATE = 256, OPT_DRY_RUN, OPT_BASE, OPT_FETCH, OPT_NO_FETCH,
	       OPT_AGENT, OPT_NAME, OPT_OUT, OPT_SCOPE, OPT_STEP, OPT_CHECK,
	       OPT_ALLOW_DIRTY, OPT_KEEP_FAILED, OPT_RUN, OPT_WAIT, OPT_TIMEOUT, OPT_FROM,
	       OPT_JSON, OPT_HELP };
	static const struct option longopts[] = {
		{ "create", no_argument, NULL, OPT_CREATE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "fetch", no_argument, NULL, OPT_FETCH },
		{ "no-fetch", no_argument, NULL, OPT_NO_FETCH },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "message", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'F' },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "step", required_argument, NULL, OPT_STEP },
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY },
		{ "keep-failed", no_argument, NULL, OPT_KEEP_FAILED },
		{ "run", optional_argument, NULL, OPT_RUN },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	struct strbuf title = STRBUF_INIT;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->mode = o->fetch = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hm:F:j:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CREATE: o->mode = MODE_CREATE; break;
		case OPT_DRY_RUN: o->mode = MODE_DRY_RUN; break;
		case OPT_BASE: o->base = optarg; break;
		case OPT_FETCH: o->fetch = 1; break;
		case OPT_NO_FETCH: o->fetch = 0; break;
		case OPT_AGENT: o->agent = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_OUT: o->out = optarg; break;
		case 'm': o->message = optarg; break;
		case 'F': o->message_file = optarg; break;
		case OPT_SCOPE: strlist_push(&o->scope, optarg); break;
		case OPT_STEP: strlist_push(&o->steps, optarg); break;
		case OPT_CHECK: strlist_push(&o->checks, optarg); break;
		case OPT_ALLOW_DIRTY: o->allow_dirty = 1; break;
		case OPT_KEEP_FAILED: o->keep_failed = 1; break;
		case OPT_RUN:
			o->run = 1;
			o->run_command = optarg;
			if (optarg && !optarg[strspn(optarg, " \t\n")]) {
				error("--run needs a command after '='");
				usage_die(usage_text);
			}
			break;
		case OPT_WAIT: o->wait = 1; break;
		case OPT_FROM: o->from = optarg; break;
		case 'j':
			o->jobs = strspn(optarg, "0123456789") == strlen(optarg) &&
				  strlen(optarg) <= 4 ? atol(optarg) : 0;
			if (o->jobs < 1 || o->jobs > JOBS_MAX) {
				error("invalid -j '%s': a number of tasks from 1 to 1000", esc(optarg));
				usage_die(usage_text);
			}
			break;
		case OPT_TIMEOUT:
			if ((o->timeout = parse_duration(optarg)) <= 0) {
				error("invalid --timeout '%s': use seconds, or a number with s, m or h",
				      esc(optarg));
				usage_die(usage_text);
			}
			break;
		case OPT_JSON: o->json = 1; break;
		case OPT_HELP: show_man_page("spawn");
		default:
			usage_getopt(c, usage_text, argv[optind - 1]);
		}
	}
	if (o->message && o->message_file) {
		error("-m and -F cannot be used together");
		usage_die(usage_text);
	}
	if ((o->wait || o->timeout) && !o->run) {
		error("--%s needs --run", o->wait ? "wait" : "timeout");
		usage_die(usage_text);
	}
	if (o->run && o->mode == MODE_DRY_RUN) {
		error("--run cannot be used with --dry-run: the agent needs a worktree");
		usage_die(usage_text);
	}
	if (o->run)
		o->mode = MODE_CREATE;
	if (o->jobs && !o->from) {
		error("-j needs --from");
		usage_die(usage_text);
	}
	if (o->from) {
		if (optind < argc || o->name || o->message || o->message_file || o->scope.nr ||
		    o->steps.nr || o->checks.nr || o->out) {
			error("--from takes the tasks from the file: no title, --name, -m, -F, "
			      "--scope, --step, --check or --out");
			usage_die(usage_text);
		}
		return;
	}
	for (i = optind; i < argc; i++) {
		if (title.len)
			sb_addch(&title, ' ');
		sb_adds(&title, argv[i]);
	}
	if (title.len)
		o->title = sb_detach(&title);
	if (!o->title && !o->name) {
		error("a task title is required");
		usage_die(usage_text);
	}
	if (o->title && !o->title[strspn(o->title, " \t\n")]) {
		error("the task title is empty");
		usage_die(usage_text);
	}
	sb_release(&title);
}

/* A scope path must name something inside the repository. */
static void check_relative_path(const char *what, const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		die("bad %s '%s': must be a relative path inside the repository", what, esc(path));
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			die("bad %s '%s': must not leave the repository with '..'", what, esc(path));
		p += n;
		p += *p == '/';
	}
}

static void check_branch_prefix(struct agent_repo *r, const char *prefix)
{
	char *ref, *part;
	git_reference *found = NULL;
	size_t i;

	/* Before anything is allocated: LeakSanitizer counts what a die() drops. */
	if (!branch_prefix_is_valid(prefix))
		die("bad branch prefix '%s': 'refs/heads/%s/<slug>' is not a valid branch name",
		    esc(prefix), esc(prefix));
	ref = xstrfmt("refs/heads/%s/x", prefix);
	/* "agent" as a branch leaves no room for "agent/<slug>". */
	for (i = strlen("refs/heads/"); ref[i]; i++) {
		if (ref[i] != '/')
			continue;
		part = xstrndup(ref, i);
		if (!git_reference_lookup(&found, r->repo, part)) {
			char *branch = xstrdup(esc(part + strlen("refs/heads/")));

			git_reference_free(found);
			free(part);
			free(ref);
			die("a branch named '%s' exists, so no branch can be made under '%s/'; "
			    "rename it, or choose another prefix with --agent or agent.branchPrefix",
			    branch, esc(prefix));
		}
		free(part);
	}
	free(ref);
}

static int branch_is_taken(struct agent_repo *r, const char *branch)
{
	char *ref = xstrfmt("refs/heads/%s", branch), *glob = xstrfmt("%s/*", ref);
	git_reference_iterator *it = NULL;
	git_reference *found = NULL;
	int taken = 0;

	if (!git_reference_lookup(&found, r->repo, ref)) {
		git_reference_free(found);
		taken = 1;
	} else if (!git_reference_iterator_glob_new(&it, r->repo, glob)) {
		taken = !git_reference_next(&found, it);
		if (taken)
			git_reference_free(found);
		git_reference_iterator_free(it);
	}
	free(ref);
	free(glob);
	return taken;
}

static void resolve_base(struct spawn *sp, const struct spawn_options *o)
{
	struct agent_repo *r = &sp->repo;
	const char *base = o->base ? o->base : r->config.base;
	git_object *obj = NULL, *commit = NULL;
	char sha[GIT_OID_HEXSZ + 1];

	if (sp->adopted && !o->base)
		base = sp->task.base;
	if (base && *base == '-')
		die("bad base '%s': a base starting with '-' would read as an option of git", esc(base));
	if (!base && git_repository_head_unborn(r->repo) == 1)
		die("the repository has no commits yet; make a first commit, then spawn a task");
	if (base) {
		if (git_revparse_single(&obj, r->repo, base) < 0) {
			if (git_repository_is_empty(r->repo) == 1)
				die("the repository has no commits yet; make a first commit, then spawn a task");
			die("base '%s' not found: no branch, tag or commit has that name", esc(base));
		}
		if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0)
			die("base '%s' is not a commit", esc(base));
		if (base != sp->task.base) {
			free(sp->task.base);
			sp->task.base = xstrdup(base);
		}
	} else {
		git_reference *head = NULL;

		if (git_repository_head(&head, r->repo) < 0 ||
		    git_reference_peel(&commit, head, GIT_OBJECT_COMMIT) < 0)
			die_git("cannot read HEAD");
		free(sp->task.base);
		if (git_repository_head_detached(r->repo) == 1)
			sp->task.base = xstrdup(git_oid_tostr_s(git_object_id(commit)));
		else
			sp->task.base = xstrdup(git_reference_shorthand(head));
		git_reference_free(head);
	}
	git_oid_cpy(&sp->base_oid, git_object_id(commit));
	git_oid_tostr(sha, sizeof(sha), &sp->base_oid);
	free(sp->task.base_sha);
	sp->task.base_sha = xstrdup(sha);
	git_object_free(commit);
	git_object_free(obj);
}

static void fetch_remote(struct spawn *sp)
{
	const char *argv[] = { "fetch", "--quiet", sp->repo.config.remote, NULL };
	struct child c = CHILD_INIT;

	c.dir = sp->repo.root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_err = 1;
	progress("fetching '%s'...", sp->repo.config.remote);
	if (git_with_retry(&c, argv, "fetch"))
		die("cannot fetch '%s':\n%s", esc(sp->repo.config.remote),
		    c.err.len ? c.err.buf : "git fetch failed");
	child_release(&c);
}

/*
 * The main worktree's staged, modified and untracked files, as the lines of
 * the refusal; returns how many there are. git itself answers: it honours
 * fsmonitor and the untracked cache, and lists tracked changes first.
 */
static size_t main_worktree_changes(struct agent_repo *r, struct strbuf *msg)
{
	const char *argv[] = { "status", "--porcelain", "-z", "--untracked-files=normal", NULL };
	struct child c = CHILD_INIT;
	const char *p, *end;
	size_t n = 0;

	c.dir = r->root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_out = 1;
	c.capture_err = 1;
	if (git_with_retry(&c, argv, "read the status of the main worktree"))
		die("cannot read the status of the main worktree '%s':\n%s", esc(r->root), c.err.buf);
	for (p = c.out.buf; p && p < c.out.buf + c.out.len; p = end + 1) {
		end = p + strlen(p);
		if (n++ < DIRTY_PATHS_SHOWN)
			sb_addf(msg, "\n\t%.2s %s", p, esc(p + 3));
		if (p[0] == 'R' || p[0] == 'C')
			end += strlen(end + 1) + 1;	/* the rename's source */
	}
	if (n > DIRTY_PATHS_SHOWN)
		sb_addf(msg, "\n\t... and %zu more", n - DIRTY_PATHS_SHOWN);
	child_release(&c);
	return n;
}

/* Where the task folder goes: <--out or agent.dir>/<slug>, never in the main worktree. */
static char *folder_parent(struct agent_repo *r, const struct spawn_options *o)
{
	char *dir = o->out ? path_canonical(o->out) : path_canonical(r->config.task_dir);
	struct stat st;

	if (!stat(dir, &st) && !S_ISDIR(st.st_mode))
		die("task folder location '%s' is not a directory", esc(dir));
	/* .git is inside the worktree, but git status never shows it. */
	if (path_is_inside(dir, r->root) && !path_is_inside(dir, r->common_dir))
		die("task folder location '%s' is inside the main worktree '%s'; "
		    "choose a directory outside it", esc(dir), esc(r->root));
	return dir;
}

static void fill_task(struct spawn *sp, const char *slug, const char *prefix,
		      const char *parent)
{
	struct task *t = &sp->task;
	char ts[32];

	free(t->slug);
	t->slug = xstrdup(slug);
	free(t->agent);
	t->agent = xstrdup(prefix);
	free(t->branch);
	t->branch = xstrfmt("%s/%s", prefix, slug);
	free(t->worktree);
	t->worktree = path_join(sp->repo.config.worktree_dir, slug);
	free(t->folder);
	t->folder = path_join(parent, slug);
	if (!t->created) {
		format_timestamp(ts);
		t->created = xstrdup(ts);
	}
	t->port = task_port(slug);
}

static void update_record(struct spawn *sp, enum task_status status)
{
	sp->task.status = status;
	if (task_write_fd(sp->record_fd, &sp->task) < 0)
		die_errno("cannot write the task record '%s'", sp->record);
}

/*
 * Makes <slug>.ini appear atomically, complete and already locked: written
 * and locked under a temporary name, then hard-linked into place.
 */
static int create_record(struct spawn *sp, const char *path)
{
	char *tmp;
	int fd, ret, saved;

	if (mkdir_p(sp->repo.record_dir, 0777) < 0)
		die_errno("cannot create '%s'", sp->repo.record_dir);
	tmp = xstrfmt("%s.new-%ld", path, (long)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || task_write_fd(fd, &sp->task) < 0) {
		saved = errno;
		unlink(tmp);
		free(tmp);
		errno = saved;
		die_errno("cannot create the task record '%s'", esc(path));
	}
	ret = link(tmp, path);
	saved = errno;
	unlink(tmp);
	if (ret < 0 && saved != EEXIST) {
		free(tmp);
		errno = saved;
		die_errno("cannot create the task record '%s'", esc(path));
	}
	free(tmp);
	if (ret < 0) {
		close(fd);
		return -1;
	}
	sp->record_fd = fd;
	sp->record = xstrdup(path);
	return 0;
}

static void remove_task_folder(const char *folder)
{
	if (remove_tree(folder) < 0)
		warning("cannot remove the task folder '%s'", esc(folder));
}

static void log_spawn_failed(struct agent_repo *r, const char *slug, const char *reason)
{
	json_t *e = trace_event("spawn.failed", slug);

	json_object_set_new(e, "reason", json_text(reason));
	trace_log(r, e);
}

/*
 * A record left "creating" that nobody holds locked belongs to a spawn that
 * was killed: take back the worktree and branch it made, as its own
 * rollback would have. The task goes back to planned, not away: it may have
 * been a plan whose packet was edited by hand, and this spawn can adopt it.
 */
static void repair_interrupted(struct spawn *sp, struct task *stale, int fd, const char *record)
{
	warning("task '%s' was left half-made by an interrupted spawn; rolling it back",
		stale->slug);
	if (stale->worktree)
		remove_own_worktree(&sp->repo, stale->worktree);
	if (stale->branch && stale->base_sha)
		delete_branch_at(&sp->repo, stale->branch, stale->base_sha);
	stale->status = TASK_PLANNED;
	if (task_write_fd(fd, stale) < 0)
		die_errno("cannot write the task record '%s'", esc(record));
	log_spawn_failed(&sp->repo, stale->slug, "interrupted; rolled back by a later spawn");
}

/* A record that cannot be read is no plan: what it names goes, and it too. */
static void remove_broken_record(struct spawn *sp, struct task *stale, const char *record)
{
	warning("removing the unreadable task record '%s' and what it names", esc(record));
	if (stale->worktree)
		remove_own_worktree(&sp->repo, stale->worktree);
	if (stale->branch && stale->base_sha)
		delete_branch_at(&sp->repo, stale->branch, stale->base_sha);
	if (stale->folder)
		remove_task_folder(stale->folder);
	unlink(record);
	log_spawn_failed(&sp->repo, stale->slug ? stale->slug : record, "unreadable record removed");
}

enum claim { CLAIM_TAKEN, CLAIM_RETRY, CLAIM_OK };

/* Tries to make the existing record at path ours: adopt a planned task, or repair. */
static enum claim claim_existing(struct spawn *sp, const struct spawn_options *o,
				 const char *path, int fd)
{
	struct task found;
	struct stat a, b;

	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return CLAIM_TAKEN;	/* another spawn is creating it now */
	if (stat(path, &b) < 0 || fstat(fd, &a) < 0 || a.st_ino != b.st_ino)
		return CLAIM_RETRY;	/* rolled back while we waited */
	if (task_read_fd(fd, path, &found) < 0) {
		remove_broken_record(sp, &found, path);
		task_release(&found);
		return CLAIM_RETRY;
	}
	if (found.status == TASK_CREATING)
		repair_interrupted(sp, &found, fd, path);
	if (o->run && o->name && (found.status == TASK_MERGED || found.status == TASK_ABANDONED))
		die("task '%s' was %s; its agent cannot run again", found.slug,
		    task_status_name(found.status));
	if (o->run && o->name && found.status == TASK_CREATED) {
		sp->rerun = 1;	/* the agent runs again, in the worktree it has */
	} else if (found.status != TASK_PLANNED || sp->mode != MODE_CREATE ||
		   (!o->name && strcmp(found.title, sp->task.title))) {
		task_release(&found);
		return CLAIM_TAKEN;
	}
	task_release(&sp->task);
	sp->task = found;
	sp->record_fd = fd;
	sp->record = xstrdup(path);
	sp->adopted = 1;
	return CLAIM_OK;
}

/* The n-th candidate for a slug: base, base-2, base-3, ..., within SLUG_MAX. */
static char *candidate_slug(const char *base, unsigned n)
{
	char suffix[16] = "";
	size_t keep;

	if (n > 1)
		snprintf(suffix, sizeof(suffix), "-%u", n);
	keep = strlen(base);
	if (keep > SLUG_MAX - strlen(suffix))
		keep = SLUG_MAX - strlen(suffix);
	while (keep && base[keep - 1] == '-')
		keep--;		/* a cut must not leave "--2" */
	return xstrfmt("%.*s%s", (int)keep, base, suffix);
}

/*
 * What reserve_task() is trying, in a global: a fatal error half-way (a full
 * disk, a read-only record directory) must not leave it unreachable, which
 * LeakSanitizer would report as a leak.
 */
static struct {
	char *base_slug, *parent, *slug, *path;
} reserving;

/* Finds the task's slug and holds its record: -2, -3, ... when taken. */
static void reserve_task(struct spawn *sp, const struct spawn_options *o)
{
	struct agent_repo *r = &sp->repo;
	const char *prefix = o->agent ? o->agent : r->config.branch_prefix;
	unsigned n, retries = 0;

	reserving.base_slug = o->name ? xstrdup(o->name) : slugify(sp->task.title, SLUG_MAX);
	reserving.parent = folder_parent(r, o);
	check_branch_prefix(r, prefix);
	for (n = 1; n < 10000; n++) {
		enum claim claim = CLAIM_TAKEN;
		struct stat st;
		int fd;

		reserving.slug = candidate_slug(reserving.base_slug, n);
		reserving.path = task_record_path(r, reserving.slug);
		fill_task(sp, reserving.slug, prefix, reserving.parent);
		fd = open(reserving.path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			claim = claim_existing(sp, o, reserving.path, fd);
			if (claim != CLAIM_OK)
				close(fd);
		} else if (errno != ENOENT) {
			die_errno("cannot open the task record '%s'", reserving.path);
		} else if (!branch_is_taken(r, sp->task.branch) && lstat(sp->task.worktree, &st) < 0 &&
			   lstat(sp->task.folder, &st) < 0) {
			claim = create_record(sp, reserving.path) < 0 ? CLAIM_RETRY : CLAIM_OK;
		}
		FREE_AND_NULL(reserving.path);
		if (claim == CLAIM_RETRY && ++retries > 100)
			die("cannot reserve task '%s': its record keeps changing under us",
			    reserving.slug);
		if (claim == CLAIM_RETRY)
			n--;
		else if (claim == CLAIM_TAKEN && o->name)
			die("task '%s' already exists; choose another --name, or review or "
			    "abandon the existing task", reserving.slug);
		FREE_AND_NULL(reserving.slug);
		if (claim == CLAIM_OK)
			break;
	}
	if (n >= 10000)
		die("no free task name for '%s'", reserving.base_slug);
	FREE_AND_NULL(reserving.base_slug);
	FREE_AND_NULL(reserving.parent);
}


/* The packet's built-in template; agent.template replaces it. */
static const char packet_template[] =
	"# Task: {{title}}\n"
	"\n"
	"This is the task packet of {{slug}}, written by `git agent spawn`. It is your\n"
	"whole brief: read it to the end before you start.\n"
	"\n"
	"## Description\n"
	"\n"
	"{{description}}\n"
	"\n"
	"## Isolation\n"
	"\n"
	"- Work only inside the worktree {{worktree}}.\n"
	"- Do not modify the main worktree {{main_worktree}} or any other worktree,\n"
	"  not even through absolute paths.\n"
	"- Commit your work on the branch {{branch}}. Do not switch branches, rebase\n"
	"  onto other work, merge, or push.\n"
	"- A dev server you start listens on port {{port}} (`$AGENT_PORT`), so it does\n"
	"  not collide with other tasks.\n"
	"\n"
	"## Branch and base\n"
	"\n"
	"- Branch: {{branch}}\n"
	"- Base: {{base}} at commit {{base_sha}}\n"
	"\n"
	"## Scope\n"
	"\n"
	"{{scope}}\n"
	"\n"
	"## Steps\n"
	"\n"
	"{{steps}}\n"
	"\n"
	"## Done when\n"
	"\n"
	"{{checks}}\n"
	"\n"
	"## Required output\n"
	"\n"
	"When you stop, commit your work and write a hand-off report to {{report}}\n"
	"(`$AGENT_REPORT`) with these sections:\n"
	"\n"
	"1. Summary: what you did and why.\n"
	"2. Files touched.\n"
	"3. Commands run, with their results.\n"
	"4. Risks and assumptions.\n"
	"5. The output of `git diff --stat $AGENT_BASE_SHA...HEAD`.\n"
	"6. Recommendation: merge, request changes, or abandon.\n"
	"\n"
	"## Review gate\n"
	"\n"
	"{{review_gate}}\n";

struct placeholder {
	const char *name;
	char *value;		/* markdown, ready to insert */
};

static char *md_list(const struct strlist *list, int numbered, int code, const char *none)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!list->nr)
		sb_adds(&sb, none);
	for (i = 0; i < list->nr; i++) {
		if (i)
			sb_addch(&sb, '\n');
		if (numbered)
			sb_addf(&sb, "%zu. ", i + 1);
		else
			sb_adds(&sb, "- ");
		if (code)
			md_code(&sb, list->items[i]);
		else
			md_escape_line(&sb, list->items[i]);
	}
	return sb_detach(&sb);
}

static void fill_placeholders(struct spawn *sp, struct placeholder *ph, size_t nr)
{
	struct task *t = &sp->task;
	struct strbuf sb = STRBUF_INIT;
	char *report = path_join(t->folder, "report.md");
	size_t i;

	for (i = 0; i < nr; i++) {
		const char *n = ph[i].name;

		sb_reset(&sb);
		if (!strcmp(n, "title")) {
			md_escape_line(&sb, t->title);
		} else if (!strcmp(n, "description")) {
			if (t->description && *t->description)
				md_fenced(&sb, t->description);
			else
				sb_adds(&sb, "No description was given: the title is the task.\n");
			sb.buf[--sb.len] = '\0';	/* the template ends the line */
		} else if (!strcmp(n, "slug") || !strcmp(n, "branch") || !strcmp(n, "base") ||
			   !strcmp(n, "base_sha") || !strcmp(n, "worktree") ||
			   !strcmp(n, "main_worktree") || !strcmp(n, "folder") || !strcmp(n, "report")) {
			const char *v = !strcmp(n, "slug") ? t->slug : !strcmp(n, "branch") ? t->branch :
				!strcmp(n, "base") ? t->base : !strcmp(n, "base_sha") ? t->base_sha :
				!strcmp(n, "worktree") ? t->worktree : !strcmp(n, "folder") ? t->folder :
				!strcmp(n, "report") ? report : sp->repo.root;

			md_code(&sb, v);
		} else if (!strcmp(n, "port")) {
			sb_addf(&sb, "%d", t->port);
		} else if (!strcmp(n, "scope")) {
			free(ph[i].value);
			ph[i].value = md_list(&t->scope, 0, 1,
				"No scope was given: any file of the repository may change.");
			continue;
		} else if (!strcmp(n, "steps")) {
			free(ph[i].value);
			ph[i].value = md_list(&t->steps, 1, 0,
				"No steps were given: plan them yourself from the description.");
			continue;
		} else if (!strcmp(n, "checks")) {
			free(ph[i].value);
			ph[i].value = md_list(&t->checks, 0, 1,
				"No checks were given: the work is done when the description is met "
				"and the tests of the repository pass.");
			continue;
		} else if (!strcmp(n, "review_gate")) {
			sb_adds(&sb, "`git agent review ");
			sb_adds(&sb, t->slug);
			sb_adds(&sb, "` records the evidence of your work: the worktree's status, the\n"
				"diff stat and full patch against the merge base, the commits, the results of\n"
				"every check, and your report. The branch is merged only when the reviewed\n"
				"commit is still the branch head, the worktree has no uncommitted changes,\n"
				"every check passes and no file outside the scope changed. Anything you leave\n"
				"uncommitted is not reviewed and blocks the merge.");
		}
		free(ph[i].value);
		ph[i].value = sb_detach(&sb);
	}
	sb_release(&sb);
	free(report);
}

/* Replaces each {{name}} once; substituted text is never scanned again. */
static void render_template(struct spawn *sp, struct strbuf *out, const char *text,
			    const char *source)
{
	struct placeholder ph[] = {
		{ "slug", NULL }, { "title", NULL }, { "description", NULL },
		{ "branch", NULL }, { "base", NULL }, { "base_sha", NULL },
		{ "worktree", NULL }, { "main_worktree", NULL }, { "folder", NULL },
		{ "report", NULL }, { "port", NULL }, { "scope", NULL }, { "steps", NULL },
		{ "checks", NULL }, { "review_gate", NULL },
	};
	size_t nr = sizeof(ph) / sizeof(*ph), i;
	const char *p = text, *open, *close;

	fill_placeholders(sp, ph, nr);
	while ((open = strstr(p, "{{")) && (close = strstr(open + 2, "}}"))) {
		size_t len = close - open - 2;

		sb_add(out, p, open - p);
		for (i = 0; i < nr; i++)
			if (strlen(ph[i].name) == len && !strncmp(open + 2, ph[i].name, len))
				break;
		if (i == nr)
			die("unknown placeholder '{{%.*s}}' in the packet template '%s'; known: "
			    "slug, title, description, branch, base, base_sha, worktree, main_worktree, "
			    "folder, report, port, scope, steps, checks, review_gate",
			    (int)len, open + 2, esc(source));
		sb_adds(out, ph[i].value);
		p = close + 2;
	}
	sb_adds(out, p);
	for (i = 0; i < nr; i++)
		free(ph[i].value);
}

static void render_packet(struct spawn *sp, struct strbuf *out)
{
	struct strbuf text = STRBUF_INIT;
	const char *template = sp->repo.config.template;

	if (!template) {
		render_template(sp, out, packet_template, "built in");
		return;
	}
	if (sb_read_file(&text, template) < 0)
		die_errno("cannot read the packet template '%s' (agent.template)", esc(template));
	if (memchr(text.buf ? text.buf : "", '\0', text.len))
		die("the packet template '%s' (agent.template) holds a NUL byte: it must be text",
		    esc(template));
	render_template(sp, out, text.buf ? text.buf : "", template);
	sb_release(&text);
}

static void render_readme(struct spawn *sp, struct strbuf *out)
{
	struct task *t = &sp->task;

	sb_adds(out, "# Task folder of ");
	md_code(out, t->slug);
	sb_adds(out, "\n\nThis folder belongs to the git-agent task ");
	md_code(out, t->slug);
	sb_adds(out, ":\n\n> ");
	md_escape_line(out, t->title);
	sb_adds(out, "\n\nIt lives outside every worktree, so nothing here shows up in `git status`,\n"
		"and it stays after the worktree is removed.\n\n"
		"- `packet.md`: the task packet the agent works from.\n"
		"- `report.md`: the agent's hand-off report, once it has written one.\n"
		"- `commands/create-worktree.sh`: the plain git steps of `git agent spawn --create`.\n"
		"- `commands/review-before-merge.sh`: the plain git steps of a review, and of the\n"
		"  merge with `--merge`.\n\n"
		"The task record is ");
	{
		char *record = task_record_path(&sp->repo, t->slug);

		md_code(out, record);
		free(record);
	}
	sb_adds(out, " and its events are in ");
	md_code(out, sp->repo.config.trace);
	sb_adds(out, ".\n\n## Next\n\n```sh\n");
	if (sp->mode == MODE_CREATE) {
		sb_adds(out, "cd ");
		sq_quote(out, t->worktree);
		sb_addf(out, "\n# hand the agent packet.md, then:\ngit agent review %s\n", t->slug);
	} else {
		sb_addf(out, "git agent spawn --create --name %s\n", t->slug);
	}
	sb_adds(out, "```\n");
}

static void sh_var(struct strbuf *out, const char *name, const char *value)
{
	sb_addf(out, "%s=", name);
	sq_quote(out, value);
	sb_addch(out, '\n');
}

/* agent.link: the main worktree's paths that match, relative to its root. */
static void link_targets(struct agent_repo *r, struct strlist *out)
{
	size_t i, j;

	for (i = 0; i < r->config.link.nr; i++) {
		char *pattern = path_join(r->root, r->config.link.items[i]);
		glob_t g;

		if (!glob(pattern, 0, NULL, &g)) {
			for (j = 0; j < g.gl_pathc; j++)
				strlist_push(out, g.gl_pathv[j] + strlen(r->root) + 1);
			globfree(&g);
		}
		free(pattern);
	}
}

static void render_create_script(struct spawn *sp, struct strbuf *out)
{
	struct agent_repo *r = &sp->repo;
	struct task *t = &sp->task;
	char *include = path_join(r->root, ".worktreeinclude");
	struct strlist links = STRLIST_INIT;
	struct stat st;
	size_t i;

	sb_addf(out, "#!/bin/sh\n"
		"# shellcheck disable=SC1003,SC2016 # every quoted value is meant literally\n"
		"# The plain git steps of `git agent spawn --create` for task %s:\n"
		"# a branch at the base, a worktree, then the setup of the new worktree.\n"
		"set -eu\n\n", t->slug);
	sh_var(out, "main", r->root);
	sh_var(out, "worktree", t->worktree);
	sh_var(out, "branch", t->branch);
	sh_var(out, "base", t->base);
	sb_adds(out, "\ncd \"$main\"\n");
	if (r->config.fetch) {
		sb_adds(out, "git fetch ");
		sq_quote(out, r->config.remote);
		sb_addch(out, '\n');
	}
	sb_adds(out, "base_sha=$(git rev-parse --verify \"$base^{commit}\")\n"
		"git branch --no-track \"$branch\" \"$base_sha\"\n"
		"mkdir -p \"$(dirname \"$worktree\")\"\n"
		"git worktree add \"$worktree\" \"$branch\"\n");
	if (!stat(include, &st) || r->config.copy.nr) {
		sb_adds(out, "\n# Copy untracked and ignored files that match .worktreeinclude"
			" and agent.copy.\ngit ls-files -z --others --ignored");
		if (!stat(include, &st))
			sb_adds(out, " --exclude-from=.worktreeinclude");
		for (i = 0; i < r->config.copy.nr; i++) {
			sb_adds(out, " --exclude=");
			sq_quote(out, r->config.copy.items[i]);
		}
		sb_adds(out, " |\n\txargs -0 -r cp -P -p -n --parents -t \"$worktree\" --\n");
	}
	link_targets(r, &links);
	for (i = 0; i < links.nr; i++) {
		sb_adds(out, "\nmkdir -p \"$(dirname \"$worktree\"/");
		sq_quote(out, links.items[i]);
		sb_adds(out, ")\"\nln -s \"$main\"/");
		sq_quote(out, links.items[i]);
		sb_adds(out, " \"$worktree\"/");
		sq_quote(out, links.items[i]);
		sb_addch(out, '\n');
	}
	strlist_clear(&links);
	sb_adds(out, "\nif [ -f \"$worktree/.gitmodules\" ]; then\n"
		"\tgit -C \"$worktree\" submodule update --init --recursive\nfi\n");
	if (r->config.setup.nr) {
		sb_adds(out, "\n# The task environment, then each agent.setup command.\n");
		for (i = 0; i < sp->env.nr; i++) {
			char *eq = strchr(sp->env.items[i], '=');
			char *name = xstrndup(sp->env.items[i], eq - sp->env.items[i]);

			sb_addf(out, "export %s\n", name);
			sh_var(out, name, eq + 1);
			free(name);
		}
		sb_adds(out, "cd \"$worktree\"\n");
		for (i = 0; i < r->config.setup.nr; i++) {
			sb_adds(out, "sh -c ");
			sq_quote(out, r->config.setup.items[i]);
			sb_addch(out, '\n');
		}
	}
	free(include);
}

static void render_review_script(struct spawn *sp, struct strbuf *out)
{
	struct task *t = &sp->task;

	sb_addf(out, "#!/bin/sh\n"
		"# shellcheck disable=SC1003,SC2016 # every quoted value is meant literally\n"
		"# The plain git steps of `git agent review` for task %s: the evidence,\n"
		"# then, when run with --merge, the merge and the cleanup.\n"
		"set -eu\n\n", t->slug);
	sh_var(out, "main", sp->repo.root);
	sh_var(out, "worktree", t->worktree);
	sh_var(out, "branch", t->branch);
	sh_var(out, "base", t->base);
	sb_adds(out,
		"\necho '== uncommitted changes in the task worktree'\n"
		"git -C \"$worktree\" status --porcelain\n"
		"echo '== diff stat against the merge base'\n"
		"git -C \"$main\" diff --stat=80 \"$base...$branch\"\n"
		"echo '== commits'\n"
		"git -C \"$main\" log --oneline \"$base..$branch\"\n"
		"patch=$(mktemp)\n"
		"git -C \"$main\" diff --binary --full-index \"$base...$branch\" >\"$patch\"\n"
		"echo \"== the full patch is in $patch\"\n"
		"\n"
		"[ \"${1-}\" = --merge ] || exit 0\n"
		"if [ -n \"$(git -C \"$worktree\" status --porcelain)\" ]; then\n"
		"\techo \"refusing to merge: $worktree has uncommitted changes\" >&2\n"
		"\texit 1\n"
		"fi\n"
		"if [ \"$(git -C \"$main\" symbolic-ref --quiet --short HEAD)\" != \"$base\" ]; then\n"
		"\techo \"refusing to merge: check out $base in $main first\" >&2\n"
		"\texit 1\n"
		"fi\n"
		"git -C \"$main\" merge --no-ff -m \"Merge task $branch\" \"$branch\"\n"
		"git -C \"$main\" worktree remove \"$worktree\"\n"
		"git -C \"$main\" branch -d \"$branch\"\n");
}

static void write_folder_file(struct spawn *sp, const char *name, struct strbuf *text,
			      mode_t mode)
{
	char *path = path_join(sp->task.folder, name);

	if (write_file_atomic(path, text->buf ? text->buf : "", text->len, mode) < 0)
		die_errno("cannot write '%s'", esc_free(path));
	free(path);
	sb_reset(text);
}

/* The task folder: packet, README and the two scripts. */
static void write_task_folder(struct spawn *sp)
{
	char *commands = path_join(sp->task.folder, "commands");
	struct strbuf text = STRBUF_INIT;
	struct stat st;

	if (stat(sp->task.folder, &st) < 0)
		sp->made_folder = 1;
	if (mkdir_p(commands, 0777) < 0) {
		free(commands);
		die_errno("cannot create the task folder '%s'", esc(sp->task.folder));
	}
	if (!sp->keep_packet) {
		render_packet(sp, &text);
		write_folder_file(sp, "packet.md", &text, 0666);
	}
	render_readme(sp, &text);
	write_folder_file(sp, "README.md", &text, 0666);
	render_create_script(sp, &text);
	write_folder_file(sp, "commands/create-worktree.sh", &text, 0777);
	render_review_script(sp, &text);
	write_folder_file(sp, "commands/review-before-merge.sh", &text, 0777);
	sb_release(&text);
	free(commands);
}

static void log_planned(struct spawn *sp)
{
	struct task *t = &sp->task;
	json_t *e = trace_event("task.planned", t->slug);

	json_object_set_new(e, "title", json_text(t->title));
	json_object_set_new(e, "agent", json_text(t->agent));
	json_object_set_new(e, "branch", json_text(t->branch));
	json_object_set_new(e, "base", json_text(t->base));
	json_object_set_new(e, "base_sha", json_text(t->base_sha));
	json_object_set_new(e, "worktree", json_text(t->worktree));
	json_object_set_new(e, "folder", json_text(t->folder));
	trace_log_or_die(&sp->repo, e);
}

static int create_branch(struct spawn *sp, struct strbuf *why)
{
	git_commit *commit = NULL;
	git_reference *ref = NULL;
	long waited = 0;
	int err;

	if (git_commit_lookup(&commit, sp->repo.repo, &sp->base_oid) < 0) {
		sb_addf(why, "cannot read base commit: %s", git_error_text());
		return -1;
	}
	while ((err = git_branch_create(&ref, sp->repo.repo, sp->task.branch, commit, 0)) == GIT_ELOCKED &&
	       lock_backoff(&waited))
		;
	git_commit_free(commit);
	if (err < 0) {
		sb_addf(why, "cannot create branch '%s': %s", sp->task.branch, git_error_text());
		return -1;
	}
	git_reference_free(ref);
	sp->made_branch = 1;
	test_die_point("spawn-branch");
	return 0;
}

/*
 * A `git worktree prune` (git gc runs one) that met our add before git
 * wrote .git/worktrees/<id>/gitdir removes what it finds there, and our
 * add fails: "could not open '.git/worktrees/<id>/gitdir' for writing".
 * What the prune could not remove yet is ours: it goes before the retry.
 */
static void remove_pruned_entry(const struct agent_repo *r, const char *message)
{
	const char *end = strstr(message, "/gitdir' for writing"), *id = end;
	char *entry;

	if (!end || !strstr(message, "could not open"))
		return;
	while (id > message && id[-1] != '/' && id[-1] != '\'')
		id--;
	if (id == end || *id == '.' || id - message < 10 || strncmp(id - 10, "worktrees/", 10))
		return;
	entry = xstrfmt("%s/worktrees/%.*s", r->common_dir, (int)(end - id), id);
	remove_tree(entry);
	free(entry);
}

/*
 * git worktree add, with the dirty check of the main worktree run beside
 * it: the check costs as much as a tenth of the checkout, and a refusal
 * stops the checkout and takes back the worktree like any other failure.
 */
static int add_worktree(struct spawn *sp, int check_dirty, struct strbuf *why)
{
	const char *argv[] = { "worktree", "add", "--quiet", sp->task.worktree, sp->task.branch, NULL };
	struct strbuf dirty = STRBUF_INIT;
	struct child c = CHILD_INIT;
	long waited = 0;
	int ret, lock;

	if (mkdir_p(sp->repo.config.worktree_dir, 0777) < 0) {
		sb_addf(why, "cannot create '%s': %s", sp->repo.config.worktree_dir, strerror(errno));
		return -1;
	}
	c.dir = sp->repo.root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_err = 1;
	c.stdout_to_stderr = 1;
	c.new_process_group = 1;
	c.interrupt = &interrupted;	/* Ctrl-C reaches us, not its group */
	sp->made_worktree = 1;	/* even a failed add may leave something behind */
	progress("checking out '%s' into '%s'...", sp->task.branch, sp->task.worktree);
	lock = hold_worktree_add(&sp->repo);	/* released before a die: the rollback prunes */
	if (start_git(&c, argv) < 0) {
		release_worktree_lock(lock);
		die_errno("cannot run git to add a worktree");
	}
	if (check_dirty && main_worktree_changes(&sp->repo, &dirty)) {
		pid_t pgid = c.pid;

		kill(-pgid, SIGTERM);
		finish_child(&c);
		kill_group(pgid, NULL, 1);	/* the checkout git started, too */
		release_worktree_lock(lock);
		die("the main worktree has uncommitted changes:%s\n"
		    "hint: commit or stash them, or use --allow-dirty", dirty.buf);
	}
	ret = finish_child(&c);
	while (ret && is_contention(c.err.buf) && lock_backoff(&waited)) {
		remove_pruned_entry(&sp->repo, c.err.buf);
		sb_reset(&c.err);
		if ((ret = run_git(&c, argv)) < 0) {
			release_worktree_lock(lock);
			die_errno("cannot run git to add a worktree");
		}
	}
	release_worktree_lock(lock);
	if (ret && !interrupted)
		sb_addf(why, "git worktree add failed: %s", c.err.len ? c.err.buf : "");
	else if (!ret && c.err.len)
		fputs(c.err.buf, stderr);	/* hook output and progress */
	child_release(&c);
	sb_release(&dirty);
	return ret ? -1 : 0;
}

/*
 * Whether path's directory, symlinks resolved, is inside the worktree: a
 * symlink committed in the base must not carry a copy or link outside it.
 */
static int lands_in_worktree(struct spawn *sp, const char *path)
{
	char *dir = xstrndup(path, strrchr(path, '/') - path);
	char *real = path_canonical(dir), *worktree = path_canonical(sp->task.worktree);
	int inside = path_is_inside(real, worktree);

	if (!inside)
		warning("not copying or linking '%s': '%s' leads outside the worktree", esc(path),
			esc(dir));
	free(dir);
	free(real);
	free(worktree);
	return inside;
}

static int copy_file(const char *from, const char *to, struct strbuf *why)
{
	char buf[65536];
	struct stat st;
	int in = -1, out = -1, ret = -1;
	ssize_t n;

	if (lstat(from, &st) < 0)
		return 0;	/* gone since it was listed */
	mkdir_for(to, 0777);	/* open() or symlink() below reports a failure */
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t len = readlink(from, target, sizeof(target) - 1);

		if (len < 0 || (target[len] = '\0', symlink(target, to) < 0))
			goto fail;
		return 0;
	}
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto fail;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, n) < 0)
			goto fail;
	if (n < 0 || fchmod(out, st.st_mode & 07777) < 0)
		goto fail;
	ret = 0;
fail:
	if (ret < 0)
		sb_addf(why, "cannot copy '%s' to '%s': %s", from, to, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && !ret)
		ret = -1;
	return ret;
}

/* agent.copy and .worktreeinclude: gitignore patterns, matched by git. */
static int copy_files(struct spawn *sp, int *copied, struct strbuf *why)
{
	struct agent_repo *r = &sp->repo;
	char *include = path_join(r->root, ".worktreeinclude");
	struct strlist args = STRLIST_INIT;
	struct child c = CHILD_INIT;
	struct stat st;
	const char *p, *end;
	int have_include = !stat(include, &st), ret = 0;
	size_t i;

	if (!have_include && !r->config.copy.nr) {
		free(include);
		return 0;
	}
	strlist_push(&args, "ls-files");
	strlist_push(&args, "-z");
	strlist_push(&args, "--others");
	strlist_push(&args, "--ignored");
	if (have_include) {
		char *opt = xstrfmt("--exclude-from=%s", include);

		strlist_push(&args, opt);
		free(opt);
	}
	for (i = 0; i < r->config.copy.nr; i++) {
		char *opt = xstrfmt("--exclude=%s", r->config.copy.items[i]);

		strlist_push(&args, opt);
		free(opt);
	}
	c.dir = r->root;
	c.clean_git_env = 1;
	c.no_stdin = 1;
	c.capture_out = 1;
	c.capture_err = 1;
	if (run_git(&c, (const char **)args.items)) {
		sb_addf(why, "cannot list the files to copy: %s", c.err.buf ? c.err.buf : "");
		ret = -1;
	}
	for (p = c.out.buf; !ret && p && p < c.out.buf + c.out.len; p = end + 1) {
		char *from, *to;

		end = p + strlen(p);
		from = path_join(r->root, p);
		to = path_join(sp->task.worktree, p);
		if (lstat(to, &st) < 0 && lands_in_worktree(sp, to)) {
			ret = copy_file(from, to, why);
			*copied += !ret;
		}
		free(from);
		free(to);
	}
	child_release(&c);
	strlist_clear(&args);
	free(include);
	return ret;
}

/* agent.link: symlinks from the worktree to the main worktree's paths. */
static int link_paths(struct spawn *sp, int *linked, struct strbuf *why)
{
	struct strlist paths = STRLIST_INIT;
	int ret = 0;
	size_t i;

	link_targets(&sp->repo, &paths);
	for (i = 0; i < paths.nr && !ret; i++) {
		char *from = path_join(sp->repo.root, paths.items[i]);
		char *to = path_join(sp->task.worktree, paths.items[i]);
		struct stat st;

		if (lstat(to, &st) < 0 && lands_in_worktree(sp, to)) {
			if (mkdir_for(to, 0777) < 0 || symlink(from, to) < 0) {
				sb_addf(why, "cannot link '%s': %s", to, strerror(errno));
				ret = -1;
			} else {
				(*linked)++;
			}
		}
		free(from);
		free(to);
	}
	strlist_clear(&paths);
	return ret;
}

static int init_submodules(struct spawn *sp, struct strbuf *why)
{
	const char *argv[] = { "submodule", "update", "--init", "--recursive", "--quiet", NULL };
	char *gitmodules = path_join(sp->task.worktree, ".gitmodules");
	struct child c = CHILD_INIT;
	struct stat st;
	int ret = 0;

	if (!stat(gitmodules, &st)) {
		c.dir = sp->task.worktree;
		c.clean_git_env = 1;
		c.no_stdin = 1;
		c.capture_err = 1;
		c.stdout_to_stderr = 1;
		c.interrupt = &interrupted;
		progress("initialising submodules...");
		if (git_with_retry(&c, argv, "initialise submodules")) {
			sb_addf(why, "cannot initialise submodules: %s", c.err.buf ? c.err.buf : "");
			ret = -1;
		}
		child_release(&c);
	}
	free(gitmodules);
	return ret;
}

static int run_setup(struct spawn *sp, struct strbuf *why)
{
	size_t i;

	test_die_point("spawn-copied");
	for (i = 0; i < sp->repo.config.setup.nr; i++) {
		const char *cmd = sp->repo.config.setup.items[i];
		const char *argv[4];
		struct child c = CHILD_INIT;
		json_t *e;
		int ret;

		task_command(&c, argv, cmd, &sp->task, &sp->env);
		c.stdout_to_stderr = 1;	/* stdout is for our summary or JSON */
		c.interrupt = &interrupted;
		progress("running setup: %s", cmd);
		ret = run_child(&c);
		if (interrupted)
			return -1;	/* create_task says why */
		if (!ret)
			continue;
		e = trace_event("setup.failed", sp->task.slug);
		json_object_set_new(e, "command", json_text(cmd));
		json_object_set_new(e, "exit", json_integer(ret));
		trace_log(&sp->repo, e);
		sb_addf(why, "setup command '%s' failed (exit %d)", cmd, ret);
		return -1;
	}
	return 0;
}

static int set_up_worktree(struct spawn *sp, struct strbuf *why)
{
	int copied = 0, linked = 0;
	json_t *e;

	if (copy_files(sp, &copied, why) < 0 || link_paths(sp, &linked, why) < 0 ||
	    init_submodules(sp, why) < 0 || run_setup(sp, why) < 0)
		return -1;
	e = trace_event("setup.done", sp->task.slug);
	json_object_set_new(e, "copied", json_integer(copied));
	json_object_set_new(e, "linked", json_integer(linked));
	json_object_set_new(e, "commands", json_integer((json_int_t)sp->repo.config.setup.nr));
	trace_log_or_die(&sp->repo, e);
	return 0;
}

/* The spawn whose record we hold: a fatal error takes back what it made. */
static struct spawn *active_spawn;

static void undo_spawn(const char *reason)
{
	struct spawn *sp = active_spawn;

	if (!sp)
		return;
	active_spawn = NULL;
	if (sp->made_worktree)
		remove_own_worktree(&sp->repo, sp->task.worktree);
	if (sp->made_branch)
		delete_branch_at(&sp->repo, sp->task.branch, sp->task.base_sha);
	if (sp->adopted) {
		sp->task.status = TASK_PLANNED;
		if (task_write_fd(sp->record_fd, &sp->task) < 0)
			warning("cannot put the task record '%s' back", esc(sp->record));
	} else {
		if (sp->made_folder)
			remove_task_folder(sp->task.folder);
		unlink(sp->record);
	}
	log_spawn_failed(&sp->repo, sp->task.slug, reason);
}

/* From here on, any fatal error takes back everything this spawn made. */
static void hold_for_rollback(struct spawn *sp)
{
	active_spawn = sp;
	set_die_hook(undo_spawn);
}

static void create_task(struct spawn *sp, const struct spawn_options *o)
{
	struct strbuf why = STRBUF_INIT;
	json_t *e;

	catch_interrupts();
	test_die_point("spawn-folder");
	if (create_branch(sp, &why) < 0 || interrupted ||
	    add_worktree(sp, !o->allow_dirty, &why) < 0 || interrupted)
		goto fail;
	test_die_point("spawn-worktree");
	e = trace_event("worktree.created", sp->task.slug);
	json_object_set_new(e, "agent", json_text(sp->task.agent));
	json_object_set_new(e, "branch", json_text(sp->task.branch));
	json_object_set_new(e, "base", json_text(sp->task.base));
	json_object_set_new(e, "base_sha", json_string(sp->task.base_sha));
	json_object_set_new(e, "worktree", json_text(sp->task.worktree));
	trace_log_or_die(&sp->repo, e);
	if (set_up_worktree(sp, &why) < 0 || interrupted) {
		if (!interrupted && o->keep_failed) {
			set_die_hook(NULL);
			update_record(sp, TASK_CREATED);
			die("%s; the worktree is kept at '%s' (--keep-failed)", why.buf,
			    esc(sp->task.worktree));
		}
		goto fail;
	}
	test_die_point("spawn-setup");
	update_record(sp, TASK_CREATED);
	test_die_point("spawn-created");
	set_die_hook(NULL);
	sb_release(&why);
	return;
fail:
	if (interrupted && !why.len)
		sb_addf(&why, "interrupted by signal %d", (int)interrupted);
	die("cannot create task '%s': %s", sp->task.slug, why.buf);
}

static void print_result(struct spawn *sp, const struct spawn_options *o, pid_t agent)
{
	struct task *t = &sp->task;
	char *packet = path_join(t->folder, "packet.md"), *log = path_join(t->folder, "agent.log");
	char short_sha[8];

	snprintf(short_sha, sizeof(short_sha), "%.7s", t->base_sha);
	if (o->json) {
		json_t *j = json_object();
		char *record = task_record_path(&sp->repo, t->slug), *report = path_join(t->folder, "report.md");

		json_object_set_new(j, "task", json_string(t->slug));
		json_object_set_new(j, "title", json_text(t->title));
		json_object_set_new(j, "mode", json_string(sp->mode == MODE_CREATE ? "create" : "dry-run"));
		json_object_set_new(j, "adopted", json_boolean(sp->adopted));
		json_object_set_new(j, "branch", json_text(t->branch));
		json_object_set_new(j, "base", json_text(t->base));
		json_object_set_new(j, "base_sha", json_string(t->base_sha));
		json_object_set_new(j, "worktree", json_text(t->worktree));
		json_object_set_new(j, "folder", json_text(t->folder));
		json_object_set_new(j, "packet", json_text(packet));
		json_object_set_new(j, "report", json_text(report));
		json_object_set_new(j, "record", json_text(record));
		json_object_set_new(j, "trace", json_text(sp->repo.config.trace));
		json_object_set_new(j, "port", json_integer(t->port));
		if (o->run) {
			json_object_set_new(j, "rerun", json_boolean(sp->rerun));
			json_object_set_new(j, "agent_log", json_text(log));
			if (agent)
				json_object_set_new(j, "agent_pid", json_integer(agent));
		}
		json_print(j);
		free(record);
		free(report);
	} else {
		struct strbuf cd = STRBUF_INIT;

		if (sp->rerun)
			printf("running the agent of task '%s' again\n", t->slug);
		else if (sp->mode == MODE_CREATE)
			printf("created task '%s'%s\n", t->slug, sp->adopted ? " (adopted the planned task)" : "");
		else
			printf("planned task '%s' (dry run: no branch or worktree created)\n", t->slug);
		printf("  title:    %s\n", esc(t->title));
		printf("  branch:   %s (from %s at %s)\n", esc(t->branch), esc(t->base), short_sha);
		printf("  worktree: %s\n", esc(t->worktree));
		printf("  packet:   %s\n", esc(packet));
		if (o->run) {
			printf("  port:     %d\n", t->port);
			printf("  log:      %s\n", esc(log));
			if (agent)
				printf("  agent:    running (pid %ld)\n", (long)agent);
			else
				printf("  agent:    running in the foreground (--wait)\n");
			printf("next: git agent trace %s --follow; when it is done: git agent review %s\n",
			       t->slug, t->slug);
		} else if (sp->mode == MODE_CREATE) {
			sq_quote(&cd, t->worktree);
			printf("  port:     %d\n", t->port);
			printf("next: cd %s, hand the agent %s, then: git agent review %s\n",
			       esc(cd.buf), esc(packet), t->slug);
		} else {
			printf("next: git agent spawn --create --name %s\n", t->slug);
		}
		sb_release(&cd);
	}
	free(packet);
	free(log);
	finish_stdout();
}

static char *read_description(const struct spawn_options *o)
{
	struct strbuf sb = STRBUF_INIT;

	if (o->message)
		return xstrdup(o->message);
	if (!o->message_file)
		return NULL;
	if (sb_read_file(&sb, strcmp(o->message_file, "-") ? o->message_file : "/dev/stdin") < 0)
		die_errno("cannot read '%s'", esc(o->message_file));
	if (memchr(sb.buf ? sb.buf : "", '\0', sb.len))
		die("'%s' holds a NUL byte: the description must be text", esc(o->message_file));
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	return sb_detach(&sb);
}

/* Whether packet.md is no longer what the plan wrote: then it is kept. */
static int packet_was_edited(struct spawn *sp)
{
	char *path = path_join(sp->task.folder, "packet.md");
	struct strbuf now = STRBUF_INIT, planned = STRBUF_INIT;
	int edited = 0;

	if (!sb_read_file(&now, path)) {
		render_packet(sp, &planned);
		edited = now.len != planned.len || memcmp(now.buf, planned.buf, now.len);
		if (edited)
			warning("keeping '%s': it differs from what the plan wrote", esc(path));
	}
	sb_release(&now);
	sb_release(&planned);
	free(path);
	return edited;
}

/* The plan's text, unless this command line gives its own. */
static void apply_options_to_plan(struct spawn *sp, const struct spawn_options *o,
				  const char *description)
{
	struct task *t = &sp->task;

	if (o->title) {
		free(t->title);
		t->title = xstrdup(o->title);
	}
	if (description) {
		free(t->description);
		t->description = xstrdup(description);
	}
	if (o->scope.nr)
		strlist_copy(&t->scope, &o->scope);
	if (o->steps.nr)
		strlist_copy(&t->steps, &o->steps);
	if (o->checks.nr)
		strlist_copy(&t->checks, &o->checks);
}

/* Running a created task's agent again changes nothing of its plan. */
static void prepare_rerun(struct spawn *sp, const struct spawn_options *o,
			  const char *description)
{
	struct stat st;

	if (o->title || description || o->scope.nr || o->steps.nr || o->checks.nr || o->base)
		die("task '%s' exists: running its agent again takes no title, description, "
		    "scope, step, check or base; edit its packet instead", sp->task.slug);
	if (stat(sp->task.worktree, &st) < 0 || !S_ISDIR(st.st_mode))
		die("the worktree of task '%s' is missing: '%s'", sp->task.slug,
		    esc(sp->task.worktree));
}

static void prepare_task(struct spawn *sp, const struct spawn_options *o)
{
	char *description;
	size_t i;

	/* Before anything is allocated: LeakSanitizer counts what a die() drops. */
	if (o->name && !slug_is_valid(o->name))
		die("invalid task name '%s': use lower-case letters, digits and single "
		    "dashes, at most %d characters", esc(o->name), SLUG_MAX);
	for (i = 0; i < o->scope.nr; i++)
		check_relative_path("scope", o->scope.items[i]);
	for (i = 0; i < sp->repo.config.link.nr; i++)
		check_relative_path("agent.link value", sp->repo.config.link.items[i]);
	if (path_is_inside(sp->repo.config.worktree_dir, sp->repo.root))
		die("agent.worktreeDir '%s' is inside the main worktree '%s'; worktrees nested "
		    "in the repository break tools that walk it: choose a directory outside",
		    esc(sp->repo.config.worktree_dir), esc(sp->repo.root));
	description = read_description(o);
	sp->task.title = xstrdup(o->title ? o->title : "");
	sp->task.description = description ? xstrdup(description) : NULL;
	strlist_copy(&sp->task.scope, &o->scope);
	strlist_copy(&sp->task.steps, &o->steps);
	strlist_copy(&sp->task.checks, &o->checks);
	sp->task.status = sp->mode == MODE_CREATE ? TASK_CREATING : TASK_PLANNED;
	/* The base needs resolving before the record exists: a bad base makes nothing. */
	resolve_base(sp, o);
	reserve_task(sp, o);
	if (sp->rerun) {
		prepare_rerun(sp, o, description);
		free(description);
		return;
	}
	hold_for_rollback(sp);
	if (!*sp->task.title) {
		free(description);
		die("task '%s' is not planned, so it needs a title", sp->task.slug);
	}
	if (sp->adopted) {
		sp->keep_packet = packet_was_edited(sp);
		apply_options_to_plan(sp, o, description);
		/* The planned base may have moved: start from where it is now. */
		resolve_base(sp, o);
		update_record(sp, TASK_CREATING);
	}
	test_die_point("spawn-claimed");
	free(description);
}

/* The agent and its fallbacks: --run=<cmd> alone, else every agent.command. */
static void agent_commands(const struct agent_repo *r, const struct spawn_options *o,
			   struct strlist *out)
{
	if (o->run_command)
		strlist_push(out, o->run_command);
	else
		strlist_copy(out, &r->config.command);
	if (!out->nr)
		die("no agent to run: set agent.command (git config agent.command '<command>'), "
		    "or give --run=<command>");
}

/*
 * Starts the task's agent, holding lock (from agent_lock()); with --wait,
 * returns its exit code once it ended (and tells ready_fd its pid, for a
 * batch).
 */
static int run_agent(struct spawn *sp, const struct spawn_options *o,
		     const struct strlist *commands, int lock, pid_t *pid, int ready_fd)
{
	struct agent_run run = { &sp->repo, &sp->task, &sp->env, commands, o->timeout };
	int code = 0;

	if (o->wait)
		code = agent_wait(&run, lock, ready_fd);
	else
		*pid = agent_start(&run, lock);
	close(lock);
	return code;
}

/* One task, from the options to its agent's end with --wait: the exit code. */
static int spawn_one(const struct spawn_options *opts, int ready_fd)
{
	struct strlist commands = STRLIST_INIT;
	struct spawn sp;
	pid_t agent = 0;
	int code = 0, lock = -1;

	memset(&sp, 0, sizeof(sp));
	sp.record_fd = -1;
	sp.task.changes_round = -1;
	agent_repo_open(&sp.repo);
	sp.mode = opts->mode >= 0 ? opts->mode : (int)sp.repo.config.mode;
	if (opts->run)
		agent_commands(&sp.repo, opts, &commands);
	if (sp.mode == MODE_CREATE && (opts->fetch > 0 || (opts->fetch < 0 && sp.repo.config.fetch)))
		fetch_remote(&sp);
	prepare_task(&sp, opts);
	task_environment(&sp.repo, &sp.task, &sp.env);
	if (!sp.rerun) {
		write_task_folder(&sp);
		if (!sp.adopted)
			log_planned(&sp);
		if (sp.mode == MODE_CREATE)
			create_task(&sp, opts);
	}
	close(sp.record_fd);	/* review may write it while the agent runs */
	sp.record_fd = -1;
	/* Before anything is printed: another agent of the task may be running. */
	if (opts->run)
		lock = agent_lock(&sp.task);
	if (opts->run && !opts->wait)
		run_agent(&sp, opts, &commands, lock, &agent, -1);
	print_result(&sp, opts, agent);
	if (opts->wait)
		code = run_agent(&sp, opts, &commands, lock, &agent, ready_fd);
	task_release(&sp.task);
	strlist_clear(&sp.env);
	strlist_clear(&commands);
	free(sp.record);
	agent_repo_close(&sp.repo);
	return code;
}

/* --from: every task of a batch file, at most -j at once */

enum job_state { JOB_WAITING, JOB_SPAWNING, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED };
static const char *job_state_names[] = { "waiting", "spawning", "running", "succeeded", "failed" };

struct job {
	const struct batch_task *task;
	enum job_state state;
	pid_t pid;			/* the child that spawns and supervises */
	pid_t agent;			/* 0 until it runs */
	int ready_fd, err_fd;		/* the agent's pid; the child's stderr */
	struct strbuf err;
	int code;			/* the child's exit code */
	long long began, ended;
};

struct batch_run {
	const struct spawn_options *o;
	struct batch batch;
	struct job *jobs;
	size_t running, done;
	int tty, lines_drawn;
	int width;			/* of the longest slug */
};

/* The spawn options of one task of the file; the command line gives the rest. */
static void job_options(struct spawn_options *to, const struct spawn_options *o,
			const struct batch_task *t)
{
	*to = *o;
	to->from = NULL;
	to->name = t->slug;
	to->title = t->title;
	to->message = t->description;
	to->base = t->base ? t->base : o->base;
	to->agent = t->agent ? t->agent : o->agent;
	to->scope = t->scope;
	to->steps = t->steps;
	to->checks = t->checks;
	to->wait = o->run;
	to->json = 0;
}

/* In the child: stdout to /dev/null, stderr and the agent's pid to the batch. */
static NORETURN void run_job(struct batch_run *b, struct job *job, int ready, int err)
{
	struct spawn_options to;
	int fd = open("/dev/null", O_WRONLY);

	dup2(fd, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	close(fd);
	close(err);
	job_options(&to, b->o, job->task);
	exit(spawn_one(&to, ready));
}

static void start_job(struct batch_run *b, struct job *job)
{
	int ready[2], err[2];

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		die_errno("cannot make a pipe");
	fflush(NULL);
	job->pid = fork();
	if (job->pid < 0)
		die_errno("cannot start a task");
	if (!job->pid) {
		close(ready[0]);
		close(err[0]);
		run_job(b, job, ready[1], err[1]);
	}
	close(ready[1]);
	close(err[1]);
	job->ready_fd = ready[0];
	job->err_fd = err[0];
	job->state = JOB_SPAWNING;
	job->began = monotonic_ms();
	b->running++;
}

static void job_text(struct strbuf *out, const struct job *job, long long now)
{
	long long ms = (job->ended ? job->ended : now) - job->began;

	sb_adds(out, job_state_names[job->state]);
	if (job->state == JOB_RUNNING)
		sb_addf(out, " (pid %ld)", (long)job->agent);
	if (job->state == JOB_SUCCEEDED || job->state == JOB_FAILED) {
		if (job->agent || !job->code)
			sb_addf(out, " (exit %d)", job->code);
		else
			sb_adds(out, " (spawn failed)");
	}
	if (job->state != JOB_WAITING)
		sb_addf(out, "  %llds", ms / 1000);
}

/* On a terminal the lines of every task, redrawn; otherwise a line per change. */
static void show_jobs(struct batch_run *b, struct job *changed)
{
	struct strbuf out = STRBUF_INIT;
	long long now = monotonic_ms();
	size_t i;

	if (b->o->json)
		return;
	if (!b->tty) {
		if (changed) {
			sb_addf(&out, "%s: ", changed->task->slug);
			job_text(&out, changed, now);
			printf("%s\n", out.buf);
			fflush(stdout);
		}
		sb_release(&out);
		return;
	}
	if (b->lines_drawn)
		sb_addf(&out, "\033[%dA", b->lines_drawn);
	for (i = 0; i < b->batch.nr; i++) {
		sb_addf(&out, "\r\033[K  %-*s  ", b->width, b->jobs[i].task->slug);
		job_text(&out, &b->jobs[i], now);
		sb_addch(&out, '\n');
	}
	b->lines_drawn = b->batch.nr;
	fputs(out.buf, stdout);
	fflush(stdout);
	sb_release(&out);
}

static struct job *job_of(struct batch_run *b, pid_t pid)
{
	size_t i;

	for (i = 0; i < b->batch.nr; i++)
		if (b->jobs[i].pid == pid && b->jobs[i].state != JOB_WAITING &&
		    b->jobs[i].state < JOB_SUCCEEDED)
			return &b->jobs[i];
	return NULL;
}

/* Reads what the running children say; returns the job whose state changed. */
static struct job *read_jobs(struct batch_run *b, int timeout)
{
	struct pollfd *fds = xcalloc(2 * b->batch.nr + 1, sizeof(*fds));
	struct job *changed = NULL;
	size_t i, n = 0;

	for (i = 0; i < b->batch.nr; i++) {
		fds[n++] = (struct pollfd){ b->jobs[i].ready_fd, POLLIN, 0 };
		fds[n++] = (struct pollfd){ b->jobs[i].err_fd, POLLIN, 0 };
	}
	if (poll(fds, n, timeout) > 0) {
		for (i = 0; i < b->batch.nr; i++) {
			struct job *job = &b->jobs[i];
			char buf[4096];
			ssize_t got;

			if (job->ready_fd >= 0 && fds[2 * i].revents) {
				pid_t pid = 0;

				if (read(job->ready_fd, &pid, sizeof(pid)) == sizeof(pid) && pid > 0) {
					job->agent = pid;
					job->state = JOB_RUNNING;
					changed = job;
				}
				close(job->ready_fd);
				job->ready_fd = -1;
			}
			if (job->err_fd >= 0 && fds[2 * i + 1].revents) {
				got = read(job->err_fd, buf, sizeof(buf));
				if (got > 0 && job->err.len < 65536)
					sb_add(&job->err, buf, got);
				else if (got <= 0)
					close(job->err_fd), job->err_fd = -1;
			}
		}
	}
	free(fds);
	return changed;
}

static struct job *reap_job(struct batch_run *b)
{
	int status;
	pid_t pid = waitpid(-1, &status, WNOHANG);
	struct job *job = pid > 0 ? job_of(b, pid) : NULL;

	if (!job)
		return NULL;
	while (job->err_fd >= 0)	/* the rest of what it said */
		read_jobs(b, 100);
	job->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	job->state = job->code ? JOB_FAILED : JOB_SUCCEEDED;
	job->ended = monotonic_ms();
	b->running--;
	b->done++;
	return job;
}

static void print_job_json(const struct job *job)
{
	json_t *j = json_object();
	char *line;

	json_object_set_new(j, "task", json_string(job->task->slug));
	json_object_set_new(j, "state", json_string(job_state_names[job->state]));
	json_object_set_new(j, "exit_code", json_integer(job->code));
	json_object_set_new(j, "agent_pid", job->agent ? json_integer(job->agent) : json_null());
	json_object_set_new(j, "duration_ms", json_integer(job->ended - job->began));
	json_object_set_new(j, "error", job->err.len ? json_text(job->err.buf) : json_null());
	line = json_dumps(j, JSON_COMPACT);
	puts(line);
	free(line);
	json_decref(j);
}

static int summarize_jobs(struct batch_run *b)
{
	size_t i, failed = 0;

	for (i = 0; i < b->batch.nr; i++) {
		const struct job *job = &b->jobs[i];

		if (b->o->json)
			print_job_json(job);
		if (job->state == JOB_SUCCEEDED)
			continue;
		failed++;
		if (!b->o->json && job->err.len) {
			struct strbuf shown = STRBUF_INIT;

			escape_control_keeping(&shown, job->err.buf, "\n");
			printf("%s:\n", job->task->slug);
			for (char *line = strtok(shown.buf, "\n"); line; line = strtok(NULL, "\n"))
				printf("  %s\n", line);
			sb_release(&shown);
		}
	}
	if (!b->o->json)
		printf("%zu task%s: %zu succeeded, %zu failed\n", b->batch.nr,
		       b->batch.nr == 1 ? "" : "s", b->batch.nr - failed, failed);
	finish_stdout();
	return failed ? EXIT_GATE : 0;
}

static int spawn_batch(const struct spawn_options *o)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	struct strlist commands = STRLIST_INIT;
	struct batch_run b;
	struct agent_repo repo;
	size_t next = 0, i;
	struct winsize ws;
	long jobs;
	int code;

	memset(&b, 0, sizeof(b));
	b.o = o;
	if (sb_read_file(&text, strcmp(o->from, "-") ? o->from : "/dev/stdin") < 0)
		die_errno("cannot read '%s'", esc(o->from));
	if (batch_parse(&b.batch, o->from, text.buf ? text.buf : "", text.len, &err) < 0)
		die("%s", err.buf);
	/* What every task needs is checked before any is spawned. */
	agent_repo_open(&repo);
	jobs = o->jobs ? o->jobs : repo.config.jobs;
	if (o->run)
		agent_commands(&repo, o, &commands);
	strlist_clear(&commands);
	agent_repo_close(&repo);
	b.jobs = xcalloc(b.batch.nr, sizeof(*b.jobs));
	for (i = 0; i < b.batch.nr; i++) {
		b.jobs[i].task = &b.batch.tasks[i];
		b.jobs[i].ready_fd = b.jobs[i].err_fd = -1;
	}
	for (i = 0; i < b.batch.nr; i++)
		if ((int)strlen(b.batch.tasks[i].slug) > b.width)
			b.width = strlen(b.batch.tasks[i].slug);
	/* Lines redrawn in place must fit the terminal; else one line per change. */
	b.tty = isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) &&
		b.batch.nr + 2 <= ws.ws_row;
	catch_interrupts();
	show_jobs(&b, NULL);
	while (b.done < b.batch.nr) {
		struct job *changed;

		while (!interrupted && next < b.batch.nr && b.running < (size_t)jobs) {
			start_job(&b, &b.jobs[next]);
			show_jobs(&b, &b.jobs[next++]);
		}
		if (interrupted && next < b.batch.nr && !b.running)
			break;
		if ((changed = read_jobs(&b, 200)))
			show_jobs(&b, changed);
		while ((changed = reap_job(&b)))
			show_jobs(&b, changed);
		if (b.tty)
			show_jobs(&b, NULL);	/* the clocks */
	}
	code = interrupted ? 128 + (int)interrupted : summarize_jobs(&b);
	for (i = 0; i < b.batch.nr; i++)
		sb_release(&b.jobs[i].err);
	free(b.jobs);
	batch_release(&b.batch);
	sb_release(&text);
	sb_release(&err);
	return code;
}

int main(int argc, char **argv)
{
	struct spawn_options opts;
	int code;

	ignore_file_size_signal();
	parse_options(&opts, argc, argv);
	code = opts.from ? spawn_batch(&opts) : spawn_one(&opts, -1);
	free(opts.title);
	strlist_clear(&opts.scope);
	strlist_clear(&opts.steps);
	strlist_clear(&opts.checks);
	return code;
}
