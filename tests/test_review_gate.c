/*
 * `git agent review --merge`, `--request-changes` and `--abandon`, as the
 * review spec describes them, with the git CLI as the oracle: what git
 * itself says about the refs, worktrees and files before and after.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "lib.h"

TestSuite(review_gate, .init = sandbox_setup, .fini = sandbox_teardown);

/* A task 't' and where spawn put its parts. */
struct task {
	char *repo;		/* the main worktree */
	const char *wt, *folder, *packet, *trace;
	char *head;		/* the branch head the tests committed last */
};

/* `git agent spawn --create --name t <args> Task` in repo. */
static struct task spawn_task(char *repo, const char *args)
{
	json_t *json = spawn_json(repo, "--create --name t %s Task", args);
	struct task t = { repo, json_str(json, "worktree"), json_str(json, "folder"),
			  json_str(json, "packet"), json_str(json, "trace"), NULL };

	return t;
}

/* Writes path below dir and commits it there; returns the new HEAD. */
static char *commit_file(const char *dir, const char *path, const char *text)
{
	write_file(strf("%s/%s", dir, path), text, 0644);
	run_ok(dir, "git add -- %s && git commit -q -m %s", sh_quote(path),
	       sh_quote(strf("change %s", path)));
	return run_ok(dir, "git rev-parse HEAD");
}

/* A task scoped to src (plus args) with one commit adding src/feature.c. */
static struct task task_with_work(const char *args)
{
	struct task t = spawn_task(make_repo("repo"), strf("--scope src %s", args));

	t.head = commit_file(t.wt, "src/feature.c", "int feature;\n");
	return t;
}

/* task_with_work() and a first review round that passed. */
static struct task reviewed_task(void)
{
	struct task t = task_with_work("");

	run_ok(t.repo, "git agent review t");
	return t;
}

/*
 * Everything a refused or failed merge must leave alone: every ref, the
 * worktree list and, for each worktree, its HEAD, status, index and whether
 * a merge is in progress.
 */
static char *state(const char *repo)
{
	return run_ok(repo,
		      "git for-each-ref && git worktree list --porcelain && "
		      "git worktree list --porcelain | sed -n 's/^worktree //p' | "
		      "while IFS= read -r wt; do echo \"== $wt\"; "
		      "git -C \"$wt\" rev-parse HEAD && git -C \"$wt\" status --porcelain && "
		      "git -C \"$wt\" ls-files --stage | git hash-object --stdin && "
		      "{ git -C \"$wt\" rev-parse -q --verify MERGE_HEAD || echo no merge; } || exit 1; done");
}

static json_t *trace(const struct task *t)
{
	return trace_read(t->trace);
}

static char *parents(const char *repo, const char *commit)
{
	return run_ok(repo, "git log -1 --format=%%P %s", sh_quote(commit));
}

static int branch_exists(const char *repo, const char *branch)
{
	return *run_ok(repo, "git branch --list %s", sh_quote(branch)) != '\0';
}

/* Runs `git agent review t <args>` in the main worktree, expecting status and stderr text. */
static struct result review_fails(const struct task *t, const char *args, int status,
				  const char *message)
{
	struct result r;

	run(&r, t->repo, "git agent review t %s", args);
	assert_status(&r, status);
	assert_contains(r.err, message);
	return r;
}

/* The merge gate refuses, naming reason, logging merge.refused and changing nothing. */
static void assert_gate_refuses(const struct task *t, const char *args, const char *reason)
{
	char *before = state(t->repo);
	struct result r = review_fails(t, strf("--merge %s", args), 1, reason);
	json_t *refused, *reasons, *item;
	int found = 0;
	size_t i;

	assert_contains(r.err, "error: cannot merge task 't':\n");
	assert_contains(r.err, "\n  - ");
	cr_assert_str_eq(state(t->repo), before, "the refused merge changed something");
	refused = trace_find(trace(t), "merge.refused", "t");
	cr_assert(refused != NULL, "no merge.refused event");
	reasons = json_object_get(refused, "reasons");
	cr_assert(json_is_array(reasons) && json_array_size(reasons) > 0, "merge.refused without reasons");
	json_array_foreach(reasons, i, item)
		found |= json_is_string(item) && strstr(json_string_value(item), reason) != NULL;
	cr_assert(found, "no reason naming '%s' in %s", reason,
		  visible(keep(json_dumps(reasons, JSON_COMPACT))));
	cr_assert_null(trace_find(trace(t), "merge.done", "t"));
}

