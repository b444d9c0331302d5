/*
 * `git agent spawn`, as git-agent-spawn(1) describes it, with the git CLI as
 * the oracle: what git itself says about the branches, worktrees and files.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib.h"

TestSuite(spawn, .init = sandbox_setup, .fini = sandbox_teardown);

/* The fields --json promises. */
static const char *json_fields[] = {
	"task", "title", "mode", "adopted", "branch", "base", "base_sha", "worktree",
	"folder", "packet", "report", "record", "trace", "port",
};

static char *tasks_dir(const char *repo)
{
	return strf("%s/.git/agent/tasks", repo);
}

static char *trace_path(const char *repo)
{
	return strf("%s/.git/agent/trace.jsonl", repo);
}

static int slug_is_well_formed(const char *slug)
{
	size_t len = strlen(slug);

	if (!len || len > 48 || slug[0] == '-' || slug[len - 1] == '-' || strstr(slug, "--"))
		return 0;
	return strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* The status value of a task record ("planned", "creating", "created"). */
static char *record_status(const char *record)
{
	char *text = read_file(record), *line, *eq;

	cr_assert(text != NULL, "no record %s", record);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "status", 6) || !strchr(" =", line[6]) || !(eq = strchr(line, '=')))
			continue;
		eq += 1 + strspn(eq + 1, " ");
		eq[strcspn(eq, " ")] = '\0';
		return eq;
	}
	return "";
}

/* The short base commit in "(from <base> at <short>)", checked against head. */
static char *short_base(const char *out, const char *base, const char *head)
{
	const char *at = strstr(out, strf("(from %s at ", base));
	size_t len;

	cr_assert(at != NULL, "no base '%s' in:\n%s", base, out);
	at += strlen(strf("(from %s at ", base));
	len = strspn(at, "0123456789abcdef");
	cr_assert(len >= 7 && !strncmp(at, head, len) && at[len] == ')', "short id in:\n%s", out);
	return strf("%.*s", (int)len, at);
}

/*
 * The heading structure of a markdown document outside fenced code blocks,
 * one heading a line: "#" for a level-1 heading (its text is the title),
 * the whole line for deeper ones, "setext: <text>" for underlined ones.
 */
static char *headings(const char *md)
{
	char *out = strf("%s", ""), *prev = NULL;
	char fence = 0;
	size_t fence_len = 0;
	const char *line, *next;

	for (line = md; *line; line = next) {
		size_t len = strcspn(line, "\n"), indent = strspn(line, " "), run, level;
		const char *p = line + (indent < 4 ? indent : 0);
		char *text = strf("%.*s", (int)len, line);

		next = line + len + (line[len] == '\n');
		if (indent < 4 && (*p == '`' || *p == '~')) {
			run = strspn(p, *p == '`' ? "`" : "~");
			if (run >= 3 && !fence &&
			    !(*p == '`' && memchr(p + run, '`', len - (size_t)(p + run - line)))) {
				fence = *p;
				fence_len = run;
				prev = NULL;
				continue;
			}
			if (run >= fence_len && *p == fence &&
			    strspn(p + run, " \t") == len - (size_t)(p + run - line)) {
				fence = 0;
				prev = NULL;
				continue;
			}
		}
		if (fence)
			continue;
		level = indent < 4 ? strspn(p, "#") : 0;
		if (level >= 1 && level <= 6 && (p[level] == ' ' || p + level == line + len)) {
			out = strf("%s%s\n", out, level == 1 ? "#" : text);
			prev = NULL;
			continue;
		}
		if (prev && indent < 4 && (*p == '=' || *p == '-') &&
		    strspn(p, *p == '=' ? "=" : "-") + strspn(p + strspn(p, *p == '=' ? "=" : "-"), " ") ==
		    len - (size_t)(p - line)) {
			out = strf("%ssetext: %s\n", out, prev);
			prev = NULL;
			continue;
		}
		prev = strspn(text, " \t") == len ? NULL : text;
	}
	return out;
}

/* Control bytes, DEL, C1 controls and bidirectional overrides in s. */
static void assert_no_terminal_control(const char *what, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i], d = i + 1 < len ? (unsigned char)s[i + 1] : 0;
		unsigned char e = i + 2 < len ? (unsigned char)s[i + 2] : 0;

		cr_assert(!(c < 0x20 && c != '\n') && c != 0x7f,
			  "%s has the raw control byte 0x%02x at %zu:\n%s", what, c, i, visible(s));
		cr_assert(!(c == 0xc2 && d >= 0x80 && d <= 0x9f),
			  "%s has the raw C1 control U+00%02X at %zu", what, d, i);
		cr_assert(!(c == 0xe2 && d == 0x80 && e >= 0xaa && e <= 0xae) &&
			  !(c == 0xe2 && d == 0x81 && e >= 0xa6 && e <= 0xa9),
			  "%s has a raw bidirectional control at %zu", what, i);
	}
}

/*
 * The refusal of a dirty main worktree, as the spec shows it, for the first
 * paths `git status --short` shows now; more says how many were left out.
 */
static char *dirty_message(const char *repo, int max, const char *more)
{
	char *status = run_ok(repo, "git status --short | head -n %d | sed 's/^/\t/'", max);

	return strf("fatal: the main worktree has uncommitted changes:\n%s\n%s"
		    "hint: commit or stash them, or use --allow-dirty\n", status, more);
}

/* dry run */

Test(spawn, dry_run_writes_record_folder_packet_readme_and_scripts)
{
	char *repo = make_repo("repo"), *tasks = tasks_dir(repo);
	char *folder = strf("%s/add-billing-csv-export", tasks);
	json_t *task = spawn_json(repo, "Add billing CSV export");

	cr_assert_str_eq(json_str(task, "task"), "add-billing-csv-export");
	cr_assert_str_eq(json_str(task, "title"), "Add billing CSV export");
	cr_assert_str_eq(json_str(task, "mode"), "dry-run");
	cr_assert_str_eq(json_str(task, "record"), strf("%s/add-billing-csv-export.ini", tasks));
	cr_assert_str_eq(json_str(task, "folder"), folder);
	cr_assert_str_eq(json_str(task, "packet"), strf("%s/packet.md", folder));
	cr_assert_str_eq(json_str(task, "report"), strf("%s/report.md", folder));
	cr_assert_str_eq(json_str(task, "trace"), trace_path(repo));
	cr_assert(path_exists(json_str(task, "record")));
	cr_assert_str_eq(record_status(json_str(task, "record")), "planned");
	cr_assert(path_exists(strf("%s/README.md", folder)));
	cr_assert(path_exists(strf("%s/packet.md", folder)));
	cr_assert(is_executable(strf("%s/commands/create-worktree.sh", folder)));
	cr_assert(is_executable(strf("%s/commands/review-before-merge.sh", folder)));
	cr_assert(!path_exists(strf("%s/report.md", folder)), "the report is the agent's to write");
}

Test(spawn, dry_run_creates_no_ref_and_no_worktree)
{
	char *repo = make_repo("repo");
	char *refs = run_ok(repo, "git for-each-ref");
	json_t *task = spawn_json(repo, "'Fix login'");

	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert(!path_exists(json_str(task, "worktree")));
	cr_assert(!path_exists(sandbox_path("repo-worktrees")));
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), 0);
	cr_assert_str_empty(run_ok(repo, "git status --porcelain --ignored"));
}

Test(spawn, dry_run_logs_task_planned_with_its_fields)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	json_t *task = spawn_json(repo, "'Fix login'");
	json_t *events = trace_read(trace_path(repo));
	json_t *planned = trace_find(events, "task.planned", "fix-login");

	cr_assert_eq(json_array_size(events), 1, "one event: task.planned");
	cr_assert(planned != NULL);
	cr_assert_str_eq(json_str(planned, "title"), "Fix login");
	cr_assert_str_eq(json_str(planned, "branch"), "agent/fix-login");
	cr_assert_str_eq(json_str(planned, "base"), "main");
	cr_assert_str_eq(json_str(planned, "base_sha"), head);
	cr_assert_str_eq(json_str(planned, "worktree"), json_str(task, "worktree"));
	cr_assert_str_eq(json_str(planned, "folder"), json_str(task, "folder"));
}

