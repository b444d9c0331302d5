/*
 * Faults the suite promises to survive, each made for real: a full
 * filesystem (a small tmpfs) and a file-size limit (`ulimit -f`) while the
 * trace or a task folder is written; a command killed with SIGKILL between
 * any two steps of `spawn --create` and `review --merge`
 * (GIT_AGENT_TEST_DIE_AT); a read-only or unreadable .git/agent; and lock
 * contention with `git status` and `git gc --auto`.
 *
 * Each test runs in a mount namespace of its own, so the filesystems it
 * mounts vanish with it. Without the right to mount (not root, no
 * CAP_SYS_ADMIN) those tests are skipped, saying why.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

/* Why this test cannot mount, or NULL when it can. */
static const char *cannot_mount;
static char *mounted[8];
static size_t mounted_nr;

static void faults_setup(void)
{
	sandbox_setup();
	mounted_nr = 0;
	cannot_mount = NULL;
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		cannot_mount = strf("cannot make a mount namespace: %s (needs root or CAP_SYS_ADMIN)",
				    strerror(errno));
}

static void faults_teardown(void)
{
	while (mounted_nr)
		umount2(mounted[--mounted_nr], MNT_DETACH);
	sandbox_teardown();
}

TestSuite(disk_full, .init = faults_setup, .fini = faults_teardown, .timeout = 120);
TestSuite(file_size, .init = faults_setup, .fini = faults_teardown, .timeout = 120);

static void remember_mount(const char *dir)
{
	cr_assert(mounted_nr < sizeof(mounted) / sizeof(*mounted), "too many mounts");
	mounted[mounted_nr++] = strf("%s", dir);
}

/* A tmpfs of size_kb at dir, or the test is skipped. */
static void mount_tmpfs(const char *dir, int size_kb)
{
	if (cannot_mount)
		cr_skip_test("%s", cannot_mount);
	make_dirs(dir);
	if (mount("tmpfs", dir, "tmpfs", 0, strf("size=%dk,mode=0755", size_kb)) < 0)
		cr_skip_test("cannot mount a tmpfs: %s (needs root or CAP_SYS_ADMIN)", strerror(errno));
	remember_mount(dir);
}

/* Fills the filesystem of dir until no byte more fits. */
static void fill_up(const char *dir)
{
	char block[4096];
	int fd = open(strf("%s/filler", dir), O_WRONLY | O_CREAT | O_APPEND, 0644);
	ssize_t n;

	cr_assert(fd >= 0, "open filler: %s", strerror(errno));
	memset(block, 'x', sizeof(block));
	do
		n = write(fd, block, sizeof(block));
	while (n > 0);
	cr_assert(n < 0 && errno == ENOSPC, "filling %s: %s", dir, strerror(errno));
	while (write(fd, block, 1) == 1)
		;
	close(fd);
	cr_assert(write(open(strf("%s/probe", dir), O_WRONLY | O_CREAT, 0644), block, 4096) < 0,
		  "%s is not full", dir);
}

static long file_size(const char *path)
{
	struct stat st;

	cr_assert(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return (long)st.st_size;
}

/*
 * Appends one valid event to the trace so that it is exactly size bytes:
 * where the next append starts matters (a tmpfs page, a `ulimit -f` block).
 */
static void pad_trace(const char *path, long size)
{
	static const char head[] = "{\"v\":1,\"ts\":\"2026-01-01T00:00:00.000Z\","
				   "\"event\":\"note.pad\",\"task\":\"pad\",\"pad\":\"";
	long have = path_exists(path) ? file_size(path) : 0;
	long pad = size - have - (long)strlen(head) - 3;
	FILE *f = fopen(path, "a");

	cr_assert(pad >= 0, "the trace is already %ld bytes, more than %ld", have, size);
	cr_assert(f != NULL, "open %s: %s", path, strerror(errno));
	fputs(head, f);
	while (pad--)
		putc('x', f);
	fputs("\"}\n", f);
	cr_assert(fclose(f) == 0);
	cr_assert_eq(file_size(path), size);
}

/* The trace holds exactly what it held before: no partial line, not one byte more. */
static void assert_trace_unchanged(const char *path, const char *before)
{
	char *now = read_file(path);

	cr_assert(now != NULL, "the trace '%s' is gone", path);
	cr_assert_eq(strlen(now), strlen(before), "the trace changed from %zu to %zu bytes:\n%s",
		     strlen(before), strlen(now), visible(now + (strlen(now) > 200 ? strlen(now) - 200 : 0)));
	cr_assert(!memcmp(now, before, strlen(before)), "an earlier line of the trace changed");
}

/* The trace begins with before, byte for byte, and every line after is a whole event. */
static json_t *assert_trace_grew(const char *path, const char *before)
{
	char *now = read_file(path);

	cr_assert(now != NULL, "the trace '%s' is gone", path);
	cr_assert(strlen(now) >= strlen(before) && !memcmp(now, before, strlen(before)),
		  "an earlier line of the trace changed");
	return trace_read(path);	/* asserts that each line is whole */
}

/* Entries of dir whose name has a temporary file's mark. */
static int leftovers(const char *dir)
{
	return atoi(run_ok(NULL, "find %s -name '*.new-*' -o -name '*.tmp-*' -o -name '.new-*' | wc -l",
			   sh_quote(dir)));
}

/* git knows of no worktree that is stale, half-made or prunable. */
static void assert_no_stale_worktree(const char *repo)
{
	assert_not_contains(run_ok(repo, "git worktree list --porcelain"), "prunable");
	cr_assert_str_empty(run_ok(repo, "git worktree prune -n -v 2>&1"));
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), worktree_count(repo) - 1,
		     ".git/worktrees has an entry git does not list");
}

/*
 * Nothing of task slug exists, its trace events aside: no record, no task
 * folder (in tasks, the agent.dir), no branch, no worktree or its admin
 * dir, no temporary file.
 */
static void assert_no_task(const char *repo, const char *tasks, const char *slug)
{
	char *records = strf("%s/.git/agent/tasks", repo);

	cr_assert(!path_exists(strf("%s/%s.ini", records, slug)), "the task record is left");
	cr_assert(!path_exists(strf("%s/%s", tasks, slug)), "the task folder is left");
	cr_assert_str_empty(run_ok(repo, "git for-each-ref refs/heads/agent/%s", slug), "a branch is left");
	cr_assert(!path_exists(sandbox_path("repo-worktrees/%s", slug)), "the worktree is left");
	cr_assert(!worktree_listed(repo, sandbox_path("repo-worktrees/%s", slug)), "git lists the worktree");
	assert_no_stale_worktree(repo);
	cr_assert_eq(leftovers(records), 0, "a temporary file is left in %s", records);
	if (path_exists(tasks))
		cr_assert_eq(leftovers(tasks), 0, "a temporary file is left in %s", tasks);
}