/* A failed merge exits status with message, and every ref and worktree stays as it was. */
static struct result assert_merge_changes_nothing(const struct task *t, const char *args, int status,
						  const char *message)
{
	char *before = state(t->repo);
	struct result r = review_fails(t, strf("--merge %s", args), status, message);

	cr_assert_str_eq(state(t->repo), before, "the failed merge changed something");
	cr_assert_null(trace_find(trace(t), "merge.done", "t"));
	return r;
}

/* The merge commit's parents are the old target and the reviewed head. */
static void assert_merge_commit(const char *repo, const char *commit, const char *old_target,
				const char *head)
{
	cr_assert_str_eq(parents(repo, commit), strf("%s %s", old_target, head));
}

/* The worktree and branch of the task are gone, as git and the trace say. */
static void assert_task_removed(const struct task *t)
{
	cr_assert(!worktree_listed(t->repo, t->wt), "git still lists the worktree");
	cr_assert(!path_exists(t->wt), "the worktree directory is still there");
	cr_assert(!branch_exists(t->repo, "agent/t"), "the branch is still there");
	cr_assert_not_null(trace_find(trace(t), "worktree.removed", "t"));
	cr_assert_not_null(trace_find(trace(t), "branch.deleted", "t"));
}

static void assert_task_kept(const struct task *t)
{
	cr_assert(worktree_listed(t->repo, t->wt), "git no longer lists the worktree");
	cr_assert(is_dir(t->wt));
	cr_assert_str_eq(run_ok(t->repo, "git rev-parse agent/t"), t->head);
	cr_assert_null(trace_find(trace(t), "worktree.removed", "t"));
	cr_assert_null(trace_find(trace(t), "branch.deleted", "t"));
}

/* Whether line (len bytes) closes a fence of fence_len characters fence. */
static int closes_fence(const char *line, size_t len, char fence, size_t fence_len)
{
	size_t indent = strspn(line, " "), run = strspn(line + indent, fence == '`' ? "`" : "~");

	return indent < 4 && run >= fence_len &&
	       indent + run + strspn(line + indent + run, " \t") == len;
}

/* The text of the first fenced block after the line heading in md, without its fences. */
static char *fenced_block_after(const char *md, const char *heading)
{
	const char *p = md ? strstr(md, heading) : NULL, *text;
	size_t fence_len = 0, len;
	char fence = 0;

	cr_assert(p != NULL, "no %s in:\n%s", visible(heading), visible(md));
	for (p += strcspn(p, "\n"); *p == '\n' && !fence_len; ) {
		p++;
		fence = *p;
		fence_len = fence == '`' || fence == '~' ? strspn(p, fence == '`' ? "`" : "~") : 0;
		fence_len = fence_len >= 3 ? fence_len : 0;
		cr_assert(fence_len || *p != '#', "no fenced block under %s:\n%s", visible(heading), visible(md));
		p += strcspn(p, "\n");
	}
	cr_assert(fence_len, "no fenced block under %s:\n%s", visible(heading), visible(md));
	for (text = ++p; *p; p += len + 1) {
		len = strcspn(p, "\n");
		if (closes_fence(p, len, fence, fence_len))
			return strf("%.*s", (int)(p - text), text);
		if (!p[len])
			break;
	}
	cr_assert_fail("the fenced block under %s is not closed:\n%s", visible(heading), visible(md));
	return NULL;
}

/* merging into a checked-out base */

Test(review_gate, merge_makes_a_merge_commit_in_the_main_worktree)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main"), *head;
	struct result r;

	run(&r, t.repo, "git agent review t --merge");
	assert_status(&r, 0);
	assert_contains(r.out, "merged task 't' into 'main' (merge)");
	head = run_ok(t.repo, "git rev-parse HEAD");
	cr_assert_str_eq(run_ok(t.repo, "git symbolic-ref HEAD"), "refs/heads/main");
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main"), head);
	assert_merge_commit(t.repo, head, old_main, t.head);
}

Test(review_gate, merge_commit_is_made_even_when_a_fast_forward_was_possible)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	cr_assert_str_eq(run_ok(t.repo, "git merge-base main agent/t"), old_main);
	run_ok(t.repo, "git agent review t --merge");
	cr_assert_str_neq(run_ok(t.repo, "git rev-parse main"), t.head);
	assert_merge_commit(t.repo, "main", old_main, t.head);
}

Test(review_gate, merge_updates_the_files_of_the_main_worktree)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --merge");
	cr_assert_str_eq(read_file(strf("%s/src/feature.c", t.repo)), "int feature;\n");
	cr_assert_str_empty(run_ok(t.repo, "git status --porcelain"));
}

