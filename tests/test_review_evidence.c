/*
 * `git agent review`'s evidence round, as git-agent-review(1) describes it,
 * with the git CLI as the oracle: every file of review/NN/ is compared with
 * what git itself says about the same repository.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

TestSuite(review_evidence, .init = sandbox_setup, .fini = sandbox_teardown);

/* A created task named t and the repository it belongs to. */
struct task {
	char *repo;			/* the main worktree */
	json_t *spawned;		/* spawn --json */
	const char *worktree, *folder, *trace;
};

static struct task create_task(const char *repo, const char *args)
{
	struct task t;

	t.repo = keep(strdup(repo));
	t.spawned = spawn_json(repo, "--create --name t %s", args);
	t.worktree = json_str(t.spawned, "worktree");
	t.folder = json_str(t.spawned, "folder");
	t.trace = json_str(t.spawned, "trace");
	return t;
}

/* Runs script in the task worktree, then commits everything as message. */
static void commit_in_task(const struct task *t, const char *script, const char *message)
{
	run_ok(t->worktree, "set -e\n%s\ngit add -A && git commit -q -m %s", script, sh_quote(message));
}

/* A task with two small commits and a clean worktree. */
static struct task small_task(void)
{
	struct task t = create_task(make_repo("repo"), "'Fixture'");

	commit_in_task(&t, "printf 'int util(void) { return 2; }\\n' > src/util.c", "Add util");
	commit_in_task(&t, "printf 'int util(void);\\nint main(void) { return util(); }\\n' > src/main.c",
		       "Use util");
	return t;
}

/* What the fixture's base adds to make_repo(), so the task can change it. */
static const char fixture_base[] =
	"seq 1 20 | sed 's/^/line /' > rename-me.txt\n"
	"seq 1 5000 | sed 's/^/old line /' > big.txt\n"
	"printf 'to be deleted\\n' > obsolete.txt\n"
	"printf 'will become executable\\n' > plain.txt\n"
	"printf 'BIN\\000\\001\\002\\377\\376 base\\n' > data.bin\n"
	"ln -s README.md retarget-link\n"
	"git add -A && git commit -q -m 'Fixture base'\n";

/* Added, modified, deleted, renamed-and-modified, mode changes, symlinks. */
static const char fixture_commit_1[] =
	"printf 'int added(void) { return 1; }\\n' > src/added.c\n"
	"printf 'int main(void) { return 1; }\\n' > src/main.c\n"
	"git rm -q obsolete.txt\n"
	"mkdir moved && git mv rename-me.txt moved/renamed.txt\n"
	"{ echo 'line one, changed'; tail -n +2 moved/renamed.txt; } > tmp && mv tmp moved/renamed.txt\n"
	"chmod +x plain.txt\n"
	"chmod -x tools/run.sh\n"
	"ln -s 'a file.txt' 'new link'\n"
	"ln -sfn src/main.c retarget-link\n"
	"printf 'a name with a space, no final newline' > 'a file.txt'\n";

/* Binary files, an empty file, no final newline, hard names, a long path. */
static const char fixture_commit_2[] =
	"printf '\\211PNG\\r\\n\\032\\n\\000\\000\\000\\rIHDR\\377\\000' > image.png\n"
	"printf 'BIN\\000\\001\\002\\377\\376 changed\\000\\n' > data.bin\n"
	": > empty.txt\n"
	"printf 'no final newline' > no-eol.txt\n"
	"mkdir -p 'dir with space' '\xc3\xbcn\xc3\xaf c\xc3\xb8" "d\xc3\xa9'\n"
	"printf 'a double quote\\n' > 'dir with space/quo\"te.txt'\n"
	"printf 'a backslash\\n' > 'back\\slash.txt'\n"
	"printf 'unicode\\n' > '\xc3\xbcn\xc3\xaf c\xc3\xb8" "d\xc3\xa9/\xe6\x96\x87\xe4\xbb\xb6.txt'\n"
	"d=deep/a-directory-with-a-rather-long-name-number-1/a-directory-with-a-rather-long-name-number-2\n"
	"d=$d/a-directory-with-a-rather-long-name-number-3/a-directory-with-a-rather-long-name-number-4\n"
	"mkdir -p $d && printf 'deep\\n' > $d/and-a-file-with-a-long-name-at-the-bottom.txt\n";

/* 5,000 changed lines. */
static const char fixture_commit_3[] = "seq 1 5000 | sed 's/^/new line /' > big.txt\n";

/* Left uncommitted in the worktree: one modification, one untracked file. */
static const char fixture_uncommitted[] =
	"printf 'not committed\\n' >> 'dir with space/quo\"te.txt'\n"
	"printf 'untracked\\n' > 'n\xc3\xb6t track\xc3\xa9" "d.txt'\n";

