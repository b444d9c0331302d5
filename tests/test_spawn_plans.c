/*
 * git agent spawn: adopting plans, packet templates, and the errors of
 * git-agent-spawn(1) that the other files do not reach.
 */
#include <criterion/criterion.h>

#include "lib.h"

TestSuite(plans, .init = sandbox_setup, .fini = sandbox_teardown);

static char *record_of(const char *repo, const char *slug)
{
	return read_file(strf("%s/.git/agent/tasks/%s.ini", repo, slug));
}

Test(plans, create_with_options_replaces_the_planned_text)
{
	char *repo = make_repo("repo"), *packet, *record;
	json_t *task;

	spawn_json(repo, "-m 'Old text.' --step 'old step' 'Change plan'");
	task = spawn_json(repo, "--create --name change-plan -m 'New text.' --check 'make test'");
	packet = read_file(json_str(task, "packet"));
	assert_contains(packet, "New text.");
	assert_not_contains(packet, "Old text.");
	assert_contains(packet, "old step");	/* not replaced: kept from the plan */
	assert_contains(packet, "`make test`");
	record = record_of(repo, "change-plan");
	assert_contains(record, "description = New text.");
	assert_contains(record, "check = make test");
}

Test(plans, create_of_a_plan_starts_from_where_the_base_is_now)
{
	char *repo = make_repo("repo"), *head;
	json_t *planned, *task;

	planned = spawn_json(repo, "'Base moves'");
	run_ok(repo, "git commit -q --allow-empty -m 'moved on'");
	head = run_ok(repo, "git rev-parse HEAD");
	cr_assert_str_neq(json_str(planned, "base_sha"), head);
	task = spawn_json(repo, "--create 'Base moves'");
	cr_assert_str_eq(json_str(task, "base_sha"), head);
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/base-moves"), head);
}

Test(plans, a_packet_edited_by_hand_is_kept_when_the_plan_is_created)
{
	char *repo = make_repo("repo");
	json_t *planned = spawn_json(repo, "'Edited plan'");
	const char *packet = json_str(planned, "packet");
	struct result r;

	write_file(packet, strf("%sMy own notes for the agent.\n", read_file(packet)), 0644);
	run(&r, repo, "git agent spawn --create 'Edited plan'");
	assert_status(&r, 0);
	assert_contains(r.err, "warning: keeping");
	assert_contains(read_file(packet), "My own notes for the agent.");
}

Test(plans, a_failed_create_of_a_plan_leaves_it_planned)
{
	char *repo = make_repo("repo"), *before;
	json_t *planned = spawn_json(repo, "-m 'Keep this plan.' 'Fragile plan'");
	struct result r;

	before = run_ok(repo, "git for-each-ref");
	run(&r, repo, "git -c agent.setup=false agent spawn --create 'Fragile plan'");
	assert_status(&r, 128);
	assert_contains(record_of(repo, "fragile-plan"), "status = planned");
	assert_contains(read_file(json_str(planned, "packet")), "Keep this plan.");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref"), before);
	cr_assert(!path_exists(json_str(planned, "worktree")));
	cr_assert_eq(worktree_count(repo), 1);
}

Test(plans, name_of_an_unplanned_task_needs_a_title)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn --create --name nothing-planned");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'nothing-planned' is not planned, so it needs a title");
	cr_assert(!path_exists(strf("%s/.git/agent/tasks/nothing-planned.ini", repo)));
	cr_assert(!path_exists(strf("%s/.git/agent/tasks/nothing-planned", repo)));
}

Test(plans, name_of_a_created_task_is_refused)
{
	char *repo = make_repo("repo");
	struct result r;

	spawn_json(repo, "--create --name taken 'First'");
	run(&r, repo, "git agent spawn --create --name taken 'Second'");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'taken' already exists");
	run(&r, repo, "git agent spawn --name taken 'Second'");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'taken' already exists");
}

Test(plans, a_second_dry_run_of_a_title_plans_another_task)
{
	char *repo = make_repo("repo");

	cr_assert_str_eq(json_str(spawn_json(repo, "'Same plan'"), "task"), "same-plan");
	cr_assert_str_eq(json_str(spawn_json(repo, "'Same plan'"), "task"), "same-plan-2");
}

Test(plans, template_fills_every_placeholder)
{
	char *repo = make_repo("repo"), *packet;
	const char *tpl = sandbox_path("packet.tpl");
	json_t *task;

	write_file(tpl, "T={{title}}\nS={{slug}}\nB={{branch}}\nW={{worktree}}\n"
		   "M={{main_worktree}}\nP={{port}}\nR={{report}}\n{{scope}}\n{{steps}}\n"
		   "{{checks}}\n{{description}}\nbase {{base}} {{base_sha}} {{folder}}\n"
		   "{{review_gate}}\nunclosed {{ stays\n", 0644);
	run_ok(repo, "git config agent.template %s", sh_quote(tpl));
	task = spawn_json(repo, "--scope src --step 'Do it' --check 'make test' -m 'Body' 'Templated *task*'");
	packet = read_file(json_str(task, "packet"));
	assert_contains(packet, "T=Templated \\*task\\*\n");
	assert_contains(packet, strf("S=`%s`\n", json_str(task, "task")));
	assert_contains(packet, strf("B=`%s`\n", json_str(task, "branch")));
	assert_contains(packet, strf("W=`%s`\n", json_str(task, "worktree")));
	assert_contains(packet, strf("M=`%s`\n", repo));
	assert_contains(packet, strf("P=%d\n", (int)json_integer_value(json_object_get(task, "port"))));
	assert_contains(packet, strf("R=`%s`\n", json_str(task, "report")));
	assert_contains(packet, "- `src`\n1. Do it\n- `make test`\n```text\nBody\n```\n");
	assert_contains(packet, strf("base `main` `%s`", json_str(task, "base_sha")));
	assert_contains(packet, "unclosed {{ stays\n");
	assert_not_contains(packet, "{{title}}");
}