/* A task 't' created in repo, with one commit on its branch. */
static const char *task_with_a_commit(const char *repo, const char *file, size_t size)
{
	json_t *task = spawn_json(repo, "--create --name t Task");
	const char *wt = json_str(task, "worktree");
	char *text = keep(malloc(size + 1));
	size_t i;

	for (i = 0; i < size; i++)
		text[i] = i % 64 == 63 ? '\n' : 'a' + i % 26;
	text[size] = '\0';
	write_file(strf("%s/%s", wt, file), text, 0644);
	run_ok(wt, "git add -A && git commit -q -m 'The work'");
	return json_str(task, "folder");
}

/* Rounds of task folder: review/NN directories, and .new-* ones that must not stay. */
static int rounds(const char *folder)
{
	return count_entries(strf("%s/review", folder));
}

/* The trace on a full filesystem (agent.trace) */

/*
 * The trace on a full tmpfs, ending 100 bytes before a page boundary: the
 * next line fits in part, so its write is short before ENOSPC and must be
 * cut back. Returns the trace's path.
 */
static char *trace_on_a_full_disk(const char *repo)
{
	char *dir = sandbox_path("full"), *trace = strf("%s/trace.jsonl", dir);

	mount_tmpfs(dir, 64);
	run_ok(repo, "git config agent.trace %s", sh_quote(trace));
	spawn_json(repo, "'Planned before'");
	pad_trace(trace, 3 * 4096 - 100);
	fill_up(dir);
	return trace;
}

static void assert_no_space_for(const struct result *r, const char *path)
{
	assert_contains(r->err, strf("fatal: cannot append to the trace '%s': No space left on device",
				     path));
}

Test(disk_full, dry_run_spawn_fails_and_leaves_the_trace_whole)
{
	char *repo = make_repo("repo"), *trace = trace_on_a_full_disk(repo);
	char *before = read_file(trace);
	struct result r;

	run(&r, repo, "git agent spawn 'Disk full'");
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
	assert_no_task(repo, strf("%s/.git/agent/tasks", repo), "disk-full");
}

Test(disk_full, create_spawn_fails_and_rolls_everything_back)
{
	char *repo = make_repo("repo"), *trace = trace_on_a_full_disk(repo);
	char *before = read_file(trace), *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "git agent spawn --create 'Disk full'");
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
	assert_no_task(repo, strf("%s/.git/agent/tasks", repo), "disk-full");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
}

/* The planned task is adopted first, then the trace fills: it is planned again after. */
Test(disk_full, create_of_a_planned_task_puts_the_plan_back)
{
	char *repo = make_repo("repo"), *trace = trace_on_a_full_disk(repo);
	char *record = strf("%s/.git/agent/tasks/planned-before.ini", repo);
	char *plan = read_file(record), *before = read_file(trace);
	struct result r;

	run(&r, repo, "git agent spawn --create 'Planned before'");
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
	cr_assert_str_eq(read_file(record), plan, "the record is not the plan it was");
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert_str_empty(run_ok(repo, "git for-each-ref refs/heads/agent/"));
	cr_assert_str_empty(run_ok(repo, "git worktree prune -n -v 2>&1"));
}

Test(disk_full, review_fails_and_records_no_round)
{
	char *repo = make_repo("repo"), *dir = sandbox_path("full"), *trace = strf("%s/trace.jsonl", dir);
	const char *folder;
	char *before;
	struct result r;

	mount_tmpfs(dir, 64);
	run_ok(repo, "git config agent.trace %s", sh_quote(trace));
	folder = task_with_a_commit(repo, "src/work.c", 100);
	pad_trace(trace, 3 * 4096 - 100);
	fill_up(dir);
	before = read_file(trace);

	run(&r, repo, "git agent review t --check true");
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
	cr_assert_eq(rounds(folder), 0, "a round, or a half-built one, is left");
	run(&r, repo, "git agent review t --merge");
	assert_status(&r, 1);
	assert_contains(r.err, "no review round yet");
	assert_trace_unchanged(trace, before);
}

Test(disk_full, trace_emit_fails_and_leaves_the_trace_whole)
{
	char *repo = make_repo("repo"), *trace = trace_on_a_full_disk(repo);
	char *before = read_file(trace);
	struct result r;

	run(&r, repo, "git agent trace --emit note.full --task planned-before -m %0200d", 0);
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
}

/* A trace ending on a page boundary: the write fails before its first byte. */
Test(disk_full, trace_emit_fails_at_a_page_boundary_too)
{
	char *repo = make_repo("repo"), *dir = sandbox_path("full"), *trace = strf("%s/trace.jsonl", dir);
	char *before;
	struct result r;

	mount_tmpfs(dir, 64);
	run_ok(repo, "git config agent.trace %s", sh_quote(trace));
	spawn_json(repo, "'Planned before'");
	pad_trace(trace, 2 * 4096);
	fill_up(dir);
	before = read_file(trace);
	run(&r, repo, "git agent trace --emit note.full --task planned-before");
	assert_status(&r, 128);
	assert_no_space_for(&r, trace);
	assert_trace_unchanged(trace, before);
}

/* Task folders on a full filesystem (agent.dir) */

static char *tasks_on_a_full_disk(const char *repo)
{
	char *dir = sandbox_path("full");

	mount_tmpfs(dir, 64);
	run_ok(repo, "git config agent.dir %s", sh_quote(dir));
	fill_up(dir);
	return dir;
}

static void assert_cannot_write_folder(const struct result *r, const char *tasks, const char *slug,
				       const char *reason)
{
	assert_contains(r->err, strf("fatal: cannot write '%s/%s/", tasks, slug));
	assert_contains(r->err, strf("': %s\n", reason));
}