/* The uncommitted paths, unquoted, in the order of git status. */
static const char *fixture_uncommitted_paths[] = {
	"dir with space/quo\"te.txt", "n\xc3\xb6t track\xc3\xa9" "d.txt",
};

/*
 * A task whose three commits cover every kind of change git has, with an
 * uncommitted modification and an untracked file in its worktree.
 */
static struct task fixture_task(void)
{
	char *repo = make_repo("repo");
	struct task t;

	run_ok(repo, "%s", fixture_base);
	t = create_task(repo, "'Fixture'");
	commit_in_task(&t, fixture_commit_1, "Add, change, delete, rename and chmod files");
	commit_in_task(&t, fixture_commit_2, "Binary, empty and oddly named files");
	commit_in_task(&t, fixture_commit_3, "Rewrite big.txt");
	run_ok(t.worktree, "%s", fixture_uncommitted);
	return t;
}

/* A file of review round n. */
static char *round_file(const struct task *t, int round, const char *name)
{
	return strf("%s/review/%02d/%s", t->folder, round, name);
}

/* The content of a file, which must exist. */
static char *read_existing(const char *path)
{
	char *text = read_file(path);

	cr_assert(text != NULL, "no %s", path);
	return text;
}

static char *round_text(const struct task *t, int round, const char *name)
{
	return read_existing(round_file(t, round, name));
}

static json_t *round_summary(const struct task *t, int round)
{
	return json_parse(round_text(t, round, "summary.json"));
}

/* Runs `git agent review <args>` in the main worktree; asserts its exit status. */
static struct result review_expect(const struct task *t, int status, const char *args)
{
	struct result r;

	run(&r, t->repo, "git agent review %s", args);
	assert_status(&r, status);
	return r;
}

/* Writes the output of a git command run in dir to a file; returns its path. */
static char *git_oracle(const char *dir, const char *name, const char *command)
{
	char *path = sandbox_path("oracle-%s", name);

	run_ok(dir, "%s > %s", command, sh_quote(path));
	return path;
}

/* Asserts that two files are byte-identical, showing how they differ. */
static void assert_same_bytes(const char *actual, const char *expected)
{
	struct result r;

	run(&r, NULL, "cmp %s %s", sh_quote(actual), sh_quote(expected));
	if (r.status)
		run(&r, NULL, "cmp %s %s; diff -u %s %s | head -n 40", sh_quote(actual),
		    sh_quote(expected), sh_quote(expected), sh_quote(actual));
	cr_assert(r.status == 0, "%s is not git's output:\n%s", actual, visible(r.out));
}

static char *merge_base(const struct task *t)
{
	return run_ok(t->repo, "git merge-base main agent/t");
}

static json_int_t json_int(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);

	cr_assert(json_is_integer(value), "no integer \"%s\" in %s", key,
		  visible(keep(json_dumps(object, JSON_COMPACT))));
	return json_integer_value(value);
}

static int json_bool(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);

	cr_assert(json_is_boolean(value), "no boolean \"%s\" in %s", key,
		  visible(keep(json_dumps(object, JSON_COMPACT))));
	return json_is_true(value);
}

static json_t *json_member(json_t *object, const char *key, int (*is)(const json_t *))
{
	json_t *value = json_object_get(object, key);

	cr_assert(value && is(value), "no such \"%s\" in %s", key,
		  visible(keep(json_dumps(object, JSON_COMPACT))));
	return value;
}

static int is_array(const json_t *v) { return json_is_array(v); }

/* check n (from 0) of a summary. */
static json_t *summary_check(json_t *summary, size_t n)
{
	json_t *checks = json_member(summary, "checks", is_array);

	cr_assert(n < json_array_size(checks), "no check %zu in %zu", n, json_array_size(checks));
	return json_array_get(checks, n);
}

/* The number before word ("file", "insertion", "deletion") in a --shortstat line, or 0. */
static long shortstat_number(const char *line, const char *word)
{
	const char *p = strstr(line, word);

	if (!p)
		return 0;
	while (p > line && p[-1] == ' ')
		p--;
	while (p > line && isdigit((unsigned char)p[-1]))
		p--;
	return strtol(p, NULL, 10);
}

/* Whether pid is a live process (a zombie waiting for its parent is not). */
static int process_alive(pid_t pid)
{
	char *stat = read_file(strf("/proc/%d/stat", (int)pid)), *state;

	if (kill(pid, 0) < 0 || !stat)
		return 0;
	state = strrchr(stat, ')');
	return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/* Asserts that pid is gone, allowing a second for its last moments. */
static void assert_process_gone(pid_t pid)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 20 && process_alive(pid); i++)
		nanosleep(&tick, NULL);
	cr_assert(!process_alive(pid), "process %d of the check is still alive", (int)pid);
}

