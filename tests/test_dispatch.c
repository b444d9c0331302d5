/* The dispatcher: `git agent <command>` as git-agent(1) describes it. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "lib.h"

TestSuite(dispatch, .init = sandbox_setup, .fini = sandbox_teardown);

/* Makes `man` find the built pages and print them plainly. */
static void use_built_man_pages(void)
{
	char *man1 = sandbox_path("man/man1");

	make_dirs(man1);
	run_ok(NULL, "ln -s %s/man/*.1 %s/", sh_quote(build_dir), sh_quote(man1));
	setenv("MANPATH", sandbox_path("man"), 1);
	setenv("MANPAGER", "cat", 1);
	setenv("MANWIDTH", "80", 1);
	setenv("GIT_MAN_VIEWER", "man", 1);
}

Test(dispatch, no_command_prints_usage_on_stderr_and_exits_129)
{
	struct result r;

	run(&r, NULL, "git agent");
	assert_status(&r, 129);
	cr_assert_str_empty(r.out);
	assert_contains(r.err, "usage: git agent");
	assert_contains(r.err, "spawn");
}

Test(dispatch, dash_h_lists_commands_on_stdout_and_exits_129)
{
	struct result r;

	run(&r, NULL, "git agent -h");
	assert_status(&r, 129);
	cr_assert_str_empty(r.err);
	assert_contains(r.out, "usage: git agent");
	assert_contains(r.out, "\n   spawn ");
	assert_contains(r.out, "\n   review ");
	assert_contains(r.out, "\n   trace ");
	/* Only the commands that exist. */
	assert_not_contains(r.out, "--run");
}

Test(dispatch, version_prints_the_version)
{
	struct result r;

	run(&r, NULL, "git agent --version");
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, "git agent version 0.1.0\n");
	cr_assert_str_empty(r.err);
}

Test(dispatch, unknown_command_names_dash_h_and_exits_129)
{
	struct result r;

	run(&r, NULL, "git agent foo");
	assert_status(&r, 129);
	cr_assert_str_empty(r.out);
	cr_assert_str_eq(r.err, "git agent: 'foo' is not a git agent command. See 'git agent -h'.\n");
}

Test(dispatch, unknown_command_with_control_characters_is_escaped)
{
	struct result r;

	run(&r, NULL, "git agent \"$(printf 'x\\033]0;pwned\\007')\"");
	assert_status(&r, 129);
	cr_assert(strchr(r.err, '\033') == NULL && strchr(r.err, '\007') == NULL,
		  "raw control characters on stderr: %s", visible(r.err));
	assert_contains(r.err, "git agent -h");
}

Test(dispatch, spawn_exit_code_passes_through_outside_a_repository)
{
	struct result r;

	make_dirs(sandbox_path("plain"));
	run(&r, sandbox_path("plain"), "git agent spawn 'a task'");
	assert_status(&r, 128);
	cr_assert(!strncmp(r.err, "fatal: ", 7), "stderr: %s", visible(r.err));
}

Test(dispatch, spawn_usage_error_passes_through_129)
{
	struct result r;

	make_repo("repo");
	run(&r, sandbox_path("repo"), "git agent spawn --no-such-option x");
	assert_status(&r, 129);
	assert_contains(r.err, "usage: git agent spawn");
}

Test(dispatch, spawn_dash_h_prints_usage_on_stdout)
{
	struct result r;

	run(&r, NULL, "git agent spawn -h");
	assert_status(&r, 129);
	cr_assert_str_empty(r.err);
	cr_assert(!strncmp(r.out, "usage: git agent spawn", 22), "stdout: %s", r.out);
}

Test(dispatch, review_dash_h_prints_usage_on_stdout)
{
	struct result r;

	run(&r, NULL, "git agent review -h");
	assert_status(&r, 129);
	cr_assert_str_empty(r.err);
	cr_assert(!strncmp(r.out, "usage: git agent review", 23), "stdout: %s", r.out);
	run(&r, NULL, "git agent-review -h");
	assert_status(&r, 129);
	cr_assert(!strncmp(r.out, "usage: git agent review", 23), "stdout: %s", r.out);
}