Test(review_gate, merge_logs_verdict_merge_and_merge_done)
{
	struct task t = reviewed_task();
	json_t *events, *verdict, *done;

	run_ok(t.repo, "git agent review t --merge");
	events = trace(&t);
	verdict = trace_find(events, "verdict.merge", "t");
	done = trace_find(events, "merge.done", "t");
	cr_assert_not_null(verdict);
	cr_assert_eq(json_integer_value(json_object_get(verdict, "round")), 1);
	cr_assert_str_eq(json_str(verdict, "head"), t.head);
	cr_assert_str_eq(json_str(verdict, "style"), "merge");
	cr_assert_str_eq(json_str(verdict, "into"), "main");
	cr_assert_not_null(done);
	cr_assert_str_eq(json_str(done, "into"), "main");
	cr_assert_str_eq(json_str(done, "style"), "merge");
	cr_assert_str_eq(json_str(done, "head"), t.head);
	cr_assert_str_eq(json_str(done, "commit"), run_ok(t.repo, "git rev-parse main"));
	cr_assert_null(trace_find(events, "merge.refused", "t"));
	cr_assert_null(trace_find(events, "merge.failed", "t"));
}

Test(review_gate, merge_removes_the_worktree_and_deletes_the_branch)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --merge");
	assert_task_removed(&t);
	cr_assert_eq(worktree_count(t.repo), 1);
	cr_assert_str_empty(run_ok(t.repo, "git branch --list 'agent/*'"));
}

Test(review_gate, merge_keeps_the_task_folder_and_its_evidence)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --merge");
	cr_assert(is_dir(t.folder));
	cr_assert(is_dir(strf("%s/review/01", t.folder)));
	cr_assert(path_exists(strf("%s/review/01/summary.json", t.folder)));
	cr_assert(path_exists(t.packet));
}

Test(review_gate, keep_merges_but_keeps_the_worktree_and_branch)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	run_ok(t.repo, "git agent review t --merge --keep");
	assert_merge_commit(t.repo, "main", old_main, t.head);
	assert_task_kept(&t);
	cr_assert_not_null(trace_find(trace(&t), "merge.done", "t"));
}

Test(review_gate, remove_after_merge_false_keeps_the_worktree_and_branch)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	run_ok(t.repo, "git -c agent.removeAfterMerge=false agent review t --merge");
	assert_merge_commit(t.repo, "main", old_main, t.head);
	assert_task_kept(&t);
}

/* styles */

Test(review_gate, style_ff_fast_forwards_the_base)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --merge --style ff");
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main"), t.head);
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse HEAD"), t.head);
	cr_assert_str_eq(read_file(strf("%s/src/feature.c", t.repo)), "int feature;\n");
	cr_assert_str_empty(run_ok(t.repo, "git status --porcelain"));
	cr_assert_str_eq(json_str(trace_find(trace(&t), "merge.done", "t"), "style"), "ff");
	assert_task_removed(&t);
}

Test(review_gate, merge_style_config_ff_fast_forwards_the_base)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git -c agent.mergeStyle=ff agent review t --merge");
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main"), t.head);
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse HEAD"), t.head);
}

Test(review_gate, style_option_overrides_the_merge_style_config)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	run_ok(t.repo, "git -c agent.mergeStyle=ff agent review t --merge --style merge");
	assert_merge_commit(t.repo, "main", old_main, t.head);
}

Test(review_gate, style_ff_refuses_when_the_base_moved_ahead)
{
	struct task t = task_with_work("");
	char *old_main = commit_file(t.repo, "other.txt", "main moved on\n");

	run_ok(t.repo, "git agent review t");
	assert_merge_changes_nothing(&t, "--style ff", 1, "cannot fast-forward");
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main"), old_main);
	assert_task_kept(&t);
}

Test(review_gate, style_squash_makes_one_commit_with_the_merge_result)
{
	struct task t = task_with_work("");
	char *old_main = commit_file(t.repo, "other.txt", "main moved on\n"), *tree, *new_main;

	run_ok(t.repo, "git agent review t");
	tree = run_ok(t.repo, "git merge-tree --write-tree main agent/t | head -n 1");
	run_ok(t.repo, "git agent review t --merge --style squash");
	new_main = run_ok(t.repo, "git rev-parse main");
	cr_assert_str_eq(parents(t.repo, new_main), old_main, "one parent: the old main");
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main^{tree}"), tree);
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse HEAD"), new_main);
	cr_assert_str_eq(read_file(strf("%s/src/feature.c", t.repo)), "int feature;\n");
	cr_assert_str_eq(read_file(strf("%s/other.txt", t.repo)), "main moved on\n");
	cr_assert_str_empty(run_ok(t.repo, "git status --porcelain"));
	cr_assert(!branch_exists(t.repo, "agent/t"));
}