Test(spawn, dry_run_prints_the_planned_task_and_the_next_command)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	char *folder = strf("%s/fix-login", tasks_dir(repo)), *expected;
	struct result r;

	run(&r, repo, "git agent spawn Fix login");
	assert_status(&r, 0);
	expected = strf("planned task 'fix-login' (dry run: no branch or worktree created)\n"
			"  title:    Fix login\n"
			"  branch:   agent/fix-login (from main at %s)\n"
			"  worktree: %s\n"
			"  packet:   %s/packet.md\n"
			"next: git agent spawn --create --name fix-login\n",
			short_base(r.out, "main", head), sandbox_path("repo-worktrees/fix-login"), folder);
	cr_assert_str_eq(r.out, expected);
	cr_assert_str_empty(r.err);
}

Test(spawn, dry_run_does_not_look_at_a_dirty_main_worktree)
{
	char *repo = make_repo("repo");

	write_file(strf("%s/README.md", repo), "changed\n", 0644);
	write_file(strf("%s/untracked.txt", repo), "new\n", 0644);
	spawn_json(repo, "'Plan while dirty'");
}

/* create: the git CLI is the oracle */

Test(spawn, create_adds_a_worktree_that_git_lists_on_the_new_branch)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	const char *wt = json_str(task, "worktree");
	char *list = strf("%s\n", run_ok(repo, "git worktree list --porcelain"));

	cr_assert_str_eq(json_str(task, "mode"), "create");
	cr_assert(json_is_false(json_object_get(task, "adopted")));
	cr_assert_eq(worktree_count(repo), 2);
	assert_contains(list, strf("worktree %s\nHEAD %s\nbranch refs/heads/agent/fix-login\n", wt, head));
	cr_assert_str_eq(record_status(json_str(task, "record")), "created");
}

Test(spawn, create_worktree_is_clean)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	const char *wt = json_str(task, "worktree");

	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"), "the main worktree stays clean");
	cr_assert_str_eq(read_file(strf("%s/na\xc3\xafve \xc3\xbc.txt", wt)), "a UTF-8 name\n");
	cr_assert(is_executable(strf("%s/tools/run.sh", wt)));
}

Test(spawn, create_head_is_the_new_branch_at_the_base_commit)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	char *wt = sh_quote(json_str(task, "worktree"));

	cr_assert_str_eq(run_ok(NULL, "git -C %s symbolic-ref HEAD", wt), "refs/heads/agent/fix-login");
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", wt), head);
	cr_assert_str_eq(run_ok(repo, "git rev-parse refs/heads/agent/fix-login"), head);
	cr_assert_str_eq(json_str(task, "base_sha"), head);
	cr_assert_str_eq(json_str(task, "base"), "main");
	cr_assert_str_eq(run_ok(repo, "git symbolic-ref HEAD"), "refs/heads/main");
}

Test(spawn, create_worktree_is_removed_by_git_worktree_remove)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	const char *wt = json_str(task, "worktree");

	run_ok(repo, "git worktree remove %s", sh_quote(wt));
	cr_assert(!path_exists(wt));
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), 0);
}

Test(spawn, create_logs_planned_created_and_setup_done_in_order)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	json_t *events = trace_read(trace_path(repo)), *created;

	cr_assert_eq(json_array_size(events), 3, "task.planned, worktree.created, setup.done");
	cr_assert_str_eq(json_str(json_array_get(events, 0), "event"), "task.planned");
	cr_assert_str_eq(json_str(json_array_get(events, 1), "event"), "worktree.created");
	cr_assert_str_eq(json_str(json_array_get(events, 2), "event"), "setup.done");
	created = json_array_get(events, 1);
	cr_assert_str_eq(json_str(created, "task"), "fix-login");
	cr_assert_str_eq(json_str(created, "branch"), "agent/fix-login");
	cr_assert_str_eq(json_str(created, "base"), "main");
	cr_assert_str_eq(json_str(created, "base_sha"), head);
	cr_assert_str_eq(json_str(created, "worktree"), json_str(task, "worktree"));
}

Test(spawn, create_prints_the_task_port_and_next_steps)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	char *wt = sandbox_path("repo-worktrees/fix-login");
	char *packet = strf("%s/fix-login/packet.md", tasks_dir(repo));
	char *expected, *port_line;
	struct result r;
	int port;

	run(&r, repo, "git agent spawn --create 'Fix login'");
	assert_status(&r, 0);
	port_line = strstr(r.out, "\n  port:     ");
	cr_assert(port_line != NULL, "no port line in:\n%s", r.out);
	port = atoi(port_line + strlen("\n  port:     "));
	cr_assert(port >= 10000 && port <= 19999, "port %d", port);
	expected = strf("created task 'fix-login'\n"
			"  title:    Fix login\n"
			"  branch:   agent/fix-login (from main at %s)\n"
			"  worktree: %s\n"
			"  packet:   %s\n"
			"  port:     %d\n"
			"next: cd ",
			short_base(r.out, "main", head), wt, packet, port);
	cr_assert(!strncmp(r.out, expected, strlen(expected)), "stdout:\n%s\nexpected:\n%s", r.out, expected);
	assert_contains(r.out, strf(", hand the agent %s, then: git agent review fix-login\n", packet));
	cr_assert_eq(count_lines(r.out), 7, "stdout:\n%s", r.out);
}

Test(spawn, create_next_line_quotes_the_worktree_for_sh)
{
	char *repo = make_repo("my repo \xc3\xbc 'q'");
	char *wt = sandbox_path("my repo \xc3\xbc 'q'-worktrees/fix-login");
	char *cd, *end;
	struct result r;

	run(&r, repo, "git agent spawn --create 'Fix login'");
	assert_status(&r, 0);
	cr_assert(is_dir(wt), "no worktree %s", wt);
	cd = strstr(r.out, "\nnext: cd ");
	cr_assert(cd != NULL, "stdout:\n%s", r.out);
	cd += strlen("\nnext: cd ");
	end = strstr(cd, ", hand the agent ");
	cr_assert(end != NULL, "stdout:\n%s", r.out);
	cr_assert_str_eq(run_ok(NULL, "cd %.*s && pwd -P", (int)(end - cd), cd), wt);
}

/* worktree placement */

Test(spawn, default_worktree_is_beside_the_main_worktree)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create 'Fix login'");
	const char *wt = json_str(task, "worktree");

	cr_assert_str_eq(wt, sandbox_path("repo-worktrees/fix-login"));
	cr_assert(strncmp(wt, strf("%s/", repo), strlen(repo) + 1) != 0, "inside the repo: %s", wt);
	cr_assert(worktree_listed(repo, wt));
}

Test(spawn, relative_worktree_dir_is_taken_from_the_main_worktree_root)
{
	char *repo = make_repo("repo");
	json_t *task;

	run_ok(repo, "git config agent.worktreeDir ../wts");
	task = spawn_json(strf("%s/src", repo), "--create 'From src'");
	cr_assert_str_eq(json_str(task, "worktree"), sandbox_path("wts/from-src"));
	cr_assert(worktree_listed(repo, sandbox_path("wts/from-src")));
	cr_assert(!path_exists(strf("%s/wts", repo)));
}

Test(spawn, worktree_dir_inside_the_main_worktree_is_refused)
{
	char *repo = make_repo("repo");
	char *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "git -c agent.worktreeDir=inner agent spawn --create x");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	cr_assert(!path_exists(strf("%s/inner", repo)));
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
}

/* where spawn runs from */

Test(spawn, create_from_a_subdirectory)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(strf("%s/src", repo), "--create 'From a subdirectory'");

	cr_assert_str_eq(json_str(task, "worktree"), sandbox_path("repo-worktrees/from-a-subdirectory"));
	cr_assert_str_eq(json_str(task, "record"), strf("%s/from-a-subdirectory.ini", tasks_dir(repo)));
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(json_str(task, "worktree"))));
}

Test(spawn, create_from_inside_another_tasks_worktree)
{
	char *repo = make_repo("repo"), *first, *tip;
	json_t *task;

	first = strf("%s", json_str(spawn_json(repo, "--create 'First task'"), "worktree"));
	write_file(strf("%s/src/first.c", first), "int first;\n", 0644);
	run_ok(first, "git add src/first.c && git commit -q -m 'first task work'");
	tip = run_ok(first, "git rev-parse HEAD");

	task = spawn_json(strf("%s/src", first), "--create 'Second task'");
	cr_assert_str_eq(json_str(task, "worktree"), sandbox_path("repo-worktrees/second-task"));
	cr_assert_str_eq(json_str(task, "record"), strf("%s/second-task.ini", tasks_dir(repo)));
	cr_assert_str_eq(json_str(task, "base"), "agent/first-task", "the caller's current branch");
	cr_assert_str_eq(json_str(task, "base_sha"), tip);
	cr_assert_eq(worktree_count(repo), 3);
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(json_str(task, "worktree"))), tip);
	cr_assert_str_empty(run_ok(first, "git status --porcelain"));
}