/* Asserts that s has no control byte but newline and tab, and no DEL. */
static void assert_no_control_bytes(const char *what, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		cr_assert(!(c < 0x20 && c != '\n' && c != '\t') && c != 0x7f,
			  "%s has the raw control byte 0x%02x at %zu:\n%s", what, c, i, visible(s));
	}
}

/* Asserts that one review of t with args records round 1 of task t. */
static void assert_review_finds_t(const char *dir, const char *args)
{
	json_t *summary = review_json(dir, 0, "%s", args);

	cr_assert_str_eq(json_str(summary, "task"), "t");
	cr_assert_str_eq(json_str(summary, "branch"), "agent/t");
	cr_assert_eq(json_int(summary, "round"), 1);
}

/* the evidence files */

Test(review_evidence, status_txt_is_git_status_porcelain_of_the_worktree)
{
	struct task t = fixture_task();
	char *git;

	review_expect(&t, 0, "t");
	git = git_oracle(t.worktree, "status", "git status --porcelain");
	cr_assert_neq(count_lines(read_file(git)), 0, "the fixture leaves changes uncommitted");
	assert_same_bytes(round_file(&t, 1, "status.txt"), git);
}

Test(review_evidence, diffstat_txt_is_git_diff_stat_at_each_stat_width)
{
	static const int widths[] = { 40, 80, 120, 200 };
	struct task t = fixture_task();
	size_t i;

	for (i = 0; i < sizeof(widths) / sizeof(*widths); i++) {
		char *git = git_oracle(t.repo, strf("diffstat-%d", widths[i]),
				       strf("git diff --stat=%d main...agent/t", widths[i]));

		review_expect(&t, 0, strf("t --stat-width %d", widths[i]));
		assert_same_bytes(round_file(&t, (int)i + 1, "diffstat.txt"), git);
	}
}

Test(review_evidence, diffstat_txt_default_width_is_80)
{
	struct task t = fixture_task();

	review_expect(&t, 0, "t");
	assert_same_bytes(round_file(&t, 1, "diffstat.txt"),
			  git_oracle(t.repo, "diffstat", "git diff --stat=80 main...agent/t"));
}

Test(review_evidence, diff_patch_applies_on_the_merge_base_and_gives_the_branch_tree)
{
	struct task t = fixture_task();
	char *patch = round_file(&t, 1, "diff.patch"), *dir = sandbox_path("at-merge-base");
	struct result r;

	review_expect(&t, 0, "t");
	run_ok(t.repo, "git worktree add -q --detach %s %s", sh_quote(dir), merge_base(&t));
	run(&r, dir, "git apply --check %s", sh_quote(patch));
	assert_status(&r, 0);
	run(&r, dir, "git apply --index %s", sh_quote(patch));
	assert_status(&r, 0);
	cr_assert_str_eq(run_ok(dir, "git write-tree"), run_ok(t.repo, "git rev-parse 'agent/t^{tree}'"));
}

Test(review_evidence, diff_patch_has_only_committed_work)
{
	struct task t = fixture_task();
	char *patch;

	review_expect(&t, 0, "t");
	patch = round_text(&t, 1, "diff.patch");
	assert_not_contains(patch, "not committed");
	assert_not_contains(patch, "untracked");
}

Test(review_evidence, commits_txt_is_git_log_of_the_task_commits)
{
	struct task t = fixture_task();
	char *git;

	review_expect(&t, 0, "t");
	git = git_oracle(t.repo, "commits", strf("git log --format='%%H %%s' %s..agent/t", merge_base(&t)));
	cr_assert_eq(count_lines(read_file(git)), 3);
	assert_same_bytes(round_file(&t, 1, "commits.txt"), git);
}

/* summary.json */

Test(review_evidence, summary_head_is_the_branch_head_and_patch_sha256_its_sha256sum)
{
	struct task t = fixture_task();
	json_t *summary = review_json(t.repo, 0, "t");
	char *patch = round_file(&t, 1, "diff.patch");

	cr_assert_str_eq(json_str(summary, "head"), run_ok(t.repo, "git rev-parse agent/t"));
	cr_assert_str_eq(json_str(summary, "patch_sha256"),
			 run_ok(NULL, "sha256sum %s | cut -c1-64", sh_quote(patch)));
	cr_assert_eq(json_int(summary, "commits"), 3);
}