/* where the base is */

Test(review_gate, base_checked_out_nowhere_moves_the_ref_alone)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	run_ok(t.repo, "git checkout -q --detach");
	run_ok(t.repo, "git agent review t --merge");
	assert_merge_commit(t.repo, "main", old_main, t.head);
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse HEAD"), old_main, "HEAD stays detached where it was");
	cr_assert(!path_exists(strf("%s/src/feature.c", t.repo)), "the main worktree's files are untouched");
	cr_assert_str_empty(run_ok(t.repo, "git status --porcelain"));
	cr_assert_not_null(trace_find(trace(&t), "merge.done", "t"));
}

Test(review_gate, base_branch_checked_out_nowhere_moves_that_branch_alone)
{
	char *repo = make_repo("repo"), *old_main, *old_dev;
	struct task t;

	run_ok(repo, "git branch dev");
	t = spawn_task(repo, "--scope src --base dev");
	t.head = commit_file(t.wt, "src/feature.c", "int feature;\n");
	run_ok(repo, "git agent review t");
	old_main = run_ok(repo, "git rev-parse main");
	old_dev = run_ok(repo, "git rev-parse dev");
	run_ok(repo, "git agent review t --merge");
	assert_merge_commit(repo, "dev", old_dev, t.head);
	cr_assert_str_eq(run_ok(repo, "git rev-parse main"), old_main);
	cr_assert_str_eq(run_ok(repo, "git symbolic-ref HEAD"), "refs/heads/main");
	cr_assert(!path_exists(strf("%s/src/feature.c", repo)));
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"));
	cr_assert_str_eq(json_str(trace_find(trace(&t), "merge.done", "t"), "into"), "dev");
}

Test(review_gate, base_checked_out_in_a_linked_worktree_is_merged_there)
{
	char *repo = make_repo("repo"), *dev_wt = sandbox_path("dev-wt"), *old_main, *old_dev, *dev;
	struct task t;

	run_ok(repo, "git branch dev && git worktree add -q ../dev-wt dev");
	t = spawn_task(repo, "--scope src --base dev");
	t.head = commit_file(t.wt, "src/feature.c", "int feature;\n");
	run_ok(repo, "git agent review t");
	old_main = run_ok(repo, "git rev-parse main");
	old_dev = run_ok(repo, "git rev-parse dev");
	run_ok(repo, "git agent review t --merge");
	dev = run_ok(repo, "git rev-parse dev");
	assert_merge_commit(repo, dev, old_dev, t.head);
	cr_assert_str_eq(run_ok(dev_wt, "git rev-parse HEAD"), dev);
	cr_assert_str_eq(run_ok(dev_wt, "git symbolic-ref HEAD"), "refs/heads/dev");
	cr_assert_str_eq(read_file(strf("%s/src/feature.c", dev_wt)), "int feature;\n");
	cr_assert_str_empty(run_ok(dev_wt, "git status --porcelain"));
	cr_assert_str_eq(run_ok(repo, "git rev-parse main"), old_main);
	cr_assert(!path_exists(strf("%s/src/feature.c", repo)));
	cr_assert(worktree_listed(repo, dev_wt));
}

Test(review_gate, dirty_main_worktree_with_the_base_is_refused)
{
	struct task t = reviewed_task();

	write_file(strf("%s/README.md", t.repo), "uncommitted\n", 0644);
	assert_merge_changes_nothing(&t, "", 1, "has uncommitted changes");
	cr_assert_str_eq(read_file(strf("%s/README.md", t.repo)), "uncommitted\n");
	assert_task_kept(&t);
}

Test(review_gate, dirty_linked_worktree_with_the_base_is_refused)
{
	char *repo = make_repo("repo"), *dev_wt = sandbox_path("dev-wt");
	struct task t;

	run_ok(repo, "git branch dev && git worktree add -q ../dev-wt dev");
	t = spawn_task(repo, "--scope src --base dev");
	t.head = commit_file(t.wt, "src/feature.c", "int feature;\n");
	run_ok(repo, "git agent review t");
	write_file(strf("%s/README.md", dev_wt), "uncommitted\n", 0644);
	assert_merge_changes_nothing(&t, "", 1, "has uncommitted changes");
	assert_task_kept(&t);
}

/* the gate */

Test(review_gate, no_review_round_yet_is_refused)
{
	struct task t = task_with_work("");

	assert_gate_refuses(&t, "", "no review round yet");
	assert_task_kept(&t);
}