Test(disk_full, dry_run_spawn_into_a_full_agent_dir_leaves_nothing)
{
	char *repo = make_repo("repo"), *trace = strf("%s/.git/agent/trace.jsonl", repo), *before;
	char *tasks;
	struct result r;

	spawn_json(repo, "'Planned before'");
	before = read_file(trace);
	tasks = tasks_on_a_full_disk(repo);
	run(&r, repo, "git agent spawn 'Disk full'");
	assert_status(&r, 128);
	assert_cannot_write_folder(&r, tasks, "disk-full", "No space left on device");
	assert_no_task(repo, tasks, "disk-full");
	cr_assert_not_null(trace_find(assert_trace_grew(trace, before), "spawn.failed", "disk-full"));
	cr_assert_null(trace_find(trace_read(trace), "task.planned", "disk-full"));
}

Test(disk_full, create_spawn_into_a_full_agent_dir_leaves_nothing)
{
	char *repo = make_repo("repo"), *refs = run_ok(repo, "git for-each-ref");
	char *tasks = tasks_on_a_full_disk(repo);
	struct result r;

	run(&r, repo, "git agent spawn --create 'Disk full'");
	assert_status(&r, 128);
	assert_cannot_write_folder(&r, tasks, "disk-full", "No space left on device");
	assert_no_task(repo, tasks, "disk-full");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_not_null(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)),
				      "spawn.failed", "disk-full"));
}

Test(disk_full, review_into_a_full_agent_dir_records_no_round)
{
	char *repo = make_repo("repo"), *dir = sandbox_path("full");
	char *trace = strf("%s/.git/agent/trace.jsonl", repo), *before;
	const char *folder;
	struct result r;

	mount_tmpfs(dir, 256);
	run_ok(repo, "git config agent.dir %s", sh_quote(dir));
	folder = task_with_a_commit(repo, "src/work.c", 20000);
	fill_up(dir);
	before = read_file(trace);

	run(&r, repo, "git agent review t");
	assert_status(&r, 128);
	assert_contains(r.err, strf("fatal: cannot write '%s/review/.new-", folder));
	assert_contains(r.err, "': No space left on device\n");
	cr_assert_eq(rounds(folder), 0, "a round, or a half-built one, is left");
	assert_trace_unchanged(trace, before);

	/* Room again: the next review is round 01. */
	cr_assert(unlink(strf("%s/filler", dir)) == 0);
	review_json(repo, 0, "t");
	cr_assert(is_dir(strf("%s/review/01", folder)));
	cr_assert_eq(rounds(folder), 1);
}

/* `ulimit -f`: the same faults from a file-size limit, SIGXFSZ default or ignored */

/* The shell's part before the command: a limit of blocks of 512 bytes. */
static const char *limit(int blocks, int ignore_sigxfsz)
{
	return strf("%sulimit -f %d;", ignore_sigxfsz ? "trap '' XFSZ; " : "", blocks);
}

/* The trace padded to 100 bytes before the limit of 128 blocks (64 KiB). */
static char *trace_near_the_limit(const char *repo)
{
	char *trace = strf("%s/.git/agent/trace.jsonl", repo);

	spawn_json(repo, "'Planned before'");
	pad_trace(trace, 128 * 512 - 100);
	return trace;
}

static void assert_too_large(const struct result *r, const char *path)
{
	assert_contains(r->err, strf("fatal: cannot append to the trace '%s': File too large", path));
}

static void spawn_past_the_limit(int ignore_sigxfsz, const char *mode)
{
	char *repo = make_repo("repo"), *trace = trace_near_the_limit(repo);
	char *before = read_file(trace), *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "%s git agent spawn %s 'Too large'", limit(128, ignore_sigxfsz), mode);
	assert_status(&r, 128);
	assert_too_large(&r, trace);
	assert_trace_unchanged(trace, before);
	assert_no_task(repo, strf("%s/.git/agent/tasks", repo), "too-large");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
}

Test(file_size, dry_run_spawn_past_the_limit_fails_whole)
{
	spawn_past_the_limit(0, "");
}

Test(file_size, dry_run_spawn_past_the_limit_fails_whole_with_sigxfsz_ignored)
{
	spawn_past_the_limit(1, "");
}

Test(file_size, create_spawn_past_the_limit_rolls_back)
{
	spawn_past_the_limit(0, "--create");
}

Test(file_size, create_spawn_past_the_limit_rolls_back_with_sigxfsz_ignored)
{
	spawn_past_the_limit(1, "--create");
}

static void emit_past_the_limit(int ignore_sigxfsz)
{
	char *repo = make_repo("repo"), *trace = trace_near_the_limit(repo);
	char *before = read_file(trace);
	struct result r;

	run(&r, repo, "%s git agent trace --emit note.big --task planned-before -m %0200d",
	    limit(128, ignore_sigxfsz), 0);
	assert_status(&r, 128);
	assert_too_large(&r, trace);
	assert_trace_unchanged(trace, before);
	/* Without the limit, the next event starts on a line of its own. */
	run_ok(repo, "git agent trace --emit note.after --task planned-before");
	cr_assert_not_null(trace_find(assert_trace_grew(trace, before), "note.after", "planned-before"));
}

Test(file_size, trace_emit_past_the_limit_fails_whole)
{
	emit_past_the_limit(0);
}

Test(file_size, trace_emit_past_the_limit_fails_whole_with_sigxfsz_ignored)
{
	emit_past_the_limit(1);
}

static void review_past_the_limit(int ignore_sigxfsz)
{
	char *repo = make_repo("repo"), *trace = strf("%s/.git/agent/trace.jsonl", repo), *before;
	const char *folder = task_with_a_commit(repo, "src/big.c", 100000);
	struct result r;

	before = read_file(trace);
	run(&r, repo, "%s git agent review t", limit(64, ignore_sigxfsz));
	assert_status(&r, 128);
	assert_contains(r.err, strf("fatal: cannot write '%s/review/.new-", folder));
	assert_contains(r.err, "/diff.patch': File too large\n");
	cr_assert_eq(rounds(folder), 0, "a round, or a half-built one, is left");
	assert_trace_unchanged(trace, before);
}

Test(file_size, review_with_a_patch_past_the_limit_records_no_round)
{
	review_past_the_limit(0);
}

Test(file_size, review_with_a_patch_past_the_limit_records_no_round_with_sigxfsz_ignored)
{
	review_past_the_limit(1);
}

static void folder_past_the_limit(int ignore_sigxfsz)
{
	char *repo = make_repo("repo"), *tasks = strf("%s/.git/agent/tasks", repo);
	char *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "%s git agent spawn --create 'Too large'", limit(2, ignore_sigxfsz));
	assert_status(&r, 128);
	assert_cannot_write_folder(&r, tasks, "too-large", "File too large");
	assert_no_task(repo, tasks, "too-large");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_not_null(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)),
				      "spawn.failed", "too-large"));
}