Test(review_evidence, summary_counts_are_git_diff_shortstat)
{
	struct task t = fixture_task();
	json_t *summary = review_json(t.repo, 0, "t");
	char *shortstat = run_ok(t.repo, "git diff --shortstat main...agent/t");

	cr_assert_eq(json_int(summary, "files_changed"), shortstat_number(shortstat, "file"), "%s", shortstat);
	cr_assert_eq(json_int(summary, "insertions"), shortstat_number(shortstat, "insertion"), "%s", shortstat);
	cr_assert_eq(json_int(summary, "deletions"), shortstat_number(shortstat, "deletion"), "%s", shortstat);
	cr_assert_geq(json_int(summary, "insertions"), 5000);
}

Test(review_evidence, summary_lists_the_uncommitted_paths_unquoted)
{
	struct task t = fixture_task();
	json_t *summary = review_json(t.repo, 0, "t");
	json_t *uncommitted = json_member(summary, "uncommitted", is_array);
	size_t i, n = sizeof(fixture_uncommitted_paths) / sizeof(*fixture_uncommitted_paths);

	cr_assert_eq(json_array_size(uncommitted), n, "%s",
		     visible(keep(json_dumps(uncommitted, JSON_COMPACT))));
	for (i = 0; i < n; i++)
		cr_assert_str_eq(json_string_value(json_array_get(uncommitted, i)),
				 fixture_uncommitted_paths[i]);
	cr_assert(!json_bool(summary, "mergeable"), "uncommitted changes block the merge");
}

Test(review_evidence, summary_records_task_branch_base_and_worktree)
{
	struct task t = small_task();
	json_t *summary = review_json(t.repo, 0, "t");
	const char *at = json_str(summary, "reviewed_at");

	cr_assert_eq(json_int(summary, "version"), 1);
	cr_assert_str_eq(json_str(summary, "task"), "t");
	cr_assert_eq(json_int(summary, "round"), 1);
	cr_assert_str_eq(json_str(summary, "evidence"), strf("%s/review/01", t.folder));
	cr_assert(strlen(at) == 24 && at[10] == 'T' && at[19] == '.' && at[23] == 'Z', "reviewed_at %s", at);
	cr_assert_str_eq(json_str(summary, "branch"), "agent/t");
	cr_assert_str_eq(json_str(summary, "base"), "main");
	cr_assert_str_eq(json_str(summary, "base_sha"), json_str(t.spawned, "base_sha"));
	cr_assert_str_eq(json_str(summary, "base_now"), run_ok(t.repo, "git rev-parse main"));
	cr_assert_eq(json_int(summary, "base_moved"), 0);
	cr_assert_str_eq(json_str(summary, "merge_base"), merge_base(&t));
	cr_assert_str_eq(json_str(summary, "worktree"), t.worktree);
	cr_assert(!json_bool(summary, "worktree_missing"));
	cr_assert_eq(json_int(summary, "commits"), 2);
	cr_assert_eq(json_array_size(json_member(summary, "uncommitted", is_array)), 0);
	cr_assert(json_is_null(json_object_get(summary, "report")));
	cr_assert(json_bool(summary, "mergeable"));
	cr_assert_eq(json_array_size(json_member(summary, "blockers", is_array)), 0);
}

Test(review_evidence, summary_json_has_its_fields_in_order_indented_by_two)
{
	static const char *fields[] = {
		"version", "task", "round", "evidence", "reviewed_at", "branch", "head", "base",
		"base_sha", "base_now", "base_moved", "merge_base", "worktree", "worktree_missing",
		"commits", "files_changed", "insertions", "deletions", "patch_sha256", "uncommitted",
		"out_of_scope", "checks", "report", "mergeable", "blockers",
	};
	struct task t = small_task();
	char *text;
	const char *prev = NULL, *at;
	size_t i;

	review_expect(&t, 0, "t");
	text = round_text(&t, 1, "summary.json");
	cr_assert(!strncmp(text, "{\n  \"version\": 1,\n", 18), "%s", visible(text));
	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		at = strstr(text, strf("\n  \"%s\": ", fields[i]));
		cr_assert(at != NULL, "no top-level \"%s\" in:\n%s", fields[i], text);
		cr_assert(!prev || at > prev, "\"%s\" is out of order in:\n%s", fields[i], text);
		prev = at;
	}
	cr_assert_eq(json_object_size(json_parse(text)), sizeof(fields) / sizeof(*fields));
}