Test(review_gate, branch_moved_since_review_is_refused)
{
	struct task t = reviewed_task();
	char *reviewed = t.head;

	t.head = commit_file(t.wt, "src/more.c", "int more;\n");
	assert_gate_refuses(&t, "", "moved since review round");
	cr_assert_str_neq(t.head, reviewed);
	assert_task_kept(&t);
}

Test(review_gate, uncommitted_changes_in_the_task_worktree_are_refused)
{
	struct task t = reviewed_task();

	write_file(strf("%s/src/main.c", t.wt), "int main(void) { return 1; }\n", 0644);
	assert_gate_refuses(&t, "", "uncommitted changes");
	cr_assert_str_eq(read_file(strf("%s/src/main.c", t.wt)), "int main(void) { return 1; }\n");
	assert_task_kept(&t);
}

Test(review_gate, failed_check_of_the_round_is_refused)
{
	struct task t = task_with_work("");
	struct result r;

	run(&r, t.repo, "git agent review t --check false");
	assert_status(&r, 1);
	assert_gate_refuses(&t, "", "check 'false' failed");
	assert_task_kept(&t);
}

Test(review_gate, merge_uses_the_latest_round)
{
	struct task t = task_with_work("");
	char *old_main = run_ok(t.repo, "git rev-parse main");
	struct result r;

	run(&r, t.repo, "git agent review t --check false");
	assert_status(&r, 1);
	run_ok(t.repo, "git agent review t --check true");
	run_ok(t.repo, "git agent review t --merge");
	assert_merge_commit(t.repo, "main", old_main, t.head);
	cr_assert_eq(json_integer_value(json_object_get(trace_find(trace(&t), "verdict.merge", "t"),
							"round")), 2);
}

Test(review_gate, out_of_scope_change_is_listed_and_refused)
{
	struct task t = task_with_work("");
	json_t *summary, *out_of_scope;

	t.head = commit_file(t.wt, "docs/x.md", "# out of scope\n");
	summary = review_json(t.repo, 0, "t");
	out_of_scope = json_object_get(summary, "out_of_scope");
	cr_assert(json_is_array(out_of_scope) && json_array_size(out_of_scope) == 1,
		  "out_of_scope: %s", visible(keep(json_dumps(summary, JSON_COMPACT))));
	cr_assert_str_eq(json_string_value(json_array_get(out_of_scope, 0)), "docs/x.md");
	cr_assert(json_is_false(json_object_get(summary, "mergeable")));
	assert_gate_refuses(&t, "", "out of scope");
	assert_task_kept(&t);
}

Test(review_gate, allow_out_of_scope_merges_out_of_scope_changes)
{
	struct task t = task_with_work("");
	char *old_main = run_ok(t.repo, "git rev-parse main");

	t.head = commit_file(t.wt, "docs/x.md", "# out of scope\n");
	run_ok(t.repo, "git agent review t");
	run_ok(t.repo, "git agent review t --merge --allow-out-of-scope");
	assert_merge_commit(t.repo, "main", old_main, t.head);
	cr_assert_str_eq(read_file(strf("%s/docs/x.md", t.repo)), "# out of scope\n");
}

Test(review_gate, every_failed_condition_is_listed)
{
	struct task t = task_with_work("");
	struct result r;

	t.head = commit_file(t.wt, "docs/x.md", "# out of scope\n");
	run(&r, t.repo, "git agent review t --check false");
	assert_status(&r, 1);
	write_file(strf("%s/src/main.c", t.wt), "dirty\n", 0644);
	r = assert_merge_changes_nothing(&t, "", 1, "error: cannot merge task 't':\n");
	assert_contains(r.err, "check 'false' failed");
	assert_contains(r.err, "out of scope");
	assert_contains(r.err, "uncommitted changes");
	cr_assert_geq(count_matches(r.err, "\n  - "), 3, "one line per condition:\n%s", r.err);
}

/* conflicts */

/* A task changing README.md's last line one way and main changing it another, reviewed. */
static struct task conflicting_task(void)
{
	struct task t = spawn_task(make_repo("repo"), "--scope src --scope README.md");

	t.head = commit_file(t.wt, "README.md", "# demo\n\nThe task's text.\n");
	commit_file(t.repo, "README.md", "# demo\n\nMain's text.\n");
	run_ok(t.repo, "git agent review t");
	return t;
}