Test(file_size, task_folder_past_the_limit_leaves_nothing)
{
	folder_past_the_limit(0);
}

Test(file_size, task_folder_past_the_limit_leaves_nothing_with_sigxfsz_ignored)
{
	folder_past_the_limit(1);
}

/* SIGKILL at each step (GIT_AGENT_TEST_DIE_AT) */

TestSuite(die_at, .init = sandbox_setup, .fini = sandbox_teardown, .timeout = 120);

/* Runs command (a git-agent-* program) in dir until it kills itself at step. */
static void run_until_killed(const char *dir, const char *step, const char *command)
{
	struct result r;

	run(&r, dir, "GIT_AGENT_TEST_DIE_AT=%s exec %s", step, command);
	cr_assert_eq(r.status, 128 + SIGKILL, "`%s` did not die by SIGKILL at %s: exit %d\n%s%s",
		     command, step, r.status, visible(r.out), visible(r.err));
}

/* A repository whose new worktrees get a copied .env, a linked node_modules and a setup. */
static char *repo_with_setup(void)
{
	char *repo = make_repo("repo");

	write_file(strf("%s/.env", repo), "TOKEN=1\n", 0644);
	write_file(strf("%s/node_modules/pkg/index.js", repo), "module.exports = 1;\n", 0644);
	run_ok(repo, "git config agent.copy .env && git config agent.link node_modules && "
		     "git config agent.setup %s",
	       sh_quote(strf("echo \"$AGENT_TASK\" >> %s", sh_quote(sandbox_path("setup-ran")))));
	return repo;
}

/* Task slug is whole: its branch at base, its worktree listed, clean and set up. */
static void assert_task_whole(const char *repo, const char *slug, const char *base)
{
	char *wt = sandbox_path("repo-worktrees/%s", slug);

	cr_assert(worktree_listed(repo, wt), "git does not list the worktree of %s", slug);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/%s", slug), base);
	cr_assert_str_eq(run_ok(wt, "git symbolic-ref HEAD"), strf("refs/heads/agent/%s", slug));
	cr_assert_str_empty(run_ok(wt, "git status --porcelain"));
	cr_assert_str_eq(read_file(strf("%s/.env", wt)), "TOKEN=1\n");
	cr_assert(is_symlink(strf("%s/node_modules", wt)));
	assert_contains(read_file(sandbox_path("setup-ran")), strf("%s\n", slug));
	cr_assert(path_exists(strf("%s/.git/agent/tasks/%s/packet.md", repo, slug)));
}

/*
 * `spawn --create Killed` dies at step. Refs are as before it or as after
 * it; `git agent review` says what happened; `spawn --create --name killed`
 * (no title: the record keeps it) rolls the half-made task back and creates
 * it whole; nothing stale is left for git to prune.
 */
static void spawn_killed_at(const char *step)
{
	char *repo = repo_with_setup(), *base = run_ok(repo, "git rev-parse HEAD");
	char *refs, *before = strf("refs/heads/main %s", base);
	struct result r;
	json_t *task;

	run_until_killed(repo, step, "git-agent-spawn --create Killed");
	refs = run_ok(repo, "git for-each-ref --format='%%(refname) %%(objectname)'");
	cr_assert(!strcmp(refs, before) || !strcmp(refs, strf("refs/heads/agent/killed %s\n%s", base, before)),
		  "refs are neither before nor after the spawn:\n%s", refs);
	assert_not_contains(run_ok(repo, "git worktree list --porcelain"), "prunable");
	trace_read(strf("%s/.git/agent/trace.jsonl", repo));

	run(&r, repo, "git agent review killed");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'killed' was left half-made by an interrupted spawn; "
		"roll it back and create it again with: git agent spawn --create --name killed\n");

	run(&r, repo, "git agent spawn --create --json --name killed");
	assert_status(&r, 0);
	assert_contains(r.err, "warning: task 'killed' was left half-made by an interrupted spawn; "
		"rolling it back\n");
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "task"), "killed");
	cr_assert_str_eq(json_str(task, "title"), "Killed");
	cr_assert(json_is_true(json_object_get(task, "adopted")));
	assert_task_whole(repo, "killed", base);
	cr_assert_eq(worktree_count(repo), 2);
	assert_no_stale_worktree(repo);
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 2, "one record and one folder");
	cr_assert_not_null(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)),
				      "spawn.failed", "killed"));
	review_json(repo, 0, "killed");
}

Test(die_at, spawn_killed_after_claiming_the_record)
{
	spawn_killed_at("spawn-claimed");
}

Test(die_at, spawn_killed_after_writing_the_task_folder)
{
	spawn_killed_at("spawn-folder");
}

Test(die_at, spawn_killed_after_creating_the_branch)
{
	spawn_killed_at("spawn-branch");
}

Test(die_at, spawn_killed_after_adding_the_worktree)
{
	spawn_killed_at("spawn-worktree");
}

Test(die_at, spawn_killed_after_copying_and_linking)
{
	spawn_killed_at("spawn-copied");
}

Test(die_at, spawn_killed_after_the_setup_commands)
{
	spawn_killed_at("spawn-setup");
}

/* Killed after the record says created: the task is whole, and nothing needs repair. */
Test(die_at, spawn_killed_after_the_last_step_left_a_whole_task)
{
	char *repo = repo_with_setup(), *base = run_ok(repo, "git rev-parse HEAD");
	struct result r;

	run_until_killed(repo, "spawn-created", "git-agent-spawn --create Killed");
	assert_task_whole(repo, "killed", base);
	assert_no_stale_worktree(repo);
	review_json(repo, 0, "killed");
	run(&r, repo, "git agent spawn --create --name killed");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'killed' already exists");
	cr_assert_str_eq(json_str(spawn_json(repo, "--create Killed"), "task"), "killed-2");
	assert_no_stale_worktree(repo);
}

/* A task 't' with one commit on its branch, reviewed: its head. */
static char *reviewed_task(const char *repo)
{
	json_t *task = spawn_json(repo, "--create --name t --scope src Task");
	const char *wt = json_str(task, "worktree");

	write_file(strf("%s/src/feature.c", wt), "int feature;\n", 0644);
	run_ok(wt, "git add -A && git commit -q -m 'Add the feature'");
	run_ok(repo, "git agent review t");
	return run_ok(wt, "git rev-parse HEAD");
}