Test(spawn, git_dir_option_finds_the_repository)
{
	char *repo = make_repo("repo"), *elsewhere = sandbox_path("elsewhere");
	struct result r;
	json_t *task;

	make_dirs(elsewhere);
	run(&r, elsewhere, "git --git-dir=%s agent spawn --create --json 'Via git dir'",
	    sh_quote(strf("%s/.git", repo)));
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "worktree"), sandbox_path("repo-worktrees/via-git-dir"));
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	cr_assert_eq(count_entries(elsewhere), 0, "nothing written to the current directory");
}

Test(spawn, git_dir_environment_finds_the_repository)
{
	char *repo = make_repo("repo"), *elsewhere = sandbox_path("elsewhere");
	struct result r;

	make_dirs(elsewhere);
	run(&r, elsewhere, "GIT_DIR=%s git agent spawn 'Via GIT_DIR'", sh_quote(strf("%s/.git", repo)));
	assert_status(&r, 0);
	cr_assert(path_exists(strf("%s/via-git-dir.ini", tasks_dir(repo))));
}

Test(spawn, dash_c_option_finds_the_repository)
{
	char *repo = make_repo("repo");
	struct result r;
	json_t *task;

	run(&r, NULL, "git -C %s/src agent spawn --create --json 'Via dash C'", sh_quote(repo));
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "worktree"), sandbox_path("repo-worktrees/via-dash-c"));
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
}

/* base */

Test(spawn, default_branch_master_is_the_base)
{
	char *repo = make_repo_on("repo", "master"), *head = run_ok(repo, "git rev-parse master");
	json_t *task = spawn_json(repo, "--create 'On master'");

	cr_assert_str_eq(json_str(task, "base"), "master");
	cr_assert_str_eq(json_str(task, "base_sha"), head);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/on-master"), head);
}

Test(spawn, detached_head_bases_the_task_on_the_commit)
{
	char *repo = make_repo("repo"), *commit;
	json_t *task;

	run_ok(repo, "git checkout -q --detach HEAD~1");
	commit = run_ok(repo, "git rev-parse HEAD");
	task = spawn_json(repo, "--create 'From detached'");
	cr_assert_str_eq(json_str(task, "base_sha"), commit);
	cr_assert(strlen(json_str(task, "base")) >= 7 && !strncmp(json_str(task, "base"), commit,
								     strlen(json_str(task, "base"))),
		  "base %s is not the commit %s", json_str(task, "base"), commit);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/from-detached"), commit);
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(json_str(task, "worktree"))), commit);
}

Test(spawn, no_commits_yet_is_a_clear_error)
{
	char *repo = sandbox_path("empty");
	struct result r;

	run_ok(NULL, "git init -q %s", sh_quote(repo));
	run(&r, repo, "git agent spawn 'First task'");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	assert_contains(r.err, "commit");
	cr_assert(!path_exists(strf("%s/first-task.ini", tasks_dir(repo))));
	run(&r, repo, "git agent spawn --create 'First task'");
	assert_status(&r, 128);
	assert_contains(r.err, "commit");
}

Test(spawn, missing_base_is_a_clear_error)
{
	char *repo = make_repo("repo"), *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "git agent spawn --base nope 'Bad base'");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	assert_contains(r.err, "'nope'");
	cr_assert_eq(count_entries(tasks_dir(repo)), 0, "no record for a task that cannot start");
	run(&r, repo, "git agent spawn --create --base nope 'Bad base'");
	assert_status(&r, 128);
	assert_contains(r.err, "'nope'");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
}

Test(spawn, base_can_be_an_annotated_tag)
{
	char *repo = make_repo("repo"), *commit;
	json_t *task;

	run_ok(repo, "git tag -a -m 'version 1' v1 HEAD~2");
	commit = run_ok(repo, "git rev-parse 'v1^{commit}'");
	task = spawn_json(repo, "--create --base v1 'From tag'");
	cr_assert_str_eq(json_str(task, "base"), "v1");
	cr_assert_str_eq(json_str(task, "base_sha"), commit, "the commit, not the tag object");
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(json_str(task, "worktree"))), commit);
}

Test(spawn, base_can_be_another_branch)
{
	char *repo = make_repo("repo"), *commit;
	json_t *task;

	run_ok(repo, "git branch feature HEAD~1");
	commit = run_ok(repo, "git rev-parse feature");
	task = spawn_json(repo, "--create --base feature 'From feature'");
	cr_assert_str_eq(json_str(task, "base"), "feature");
	cr_assert_str_eq(json_str(task, "base_sha"), commit);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/from-feature"), commit);
}

Test(spawn, agent_base_config_sets_the_base)
{
	char *repo = make_repo("repo"), *commit;
	json_t *task;

	run_ok(repo, "git branch feature HEAD~2 && git config agent.base feature");
	commit = run_ok(repo, "git rev-parse feature");
	task = spawn_json(repo, "'Configured base'");
	cr_assert_str_eq(json_str(task, "base"), "feature");
	cr_assert_str_eq(json_str(task, "base_sha"), commit);
}

/* An origin with a commit its clone has not fetched yet; returns the clone. */
static char *clone_behind_origin(char **old_tip, char **new_tip)
{
	char *origin = make_repo("origin"), *clone = sandbox_path("clone");

	run_ok(NULL, "git clone -q %s %s", sh_quote(origin), sh_quote(clone));
	*old_tip = run_ok(clone, "git rev-parse origin/main");
	write_file(strf("%s/upstream.txt", origin), "new upstream work\n", 0644);
	run_ok(origin, "git add upstream.txt && git commit -q -m 'upstream work'");
	*new_tip = run_ok(origin, "git rev-parse HEAD");
	return clone;
}

Test(spawn, fetch_makes_the_remote_base_fresh)
{
	char *old_tip, *new_tip, *clone = clone_behind_origin(&old_tip, &new_tip);
	json_t *task = spawn_json(clone, "--create --fetch --base origin/main 'Fresh base'");

	cr_assert_str_eq(json_str(task, "base"), "origin/main");
	cr_assert_str_eq(json_str(task, "base_sha"), new_tip);
	cr_assert_str_eq(run_ok(clone, "git rev-parse origin/main"), new_tip);
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(json_str(task, "worktree"))), new_tip);
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(json_str(task, "worktree"))));
}

Test(spawn, agent_fetch_config_fetches_and_no_fetch_overrides_it)
{
	char *old_tip, *new_tip, *clone = clone_behind_origin(&old_tip, &new_tip);
	json_t *task;

	run_ok(clone, "git config agent.fetch true");
	task = spawn_json(clone, "--create --no-fetch --base origin/main 'Not fetched'");
	cr_assert_str_eq(json_str(task, "base_sha"), old_tip);
	task = spawn_json(clone, "--create --base origin/main 'Fetched'");
	cr_assert_str_eq(json_str(task, "base_sha"), new_tip);
}

Test(spawn, fetch_does_nothing_in_a_dry_run)
{
	char *old_tip, *new_tip, *clone = clone_behind_origin(&old_tip, &new_tip);
	json_t *task = spawn_json(clone, "--fetch --base origin/main 'Planned only'");

	cr_assert_str_eq(json_str(task, "base_sha"), old_tip);
	cr_assert_str_eq(run_ok(clone, "git rev-parse origin/main"), old_tip);
	(void)new_tip;
}

/* the state of the main worktree */

static void make_dirty(const char *repo)
{
	write_file(strf("%s/README.md", repo), "changed\n", 0644);
	write_file(strf("%s/staged.txt", repo), "staged\n", 0644);
	run_ok(repo, "git add staged.txt");
	write_file(strf("%s/other.txt", repo), "untracked\n", 0644);
	write_file(strf("%s/debug.log", repo), "ignored\n", 0644);
}

Test(spawn, dirty_main_worktree_is_refused_listing_the_paths)
{
	char *repo = make_repo("repo"), *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	make_dirty(repo);
	run(&r, repo, "git agent spawn --create 'Dirty'");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, dirty_message(repo, 10, ""));
	assert_not_contains(r.err, "debug.log");
	cr_assert_str_empty(r.out);
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert(!path_exists(sandbox_path("repo-worktrees/dirty")));
}