Test(review_evidence, rounds_are_numbered_and_never_overwritten)
{
	struct task t = small_task();
	char *first_head = run_ok(t.repo, "git rev-parse agent/t");
	char *copy = sandbox_path("round-01-copy");
	struct result r;

	cr_assert_eq(json_int(review_json(t.repo, 0, "t"), "round"), 1);
	run_ok(NULL, "cp -R %s %s", sh_quote(strf("%s/review/01", t.folder)), sh_quote(copy));
	commit_in_task(&t, "printf 'more\\n' > more.txt", "More work");
	cr_assert_eq(json_int(review_json(t.repo, 0, "t"), "round"), 2);
	cr_assert_eq(json_int(review_json(t.repo, 0, "t --stat-width 40"), "round"), 3);
	run(&r, NULL, "diff -r %s %s", sh_quote(copy), sh_quote(strf("%s/review/01", t.folder)));
	cr_assert_eq(r.status, 0, "round 01 changed:\n%s", visible(r.out));
	cr_assert_str_eq(json_str(round_summary(&t, 1), "head"), first_head);
	cr_assert_str_eq(json_str(round_summary(&t, 2), "head"), run_ok(t.repo, "git rev-parse agent/t"));
	cr_assert_eq(json_int(round_summary(&t, 3), "round"), 3);
	cr_assert_eq(count_entries(strf("%s/review", t.folder)), 3);
}

/* the base, the branch and the worktree */

/* A small task, then two commits on main in the main worktree. */
static struct task task_with_moved_base(void)
{
	struct task t = small_task();

	run_ok(t.repo, "printf 'main only\\n' > main-only.txt && git add main-only.txt && "
	       "git commit -q -m 'Main moves on' && printf 'x\\n' >> README.md && "
	       "git commit -q -am 'Main moves again'");
	return t;
}

Test(review_evidence, moved_base_commits_are_not_shown_as_deletions)
{
	struct task t = task_with_moved_base();
	char *diffstat;

	review_expect(&t, 0, "t");
	diffstat = round_text(&t, 1, "diffstat.txt");
	assert_same_bytes(round_file(&t, 1, "diffstat.txt"),
			  git_oracle(t.repo, "diffstat", "git diff --stat=80 main...agent/t"));
	assert_not_contains(diffstat, "main-only.txt");
	assert_not_contains(diffstat, "README.md");
}

Test(review_evidence, moved_base_is_counted_in_the_summary)
{
	struct task t = task_with_moved_base();
	json_t *summary = review_json(t.repo, 0, "t");

	cr_assert_eq(json_int(summary, "base_moved"), 2);
	cr_assert_str_eq(json_str(summary, "base_sha"), json_str(t.spawned, "base_sha"));
	cr_assert_str_eq(json_str(summary, "base_now"), run_ok(t.repo, "git rev-parse main"));
	cr_assert_str_eq(json_str(summary, "merge_base"), json_str(t.spawned, "base_sha"));
}

Test(review_evidence, moved_base_is_said_in_the_human_summary)
{
	struct task t = task_with_moved_base();
	struct result r = review_expect(&t, 0, "t");

	assert_contains(r.out, "base 'main' moved 2 commits since the task began");
}

Test(review_evidence, task_without_commits_has_an_empty_diffstat_and_patch)
{
	struct task t = create_task(make_repo("repo"), "'Fixture'");
	json_t *summary = review_json(t.repo, 0, "t");

	cr_assert_str_empty(round_text(&t, 1, "diffstat.txt"));
	cr_assert_str_empty(round_text(&t, 1, "diff.patch"));
	cr_assert_str_empty(round_text(&t, 1, "commits.txt"));
	cr_assert_str_empty(round_text(&t, 1, "status.txt"));
	cr_assert_eq(json_int(summary, "commits"), 0);
	cr_assert_eq(json_int(summary, "files_changed"), 0);
	cr_assert_eq(json_int(summary, "insertions"), 0);
	cr_assert_eq(json_int(summary, "deletions"), 0);
}

Test(review_evidence, worktree_deleted_by_hand_is_reported_in_the_round)
{
	struct task t = small_task();
	json_t *summary;

	run_ok(NULL, "rm -rf %s", sh_quote(t.worktree));
	summary = review_json(t.repo, 0, "t");
	cr_assert_str_eq(round_text(&t, 1, "status.txt"),
			 strf("# the task worktree is missing: %s\n", t.worktree));
	cr_assert(json_bool(summary, "worktree_missing"));
	cr_assert_str_eq(json_str(summary, "head"), run_ok(t.repo, "git rev-parse agent/t"));
	assert_same_bytes(round_file(&t, 1, "diffstat.txt"),
			  git_oracle(t.repo, "diffstat", "git diff --stat=80 main...agent/t"));
}

Test(review_evidence, worktree_deleted_by_hand_fails_each_check_with_127)
{
	struct task t = small_task();
	json_t *summary;

	run_ok(NULL, "rm -rf %s", sh_quote(t.worktree));
	summary = review_json(t.repo, 1, "t --check true");
	cr_assert_str_eq(round_text(&t, 1, "checks/01.exit"), "127\n");
	assert_contains(round_text(&t, 1, "checks/01.out"), "the task worktree is missing");
	cr_assert_eq(json_int(summary_check(summary, 0), "exit"), 127);
	cr_assert(!json_bool(summary_check(summary, 0), "passed"));
}