enum merge_step { MERGE_GATE, MERGE_REF, MERGE_WORKTREE_REMOVED, MERGE_BRANCH_DELETED };
static const char *merge_steps[] = {
	"merge-gate", "merge-ref", "merge-worktree-removed", "merge-branch-deleted"
};

/*
 * `review t --merge` into main, checked out in the main worktree or not
 * (detached HEAD), dies at step. main is the old commit or the merge; the
 * branch is there until the merge deleted it; the next `--merge` finishes
 * the merge without making a second merge commit; nothing stale is left.
 */
static void merge_killed_at(enum merge_step step, int checked_out)
{
	char *repo = make_repo("repo"), *head = reviewed_task(repo), *old, *now, *wt;
	struct result r;
	json_t *merge;

	wt = sandbox_path("repo-worktrees/t");
	if (!checked_out)
		run_ok(repo, "git checkout -q --detach");
	old = run_ok(repo, "git rev-parse main");
	run_until_killed(repo, merge_steps[step], "git-agent-review t --merge");

	now = run_ok(repo, "git rev-parse main");
	if (step == MERGE_GATE)
		cr_assert_str_eq(now, old, "main moved before the merge");
	else
		cr_assert_str_eq(run_ok(repo, "git log -1 --format=%%P main"), strf("%s %s", old, head),
				 "main is not the merge of the task");
	if (step == MERGE_BRANCH_DELETED)
		cr_assert_str_empty(run_ok(repo, "git branch --list agent/t"));
	else
		cr_assert_str_eq(run_ok(repo, "git rev-parse agent/t"), head);
	cr_assert_eq(worktree_listed(repo, wt), step < MERGE_WORKTREE_REMOVED);
	assert_no_stale_worktree(repo);
	if (checked_out)
		cr_assert_str_empty(run_ok(repo, "git status --porcelain"));
	trace_read(strf("%s/.git/agent/trace.jsonl", repo));

	if (step == MERGE_BRANCH_DELETED) {
		run(&r, repo, "git agent review t");
		assert_status(&r, 128);
		assert_contains(r.err, "or by a merge that was interrupted "
			"(then 'git agent review t --merge' finishes it)");
	}
	run(&r, repo, "git agent review t --merge --json");
	assert_status(&r, 0);
	merge = json_parse(r.out);
	cr_assert(json_is_true(json_object_get(merge, "merged")));
	if (step != MERGE_GATE)
		assert_contains(r.err, "warning: 'main' already has the work of 'agent/t'");
	cr_assert_str_eq(run_ok(repo, "git log -1 --format=%%P main"), strf("%s %s", old, head));
	cr_assert_str_eq(run_ok(repo, "git rev-list --count %s..main", old), "2",
			 "not one merge commit and the task's commit");
	cr_assert_str_eq(json_str(merge, "commit"), run_ok(repo, "git rev-parse main"));
	cr_assert_str_empty(run_ok(repo, "git branch --list agent/t"));
	cr_assert(!path_exists(wt));
	cr_assert_eq(worktree_count(repo), 1);
	assert_no_stale_worktree(repo);
	cr_assert_not_null(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)), "merge.done", "t"));
	run(&r, repo, "git agent review t --merge");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 't' was merged");
}

Test(die_at, merge_killed_after_the_gate_held)
{
	merge_killed_at(MERGE_GATE, 0);
}

Test(die_at, merge_killed_after_moving_the_base)
{
	merge_killed_at(MERGE_REF, 0);
}

Test(die_at, merge_killed_after_removing_the_worktree)
{
	merge_killed_at(MERGE_WORKTREE_REMOVED, 0);
}

Test(die_at, merge_killed_after_deleting_the_branch)
{
	merge_killed_at(MERGE_BRANCH_DELETED, 0);
}

Test(die_at, merge_in_the_main_worktree_killed_after_the_gate_held)
{
	merge_killed_at(MERGE_GATE, 1);
}

Test(die_at, merge_in_the_main_worktree_killed_after_moving_the_base)
{
	merge_killed_at(MERGE_REF, 1);
}

Test(die_at, merge_in_the_main_worktree_killed_after_removing_the_worktree)
{
	merge_killed_at(MERGE_WORKTREE_REMOVED, 1);
}

Test(die_at, merge_in_the_main_worktree_killed_after_deleting_the_branch)
{
	merge_killed_at(MERGE_BRANCH_DELETED, 1);
}

/* A squash killed after it moved the base: the next --merge adds no empty commit. */
Test(die_at, squash_killed_after_moving_the_base_is_not_made_twice)
{
	char *repo = make_repo("repo"), *head = reviewed_task(repo), *old, *squashed;
	struct result r;

	run_ok(repo, "git checkout -q --detach");
	old = run_ok(repo, "git rev-parse main");
	run_until_killed(repo, "merge-ref", "git-agent-review t --merge --style squash");
	squashed = run_ok(repo, "git rev-parse main");
	cr_assert_str_eq(run_ok(repo, "git log -1 --format=%%P main"), old);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/t"), head);
	run(&r, repo, "git agent review t --merge --style squash");
	assert_status(&r, 0);
	assert_contains(r.err, "already has the work of 'agent/t'");
	cr_assert_str_eq(run_ok(repo, "git rev-parse main"), squashed);
	cr_assert_str_empty(run_ok(repo, "git branch --list agent/t"));
	assert_no_stale_worktree(repo);
}

/* The repair of a killed create puts a plan back as it was: a packet edited by hand stays. */
Test(die_at, killed_create_of_a_planned_task_keeps_its_edited_packet)
{
	char *repo = repo_with_setup(), *base = run_ok(repo, "git rev-parse HEAD");
	const char *packet = json_str(spawn_json(repo, "Killed"), "packet");
	char *edited = strf("%s\nAlso: keep the old API.\n", read_file(packet));
	struct result r;

	write_file(packet, edited, 0644);
	run_until_killed(repo, "spawn-worktree", "git-agent-spawn --create Killed");
	run(&r, repo, "git agent spawn --create Killed");
	assert_status(&r, 0);
	assert_contains(r.err, "rolling it back");
	assert_contains(r.out, "created task 'killed' (adopted the planned task)");
	cr_assert_str_eq(read_file(packet), edited);
	assert_task_whole(repo, "killed", base);
	assert_no_stale_worktree(repo);
}

/* A read-only or unreadable .git/agent, agent.dir or agent.trace */

TestSuite(read_only, .init = faults_setup, .fini = faults_teardown, .timeout = 120);