/*
 * The refusal kills a checkout that may be half-way: git's own cleanup then
 * races the `git reset --hard` it started. A slow smudge filter keeps the
 * checkout running; whatever moment the refusal lands in, nothing is left.
 */
Test(spawn, dirty_refusal_during_the_checkout_leaves_nothing, .timeout = 60)
{
	char *repo = make_repo("repo"), *refs;
	struct result r;
	/* Under a wrapper (make valgrind) a spawn is 20 times slower. */
	int i, attempts = getenv("GIT_AGENT_TEST_WRAPPER") ? 8 : 40;

	for (i = 0; i < 5; i++)
		write_file(strf("%s/slow-%d.txt", repo, i), "slow\n", 0644);
	write_file(strf("%s/.gitattributes", repo), "slow-* filter=slow\n", 0644);
	run_ok(repo, "git add . && git commit -qm slow && "
	       "git config filter.slow.smudge 'sleep 0.05; cat'");
	refs = run_ok(repo, "git for-each-ref");
	make_dirty(repo);
	for (i = 0; i < attempts; i++) {
		run(&r, repo, "git agent spawn --create 'Dirty'");
		assert_status(&r, 128);
		cr_assert_str_eq(r.err, dirty_message(repo, 10, ""), "attempt %d", i);
		cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
		cr_assert_eq(worktree_count(repo), 1);
		cr_assert(!path_exists(sandbox_path("repo-worktrees/dirty")), "attempt %d", i);
		cr_assert(!path_exists(strf("%s/.git/worktrees/dirty", repo)), "attempt %d", i);
	}
}

Test(spawn, dirty_refusal_lists_the_first_ten_paths)
{
	char *repo = make_repo("repo");
	struct result r;
	int i;

	for (i = 1; i <= 15; i++)
		write_file(strf("%s/new-%02d.txt", repo, i), "new\n", 0644);
	run(&r, repo, "git agent spawn --create 'Very dirty'");
	assert_status(&r, 128);
	cr_assert_eq(count_matches(r.err, "\n\t?? "), 10, "stderr:\n%s", r.err);
	cr_assert_str_eq(r.err, dirty_message(repo, 10, "\t... and 5 more\n"));
}

Test(spawn, allow_dirty_creates_and_leaves_the_changes_in_the_main_worktree)
{
	char *repo = make_repo("repo"), *status;
	json_t *task;
	const char *wt;

	make_dirty(repo);
	status = run_ok(repo, "git status --porcelain");
	task = spawn_json(repo, "--create --allow-dirty 'Dirty allowed'");
	wt = json_str(task, "worktree");
	cr_assert_str_eq(run_ok(repo, "git status --porcelain"), status);
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
	cr_assert_str_eq(read_file(strf("%s/README.md", wt)), "# demo\n\nMore text.\n");
	cr_assert(!path_exists(strf("%s/other.txt", wt)));
	cr_assert(!path_exists(strf("%s/staged.txt", wt)));
}

Test(spawn, ignored_files_do_not_make_the_main_worktree_dirty)
{
	char *repo = make_repo("repo");

	write_file(strf("%s/debug.log", repo), "log\n", 0644);
	write_file(strf("%s/build/out.o", repo), "obj\n", 0644);
	write_file(strf("%s/.env", repo), "TOKEN=1\n", 0600);
	spawn_json(repo, "--create 'Ignored only'");
}

/* setting up the new worktree */

static char *mode_of(const char *path)
{
	return run_ok(NULL, "stat -c %%a %s", sh_quote(path));
}

Test(spawn, copy_and_worktreeinclude_copy_ignored_files_keeping_modes)
{
	char *repo = make_repo("repo");
	json_t *task;
	const char *wt;

	write_file(strf("%s/.worktreeinclude", repo), "# local files\nsecrets/\n", 0644);
	run_ok(repo, "git add .worktreeinclude && git commit -q -m 'worktreeinclude'");
	write_file(strf("%s/.env", repo), "TOKEN=secret\n", 0600);
	write_file(strf("%s/secrets/run.sh", repo), "#!/bin/sh\necho secret\n", 0755);
	write_file(strf("%s/secrets/api.key", repo), "KEY\n", 0640);
	write_file(strf("%s/debug.log", repo), "not copied\n", 0644);
	run_ok(repo, "git config agent.copy .env");

	task = spawn_json(repo, "--create 'Copy files'");
	wt = json_str(task, "worktree");
	cr_assert_str_eq(read_file(strf("%s/.env", wt)), "TOKEN=secret\n");
	cr_assert_str_eq(mode_of(strf("%s/.env", wt)), "600");
	cr_assert_str_eq(read_file(strf("%s/secrets/run.sh", wt)), "#!/bin/sh\necho secret\n");
	cr_assert_str_eq(mode_of(strf("%s/secrets/run.sh", wt)), "755");
	cr_assert_str_eq(mode_of(strf("%s/secrets/api.key", wt)), "640");
	cr_assert(!path_exists(strf("%s/debug.log", wt)), "only matching files are copied");
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
	cr_assert(trace_find(trace_read(trace_path(repo)), "setup.done", "copy-files") != NULL);
}

Test(spawn, link_makes_a_symlink_to_the_main_worktree)
{
	char *repo = make_repo("repo"), resolved[PATH_MAX];
	json_t *task;
	char *link;

	write_file(strf("%s/node_modules/pkg/index.js", repo), "module.exports = 1;\n", 0644);
	run_ok(repo, "git config agent.link node_modules");
	task = spawn_json(repo, "--create 'Link modules'");
	link = strf("%s/node_modules", json_str(task, "worktree"));
	cr_assert(is_symlink(link), "%s is not a symlink", link);
	cr_assert(realpath(link, resolved) != NULL);
	cr_assert_str_eq(resolved, strf("%s/node_modules", repo));
	cr_assert_str_eq(read_file(strf("%s/pkg/index.js", link)), "module.exports = 1;\n");
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(json_str(task, "worktree"))));
}

Test(spawn, setup_runs_in_the_worktree_with_the_task_environment)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	char *env_file = sandbox_path("env.txt"), *order = sandbox_path("order.txt");
	char *title = "Fix the \"login\" page's bug", *env, *port;
	json_t *task;
	const char *wt, *folder;

	run_ok(repo, "git config --add agent.setup %s",
	       sh_quote(strf("echo first >> %s; pwd -P > %s.pwd; env > %s", sh_quote(order),
			     sh_quote(env_file), sh_quote(env_file))));
	run_ok(repo, "git config --add agent.setup %s", sh_quote(strf("echo second >> %s", sh_quote(order))));
	task = spawn_json(repo, "--create %s", sh_quote(title));
	wt = json_str(task, "worktree");
	folder = json_str(task, "folder");
	env = read_file(env_file);
	cr_assert(env != NULL, "agent.setup did not run");
	cr_assert_str_eq(read_file(order), "first\nsecond\n", "setup commands run in order");
	cr_assert_str_eq(read_file(strf("%s.pwd", env_file)), strf("%s\n", wt));
	cr_assert_str_eq(env_value(env, "AGENT_TASK"), "fix-the-login-page-s-bug");
	cr_assert_str_eq(env_value(env, "AGENT_TITLE"), title);
	cr_assert_str_eq(env_value(env, "AGENT_BRANCH"), "agent/fix-the-login-page-s-bug");
	cr_assert_str_eq(env_value(env, "AGENT_BASE"), "main");
	cr_assert_str_eq(env_value(env, "AGENT_BASE_SHA"), head);
	cr_assert_str_eq(env_value(env, "AGENT_WORKTREE"), wt);
	cr_assert_str_eq(env_value(env, "AGENT_PACKET"), strf("%s/packet.md", folder));
	cr_assert_str_eq(env_value(env, "AGENT_REPORT"), strf("%s/report.md", folder));
	cr_assert_str_eq(env_value(env, "AGENT_TRACE"), trace_path(repo));
	port = env_value(env, "AGENT_PORT");
	cr_assert(port != NULL && atoi(port) >= 10000 && atoi(port) <= 19999, "AGENT_PORT=%s", port);
	cr_assert_eq(atoi(port), json_integer_value(json_object_get(task, "port")));
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
}

Test(spawn, port_is_stable_for_a_slug)
{
	char *one = make_repo("one"), *two = make_repo("two");
	json_t *a = spawn_json(one, "'Same slug'"), *b = spawn_json(two, "'Same slug'");
	json_int_t port = json_integer_value(json_object_get(a, "port"));

	cr_assert(port >= 10000 && port <= 19999);
	cr_assert_eq(port, json_integer_value(json_object_get(b, "port")));
}