/* output */

Test(review_evidence, json_output_is_the_content_of_summary_json)
{
	struct task t = fixture_task();
	json_t *printed = review_json(t.repo, 0, "t");

	cr_assert(json_equal(printed, round_summary(&t, 1)), "--json:\n%s\nsummary.json:\n%s",
		  visible(keep(json_dumps(printed, JSON_INDENT(2)))),
		  visible(round_text(&t, 1, "summary.json")));
}

Test(review_evidence, human_summary_shows_the_round_diffstat_and_evidence)
{
	struct task t = small_task();
	char *short_head = run_ok(t.repo, "git rev-parse --short agent/t"), *diffstat, *line;
	struct result r;

	r = review_expect(&t, 0, "t");
	assert_contains(r.out, strf("task 't': review round 01 of agent/t at %s", short_head));
	assert_contains(r.out, "base 'main' has not moved since the task began");
	diffstat = round_text(&t, 1, "diffstat.txt");
	cr_assert(*diffstat, "the task changed files");
	for (line = strtok(diffstat, "\n"); line; line = strtok(NULL, "\n"))
		assert_contains(r.out, line + strspn(line, " "));
	assert_contains(r.out, "worktree clean");
	assert_contains(r.out, "verdict: ready to merge");
	assert_contains(r.out, strf("evidence: %s/review/01", t.folder));
}

Test(review_evidence, human_summary_never_prints_raw_escape_sequences)
{
	char *repo = make_repo("repo");
	struct task t = create_task(repo, sh_quote("Evil \033]0;x\007 title \033[31mred"));
	struct result r;

	write_file(strf("%s/red\033[31m.txt", t.worktree), "red\n", 0644);
	run_ok(t.worktree, "git add -A && git commit -q -m %s", sh_quote("Paint it \033[31mred"));
	write_file(strf("%s/untracked\033]0;x\007.txt", t.worktree), "x\n", 0644);
	r = review_expect(&t, 0, strf("t --check %s", sh_quote("true '\033[31m \033]0;x\007'")));
	cr_assert(!memchr(r.out, 0x1b, r.out_len), "raw ESC on stdout:\n%s", visible(r.out));
	assert_no_control_bytes("stdout", r.out, r.out_len);
	assert_no_control_bytes("stderr", r.err, r.err_len);
	assert_contains(r.out, "review round 01");
}

/* finding the task */

Test(review_evidence, task_is_found_by_its_slug)
{
	struct task t = small_task();

	assert_review_finds_t(t.repo, "t");
}

Test(review_evidence, task_is_found_by_its_branch)
{
	struct task t = small_task();

	assert_review_finds_t(t.repo, "agent/t");
}

Test(review_evidence, task_is_found_by_its_full_ref)
{
	struct task t = small_task();

	assert_review_finds_t(t.repo, "refs/heads/agent/t");
}

Test(review_evidence, task_is_found_from_a_subdirectory_of_its_worktree)
{
	struct task t = small_task();

	assert_review_finds_t(strf("%s/src", t.worktree), "");
}

Test(review_evidence, unknown_task_is_fatal)
{
	struct task t = small_task();
	struct result r;

	r = review_expect(&t, 128, "nope");
	assert_contains(r.err, "fatal: task 'nope' not found");
	cr_assert(!path_exists(strf("%s/review", t.folder)));
}

Test(review_evidence, planned_task_is_fatal)
{
	char *repo = make_repo("repo");
	struct result r;

	spawn_json(repo, "--name p 'Planned task'");
	run(&r, repo, "git agent review p");
	assert_status(&r, 128);
	assert_contains(r.err, "is only planned");
	assert_contains(r.err, "git agent spawn --create --name p");
}

Test(review_evidence, no_argument_outside_a_task_worktree_is_fatal)
{
	struct task t = small_task();
	struct result r;

	run(&r, strf("%s/src", t.repo), "git agent review");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: not inside a task's worktree; name the task: git agent review <task>");
}

Test(review_evidence, unrelated_histories_are_fatal)
{
	struct task t = small_task();
	struct result r;

	run_ok(t.worktree, "git checkout -q --orphan unrelated && git commit -q -m 'Unrelated root' && "
	       "git checkout -q -B agent/t && git branch -q -D unrelated");
	cr_assert_neq(run(&r, t.repo, "git merge-base main agent/t"), 0);
	r = review_expect(&t, 128, "t");
	assert_contains(r.err, "no common history");
}

/* checks */