/* Makes dir read-only with a bind mount, or skips the test. */
static void mount_read_only(const char *dir)
{
	if (cannot_mount)
		cr_skip_test("%s", cannot_mount);
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		cr_skip_test("cannot bind-mount '%s': %s", dir, strerror(errno));
	remember_mount(dir);
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		cr_skip_test("cannot make '%s' read-only: %s", dir, strerror(errno));
}

/*
 * The start of a command line that runs as root without capabilities, so
 * permission bits hold as for any user; or the test is skipped.
 */
static const char *without_privileges(void)
{
	const char *prefix = "setpriv --inh-caps=-all --bounding-set=-all -- ";
	struct result r;

	if (getuid() != 0)
		return "";	/* permission bits hold already */
	run(&r, NULL, "%s test ! -r /etc/shadow", prefix);
	if (r.status)
		cr_skip_test("cannot drop root's capabilities with setpriv(1): %s", r.err);
	return prefix;
}

/* repo with a created task 't' (with a commit) and a planned task 'plan'. */
static char *repo_with_tasks(void)
{
	char *repo = make_repo("repo");

	task_with_a_commit(repo, "src/work.c", 100);
	spawn_json(repo, "--name plan 'A plan'");
	return repo;
}

/* `git agent <args>` fails with 128 and a fatal error that has text in it; nothing changed. */
static void agent_fails(const char *repo, const char *prefix, const char *args, const char *text)
{
	char *refs = run_ok(repo, "git for-each-ref"), *worktrees = run_ok(repo, "git worktree list --porcelain");
	char *trace = read_file(strf("%s/.git/agent/trace.jsonl", repo)), *now;
	struct result r;

	run(&r, repo, "%sgit agent %s", prefix, args);
	assert_status(&r, 128);
	assert_contains(r.err, strf("fatal: %s", text));
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs, "`git agent %s` changed a ref", args);
	cr_assert_str_eq(run_ok(repo, "git worktree list --porcelain"), worktrees);
	assert_no_stale_worktree(repo);
	now = read_file(strf("%s/.git/agent/trace.jsonl", repo));
	if (trace && now)
		assert_trace_grew(strf("%s/.git/agent/trace.jsonl", repo), trace);
}

Test(read_only, read_only_agent_dir_is_named_by_every_command)
{
	char *repo = repo_with_tasks(), *agent = strf("%s/.git/agent", repo);
	char *tasks = strf("%s/tasks", agent), *trace = strf("%s/trace.jsonl", agent);

	mount_read_only(agent);
	agent_fails(repo, "", "spawn 'New task'",
		    strf("cannot create the task record '%s/new-task.ini': Read-only file system", tasks));
	agent_fails(repo, "", "spawn --create 'New task'",
		    strf("cannot create the task record '%s/new-task.ini': Read-only file system", tasks));
	agent_fails(repo, "", "spawn --create --name plan",
		    strf("cannot open the task record '%s/plan.ini': Read-only file system", tasks));
	agent_fails(repo, "", "review t",
		    strf("cannot open the task record '%s/t.ini': Read-only file system", tasks));
	agent_fails(repo, "", "review t --merge",
		    strf("cannot open the task record '%s/t.ini': Read-only file system", tasks));
	agent_fails(repo, "", "trace --emit note.x --task t",
		    strf("cannot append to the trace '%s': Read-only file system", trace));
	/* Reading needs no writing. */
	assert_contains(run_ok(repo, "git agent trace"), "task.planned");
	assert_contains(run_ok(repo, "git agent trace --tasks"), "plan");
}

Test(read_only, read_only_agent_dir_setting_is_named)
{
	char *repo = make_repo("repo"), *dir = sandbox_path("folders");

	make_dirs(dir);
	run_ok(repo, "git config agent.dir %s", sh_quote(dir));
	task_with_a_commit(repo, "src/work.c", 100);
	mount_read_only(dir);
	agent_fails(repo, "", "spawn --create 'New task'",
		    strf("cannot create the task folder '%s/new-task': Read-only file system", dir));
	assert_no_task(repo, dir, "new-task");
	agent_fails(repo, "", "review t", strf("cannot create '%s/t/review': Read-only file system", dir));
}

Test(read_only, read_only_trace_setting_is_named)
{
	char *repo = make_repo("repo"), *dir = sandbox_path("log"), *trace = strf("%s/trace.jsonl", dir);

	make_dirs(dir);
	run_ok(repo, "git config agent.trace %s", sh_quote(trace));
	task_with_a_commit(repo, "src/work.c", 100);
	mount_read_only(dir);
	agent_fails(repo, "", "spawn --create 'New task'",
		    strf("cannot append to the trace '%s': Read-only file system", trace));
	assert_no_task(repo, strf("%s/.git/agent/tasks", repo), "new-task");
	agent_fails(repo, "", "review t", strf("cannot append to the trace '%s': Read-only file system", trace));
	cr_assert_eq(rounds(strf("%s/.git/agent/tasks/t", repo)), 0, "a round is left");
	agent_fails(repo, "", "trace --emit note.x --task t",
		    strf("cannot append to the trace '%s': Read-only file system", trace));
	assert_contains(run_ok(repo, "git agent trace"), "worktree.created");
}

Test(read_only, unreadable_agent_dir_is_named_by_every_command)
{
	char *repo = repo_with_tasks(), *agent = strf("%s/.git/agent", repo);
	char *tasks = strf("%s/tasks", agent), *trace = strf("%s/trace.jsonl", agent);
	const char *as_user = without_privileges();
	char *wt = sandbox_path("repo-worktrees/t");

	cr_assert_eq(chmod(agent, 0), 0);
	agent_fails(repo, as_user, "spawn 'New task'",
		    strf("cannot open the task record '%s/new-task.ini': Permission denied", tasks));
	agent_fails(repo, as_user, "spawn --create --name plan",
		    strf("cannot open the task record '%s/plan.ini': Permission denied", tasks));
	agent_fails(repo, as_user, "review t",
		    strf("cannot read the task record '%s/t.ini': Permission denied", tasks));
	agent_fails(wt, as_user, "review",
		    strf("cannot read the task records in '%s': Permission denied", tasks));
	agent_fails(repo, as_user, "trace", strf("cannot read the trace '%s': Permission denied", trace));
	agent_fails(repo, as_user, "trace --tasks", strf("cannot read the trace '%s': Permission denied", trace));
	agent_fails(wt, as_user, "trace --emit note.x",
		    strf("cannot read the task records in '%s': Permission denied", tasks));
	cr_assert_eq(chmod(agent, 0755), 0);
}