Test(spawn, smudge_filter_applies_in_the_new_worktree)
{
	char *repo = make_repo("repo");
	json_t *task;
	const char *wt;

	write_file(strf("%s/.gitattributes", repo), "*.up filter=upper\n", 0644);
	write_file(strf("%s/hello.up", repo), "hello\n", 0644);
	run_ok(repo, "git add .gitattributes hello.up && git commit -q -m 'filtered file'");
	run_ok(repo, "git config filter.upper.smudge 'tr a-z A-Z' && git config filter.upper.clean 'tr A-Z a-z'");
	task = spawn_json(repo, "--create 'Smudged'");
	wt = json_str(task, "worktree");
	cr_assert_str_eq(read_file(strf("%s/hello.up", wt)), "HELLO\n");
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
}

Test(spawn, post_checkout_hook_runs)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	char *ran = sandbox_path("hook.txt"), *args;

	write_file(strf("%s/.git/hooks/post-checkout", repo),
		   strf("#!/bin/sh\necho \"$*\" > %s\npwd -P >> %s\n", sh_quote(ran), sh_quote(ran)), 0755);
	spawn_json(repo, "--create 'Hooked'");
	args = read_file(ran);
	cr_assert(args != NULL, "post-checkout did not run");
	cr_assert_str_eq(args, strf("0000000000000000000000000000000000000000 %s 1\n%s\n", head,
				    sandbox_path("repo-worktrees/hooked")));
}

Test(spawn, submodule_is_initialised_in_the_new_worktree)
{
	char *repo = make_repo("repo"), *sub = make_repo("sub"), *sub_head = run_ok(sub, "git rev-parse HEAD");
	json_t *task;
	const char *wt;

	run_ok(repo, "git submodule add -q %s lib/sub && git commit -q -m 'add a submodule'", sh_quote(sub));
	task = spawn_json(repo, "--create 'With submodule'");
	wt = json_str(task, "worktree");
	cr_assert_str_eq(read_file(strf("%s/lib/sub/README.md", wt)), "# demo\n\nMore text.\n");
	cr_assert_str_eq(run_ok(NULL, "git -C %s submodule status", sh_quote(wt)),
			 strf(" %s lib/sub (heads/main)", sub_head));
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
}

/* slugs and names */

Test(spawn, slug_is_made_from_the_title)
{
	static const struct { const char *title, *slug; } cases[] = {
		{ "Add billing CSV export!", "add-billing-csv-export" },
		{ "Fix: the *login* page!!", "fix-the-login-page" },
		{ "  --Hello,   World--  ", "hello-world" },
		{ "Release 2.0 Notes", "release-2-0-notes" },
		{ "\xc3\x89mile's caf\xc3\xa9 menu", "mile-s-caf-menu" },
		{ "x", "x" },
	};
	char *repo = make_repo("repo");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *task = spawn_json(repo, "%s", sh_quote(cases[i].title));

		cr_assert_str_eq(json_str(task, "task"), cases[i].slug, "title '%s'", cases[i].title);
		cr_assert_str_eq(json_str(task, "branch"), strf("agent/%s", cases[i].slug));
	}
}

Test(spawn, slug_of_only_punctuation_is_task)
{
	char *repo = make_repo("repo");

	cr_assert_str_eq(json_str(spawn_json(repo, "%s", sh_quote("!?.,;:-_ ()[]")), "task"), "task");
}

Test(spawn, slug_of_only_cjk_is_task)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "%s", sh_quote("\xe4\xbf\xae\xe5\xa4\x8d\xe7\x99\xbb\xe5\xbd\x95"));

	cr_assert_str_eq(json_str(task, "task"), "task");
	cr_assert_str_eq(json_str(task, "title"), "\xe4\xbf\xae\xe5\xa4\x8d\xe7\x99\xbb\xe5\xbd\x95");
}

Test(spawn, long_slug_is_cut_at_a_dash_within_48_characters)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "'Implement the quarterly revenue reconciliation report for the finance team'");

	cr_assert_str_eq(json_str(task, "task"), "implement-the-quarterly-revenue-reconciliation");
}

Test(spawn, long_word_slug_is_cut_at_48_characters)
{
	char *repo = make_repo("repo"), *word = strf("%060d", 0);
	json_t *task = spawn_json(repo, "%s", word);

	cr_assert_str_eq(json_str(task, "task"), strf("%048d", 0));
}

Test(spawn, taken_slug_gets_a_number)
{
	char *repo = make_repo("repo");

	cr_assert_str_eq(json_str(spawn_json(repo, "'Same title'"), "task"), "same-title");
	cr_assert_str_eq(json_str(spawn_json(repo, "'Same title'"), "task"), "same-title-2");
	cr_assert_str_eq(json_str(spawn_json(repo, "'Same title'"), "task"), "same-title-3");
	cr_assert(path_exists(strf("%s/same-title-3.ini", tasks_dir(repo))));
}

Test(spawn, taken_branch_gets_a_number)
{
	char *repo = make_repo("repo");
	json_t *task;

	run_ok(repo, "git branch agent/taken");
	task = spawn_json(repo, "--create Taken");
	cr_assert_str_eq(json_str(task, "task"), "taken-2");
	cr_assert_str_eq(json_str(task, "branch"), "agent/taken-2");
}

Test(spawn, taken_worktree_path_gets_a_number)
{
	char *repo = make_repo("repo");
	json_t *task;

	write_file(sandbox_path("repo-worktrees/occupied/mine.txt"), "someone else's\n", 0644);
	task = spawn_json(repo, "--create Occupied");
	cr_assert_str_eq(json_str(task, "task"), "occupied-2");
	cr_assert_str_eq(read_file(sandbox_path("repo-worktrees/occupied/mine.txt")), "someone else's\n");
}

Test(spawn, create_after_create_gets_a_number)
{
	char *repo = make_repo("repo");

	cr_assert_str_eq(json_str(spawn_json(repo, "--create Twice"), "task"), "twice");
	cr_assert_str_eq(json_str(spawn_json(repo, "--create Twice"), "task"), "twice-2");
	cr_assert_eq(worktree_count(repo), 3);
}

Test(spawn, create_adopts_the_planned_task_of_the_same_title)
{
	char *repo = make_repo("repo");
	json_t *planned = spawn_json(repo, "'Adopt me'"), *task, *events;

	task = spawn_json(repo, "--create 'Adopt me'");
	cr_assert_str_eq(json_str(task, "task"), "adopt-me");
	cr_assert(json_is_true(json_object_get(task, "adopted")));
	cr_assert_str_eq(json_str(task, "mode"), "create");
	cr_assert_str_eq(json_str(task, "folder"), json_str(planned, "folder"));
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	cr_assert_str_eq(record_status(json_str(task, "record")), "created");
	cr_assert(!path_exists(strf("%s/adopt-me-2.ini", tasks_dir(repo))));
	events = trace_read(trace_path(repo));
	cr_assert_eq(trace_count(events, "task.planned", NULL), 1);
	cr_assert_eq(trace_count(events, "worktree.created", "adopt-me"), 1);
}

Test(spawn, create_with_name_adopts_the_planned_task_without_a_title)
{
	char *repo = make_repo("repo");
	json_t *task;

	spawn_json(repo, "-m 'The plan.' 'Some planned work'");
	task = spawn_json(repo, "--create --name some-planned-work");
	cr_assert_str_eq(json_str(task, "task"), "some-planned-work");
	cr_assert_str_eq(json_str(task, "title"), "Some planned work");
	cr_assert(json_is_true(json_object_get(task, "adopted")));
	assert_contains(read_file(json_str(task, "packet")), "The plan.");
}

Test(spawn, name_sets_the_slug)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--name custom-slug 'My title'");

	cr_assert_str_eq(json_str(task, "task"), "custom-slug");
	cr_assert_str_eq(json_str(task, "title"), "My title");
	cr_assert_str_eq(json_str(task, "branch"), "agent/custom-slug");
	cr_assert(path_exists(strf("%s/custom-slug.ini", tasks_dir(repo))));
}