Test(dispatch, dashed_git_agent_spawn_works)
{
	struct result r;

	run(&r, NULL, "git agent-spawn -h");
	assert_status(&r, 129);
	cr_assert(!strncmp(r.out, "usage: git agent spawn", 22), "stdout: %s", r.out);

	make_repo("repo");
	run(&r, sandbox_path("repo"), "git agent-spawn 'Dashed form'");
	assert_status(&r, 0);
	cr_assert(path_exists(sandbox_path("repo/.git/agent/tasks/dashed-form.ini")));
}

/* The dispatcher prefers the git-agent-spawn beside itself to one on PATH. */
Test(dispatch, command_next_to_the_dispatcher_wins_over_path)
{
	struct result r;

	write_file(sandbox_path("bin/git-agent-spawn"), "#!/bin/sh\necho impostor\nexit 3\n", 0755);
	run(&r, NULL, "PATH=%s:$PATH git agent spawn -h", sh_quote(sandbox_path("bin")));
	assert_status(&r, 129);
	assert_not_contains(r.out, "impostor");
	assert_contains(r.out, "usage: git agent spawn");
}

/* Without a git-agent-spawn beside it, the dispatcher execs the one on PATH. */
Test(dispatch, command_found_on_path_gets_arguments_and_exit_code_verbatim)
{
	struct result r;
	char *bin = sandbox_path("bin"), *args = sandbox_path("args.txt");

	make_dirs(bin);
	run_ok(NULL, "cp %s/git-agent %s/", sh_quote(build_dir), sh_quote(bin));
	write_file(sandbox_path("other/git-agent-spawn"),
		   strf("#!/bin/sh\nprintf '[%%s]\\n' \"$@\" > %s\nexit 42\n", sh_quote(args)), 0755);
	run(&r, NULL, "PATH=%s:%s:/usr/bin:/bin git-agent spawn 'two words' \"it's\" '$(x)' ''",
	    sh_quote(bin), sh_quote(sandbox_path("other")));
	assert_status(&r, 42);
	cr_assert_str_eq(read_file(args), "[two words]\n[it's]\n[$(x)]\n[]\n");
}

Test(dispatch, help_spawn_shows_the_spawn_man_page)
{
	struct result r;

	use_built_man_pages();
	run(&r, NULL, "git agent help spawn");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-SPAWN(1)");
	assert_contains(r.out, "--create");
}

Test(dispatch, spawn_dash_dash_help_shows_the_spawn_man_page)
{
	struct result r;

	use_built_man_pages();
	make_repo("repo");
	run(&r, sandbox_path("repo"), "git agent spawn --help");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-SPAWN(1)");
	/* --help only shows the page: nothing is planned. */
	cr_assert(!path_exists(sandbox_path("repo/.git/agent/tasks")));
}

Test(dispatch, review_dash_dash_help_shows_the_review_man_page)
{
	struct result r;

	use_built_man_pages();
	make_repo("repo");
	run(&r, sandbox_path("repo"), "git agent review --help");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-REVIEW(1)");
	assert_contains(r.out, "--request-changes");
	run(&r, NULL, "git agent help review");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-REVIEW(1)");
}

Test(dispatch, help_shows_the_git_agent_man_page)
{
	struct result r;

	use_built_man_pages();
	run(&r, NULL, "git agent help");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT(1)");
	run(&r, NULL, "git agent --help");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT(1)");
}

Test(dispatch, help_of_an_unknown_command_is_a_usage_error)
{
	struct result r;

	use_built_man_pages();
	run(&r, NULL, "git agent help foo");
	assert_status(&r, 129);
	assert_contains(r.err, "'foo'");
}

Test(dispatch, trace_dash_h_prints_usage_on_stdout)
{
	struct result r;

	run(&r, NULL, "git agent trace -h");
	assert_status(&r, 129);
	cr_assert_str_empty(r.err);
	cr_assert(!strncmp(r.out, "usage: git agent trace", 22), "stdout: %s", r.out);
	run(&r, NULL, "git agent-trace -h");
	assert_status(&r, 129);
	cr_assert(!strncmp(r.out, "usage: git agent trace", 22), "stdout: %s", r.out);
}

Test(dispatch, trace_dash_dash_help_shows_the_trace_man_page)
{
	struct result r;

	use_built_man_pages();
	make_repo("repo");
	run(&r, sandbox_path("repo"), "git agent trace --help");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-TRACE(1)");
	assert_contains(r.out, "--follow");
	run(&r, NULL, "git agent help trace");
	assert_status(&r, 0);
	assert_contains(r.out, "GIT-AGENT-TRACE(1)");
}