Test(read_only, unreadable_trace_is_named_and_makes_nothing)
{
	char *repo = repo_with_tasks(), *trace = strf("%s/.git/agent/trace.jsonl", repo);
	const char *as_user = without_privileges();

	cr_assert_eq(chmod(trace, 0), 0);
	agent_fails(repo, as_user, "trace", strf("cannot read the trace '%s': Permission denied", trace));
	agent_fails(repo, as_user, "trace --emit note.x --task t",
		    strf("cannot append to the trace '%s': Permission denied", trace));
	agent_fails(repo, as_user, "spawn --create 'New task'",
		    strf("cannot append to the trace '%s': Permission denied", trace));
	assert_no_task(repo, strf("%s/.git/agent/tasks", repo), "new-task");
	agent_fails(repo, as_user, "review t",
		    strf("cannot append to the trace '%s': Permission denied", trace));
	cr_assert_eq(rounds(strf("%s/.git/agent/tasks/t", repo)), 0, "a round is left");
	cr_assert_eq(chmod(trace, 0644), 0);
}

/* .git/agent itself on a full filesystem: the record cannot be made, and no piece of it stays. */
Test(disk_full, full_agent_dir_makes_no_record)
{
	char *repo = make_repo("repo"), *agent = strf("%s/.git/agent", repo);
	struct result r;

	mount_tmpfs(agent, 64);
	fill_up(agent);
	run(&r, repo, "git agent spawn --create 'Disk full'");
	assert_status(&r, 128);
	assert_contains(r.err, strf("fatal: cannot create the task record '%s/tasks/disk-full.ini': "
				    "No space left on device", agent));
	assert_no_task(repo, strf("%s/tasks", agent), "disk-full");
	cr_assert_eq(count_entries(strf("%s/tasks", agent)), 0);
}

/* Lock contention: 16 at once, beside `git status` and `git gc --auto` */

TestSuite(contention, .init = sandbox_setup, .fini = sandbox_teardown, .timeout = 600);

#define PARALLEL 16

/*
 * A repository where `git gc --auto` always wants to run: gc.auto=1 and
 * 2,560 loose objects that no ref reaches (gc keeps them: they are new), so
 * the sample gc counts (objects/17/) is over its threshold; gc in the
 * foreground. Each gc packs the refs, expires reflogs and repacks. main is
 * checked out, or HEAD is detached.
 */
static char *busy_repo(int detached)
{
	char *repo = make_repo("repo");

	run_ok(repo, "git config gc.auto 1 && git config gc.autoPackLimit 1 && "
		     "git config gc.autoDetach false && mkdir ../blobs && i=0 && "
		     "while [ $i -lt 2560 ]; do i=$((i+1)); echo \"blob $i\" > ../blobs/$i; done && "
		     "git hash-object -w ../blobs/* >/dev/null");
	assert_contains(run_ok(repo, "GIT_TRACE=1 git gc --auto 2>&1"), "git pack-refs");
	if (detached)
		run_ok(repo, "git checkout -q --detach");
	return repo;
}

/* Loops `git status` and `git gc --auto` in repo until stop_git_traffic(). */
static pid_t start_git_traffic(const char *repo)
{
	return run_background(repo, sandbox_path("traffic.log"),
			      "while [ ! -e %s ]; do git status >/dev/null 2>&1; "
			      "git gc --auto >/dev/null 2>&1; echo >> %s; done",
			      sh_quote(sandbox_path("traffic.stop")), sh_quote(sandbox_path("traffic.count")));
}