Test(spawn, invalid_name_is_refused)
{
	static const char *names[] = { "Bad_Slug", "a-", "-a", "a--b", "../x", "" };
	char *repo = make_repo("repo");
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		run(&r, repo, "git agent spawn --name %s title", sh_quote(names[i]));
		cr_assert(r.status == 128 || r.status == 129, "--name '%s': exit %d", names[i], r.status);
		cr_assert(r.err_len > 0);
	}
	run(&r, repo, "git agent spawn --name %s title", strf("%049d", 0));
	cr_assert(r.status == 128 || r.status == 129, "a 49-character name: exit %d", r.status);
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

/* --json */

static void assert_json_fields(json_t *task)
{
	size_t i;
	json_int_t port = json_integer_value(json_object_get(task, "port"));

	for (i = 0; i < sizeof(json_fields) / sizeof(*json_fields); i++)
		cr_assert(json_object_get(task, json_fields[i]) != NULL, "no \"%s\"", json_fields[i]);
	cr_assert(json_is_boolean(json_object_get(task, "adopted")));
	cr_assert(json_is_integer(json_object_get(task, "port")) && port >= 10000 && port <= 19999);
	for (i = 0; i < sizeof(json_fields) / sizeof(*json_fields); i++)
		if (strcmp(json_fields[i], "adopted") && strcmp(json_fields[i], "port"))
			json_str(task, json_fields[i]);
	cr_assert_eq(strlen(json_str(task, "base_sha")), 40);
	cr_assert_eq(json_str(task, "worktree")[0], '/');
	cr_assert_eq(json_str(task, "folder")[0], '/');
	cr_assert_eq(json_str(task, "record")[0], '/');
	cr_assert_eq(json_str(task, "trace")[0], '/');
}

Test(spawn, json_output_of_a_dry_run_has_every_field)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn --json 'Json task'");
	assert_status(&r, 0);
	cr_assert_str_empty(r.err);
	cr_assert(r.out_len && r.out[r.out_len - 1] == '\n', "no final newline:\n%s", r.out);
	assert_json_fields(json_parse(r.out));
	cr_assert_str_eq(json_str(json_parse(r.out), "mode"), "dry-run");
}

Test(spawn, json_output_of_a_create_has_every_field)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create 'Json task'");

	assert_json_fields(task);
	cr_assert_str_eq(json_str(task, "mode"), "create");
	cr_assert(is_dir(json_str(task, "worktree")));
}

/* configuration */

Test(spawn, bad_agent_mode_names_the_key_the_value_and_what_is_accepted)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git -c agent.mode=bogus agent spawn x");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: bad value 'bogus' for 'agent.mode': expected dry-run or create\n");
	run_ok(repo, "git config agent.mode bogus");
	run(&r, repo, "git agent spawn x");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: bad value 'bogus' for 'agent.mode': expected dry-run or create\n");
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

Test(spawn, bad_config_values_name_the_key_and_the_value)
{
	static const struct { const char *key, *value; } cases[] = {
		{ "agent.fetch", "maybe" },
		{ "agent.checkTimeout", "0" },
		{ "agent.checkTimeout", "soon" },
		{ "agent.mergeStyle", "rebase" },
		{ "agent.removeAfterMerge", "perhaps" },
		{ "agent.jobs", "-1" },
		{ "agent.jobs", "1001" },
	};
	char *repo = make_repo("repo");
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		run(&r, repo, "git -c %s=%s agent spawn x", cases[i].key, sh_quote(cases[i].value));
		assert_status(&r, 128);
		cr_assert(strcasestr(r.err, strf("'%s'", cases[i].key)) != NULL, "%s", r.err);
		assert_contains(r.err, strf("'%s'", cases[i].value));
	}
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

Test(spawn, agent_mode_create_creates_and_dry_run_overrides_it)
{
	char *repo = make_repo("repo");
	struct result r;
	json_t *task;

	run(&r, repo, "git -c agent.mode=create agent spawn --json 'By config'");
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "mode"), "create");
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	run(&r, repo, "git -c agent.mode=create agent spawn --dry-run --json 'Only planned'");
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "mode"), "dry-run");
	cr_assert(!path_exists(json_str(task, "worktree")));
}

Test(spawn, branch_prefix_config_names_the_branch)
{
	char *repo = make_repo("repo");
	struct result r;
	json_t *task;

	run(&r, repo, "git -c agent.branchPrefix=bot agent spawn --create --json x");
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "branch"), "bot/x");
	cr_assert_str_eq(run_ok(NULL, "git -C %s symbolic-ref HEAD", sh_quote(json_str(task, "worktree"))),
			 "refs/heads/bot/x");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref --format='%%(refname)' refs/heads/agent"), "");
}

Test(spawn, agent_option_names_the_branch)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create --agent claude 'Agent option'");

	cr_assert_str_eq(json_str(task, "branch"), "claude/agent-option");
	cr_assert_str_eq(run_ok(repo, "git rev-parse --verify -q refs/heads/claude/agent-option"),
			 run_ok(repo, "git rev-parse HEAD"));
}

Test(spawn, invalid_branch_prefix_is_refused)
{
	char *repo = make_repo("repo"), *refs = run_ok(repo, "git for-each-ref");
	struct result r;

	run(&r, repo, "git agent spawn --create --agent 'bad..prefix' x");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
}

Test(spawn, branch_named_like_the_prefix_is_a_clear_error)
{
	char *repo = make_repo("repo"), *refs;
	struct result r;

	run_ok(repo, "git branch agent");
	refs = run_ok(repo, "git for-each-ref");
	run(&r, repo, "git agent spawn --create 'Clash'");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	assert_contains(r.err, "'agent'");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), refs);
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert(!path_exists(sandbox_path("repo-worktrees/clash")));
}

Test(spawn, agent_dir_and_trace_are_relative_to_the_main_worktree_root)
{
	char *repo = make_repo("repo");
	json_t *task;

	run_ok(repo, "git config agent.dir ../task-folders && git config agent.trace ../trace.jsonl");
	task = spawn_json(strf("%s/src", repo), "'Moved files'");
	cr_assert_str_eq(json_str(task, "folder"), sandbox_path("task-folders/moved-files"));
	cr_assert(path_exists(sandbox_path("task-folders/moved-files/packet.md")));
	cr_assert_str_eq(json_str(task, "record"), strf("%s/moved-files.ini", tasks_dir(repo)));
	cr_assert_str_eq(json_str(task, "trace"), sandbox_path("trace.jsonl"));
	cr_assert(trace_find(trace_read(sandbox_path("trace.jsonl")), "task.planned", "moved-files"));
	cr_assert(!path_exists(trace_path(repo)));
}

/* --out */

Test(spawn, out_puts_the_task_folder_in_the_directory)
{
	char *repo = make_repo("repo"), *out = sandbox_path("out");
	json_t *task = spawn_json(repo, "--out %s 'Out task'", sh_quote(out));

	cr_assert_str_eq(json_str(task, "folder"), strf("%s/out-task", out));
	cr_assert(path_exists(strf("%s/out-task/packet.md", out)));
	cr_assert(path_exists(strf("%s/out-task.ini", tasks_dir(repo))));
}

Test(spawn, out_pointing_at_a_file_is_refused)
{
	char *repo = make_repo("repo"), *file = sandbox_path("a-file");
	struct result r;

	write_file(file, "not a directory\n", 0644);
	run(&r, repo, "git agent spawn --out %s 'Out file'", sh_quote(file));
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	cr_assert_str_eq(read_file(file), "not a directory\n");
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

Test(spawn, out_inside_the_main_worktree_is_refused)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn --out %s 'Out inside'", sh_quote(strf("%s/tasks", repo)));
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	run(&r, strf("%s/src", repo), "git agent spawn --out here 'Out inside'");
	assert_status(&r, 128);
	run(&r, repo, "git agent spawn --out . 'Out inside'");
	assert_status(&r, 128);
	cr_assert_str_empty(run_ok(repo, "git status --porcelain --ignored"));
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

/* errors and usage */

Test(spawn, git_work_tree_is_a_clear_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "GIT_WORK_TREE=$PWD git agent spawn x");
	assert_status(&r, 128);
	assert_contains(r.err, "GIT_WORK_TREE");
	run(&r, repo, "git --work-tree=. agent spawn x");
	assert_status(&r, 128);
	assert_contains(r.err, "GIT_WORK_TREE");
	cr_assert(!path_exists(tasks_dir(repo)));
}

Test(spawn, outside_a_repository_is_a_clear_error)
{
	struct result r;

	make_dirs(sandbox_path("plain"));
	run(&r, sandbox_path("plain"), "git agent spawn x");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", r.err);
	cr_assert(strcasestr(r.err, "not a git repository") != NULL, "stderr: %s", r.err);
}