Test(review_gate, conflict_aborts_leaving_every_ref_and_worktree_as_before)
{
	struct task t = conflicting_task();
	struct result r = assert_merge_changes_nothing(&t, "", 1, "conflict");

	assert_contains(r.err, "README.md");
	cr_assert_not_null(trace_find(trace(&t), "merge.failed", "t"));
	cr_assert_str_eq(read_file(strf("%s/README.md", t.repo)), "# demo\n\nMain's text.\n");
	assert_task_kept(&t);
}

Test(review_gate, conflict_with_the_base_checked_out_nowhere_changes_nothing)
{
	struct task t = conflicting_task();
	struct result r;

	run_ok(t.repo, "git checkout -q --detach");
	r = assert_merge_changes_nothing(&t, "", 1, "conflict");
	assert_contains(r.err, "README.md");
	cr_assert_not_null(trace_find(trace(&t), "merge.failed", "t"));
	assert_task_kept(&t);
}

Test(review_gate, conflict_in_a_squash_changes_nothing)
{
	struct task t = conflicting_task();

	assert_contains(assert_merge_changes_nothing(&t, "--style squash", 1, "conflict").err, "README.md");
	assert_task_kept(&t);
}

/* git's own refusal (a hook) after the gate held: the merge is undone. */
Test(review_gate, failed_commit_of_a_squash_changes_nothing)
{
	struct task t = reviewed_task();

	write_file(strf("%s/.git/hooks/pre-commit", t.repo), "#!/bin/sh\necho no >&2\nexit 1\n", 0755);
	assert_merge_changes_nothing(&t, "--style squash", 1, "could not merge");
	assert_task_kept(&t);
}

Test(review_gate, failed_merge_commit_changes_nothing)
{
	struct task t = reviewed_task();

	write_file(strf("%s/.git/hooks/pre-merge-commit", t.repo), "#!/bin/sh\nexit 1\n", 0755);
	assert_merge_changes_nothing(&t, "", 1, "could not merge");
	assert_task_kept(&t);
}

/* --json */

Test(review_gate, merge_json_describes_the_merge)
{
	struct task t = reviewed_task();
	json_t *merge = review_json(t.repo, 0, "t --merge");

	cr_assert_str_eq(json_str(merge, "task"), "t");
	cr_assert_eq(json_integer_value(json_object_get(merge, "round")), 1);
	cr_assert(json_is_true(json_object_get(merge, "merged")));
	cr_assert_str_eq(json_str(merge, "into"), "main");
	cr_assert_str_eq(json_str(merge, "style"), "merge");
	cr_assert_str_eq(json_str(merge, "head"), t.head);
	cr_assert_str_eq(json_str(merge, "commit"), run_ok(t.repo, "git rev-parse main"));
	cr_assert(json_is_true(json_object_get(merge, "removed_worktree")));
	cr_assert(json_is_true(json_object_get(merge, "deleted_branch")));
	cr_assert(json_is_array(json_object_get(merge, "reasons")));
	cr_assert_eq(json_array_size(json_object_get(merge, "reasons")), 0);
}

Test(review_gate, merge_json_describes_a_refusal)
{
	struct task t = reviewed_task();
	json_t *merge, *reasons;

	commit_file(t.wt, "src/more.c", "int more;\n");
	merge = review_json(t.repo, 1, "t --merge");
	reasons = json_object_get(merge, "reasons");
	cr_assert(json_is_false(json_object_get(merge, "merged")));
	cr_assert(json_is_array(reasons) && json_array_size(reasons) > 0);
	cr_assert(strstr(json_string_value(json_array_get(reasons, 0)), "moved since review round"),
		  "reasons: %s", visible(keep(json_dumps(reasons, JSON_COMPACT))));
	cr_assert(branch_exists(t.repo, "agent/t"));
}

Test(review_gate, merge_json_with_keep_removes_nothing)
{
	struct task t = reviewed_task();
	json_t *merge = review_json(t.repo, 0, "t --merge --keep");

	cr_assert(json_is_true(json_object_get(merge, "merged")));
	cr_assert(json_is_false(json_object_get(merge, "removed_worktree")));
	cr_assert(json_is_false(json_object_get(merge, "deleted_branch")));
}

/* --request-changes */

Test(review_gate, request_changes_appends_a_section_to_the_packet)
{
	struct task t = reviewed_task();
	char *before = read_file(t.packet), *after, *section;

	run_ok(t.repo, "git agent review t --request-changes='Please add tests'");
	after = read_file(t.packet);
	cr_assert(!strncmp(after, before, strlen(before)), "the packet was not appended to:\n%s", after);
	section = strstr(after, "\n## Requested changes\n");
	cr_assert(section != NULL, "no section in:\n%s", after);
	cr_assert_null(strstr(section + 1, "\n## "), "the section is not the last:\n%s", after);
	assert_contains(section, "### After review round 01");
	assert_contains(fenced_block_after(section, "### After review round 01"), "Please add tests");
	cr_assert_eq(count_matches(strf("\n%s", after), "\n## "),
		     count_matches(strf("\n%s", before), "\n## ") + 1);
}