/* Lets the loop finish its round, so no gc is killed holding a lock; returns its rounds. */
static int stop_git_traffic(pid_t pid)
{
	char *count;

	write_file(sandbox_path("traffic.stop"), "", 0644);
	waitpid(pid, NULL, 0);
	count = read_file(sandbox_path("traffic.count"));
	return count ? count_lines(count) : 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs `git agent <args>` PARALLEL times at once in repo, %d in args being
 * 1..PARALLEL; their exit codes into codes. Returns the seconds it took.
 */
static double run_parallel(const char *repo, const char *args, int codes[PARALLEL])
{
	char *dir = sandbox_path("parallel"), *command = strf("git agent %s", args);
	double t0;
	int i;

	run_ok(NULL, "rm -rf %s && mkdir %s", sh_quote(dir), sh_quote(dir));
	t0 = now_seconds();
	run_ok(repo, "for i in $(seq %d); do (git agent %s > %s/out.$i 2> %s/err.$i; "
	       "echo $? > %s/code.$i) & done; wait", PARALLEL,
	       strf(args, "$i"), sh_quote(dir), sh_quote(dir), sh_quote(dir));
	t0 = now_seconds() - t0;
	for (i = 0; i < PARALLEL; i++) {
		char *code = read_file(strf("%s/code.%d", dir, i + 1));

		cr_assert(code != NULL, "`%s` #%d left no exit code", command, i + 1);
		codes[i] = atoi(code);
	}
	return t0;
}

static char *parallel_err(int i)
{
	return read_file(sandbox_path("parallel/err.%d", i + 1));
}

static void assert_all_succeeded(const char *what, const int codes[PARALLEL])
{
	int i;

	for (i = 0; i < PARALLEL; i++)
		cr_assert_eq(codes[i], 0, "%s #%d: exit %d\n%s", what, i + 1, codes[i],
			     visible(parallel_err(i)));
}

/* 16 tasks task-1..task-16 made at once, each then given a commit of work-N.txt. */
static void spawn_sixteen(const char *repo, const char *base)
{
	char *trace = strf("%s/.git/agent/trace.jsonl", repo);
	int codes[PARALLEL], i;
	double took;

	took = run_parallel(repo, strf("spawn --create --base %s \"Task %%s\"", base), codes);
	cr_log_info("%d parallel spawn --create: %.2f s", PARALLEL, took);
	assert_all_succeeded("spawn --create", codes);
	cr_assert_eq(worktree_count(repo), PARALLEL + 1);
	assert_no_stale_worktree(repo);
	cr_assert_eq(trace_count(trace_read(trace), "worktree.created", NULL), PARALLEL);
	for (i = 1; i <= PARALLEL; i++) {
		char *wt = sandbox_path("repo-worktrees/task-%d", i);

		cr_assert(worktree_listed(repo, wt), "no worktree task-%d", i);
		cr_assert_str_empty(run_ok(wt, "git status --porcelain"));
		write_file(strf("%s/work-%d.txt", wt, i), strf("work %d\n", i), 0644);
		run_ok(wt, "git add -A && git commit -q -m 'Work %d'", i);
	}
}

static void review_sixteen(const char *repo)
{
	char *trace = strf("%s/.git/agent/trace.jsonl", repo);
	int codes[PARALLEL], i;
	double took;

	took = run_parallel(repo, "review task-%s", codes);
	cr_log_info("%d parallel review: %.2f s", PARALLEL, took);
	assert_all_succeeded("review", codes);
	for (i = 1; i <= PARALLEL; i++)
		cr_assert(path_exists(strf("%s/.git/agent/tasks/task-%d/review/01/summary.json", repo, i)),
			  "no round 01 for task-%d", i);
	cr_assert_eq(trace_count(trace_read(trace), "review.recorded", NULL), PARALLEL);
}

/*
 * 16 merges into main at once: each merges, or refuses cleanly saying to
 * run it again (then it is run again). main ends with 16 merge commits, one
 * per task, every task's head in it; no branch, worktree or ref is broken.
 */
static void merge_sixteen(const char *repo)
{
	char *trace = strf("%s/.git/agent/trace.jsonl", repo), *old = run_ok(repo, "git rev-parse main");
	int codes[PARALLEL], i, refused = 0;
	double took;

	took = run_parallel(repo, "review --merge task-%s", codes);
	for (i = 0; i < PARALLEL; i++) {
		if (!codes[i])
			continue;
		cr_assert_eq(codes[i], 1, "merge #%d: exit %d\n%s", i + 1, codes[i], visible(parallel_err(i)));
		assert_contains(parallel_err(i), "--merge' again");
		refused++;
		run_ok(repo, "git agent review --merge task-%d", i + 1);
	}
	cr_log_info("%d parallel review --merge: %.2f s, %d refused with a retry message",
		    PARALLEL, took, refused);
	cr_assert_str_eq(run_ok(repo, "git rev-list --count --merges %s..main", old), "16");
	cr_assert_str_eq(run_ok(repo, "git rev-list --count --first-parent %s..main", old), "16");
	for (i = 1; i <= PARALLEL; i++) {
		char *wt = sandbox_path("repo-worktrees/task-%d", i);

		cr_assert_str_eq(run_ok(repo, "git show main:work-%d.txt", i), strf("work %d", i));
		cr_assert_str_empty(run_ok(repo, "git branch --list agent/task-%d", i),
				    "agent/task-%d is left; its merge said:\n%s", i,
				    visible(parallel_err(i - 1)));
		cr_assert(!path_exists(wt), "the worktree of task-%d is left; its merge said:\n%s", i,
			  visible(parallel_err(i - 1)));
	}
	cr_assert_eq(worktree_count(repo), 1);
	assert_no_stale_worktree(repo);
	cr_assert_eq(trace_count(trace_read(trace), "merge.done", NULL), PARALLEL);
}

Test(contention, sixteen_spawns_reviews_and_merges_into_the_checked_out_main)
{
	char *repo = busy_repo(0);
	pid_t traffic = start_git_traffic(repo);
	int rounds;

	spawn_sixteen(repo, "main");
	review_sixteen(repo);
	merge_sixteen(repo);
	rounds = stop_git_traffic(traffic);
	cr_log_info("git status and git gc --auto ran %d times beside them", rounds);
	cr_assert_gt(rounds, 0);
	run_ok(repo, "git fsck --no-dangling --no-progress");	/* not beside gc: it repacks */
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"));
	cr_assert_str_eq(run_ok(repo, "git symbolic-ref HEAD"), "refs/heads/main");
	for (int i = 1; i <= PARALLEL; i++)
		cr_assert_str_eq(read_file(strf("%s/work-%d.txt", repo, i)), strf("work %d\n", i));
}

Test(contention, sixteen_merges_into_a_main_checked_out_nowhere)
{
	char *repo = busy_repo(1), *head = run_ok(repo, "git rev-parse HEAD");
	pid_t traffic = start_git_traffic(repo);
	int rounds;

	spawn_sixteen(repo, "main");
	review_sixteen(repo);
	merge_sixteen(repo);
	rounds = stop_git_traffic(traffic);
	cr_log_info("git status and git gc --auto ran %d times beside them", rounds);
	run_ok(repo, "git fsck --no-dangling --no-progress");	/* not beside gc: it repacks */
	cr_assert_str_eq(run_ok(repo, "git rev-parse HEAD"), head, "the detached HEAD moved");
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"));
}

/*
 * A `git worktree prune` (git gc runs one) that meets a `git worktree add`
 * before it wrote .git/worktrees/<id>/gitdir removes the entry, and the add
 * fails. A shim stands in for that race once: it leaves half an entry and
 * fails as git does. spawn removes the half entry and adds again, under the
 * same id, leaving nothing stale.
 */
Test(contention, a_worktree_add_broken_by_a_prune_is_tried_again)
{
	char *repo = make_repo("repo"), *shim = sandbox_path("shim"), *once = sandbox_path("raced");
	char *git = run_ok(NULL, "command -v git");
	struct result r;

	make_dirs(shim);
	write_file(strf("%s/git", shim),
		   strf("#!/bin/sh\n"
			"if [ \"$1 $2\" = 'worktree add' ] && [ ! -e %s ]; then\n"
			"\t: > %s\n"
			"\td=\"$(%s rev-parse --git-common-dir)/worktrees/race-me\"\n"
			"\tmkdir -p \"$d\" && echo ../.. > \"$d/commondir\"\n"
			"\techo \"fatal: could not open '.git/worktrees/race-me/gitdir' for writing: "
			"No such file or directory\" >&2\n"
			"\texit 128\n"
			"fi\n"
			"exec %s \"$@\"\n", sh_quote(once), sh_quote(once), sh_quote(git), sh_quote(git)),
		   0755);
	/* git-agent, not git agent: git would put its exec-path before the shim */
	run(&r, repo, "PATH=%s:\"$PATH\" git-agent spawn --create 'Race me'", sh_quote(shim));
	assert_status(&r, 0);
	cr_assert(path_exists(once), "the shim never failed an add");
	cr_assert(worktree_listed(repo, sandbox_path("repo-worktrees/race-me")));
	cr_assert(path_exists(strf("%s/.git/worktrees/race-me/gitdir", repo)));
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), 1);
	assert_no_stale_worktree(repo);
}