Test(plans, template_with_an_unknown_placeholder_is_refused)
{
	char *repo = make_repo("repo");
	const char *tpl = sandbox_path("bad.tpl");
	struct result r;

	write_file(tpl, "# {{title}}\n{{nonsense}}\n", 0644);
	run(&r, repo, "git -c agent.template=%s agent spawn 'Bad template'", sh_quote(tpl));
	assert_status(&r, 128);
	assert_contains(r.err, "unknown placeholder '{{nonsense}}'");
	cr_assert(!path_exists(strf("%s/.git/agent/tasks/bad-template.ini", repo)));
	cr_assert(!path_exists(strf("%s/.git/agent/tasks/bad-template", repo)));
}

Test(plans, substituted_text_is_not_scanned_again)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "-m '{{worktree}}' 'Title {{slug}}'");
	char *packet = read_file(json_str(task, "packet"));

	assert_contains(packet, "Title \\{\\{slug\\}\\}");
	assert_contains(packet, "```text\n{{worktree}}\n```");
}

Test(plans, missing_template_file_is_a_clear_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git -c agent.template=%s agent spawn 'No template'",
	    sh_quote(sandbox_path("missing.tpl")));
	assert_status(&r, 128);
	assert_contains(r.err, "cannot read the packet template");
	assert_contains(r.err, "agent.template");
}

Test(plans, message_and_file_together_are_a_usage_error)
{
	char *repo = make_repo("repo");
	struct result r;

	write_file(sandbox_path("d.txt"), "text\n", 0644);
	run(&r, repo, "git agent spawn -m a -F %s 'Both'", sh_quote(sandbox_path("d.txt")));
	assert_status(&r, 129);
	assert_contains(r.err, "-m and -F cannot be used together");
	assert_contains(r.err, "usage: git agent spawn");
}

Test(plans, option_without_its_value_is_a_usage_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn 'Title' --base");
	assert_status(&r, 129);
	assert_contains(r.err, "error: option '--base' requires a value");
}

Test(plans, empty_title_is_a_usage_error)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn '  '");
	assert_status(&r, 129);
	assert_contains(r.err, "error: the task title is empty");
}

Test(plans, bare_repository_is_a_clear_error)
{
	struct result r;

	run_ok(NULL, "git init -q --bare bare.git");
	run(&r, sandbox_path("bare.git"), "git agent spawn 'In a bare repository'");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: bare repositories are not supported");
}

Test(plans, link_value_outside_the_repository_is_refused)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git -c agent.link=../elsewhere agent spawn --create 'Link out'");
	assert_status(&r, 128);
	assert_contains(r.err, "bad agent.link value '../elsewhere'");
	cr_assert_eq(worktree_count(repo), 1);
}

Test(plans, empty_config_value_is_missing)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git -c agent.remote= agent spawn 'Empty remote'");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: missing value for 'agent.remote'");
}

Test(plans, command_line_config_wins_over_the_repository)
{
	char *repo = make_repo("repo");
	json_t *task;

	run_ok(repo, "git config agent.branchPrefix local");
	task = spawn_json(repo, "'No override'");
	cr_assert_str_eq(json_str(task, "branch"), "local/no-override");
	task = json_parse(run_ok(repo, "git -c agent.branchPrefix=cli agent spawn --json 'Override'"));
	cr_assert_str_eq(json_str(task, "branch"), "cli/override");
}

Test(plans, integer_booleans_are_accepted_like_git)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git -c agent.fetch=0 -c agent.removeAfterMerge=2 agent spawn 'Integer booleans'");
	assert_status(&r, 0);
	run(&r, repo, "git -c agent.fetch=maybe agent spawn 'Bad boolean'");
	assert_status(&r, 128);
	assert_contains(r.err, "bad value 'maybe' for 'agent.fetch'");
}

Test(plans, numbered_slug_of_a_long_title_stays_within_48_characters)
{
	char *repo = make_repo("repo");
	const char *title = "'Refactor the billing export pipeline so that invoices stream to disk'";
	const char *first = json_str(spawn_json(repo, "%s", title), "task");
	const char *second = json_str(spawn_json(repo, "%s", title), "task");

	cr_assert_leq(strlen(first), 48);
	cr_assert_leq(strlen(second), 48, "'%s'", second);
	cr_assert(strlen(second) > 2 && !strcmp(second + strlen(second) - 2, "-2"), "'%s'", second);
	assert_not_contains(second, "--");
	run_ok(repo, "git check-ref-format %s", sh_quote(strf("refs/heads/agent/%s", second)));
}