Test(spawn, missing_title_is_a_usage_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn");
	assert_status(&r, 129);
	cr_assert_str_empty(r.out);
	assert_contains(r.err, "usage: git agent spawn");
	run(&r, repo, "git agent spawn --create");
	assert_status(&r, 129);
	cr_assert(!path_exists(tasks_dir(repo)));
}

Test(spawn, unknown_option_is_a_usage_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn --frobnicate x");
	assert_status(&r, 129);
	assert_contains(r.err, "usage: git agent spawn");
	cr_assert(!path_exists(tasks_dir(repo)));
}

Test(spawn, dash_h_lists_the_options_of_this_release)
{
	static const char *options[] = {
		"--create", "--dry-run", "--base", "--fetch", "--no-fetch", "--agent", "--name",
		"--out", "--message", "--file", "--scope", "--step", "--check", "--allow-dirty",
		"--keep-failed", "--run[=<cmd>]", "--wait", "--timeout", "--from", "-j, --jobs",
		"--json",
	};
	struct result r;
	size_t i;

	run(&r, NULL, "git agent spawn -h");
	assert_status(&r, 129);
	for (i = 0; i < sizeof(options) / sizeof(*options); i++)
		assert_contains(r.out, options[i]);
}

/* the packet, the README and the scripts */

Test(spawn, description_scope_steps_and_checks_go_into_the_packet)
{
	char *repo = make_repo("repo"), *packet, *record;
	json_t *task = spawn_json(repo, "-m 'Finance needs CSV.' --scope src/billing --scope docs "
				  "--step 'Add a writer' --step 'Add a button' --check 'make test' "
				  "'Billing export'");

	packet = read_file(json_str(task, "packet"));
	assert_contains(packet, "Finance needs CSV.");
	assert_contains(packet, "src/billing");
	assert_contains(packet, "docs");
	assert_contains(packet, "make test");
	cr_assert(strstr(packet, "Add a writer") && strstr(packet, "Add a button") &&
		  strstr(packet, "Add a writer") < strstr(packet, "Add a button"), "steps in order");
	record = read_file(json_str(task, "record"));
	assert_contains(record, "make test");
	assert_contains(record, "src/billing");
}

Test(spawn, description_is_read_from_a_file_or_stdin)
{
	char *repo = make_repo("repo"), *file = sandbox_path("description.txt");
	struct result r;
	json_t *task;

	write_file(file, "Described in a file.\n", 0644);
	task = spawn_json(repo, "-F %s 'From file'", sh_quote(file));
	assert_contains(read_file(json_str(task, "packet")), "Described in a file.");
	run(&r, repo, "printf 'Described on stdin.\\n' | git agent spawn --json -F - 'From stdin'");
	assert_status(&r, 0);
	assert_contains(read_file(json_str(json_parse(r.out), "packet")), "Described on stdin.");
}

Test(spawn, scope_outside_the_repository_is_refused)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn --scope ../elsewhere x");
	cr_assert(r.status == 128 || r.status == 129, "exit %d", r.status);
	run(&r, repo, "git agent spawn --scope /etc x");
	cr_assert(r.status == 128 || r.status == 129, "exit %d", r.status);
	run(&r, repo, "git agent spawn --scope src/../../x x");
	cr_assert(r.status == 128 || r.status == 129, "exit %d", r.status);
	cr_assert_eq(count_entries(tasks_dir(repo)), 0);
}

Test(spawn, packet_states_isolation_branch_base_report_and_review)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD"), *packet;
	json_t *task = spawn_json(repo, "'Packet task'");

	packet = read_file(json_str(task, "packet"));
	assert_contains(packet, "Packet task");
	assert_contains(packet, json_str(task, "worktree"));
	assert_contains(packet, repo);
	assert_contains(packet, "agent/packet-task");
	assert_contains(packet, head);
	assert_contains(packet, json_str(task, "report"));
	assert_contains(packet, "git diff --stat");
	cr_assert(strcasestr(packet, "request changes") && strcasestr(packet, "abandon"),
		  "no recommendation choices in:\n%s", packet);
	cr_assert_eq(count_matches(strf("\n%s", headings(packet)), "\n#\n"), 1, "one title heading");
	cr_assert(count_matches(headings(packet), "\n") >= 7, "sections:\n%s", headings(packet));
	assert_contains(read_file(strf("%s/README.md", json_str(task, "folder"))), "packet-task");
}

Test(spawn, generated_scripts_pass_sh_n_and_shellcheck)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--scope src --check 'make test' 'Script task'");
	char *commands = strf("%s/commands", json_str(task, "folder"));

	run_ok(commands, "sh -n create-worktree.sh && sh -n review-before-merge.sh");
	run_ok(commands, "shellcheck create-worktree.sh review-before-merge.sh");
}

Test(spawn, generated_create_script_creates_the_worktree_with_plain_git)
{
	char *repo = make_repo("repo"), *head = run_ok(repo, "git rev-parse HEAD");
	json_t *task = spawn_json(repo, "'Scripted'");
	const char *wt = json_str(task, "worktree");

	run_ok(NULL, "sh %s/commands/create-worktree.sh", sh_quote(json_str(task, "folder")));
	cr_assert(worktree_listed(repo, wt));
	cr_assert_str_eq(run_ok(NULL, "git -C %s symbolic-ref HEAD", sh_quote(wt)), "refs/heads/agent/scripted");
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(wt)), head);
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
}

/*
 * The script does what --create does when it adopts a plan: the base ref is
 * resolved again, so a base that moved since planning is picked up.
 */
Test(spawn, generated_create_script_starts_from_the_base_as_it_is_now)
{
	char *repo = make_repo("repo"), *planned_at = run_ok(repo, "git rev-parse HEAD"), *now;
	json_t *task = spawn_json(repo, "'Planned earlier'");
	const char *wt = json_str(task, "worktree");

	write_file(strf("%s/later.txt", repo), "later work\n", 0644);
	run_ok(repo, "git add later.txt && git commit -q -m 'later work'");
	now = run_ok(repo, "git rev-parse HEAD");
	cr_assert_str_neq(now, planned_at);
	run_ok(NULL, "sh %s/commands/create-worktree.sh", sh_quote(json_str(task, "folder")));
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/planned-earlier"), now);
	cr_assert_str_eq(run_ok(NULL, "git -C %s rev-parse HEAD", sh_quote(wt)), now);
}

/* hostile titles */

TestSuite(hostile, .init = sandbox_setup, .fini = sandbox_teardown);

/*
 * A hostile title gives a valid slug and branch, a packet and README with
 * the structure of any other task's, scripts that sh and shellcheck accept
 * and that run nothing from the title, and no raw control byte on output.
 */
static void check_hostile_title(const char *title)
{
	char *repo = make_repo("repo"), *reference, *packet, *readme, *commands, *clone, *canaries;
	json_t *ref = spawn_json(repo, "'Reference task'"), *task;
	const char *slug, *folder;
	struct result r;

	reference = read_file(json_str(ref, "packet"));
	task = spawn_json(repo, "%s", sh_quote(title));
	slug = json_str(task, "task");
	folder = json_str(task, "folder");
	cr_assert(slug_is_well_formed(slug), "bad slug '%s'", visible(slug));
	cr_assert_str_eq(json_str(task, "branch"), strf("agent/%s", slug));
	run_ok(NULL, "git check-ref-format %s", sh_quote(strf("refs/heads/agent/%s", slug)));
	cr_assert_str_eq(json_str(task, "mode"), "dry-run");

	packet = read_file(json_str(task, "packet"));
	cr_assert(packet != NULL);
	cr_assert_str_eq(headings(packet), headings(reference), "the packet's structure changed:\n%s",
			 visible(packet));
	readme = read_file(strf("%s/README.md", folder));
	cr_assert(readme != NULL);
	cr_assert_str_eq(headings(readme), headings(read_file(strf("%s/README.md", json_str(ref, "folder")))),
			 "the README's structure changed:\n%s", visible(readme));
	assert_no_terminal_control("packet.md", packet, strlen(packet));
	assert_no_terminal_control("README.md", readme, strlen(readme));

	commands = strf("%s/commands", folder);
	run_ok(commands, "sh -n create-worktree.sh && sh -n review-before-merge.sh");
	run_ok(commands, "shellcheck create-worktree.sh review-before-merge.sh");

	run(&r, repo, "git agent spawn %s", sh_quote(title));
	assert_status(&r, 0);
	assert_no_terminal_control("stdout", r.out, r.out_len);
	assert_no_terminal_control("stderr", r.err, r.err_len);
	cr_assert_eq(count_lines(r.out), 6, "one line per field:\n%s", visible(r.out));

	clone = sandbox_path("clone");
	run_ok(NULL, "git clone -q %s %s", sh_quote(repo), sh_quote(clone));
	run(&r, clone, "sh %s/create-worktree.sh", sh_quote(commands));
	assert_status(&r, 0);
	cr_assert_str_eq(run_ok(NULL, "git -C %s symbolic-ref HEAD", sh_quote(json_str(task, "worktree"))),
			 strf("refs/heads/agent/%s", slug));
	canaries = run_ok(NULL, "find . -name 'CANARY*'");
	cr_assert_str_empty(canaries, "the title ran a command: %s", canaries);
}