Test(review_gate, request_changes_logs_verdict_changes_with_the_text)
{
	struct task t = reviewed_task();
	json_t *changes;

	run_ok(t.repo, "git agent review t --request-changes='Please add tests'");
	changes = trace_find(trace(&t), "verdict.changes", "t");
	cr_assert_not_null(changes);
	cr_assert_str_eq(json_str(changes, "text"), "Please add tests");
	cr_assert_eq(json_integer_value(json_object_get(changes, "round")), 1);
}

Test(review_gate, request_changes_changes_no_ref_or_worktree)
{
	struct task t = reviewed_task();
	char *before = state(t.repo);

	run_ok(t.repo, "git agent review t --request-changes='Please add tests'");
	cr_assert_str_eq(state(t.repo), before);
}

Test(review_gate, merge_after_requested_changes_waits_for_a_new_round)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");

	run_ok(t.repo, "git agent review t --request-changes='Please add tests'");
	assert_gate_refuses(&t, "", "changes were requested");
	t.head = commit_file(t.wt, "src/feature_test.c", "int tested;\n");
	run_ok(t.repo, "git agent review t");
	run_ok(t.repo, "git agent review t --merge");
	assert_merge_commit(t.repo, "main", old_main, t.head);
}

Test(review_gate, request_changes_reads_the_text_from_stdin)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "printf 'Text from stdin' | git agent review t --request-changes");
	assert_contains(fenced_block_after(read_file(t.packet), "### After review round 01"),
			"Text from stdin");
	cr_assert_str_eq(json_str(trace_find(trace(&t), "verdict.changes", "t"), "text"), "Text from stdin");
}

Test(review_gate, requested_markdown_stays_inside_a_fenced_block)
{
	struct task t = reviewed_task();
	char *before = read_file(t.packet), *after, *block;

	run_ok(t.repo, "git agent review t --request-changes=%s",
	       sh_quote("```\n# Heading\n````\n~~~\nstill the text"));
	after = read_file(t.packet);
	block = fenced_block_after(strstr(after, "\n## Requested changes\n"), "### After review round 01");
	assert_contains(block, "```\n# Heading\n````\n~~~\nstill the text");
	cr_assert_eq(count_matches(strf("\n%s", after), "\n## "),
		     count_matches(strf("\n%s", before), "\n## ") + 1,
		     "the packet's headings changed:\n%s", after);
	cr_assert_eq(count_matches(strf("\n%s", after), "\n# "), count_matches(strf("\n%s", before), "\n# ") + 1,
		     "one '# ' line more: the one inside the block");
}

Test(review_gate, second_request_adds_to_the_one_section)
{
	struct task t = reviewed_task();
	char *packet;

	run_ok(t.repo, "git agent review t --request-changes='First request'");
	commit_file(t.wt, "src/second.c", "int second;\n");
	run_ok(t.repo, "git agent review t");
	run_ok(t.repo, "git agent review t --request-changes='Second request'");
	packet = read_file(t.packet);
	cr_assert_eq(count_matches(packet, "## Requested changes"), 1, "packet:\n%s", packet);
	assert_contains(fenced_block_after(packet, "### After review round 01"), "First request");
	assert_contains(fenced_block_after(packet, "### After review round 02"), "Second request");
	cr_assert(strstr(packet, "round 01") < strstr(packet, "round 02"));
}

Test(review_gate, request_changes_before_any_round_says_so)
{
	struct task t = task_with_work("");

	run_ok(t.repo, "git agent review t --request-changes='Start over'");
	assert_contains(fenced_block_after(read_file(t.packet), "### Before any review round"), "Start over");
}

/* --abandon */

Test(review_gate, abandon_with_uncommitted_changes_is_refused)
{
	struct task t = reviewed_task();
	char *before;
	struct result r;

	write_file(strf("%s/src/main.c", t.wt), "dirty\n", 0644);
	before = state(t.repo);
	r = review_fails(&t, "--abandon", 1, "uncommitted changes");
	assert_contains(r.err, "src/main.c");
	cr_assert_str_eq(state(t.repo), before);
	cr_assert_str_eq(read_file(strf("%s/src/main.c", t.wt)), "dirty\n");
	assert_task_kept(&t);
	cr_assert_null(trace_find(trace(&t), "verdict.abandon", "t"));
}