Test(review_evidence, passing_check_is_recorded)
{
	struct task t = small_task();
	json_t *summary = review_json(t.repo, 0, "t --check 'exit 0'"), *check = summary_check(summary, 0);

	cr_assert_str_eq(round_text(&t, 1, "checks/01.cmd"), "exit 0\n");
	cr_assert_str_eq(round_text(&t, 1, "checks/01.exit"), "0\n");
	cr_assert(path_exists(round_file(&t, 1, "checks/01.out")));
	cr_assert_str_eq(json_str(check, "command"), "exit 0");
	cr_assert_eq(json_int(check, "exit"), 0);
	cr_assert(json_bool(check, "passed"));
	cr_assert(!json_bool(check, "timed_out"));
	cr_assert_geq(json_int(check, "duration_ms"), 0);
	cr_assert_str_eq(json_str(check, "output"), "checks/01.out");
	cr_assert_eq(trace_count(trace_read(t.trace), "check.passed", "t"), 1);
}

Test(review_evidence, failing_check_exits_1_and_records_its_output)
{
	struct task t = small_task();
	const char *failing = "echo out; echo err >&2; exit 3";
	json_t *summary = review_json(t.repo, 1, "t --check 'exit 0' --check %s", sh_quote(failing));
	json_t *check = summary_check(summary, 1), *failed;
	char *out = round_text(&t, 1, "checks/02.out");

	cr_assert_str_eq(round_text(&t, 1, "checks/02.cmd"), strf("%s\n", failing));
	cr_assert_str_eq(round_text(&t, 1, "checks/02.exit"), "3\n");
	assert_contains(out, "out\n");
	assert_contains(out, "err\n");
	cr_assert(json_bool(summary_check(summary, 0), "passed"));
	cr_assert(!json_bool(check, "passed"));
	cr_assert_eq(json_int(check, "exit"), 3);
	cr_assert(!json_bool(summary, "mergeable"));
	failed = trace_find(trace_read(t.trace), "check.failed", "t");
	cr_assert(failed != NULL, "no check.failed in the trace");
	cr_assert_str_eq(json_str(failed, "command"), failing);
	cr_assert_eq(json_int(failed, "exit"), 3);
}

Test(review_evidence, check_runs_in_the_worktree_with_the_task_environment)
{
	struct task t = small_task();
	const char *check = "pwd > \"$AGENT_WORKTREE/../pwd.txt\"; echo \"$AGENT_PORT\" > ../port.txt; "
			    "test \"$AGENT_TASK\" = t && test \"$AGENT_BRANCH\" = agent/t";

	review_json(t.repo, 0, "t --check %s", sh_quote(check));
	cr_assert_str_eq(read_existing(strf("%s/../pwd.txt", t.worktree)), strf("%s\n", t.worktree));
	cr_assert_str_eq(read_existing(strf("%s/../port.txt", t.worktree)),
			 strf("%lld\n", (long long)json_int(t.spawned, "port")));
}

Test(review_evidence, checks_run_in_order_option_task_config_each_once)
{
	char *order = sandbox_path("order.txt");
	char *option = strf("echo option >> %s", sh_quote(order));
	char *own = strf("echo task >> %s", sh_quote(order));
	char *config = strf("echo config >> %s", sh_quote(order));
	struct task t = create_task(make_repo("repo"), strf("--check %s 'Fixture'", sh_quote(own)));
	struct result r;
	json_t *summary;

	run(&r, t.repo, "git -c agent.check=%s -c agent.check=%s agent review --json t --check %s --check %s",
	    sh_quote(config), sh_quote(option), sh_quote(option), sh_quote(own));
	assert_status(&r, 0);
	cr_assert_str_eq(read_existing(order), "option\ntask\nconfig\n");
	summary = json_parse(r.out);
	cr_assert_eq(json_array_size(json_member(summary, "checks", is_array)), 3);
	cr_assert_str_eq(json_str(summary_check(summary, 0), "command"), option);
	cr_assert_str_eq(json_str(summary_check(summary, 1), "command"), own);
	cr_assert_str_eq(json_str(summary_check(summary, 2), "command"), config);
	cr_assert_str_eq(round_text(&t, 1, "checks/03.cmd"), strf("%s\n", config));
	cr_assert(!path_exists(round_file(&t, 1, "checks/04.cmd")));
}