Test(hostile, double_quotes)
{
	check_hostile_title("He said \"hi\" and \"$(touch CANARY_dq)\" \"; touch CANARY_dq2; \"");
}

Test(hostile, single_quotes)
{
	check_hostile_title("it's O'Brien's '; touch CANARY_sq; echo ' task");
}

Test(hostile, command_substitution)
{
	check_hostile_title("$(touch CANARY_subst) ${HOME} $((6*7))");
}

Test(hostile, backticks)
{
	check_hostile_title("`touch CANARY_backtick` ``` fence");
}

Test(hostile, semicolon)
{
	check_hostile_title("fix it;touch CANARY_semicolon; && touch CANARY_and | touch CANARY_pipe");
}

Test(hostile, newlines)
{
	check_hostile_title("line one\ntouch CANARY_newline\n## Injected heading\n# Another title\n"
			    "Setext\n---\n- [ ] item\r\n");
}

Test(hostile, markdown_fences)
{
	check_hostile_title("```\n## Injected after a fence\n```\n~~~~\n## And after tildes\n~~~~");
}

Test(hostile, ten_kilobytes)
{
	char *title = strf("%s", "$(touch CANARY_long) ");
	int i;

	for (i = 0; strlen(title) < 10240; i++)
		title = strf("%sword%d; ", title, i);
	check_hostile_title(title);
}

Test(hostile, invalid_utf8)
{
	check_hostile_title("bad \xff\xfe bytes \xc3( and \xed\xa0\x80 surrogate \xf8\x88\x80\x80\x80 end");
}

Test(hostile, only_punctuation)
{
	check_hostile_title("!@#%^&*()_+-=[]{}|:,.<>?/~");
}

Test(hostile, only_cjk)
{
	check_hostile_title("\xe4\xbf\xae\xe5\xa4\x8d\xe7\x99\xbb\xe5\xbd\x95\xe9\xa1\xb5\xe9\x9d\xa2");
}

Test(hostile, ansi_escape_sequences)
{
	check_hostile_title("\033[31mred\033[0m \033]0;pwned title\007 clear\033[2J\033[H bell\007 del\177");
}

Test(hostile, c1_controls_and_bidi_overrides)
{
	check_hostile_title("csi \xc2\x9b" "31m c1 \xe2\x80\xae reversed \xe2\x81\xa6 isolate");
}

Test(hostile, markdown_and_html)
{
	check_hostile_title("[link](javascript:alert(1)) <script>alert(1)</script> | a | b | *x* _y_ \\");
}

/* In create mode too: escaped output, the exact title for setup, nothing run. */
Test(hostile, create_with_a_hostile_title)
{
	char *repo = make_repo("repo"), *seen = sandbox_path("title.txt");
	const char *title = "\033[31mred\033[0m $(touch CANARY_create) `touch CANARY_tick`\n'; touch CANARY_q; '";
	struct result r;

	run_ok(repo, "git config agent.setup %s", sh_quote(strf("printf %%s \"$AGENT_TITLE\" > %s", sh_quote(seen))));
	run(&r, repo, "git agent spawn --create %s", sh_quote(title));
	assert_status(&r, 0);
	assert_no_terminal_control("stdout", r.out, r.out_len);
	assert_no_terminal_control("stderr", r.err, r.err_len);
	cr_assert_eq(count_lines(r.out), 7, "one line per field:\n%s", visible(r.out));
	cr_assert_str_eq(read_file(seen), title);
	cr_assert_str_empty(run_ok(NULL, "find . -name 'CANARY*'"), "the title ran a command");
}

/* A title that could forge keys of the task record round-trips exactly. */
Test(hostile, record_keys_in_the_title_round_trip)
{
	char *repo = make_repo("repo");
	const char *title = "x\nstatus = created\nbranch = evil/branch\n[task]\nslug = evil ; comment";
	json_t *task = spawn_json(repo, "%s", sh_quote(title));

	task = spawn_json(repo, "--create --name %s", json_str(task, "task"));
	cr_assert(json_is_true(json_object_get(task, "adopted")));
	cr_assert_str_eq(json_str(task, "title"), title);
	cr_assert_str_eq(json_str(task, "branch"), strf("agent/%s", json_str(task, "task")));
}

Test(hostile, long_title_round_trips_through_the_record)
{
	char *repo = make_repo("repo"), *title = strf("%s", "Long ");
	json_t *task;

	while (strlen(title) < 10240)
		title = strf("%s word ; \\ \t x", title);
	task = spawn_json(repo, "%s", sh_quote(title));
	task = spawn_json(repo, "--create --name %s", json_str(task, "task"));
	cr_assert(json_is_true(json_object_get(task, "adopted")));
	cr_assert_str_eq(json_str(task, "title"), title);
}

/* concurrency */

/* Runs 8 spawns at once; asserts that all succeeded. */
static void spawn_eight_at_once(const char *repo, const char *args)
{
	char *dir = sandbox_path("parallel");
	struct result r;
	int i;

	make_dirs(dir);
	run(&r, dir, "for i in 1 2 3 4 5 6 7 8; do "
	    "(git -C %s agent spawn %s >out.$i 2>err.$i; echo $? >rc.$i) & done; wait",
	    sh_quote(repo), args);
	assert_status(&r, 0);
	for (i = 1; i <= 8; i++)
		cr_assert_str_eq(read_file(strf("%s/rc.%d", dir, i)), "0\n", "spawn %d failed:\n%s", i,
				 visible(read_file(strf("%s/err.%d", dir, i))));
}

static const char eight_branches[] =
	"refs/heads/agent/same-title\nrefs/heads/agent/same-title-2\n"
	"refs/heads/agent/same-title-3\nrefs/heads/agent/same-title-4\n"
	"refs/heads/agent/same-title-5\nrefs/heads/agent/same-title-6\n"
	"refs/heads/agent/same-title-7\nrefs/heads/agent/same-title-8";

Test(spawn, parallel_creates_of_one_title_make_eight_tasks, .timeout = 120)
{
	char *repo = make_repo("repo");
	json_t *events;
	int i;

	spawn_eight_at_once(repo, "--create 'Same title'");
	cr_assert_eq(worktree_count(repo), 9);
	cr_assert_str_eq(run_ok(repo, "git for-each-ref --format='%%(refname)' refs/heads/agent/"),
			 eight_branches);
	for (i = 1; i <= 8; i++) {
		char *wt = i == 1 ? sandbox_path("repo-worktrees/same-title")
				  : sandbox_path("repo-worktrees/same-title-%d", i);

		cr_assert(worktree_listed(repo, wt), "%s is not a worktree", wt);
		cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(wt)));
	}
	events = trace_read(trace_path(repo));
	cr_assert_eq(trace_count(events, "task.planned", NULL), 8);
	cr_assert_eq(trace_count(events, "worktree.created", NULL), 8);
	cr_assert_eq(trace_count(events, "setup.done", NULL), 8);
	cr_assert_eq(trace_count(events, "spawn.failed", NULL), 0);
}

Test(spawn, parallel_dry_runs_of_one_title_make_eight_records)
{
	char *repo = make_repo("repo");
	json_t *events;

	spawn_eight_at_once(repo, "'Same title'");
	cr_assert_eq(count_entries(tasks_dir(repo)), 16, "8 records and 8 folders");
	cr_assert(path_exists(strf("%s/same-title.ini", tasks_dir(repo))));
	cr_assert(path_exists(strf("%s/same-title-8.ini", tasks_dir(repo))));
	events = trace_read(trace_path(repo));
	cr_assert_eq(trace_count(events, "task.planned", NULL), 8);
}