Test(review_gate, abandon_force_removes_the_worktree_and_branch_despite_changes)
{
	struct task t = reviewed_task();
	char *old_main = run_ok(t.repo, "git rev-parse main");
	json_t *events;

	write_file(strf("%s/src/main.c", t.wt), "dirty\n", 0644);
	run_ok(t.repo, "git agent review t --abandon --force");
	assert_task_removed(&t);
	events = trace(&t);
	cr_assert_not_null(trace_find(events, "verdict.abandon", "t"));
	assert_contains(visible(keep(json_dumps(trace_find(events, "branch.deleted", "t"), JSON_COMPACT))),
			t.head);
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse main"), old_main, "nothing merged");
}

Test(review_gate, abandon_of_a_clean_task_removes_it_and_keeps_the_evidence)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --abandon");
	assert_task_removed(&t);
	cr_assert_eq(worktree_count(t.repo), 1);
	cr_assert(is_dir(strf("%s/review/01", t.folder)));
	cr_assert_not_null(trace_find(trace(&t), "review.recorded", "t"));
}

Test(review_gate, abandon_keep_branch_keeps_the_branch)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --abandon --keep-branch");
	cr_assert(!worktree_listed(t.repo, t.wt));
	cr_assert(!path_exists(t.wt));
	cr_assert_str_eq(run_ok(t.repo, "git rev-parse agent/t"), t.head);
	cr_assert_not_null(trace_find(trace(&t), "worktree.removed", "t"));
	cr_assert_null(trace_find(trace(&t), "branch.deleted", "t"));
}

Test(review_gate, review_of_an_abandoned_task_is_an_error)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --abandon --keep-branch");
	review_fails(&t, "", 128, "was abandoned");
	review_fails(&t, "--merge", 128, "was abandoned");
}

Test(review_gate, review_of_a_merged_task_is_an_error)
{
	struct task t = reviewed_task();

	run_ok(t.repo, "git agent review t --merge --keep");
	review_fails(&t, "", 128, "was merged");
	review_fails(&t, "--merge", 128, "was merged");
}

Test(review_gate, abandon_of_a_planned_task_succeeds)
{
	char *repo = make_repo("repo"), *before = state(repo);
	json_t *plan = spawn_json(repo, "--name p 'A plan'");
	struct result r;

	run(&r, repo, "git agent review p --abandon");
	assert_status(&r, 0);
	cr_assert_str_eq(state(repo), before);
	cr_assert_not_null(trace_find(trace_read(json_str(plan, "trace")), "verdict.abandon", "p"));
}

/* usage */

/* `git agent review t <args>` is a usage error that touches nothing. */
static void assert_usage_error(const char *args)
{
	struct task t = reviewed_task();
	char *before = state(t.repo);
	struct result r;

	run(&r, t.repo, "git agent review t %s", args);
	assert_status(&r, 129);
	cr_assert(!strncmp(r.err, "error: ", 7), "stderr: %s", visible(r.err));
	assert_contains(r.err, "usage: git agent review");
	cr_assert_str_empty(r.out);
	cr_assert_str_eq(state(t.repo), before);
	cr_assert_null(trace_find(trace(&t), "verdict.merge", "t"));
	cr_assert_null(trace_find(trace(&t), "verdict.abandon", "t"));
}

Test(review_gate, merge_with_abandon_is_a_usage_error)
{
	assert_usage_error("--merge --abandon");
}

Test(review_gate, merge_with_request_changes_is_a_usage_error)
{
	assert_usage_error("--merge --request-changes=text");
}

Test(review_gate, check_with_merge_is_a_usage_error)
{
	assert_usage_error("--check x --merge");
}

Test(review_gate, force_without_abandon_is_a_usage_error)
{
	assert_usage_error("--force");
}

Test(review_gate, style_without_merge_is_a_usage_error)
{
	assert_usage_error("--style ff");
}

Test(review_gate, unknown_style_is_a_usage_error)
{
	assert_usage_error("--style bogus --merge");
}

Test(review_gate, stat_width_zero_is_a_usage_error)
{
	assert_usage_error("--stat-width 0");
}

Test(review_gate, empty_requested_changes_are_a_usage_error)
{
	assert_usage_error("--request-changes=");
}

Test(review_gate, dash_h_prints_the_usage_on_stdout)
{
	struct result r;

	run(&r, NULL, "git agent review -h");
	assert_status(&r, 129);
	assert_contains(r.out, "usage: git agent review");
	assert_contains(r.out, "--merge");
	assert_contains(r.out, "--request-changes");
	assert_contains(r.out, "--abandon");
}