Test(review_evidence, check_timeout_kills_the_check_and_its_children, .timeout = 60)
{
	struct task t = small_task();
	char *pids = sandbox_path("pids.txt"), *text, *second;
	char *check = strf("echo $$ > %s; sleep 30 & echo $! >> %s; sleep 30", sh_quote(pids), sh_quote(pids));
	time_t start = time(NULL);
	struct result r;
	json_t *summary;

	run(&r, t.repo, "git -c agent.checkTimeout=1 agent review --json t --check %s", sh_quote(check));
	cr_assert_lt(time(NULL) - start, 10, "the review took %lds", (long)(time(NULL) - start));
	assert_status(&r, 1);
	cr_assert_str_eq(round_text(&t, 1, "checks/01.exit"), "124\n");
	summary = json_parse(r.out);
	cr_assert(json_bool(summary_check(summary, 0), "timed_out"));
	cr_assert_eq(json_int(summary_check(summary, 0), "exit"), 124);
	text = read_file(pids);
	cr_assert(text && count_lines(text) == 2, "pids: %s", visible(text));
	second = strchr(text, '\n') + 1;
	assert_process_gone((pid_t)atoi(text));
	assert_process_gone((pid_t)atoi(second));
}

/* concurrency and the trace */

Test(review_evidence, two_reviews_at_once_make_two_rounds, .timeout = 60)
{
	struct task t = small_task();
	char *dir = sandbox_path("parallel");
	json_int_t one, two;
	struct result r;
	int i;

	make_dirs(dir);
	run(&r, dir, "for i in 1 2; do (git -C %s agent review --json t >out.$i 2>err.$i; echo $? >rc.$i) & "
	    "done; wait", sh_quote(t.repo));
	for (i = 1; i <= 2; i++)
		cr_assert_str_eq(read_existing(strf("%s/rc.%d", dir, i)), "0\n", "review %d failed:\n%s", i,
				 visible(read_file(strf("%s/err.%d", dir, i))));
	one = json_int(json_parse(read_existing(strf("%s/out.1", dir))), "round");
	two = json_int(json_parse(read_existing(strf("%s/out.2", dir))), "round");
	cr_assert(one + two == 3 && one != two, "rounds %lld and %lld", (long long)one, (long long)two);
	cr_assert_eq(count_entries(strf("%s/review", t.folder)), 2);
	for (i = 1; i <= 2; i++) {
		cr_assert_eq(json_int(round_summary(&t, i), "round"), i);
		cr_assert(path_exists(round_file(&t, i, "status.txt")));
		cr_assert(path_exists(round_file(&t, i, "diffstat.txt")));
		cr_assert(path_exists(round_file(&t, i, "diff.patch")));
		cr_assert(path_exists(round_file(&t, i, "commits.txt")));
	}
	cr_assert_eq(trace_count(trace_read(t.trace), "review.recorded", "t"), 2);
}

Test(review_evidence, trace_records_the_round_head_and_patch_sha256)
{
	struct task t = small_task();
	json_t *summary = review_json(t.repo, 0, "t"), *recorded;

	recorded = trace_find(trace_read(t.trace), "review.recorded", "t");
	cr_assert(recorded != NULL, "no review.recorded in the trace");
	cr_assert_eq(json_int(recorded, "round"), 1);
	cr_assert_str_eq(json_str(recorded, "head"), run_ok(t.repo, "git rev-parse agent/t"));
	cr_assert_str_eq(json_str(recorded, "patch_sha256"), json_str(summary, "patch_sha256"));
	cr_assert_str_eq(json_str(recorded, "patch_sha256"),
			 run_ok(NULL, "sha256sum %s | cut -c1-64", sh_quote(round_file(&t, 1, "diff.patch"))));
}

/*
 * Attributes still decide what is binary (review remembers the directories
 * libgit2 resolves while it diffs), in subdirectories, through a symlinked
 * path to the repository, and for files in directories the base lacks.
 */
Test(review_evidence, gitattributes_decide_binary_files_as_git_does)
{
	struct task t = create_task(make_repo("repo"), "'Attributes'");
	char *git, *link = sandbox_path("link");

	run_ok(t.repo, "mkdir -p data && printf 'a\\nb\\n' > data/table.csv && "
		       "printf '*.csv -diff\\n' > data/.gitattributes && git add -A && "
		       "git commit -q -m 'data'");
	commit_in_task(&t, "git merge -q --ff-only main && printf 'a\\nc\\n' > data/table.csv && "
		       "mkdir -p fresh/deep && printf 'x\\n' > fresh/deep/new.csv && "
		       "printf '*.csv -diff\\n' > fresh/.gitattributes", "Change data");
	run_ok(NULL, "ln -s %s %s", sh_quote(t.repo), sh_quote(link));
	git = git_oracle(t.repo, "attr-stat", "git diff --stat=80 main...agent/t");
	run_ok(link, "git agent review t >/dev/null");
	assert_same_bytes(round_file(&t, 1, "diffstat.txt"), git);
	assert_contains(read_existing(round_file(&t, 1, "diffstat.txt")), "Bin");
}
