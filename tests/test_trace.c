/*
 * `git agent trace`, as git-agent-trace(1) describes it: printing, every
 * filter alone and together, --json byte for byte, bad lines, colors and
 * the pager, --follow with concurrent writers, --tasks and --emit. The line
 * scanner and the time parser are tested directly at the end.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lib.h"

TestSuite(trace, .init = sandbox_setup, .fini = sandbox_teardown);

/* A repository whose log holds exactly text. */
static char *repo_with_log(const char *text)
{
	char *repo = make_repo("repo");

	write_file(strf("%s/.git/agent/trace.jsonl", repo), text, 0644);
	return repo;
}

static const char *log_path(const char *repo)
{
	return strf("%s/.git/agent/trace.jsonl", repo);
}

#define EV(ts, event, task, rest) \
	"{\"v\":1,\"ts\":\"" ts "\",\"event\":\"" event "\",\"task\":\"" task "\"" rest "}\n"

static const char sample[] =
	EV("2026-11-20T08:00:00.000Z", "task.planned", "billing-export",
	   ",\"title\":\"Add billing export\",\"agent\":\"agent\",\"branch\":\"agent/billing-export\"")
	EV("2026-11-20T08:00:01.000Z", "worktree.created", "billing-export",
	   ",\"agent\":\"agent\",\"branch\":\"agent/billing-export\",\"base\":\"main\"")
	EV("2026-11-20T09:30:00.000Z", "task.planned", "billing-fix",
	   ",\"title\":\"Fix billing\",\"agent\":\"claude\",\"branch\":\"claude/billing-fix\"")
	EV("2026-11-21T10:00:00.000Z", "review.recorded", "billing-export",
	   ",\"round\":1,\"files_changed\":3,\"insertions\":40,\"deletions\":2,"
	   "\"checks_failed\":0,\"mergeable\":true")
	EV("2026-11-21T11:00:00.000Z", "merge.done", "billing-export",
	   ",\"style\":\"merge\",\"into\":\"main\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\"")
	EV("2026-11-21T12:00:00.500Z", "task.planned", "docs", ",\"title\":\"Docs\"");

/* Sample lines 1-based, as one string. */
static char *sample_lines(const char *numbers)
{
	char *copy = keep(strdup(sample)), *line, *save = NULL, *out = keep(calloc(1, sizeof(sample)));
	int n = 0;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[16];

		snprintf(key, sizeof(key), ",%d,", ++n);
		if (strstr(strf(",%s,", numbers), key))
			strcat(strcat(out, line), "\n");
	}
	return out;
}

Test(trace, no_log_yet_prints_nothing_and_exits_0)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent trace");
	assert_status(&r, 0);
	cr_assert_str_empty(r.out);
	cr_assert_str_empty(r.err);
	run(&r, repo, "git agent trace --tasks --json");
	assert_status(&r, 0);
	cr_assert_str_empty(r.out);
}

Test(trace, human_lines_show_local_time_task_event_and_key_fields)
{
	char *repo = repo_with_log(sample);
	struct result r;

	run(&r, repo, "git agent trace");
	assert_status(&r, 0);
	cr_assert_str_eq(r.out,
		"2026-11-20 08:00:00  billing-export  task.planned  title=\"Add billing export\"\n"
		"2026-11-20 08:00:01  billing-export  worktree.created  branch=agent/billing-export base=main\n"
		"2026-11-20 09:30:00  billing-fix  task.planned  title=\"Fix billing\"\n"
		"2026-11-21 10:00:00  billing-export  review.recorded  round=1 files_changed=3 +40 -2 "
		"checks_failed=0 mergeable=true\n"
		"2026-11-21 11:00:00  billing-export  merge.done  style=merge into=main commit=0123456789ab\n"
		"2026-11-21 12:00:00  docs  task.planned  title=Docs\n");
	cr_assert_str_empty(r.err);
}

Test(trace, local_time_follows_tz)
{
	char *repo = repo_with_log(sample_lines("1"));

	cr_assert_str_eq(run_ok(repo, "TZ=Asia/Tokyo git agent trace"),
			 "2026-11-20 17:00:00  billing-export  task.planned  title=\"Add billing export\"");
	cr_assert_str_eq(run_ok(repo, "TZ=America/New_York git agent trace"),
			 "2026-11-20 03:00:00  billing-export  task.planned  title=\"Add billing export\"");
}

Test(trace, json_passes_matching_lines_through_byte_for_byte)
{
	const char *odd = "{ \"ts\" : \"2026-11-21T10:00:00+02:00\", \"event\":\"note\",  "
			  "\"task\":\"billing-export\", \"x\": [1, {\"y\": null}], \"t\":\"\\u00e9\\n\" }\n";
	char *repo = repo_with_log(keep(strdup(strf("%s%s", sample, odd))));
	struct result r;

	run(&r, repo, "git agent trace --json");
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, strf("%s%s", sample, odd));
	run(&r, repo, "git agent trace --json billing-export --event note");
	cr_assert_str_eq(r.out, odd);
}

Test(trace, task_names_filter_and_take_globs)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json docs")), sample_lines("6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json 'billing-*'")),
			 sample_lines("1,2,3,4,5"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json docs billing-fix")),
			 sample_lines("3,6"));
	cr_assert_str_empty(run_ok(repo, "git agent trace --json billing"));
}

/*
 * Found by fuzz_trace_line: the text searched for to skip lines was taken
 * from inside a bracket expression, so '[ab]cd' looked for "ab" and missed
 * "acd".
 */
Test(trace, globs_with_bracket_expressions_find_their_tasks)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json '[abcd]ocs'")),
			 sample_lines("6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json '[[:alpha:]]ocs'")),
			 sample_lines("6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json '[!xyz-q]ocs' "
					     "'billing-[[:alpha:]]ix'")),
			 sample_lines("3,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --event "
					     "'[abcdefghijklmnopq]erge.done'")),
			 sample_lines("5"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --event 'x[' "
					     "--event '[]]'")), "\n", "an unended '[' is itself");
}

Test(trace, event_globs_are_repeatable_and_either_matches)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --event 'task.*'")),
			 sample_lines("1,3,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json -e merge.done "
					     "--event worktree.created")),
			 sample_lines("2,5"));
}

Test(trace, since_and_until_take_iso_times_with_and_without_zone)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --since 2026-11-21T10:00:00Z")),
			 sample_lines("4,5,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --until '2026-11-20 09:30'")),
			 sample_lines("1,2,3"));
	/* 10:30 in Tokyo is 01:30 UTC: everything on the 21st is later. */
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "TZ=Asia/Tokyo git agent trace --json "
					     "--since 2026-11-21T10:30")),
			 sample_lines("4,5,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json "
					     "--since 2026-11-21T12:00:00+01:00 --until 2026-11-21T11:00:00.000Z")),
			 sample_lines("5"));
	/* A date alone: from its first moment, up to its last. */
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --since 2026-11-21 "
					     "--until 2026-11-21")),
			 sample_lines("4,5,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "TZ=America/Los_Angeles git agent trace --json "
					     "--until 2026-11-20")),
			 sample_lines("1,2,3"));
}

Test(trace, since_takes_relative_ages)
{
	char now[32], old[32];
	time_t t = time(NULL);
	struct tm tm;
	char *repo;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	t -= 3 * 3600;
	gmtime_r(&t, &tm);
	strftime(old, sizeof(old), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	repo = repo_with_log(strf("{\"ts\":\"%s\",\"event\":\"a\",\"task\":\"x\"}\n"
				  "{\"ts\":\"%s\",\"event\":\"b\",\"task\":\"x\"}\n", old, now));
	cr_assert_str_eq(run_ok(repo, "git agent trace --json --since 2h"),
			 strf("{\"ts\":\"%s\",\"event\":\"b\",\"task\":\"x\"}", now));
	cr_assert_str_eq(run_ok(repo, "git agent trace --json --since 200m --until 1h"),
			 strf("{\"ts\":\"%s\",\"event\":\"a\",\"task\":\"x\"}", old));
	cr_assert_eq(count_lines(run_ok(repo, "git agent trace --json --since 1w")), 2);
	cr_assert_eq(count_lines(run_ok(repo, "git agent trace --json --since 1d")), 2);
	cr_assert_str_empty(run_ok(repo, "git agent trace --json --since 30s --until 20s"));
}

Test(trace, agent_picks_the_tasks_of_one_agent)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --agent claude")),
			 sample_lines("3"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --agent agent "
					     "--event review.recorded")),
			 sample_lines("4"));
}

/* A record that does not parse names no agent, and leaks nothing (the sanitizer run checks). */
Test(trace, agent_of_a_task_whose_record_is_incomplete_is_unknown)
{
	char *repo = repo_with_log(EV("2026-11-21T10:00:00.000Z", "note", "half", ""));

	write_file(strf("%s/.git/agent/tasks/half.ini", repo),
		   "[task]\nslug = half\ntitle = Half\nagent = claude\n", 0644);
	cr_assert_str_empty(run_ok(repo, "git agent trace --json --agent claude"));
}

Test(trace, agent_of_a_real_task_comes_from_spawn)
{
	char *repo = make_repo("repo");

	spawn_json(repo, "--agent codex 'Add export'");
	spawn_json(repo, "'Other task'");
	cr_assert_str_eq(run_ok(repo, "git agent trace --agent codex --event task.planned | cut -c22-"),
			 "add-export  task.planned  title=\"Add export\"");
}

Test(trace, grep_finds_text_in_values)
{
	char *repo = repo_with_log(strf("%s%s", sample,
		EV("2026-11-21T13:00:00.000Z", "note", "docs", ",\"message\":\"caf\\u00e9 \\\"quoted\\\"\"")));

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --grep 'Fix bill'")),
			 sample_lines("3"));
	cr_assert_eq(count_lines(run_ok(repo, "git agent trace --json --grep café")), 1);
	cr_assert_eq(count_lines(run_ok(repo, "git agent trace --json --grep '\"quoted\"'")), 1);
	/* Keys are not values. */
	cr_assert_str_empty(run_ok(repo, "git agent trace --json --grep files_changed"));
}

/*
 * Found by fuzz_trace_line: --grep parsed each line with jansson, which
 * refuses integers beyond 64 bits and reals beyond a double, so such a line
 * never matched, though it is an event (the scanner takes it).
 */
Test(trace, grep_sees_lines_with_numbers_too_big_for_jansson)
{
	const char *big = EV("2026-11-21T13:00:00.000Z", "note", "docs",
			     ",\"n\":987654321987654321987654321,\"message\":\"needle\"");
	const char *huge = EV("2026-11-21T13:00:01.000Z", "note", "docs",
			      ",\"x\":[1e400,{\"needle\":\"ne\\u0065dle in a key's value\"}]");
	char *repo = repo_with_log(strf("%s%s%s", sample, big, huge));

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --grep needle")),
			 strf("%s%s", big, huge));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --grep 'in a key'")),
			 huge);
	cr_assert_str_empty(run_ok(repo, "git agent trace --json --grep 98765432198"),
			    "numbers are not text");
}

/* As in jq: of a key given twice, the last value counts; the first is no value of the event. */
Test(trace, grep_reads_a_repeated_key_as_jq_does)
{
	const char *twice = EV("2026-11-21T13:00:00.000Z", "note", "docs",
			       ",\"message\":\"needle\",\"message\":\"hay\"");
	char *repo = repo_with_log(strf("%s%s", sample, twice));

	cr_assert_str_empty(run_ok(repo, "git agent trace --json --grep needle"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --grep hay")), twice);
}

Test(trace, n_prints_the_last_n_that_match)
{
	char *repo = repo_with_log(sample);
	struct result r;

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json -n 2")), sample_lines("5,6"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json -n1 'billing-*'")),
			 sample_lines("5"));
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json --max-count 99 docs")),
			 sample_lines("6"));
	cr_assert_str_empty(run_ok(repo, "git agent trace --json -n 0"));
	run(&r, repo, "git agent trace -n -1");
	assert_status(&r, 129);
	assert_contains(r.err, "-n needs a count of 0 or more, not '-1'");
}

Test(trace, filters_combine_with_and)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json 'billing-*' --event 'task.*' "
					     "--since 2026-11-20T09:00Z --agent claude --grep Fix")),
			 sample_lines("3"));
	cr_assert_str_empty(run_ok(repo, "git agent trace --json docs --event merge.done"));
}

Test(trace, an_escaped_task_name_is_still_found)
{
	const char *line = "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"note\",\"task\":\"\\u0064ocs\"}\n";
	char *repo = repo_with_log(strf("%s%s", sample, line));

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json docs")),
			 strf("%s%s", sample_lines("6"), line));
}

/* Every kind of bad line, each between good ones. */
Test(trace, bad_lines_are_skipped_with_their_line_number)
{
	char *big = keep(malloc(1100000)), *text;
	char *repo;
	struct result r;
	FILE *f;

	memset(big, 'x', 1100000 - 1);
	big[1100000 - 1] = '\0';
	repo = make_repo("repo");
	f = fopen(log_path(repo), "w");
	cr_assert(f || (make_dirs(strf("%s/.git/agent", repo)), f = fopen(log_path(repo), "w")));
	fputs(sample_lines("1"), f);						/* 1 */
	fputs("this is not json\n", f);						/* 2 */
	fputs("[1,2,3]\n", f);							/* 3 */
	fputs("{\"event\":\"x\",\"task\":\"t\"}\n", f);				/* 4 */
	fputs("{\"ts\":\"2026-11-21T10:00:00Z\",\"task\":\"t\"}\n", f);		/* 5 */
	fputs("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"\xff\xfe\"}\n", f);	/* 6 */
	fwrite("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"a\0b\"}\n", 1, 45, f);	/* 7 */
	fprintf(f, "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"%s\"}\n", big);	/* 8 */
	fputs("{\"ts\":\"yesterday\",\"event\":\"x\"}\n", f);			/* 9 */
	fputs("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":42}\n", f);		/* 10 */
	fputs(sample_lines("6"), f);						/* 11 */
	fputs("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"cut", f);		/* 12 */
	fclose(f);
	run(&r, repo, "git agent trace --json");
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, sample_lines("1,6"));
	text = strf("warning: %s:2: not valid JSON\n"
		    "warning: %s:3: not a JSON object\n"
		    "warning: %s:4: no \"ts\" field\n"
		    "warning: %s:5: no \"event\" field\n"
		    "warning: %s:6: not UTF-8\n"
		    "warning: %s:7: contains a NUL byte\n"
		    "warning: %s:8: longer than 262144 bytes\n"
		    "warning: %s:9: \"ts\" is not a time\n"
		    "warning: %s:10: \"event\" is not a string\n"
		    "warning: %s:12: cut short at the end of the file\n",
		    log_path(repo), log_path(repo), log_path(repo), log_path(repo), log_path(repo),
		    log_path(repo), log_path(repo), log_path(repo), log_path(repo), log_path(repo));
	cr_assert_str_eq(r.err, text);
	run(&r, repo, "git agent trace");
	assert_status(&r, 0);
	cr_assert_eq(count_lines(r.out), 2);
	cr_assert_str_eq(r.err, text);
	run(&r, repo, "git agent trace --tasks --json");
	assert_status(&r, 0);
	cr_assert_eq(count_lines(r.out), 2);
}

Test(trace, bad_line_warnings_stop_at_ten_then_a_count)
{
	struct strbuf text = STRBUF_INIT;
	char *repo;
	struct result r;
	int i;

	sb_adds(&text, sample_lines("1"));
	for (i = 0; i < 25; i++)
		sb_adds(&text, "garbage\n");
	sb_adds(&text, sample_lines("6"));
	repo = repo_with_log(text.buf);
	sb_release(&text);
	run(&r, repo, "git agent trace --json");
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, sample_lines("1,6"));
	cr_assert_eq(count_matches(r.err, ": not valid JSON\n"), 10);
	assert_contains(r.err, strf("%s:11: not valid JSON\n", log_path(repo)));
	assert_contains(r.err, strf("warning: 15 more bad lines in '%s' skipped\n", log_path(repo)));
}

Test(trace, a_log_that_cannot_be_read_is_fatal)
{
	char *repo = make_repo("repo");
	struct result r;

	make_dirs(log_path(repo));
	run(&r, repo, "git agent trace");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, strf("fatal: cannot read the trace '%s': it is a directory\n",
				     log_path(repo)));
}

Test(trace, agent_trace_config_moves_the_log)
{
	char *repo = make_repo("repo");

	write_file(sandbox_path("elsewhere.jsonl"), sample_lines("6"), 0644);
	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git -c agent.trace=%s agent trace --json",
					     sandbox_path("elsewhere.jsonl"))),
			 sample_lines("6"));
}

/* Hostile text from a real spawn reaches the terminal escaped. */
Test(trace, escape_sequences_and_invalid_utf8_come_out_escaped)
{
	char *repo = make_repo("repo");
	struct result r;

	run(&r, repo, "git agent spawn \"$(printf 'Evil \\033]0;pwned\\007 \\033[2J \\302\\233 \\377 title')\"");
	assert_status(&r, 0);
	run(&r, repo, "git agent trace");
	assert_status(&r, 0);
	cr_assert(!strchr(r.out, '\033'), "raw ESC in:\n%s", visible(r.out));
	cr_assert(!strstr(r.out, "\302\233"), "raw C1 CSI in:\n%s", visible(r.out));
	cr_assert(!strchr(r.out, '\007'), "raw BEL in:\n%s", visible(r.out));
	assert_contains(r.out, "task.planned  title=\"Evil \\x1b]0;pwned\\x07 \\x1b[2J");
	run(&r, repo, "git agent trace --tasks");
	cr_assert(!strchr(r.out, '\033'));
}

Test(trace, no_color_and_no_pager_when_stdout_is_not_a_terminal)
{
	char *repo = repo_with_log(sample);
	struct result r;

	run(&r, repo, "GIT_PAGER='sed s/^/paged:/' git agent trace");
	cr_assert(!strchr(r.out, '\033'));
	assert_not_contains(r.out, "paged:");
	run(&r, repo, "git -c color.ui=auto agent trace");
	cr_assert(!strchr(r.out, '\033'));
}

Test(trace, color_always_colors_and_never_or_no_color_does_not)
{
	char *repo = repo_with_log(sample_lines("5"));

	cr_assert_str_eq(run_ok(repo, "git agent trace --color=always"),
			 "\033[33m2026-11-21 11:00:00\033[m  \033[1mbilling-export\033[m  "
			 "\033[32mmerge.done\033[m  style=merge into=main commit=0123456789ab");
	cr_assert_str_eq(run_ok(repo, "git agent trace --color"), run_ok(repo, "git agent trace --color=always"));
	cr_assert(!strchr(run_ok(repo, "git -c color.ui=always agent trace --color=never"), '\033'));
	cr_assert(!strchr(run_ok(repo, "git -c color.ui=always agent trace --no-color"), '\033'));
	cr_assert(strchr(run_ok(repo, "git -c color.ui=always agent trace"), '\033'));
	cr_assert(strchr(run_ok(repo, "NO_COLOR=1 git agent trace --color=always"), '\033'));
}

/* A terminal made by script(1): what the user's shell would give us. */
static char *on_terminal(const char *repo, const char *command)
{
	return run_ok(repo, "script -qec %s /dev/null | tr -d '\\r'", sh_quote(command));
}

Test(trace, on_a_terminal_output_is_paged_and_colored)
{
	char *repo = repo_with_log(sample_lines("5,6"));
	char *out;

	out = on_terminal(repo, "GIT_PAGER='sed s/^/paged:/' git agent trace");
	assert_contains(out, "paged:\033[33m2026-11-21 11:00:00\033[m");
	out = on_terminal(repo, "GIT_PAGER='sed s/^/paged:/' git agent trace --no-pager");
	assert_not_contains(out, "paged:");
	out = on_terminal(repo, "GIT_PAGER='sed s/^/paged:/' NO_COLOR=1 git agent trace");
	assert_contains(out, "paged:2026-11-21 11:00:00  billing-export");
	out = on_terminal(repo, "unset GIT_PAGER; PAGER='sed s/^/pager:/' git agent trace");
	assert_contains(out, "pager:");
	out = on_terminal(repo, "unset GIT_PAGER; git -c core.pager='sed s/^/core:/' agent trace");
	assert_contains(out, "core:");
	out = on_terminal(repo, "GIT_PAGER='env | grep -E \"^(LESS|LV)=\" | sort' git agent trace");
	cr_assert_str_eq(out, "LESS=FRX\nLV=-c");
}

Test(trace, json_on_a_terminal_escapes_c1_controls_and_bidi_marks)
{
	const char *line = "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"note\",\"message\":\"a\302\233b\342\200\256c\"}\n";
	char *repo = repo_with_log(line);

	cr_assert_str_eq(strf("%s\n", run_ok(repo, "git agent trace --json")), line);
	cr_assert_str_eq(on_terminal(repo, "git agent trace --json"),
			 "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"note\",\"message\":\"a\\u009bb\\u202ec\"}");
}

Test(trace, a_closed_pipe_ends_quietly)
{
	struct strbuf text = STRBUF_INIT;
	struct result r;
	char *repo;
	int i;

	for (i = 0; i < 20000; i++)
		sb_adds(&text, sample_lines("1"));
	repo = repo_with_log(text.buf);
	sb_release(&text);
	run(&r, repo, "git agent trace | head -1; git agent trace --json | head -1");
	assert_status(&r, 0);
	cr_assert_eq(count_lines(r.out), 2);
	cr_assert_str_empty(r.err);
}

/* Follows the log into out; returns the follower's process group. */
static pid_t start_follow(const char *repo, const char *out, const char *args)
{
	return run_background(repo, sandbox_path("follow.log"),
			      "exec git-agent-trace --follow %s > %s", args, out);
}

/* Waits until file has at least n lines. */
static int wait_for_lines(const char *path, int n, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 20) {
		FILE *f = fopen(path, "r");
		int c, lines = 0;

		while (f && (c = getc(f)) != EOF)
			lines += c == '\n';
		if (f)
			fclose(f);
		if (lines >= n)
			return 0;
		usleep(20000);
	}
	return -1;
}

static int stop(pid_t pid)
{
	int status;

	kill(-pid, SIGINT);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(trace, follow_prints_what_is_appended_and_stops_on_sigint)
{
	char *repo = repo_with_log(sample_lines("1"));
	char *out = sandbox_path("out");
	pid_t pid = start_follow(repo, out, "--json");
	int status;

	cr_assert_eq(wait_for_lines(out, 1, 5000), 0);
	run_ok(repo, "git agent spawn --name later 'Later task' >/dev/null");
	cr_assert_eq(wait_for_lines(out, 2, 1000), 0, "not within a second:\n%s", read_file(out));
	status = stop(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	assert_contains((read_file(out)), "\"event\":\"task.planned\",\"task\":\"later\"");
}

Test(trace, follow_waits_for_a_log_created_later_and_filters)
{
	char *repo = make_repo("repo");
	char *out = sandbox_path("out");
	pid_t pid = start_follow(repo, out, "later");

	usleep(300000);
	run_ok(repo, "git agent spawn --name other 'Other' >/dev/null");
	run_ok(repo, "git agent spawn --name later 'Later task' >/dev/null");
	cr_assert_eq(wait_for_lines(out, 1, 2000), 0);
	usleep(200000);
	stop(pid);
	cr_assert_eq(count_lines((read_file(out))), 1);
	assert_contains((read_file(out)), "  later  task.planned  title=\"Later task\"");
}

Test(trace, follow_stops_when_the_reader_goes_away)
{
	char *repo = repo_with_log(sample_lines("1"));
	struct result r;

	/* head exits after one line; the follower must notice with nothing more to write. */
	run(&r, repo, "timeout 10 sh -c 'git agent trace --follow --json | head -1'; echo \"rc=$?\"");
	assert_contains(r.out, "rc=0");
	cr_assert_str_empty(r.err);
}

/* 64 writers of 500 events each, and one reader following them all. */
Test(trace, follow_sees_every_line_of_64_concurrent_writers, .timeout = 120)
{
	char *repo = make_repo("repo");
	const char *path = log_path(repo);
	char *out = sandbox_path("out"), *text, *line, *save = NULL;
	static char seen[64][500];
	pid_t follower = start_follow(repo, out, "--json"), writers[64];
	int w, i, status, total = 0;

	usleep(200000);
	for (w = 0; w < 64; w++) {
		writers[w] = fork();
		cr_assert(writers[w] >= 0);
		if (!writers[w]) {
			for (i = 0; i < 500; i++) {
				json_t *e = trace_event("note", "load");

				json_object_set_new(e, "writer", json_integer(w));
				json_object_set_new(e, "i", json_integer(i));
				json_object_set_new(e, "pad", json_string("0123456789abcdef0123456789abcdef"));
				if (trace_append(path, e) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (w = 0; w < 64; w++) {
		cr_assert_eq(waitpid(writers[w], &status, 0), writers[w]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cr_assert_eq(wait_for_lines(out, 32000, 20000), 0);
	status = stop(follower);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = (read_file(out));
	memset(seen, 0, sizeof(seen));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *e = json_parse(line);

		w = (int)json_integer_value(json_object_get(e, "writer"));
		i = (int)json_integer_value(json_object_get(e, "i"));
		cr_assert(w >= 0 && w < 64 && i >= 0 && i < 500 && !seen[w][i], "line %s", line);
		seen[w][i] = 1;
		total++;
	}
	cr_assert_eq(total, 32000);
	cr_assert_str_empty((read_file(sandbox_path("follow.log"))));
}

/* --tasks */

/* A task t made by spawn --create, with one commit in its worktree. */
static const char *task_with_commit(const char *repo, const char *name)
{
	json_t *task = spawn_json(repo, "--create --name %s %s", name, name);
	const char *wt = json_str(task, "worktree");

	write_file(strf("%s/%s.txt", wt, name), "one\ntwo\n", 0644);
	run_ok(wt, "git add . && git commit -qm work");
	return wt;
}

Test(trace, tasks_derive_each_state_from_the_events)
{
	char *repo = make_repo("repo");
	char *out;
	json_t *line;

	spawn_json(repo, "--name planned Planned");
	task_with_commit(repo, "running");
	task_with_commit(repo, "reviewed");
	review_json(repo, 0, "reviewed");
	task_with_commit(repo, "changes");
	review_json(repo, 0, "changes");
	run_ok(repo, "git agent review changes --request-changes='More tests' >/dev/null");
	task_with_commit(repo, "merged");
	review_json(repo, 0, "merged");
	run_ok(repo, "git agent review merged --merge >/dev/null");
	task_with_commit(repo, "abandoned");
	run_ok(repo, "git agent review abandoned --abandon --force >/dev/null");
	out = run_ok(repo, "git agent trace --tasks --json");
	cr_assert_eq(count_lines(out), 6, "%s", out);
	line = json_parse(run_ok(repo, "git agent trace --tasks --json planned"));
	cr_assert_str_eq(json_str(line, "state"), "planned");
	cr_assert(json_is_null(json_object_get(line, "insertions")));
	cr_assert_str_eq(json_str(json_parse(run_ok(repo, "git agent trace --tasks --json running")),
				  "state"), "running");
	line = json_parse(run_ok(repo, "git agent trace --tasks --json reviewed"));
	cr_assert_str_eq(json_str(line, "state"), "reviewed");
	cr_assert_str_eq(json_str(line, "branch"), "agent/reviewed");
	cr_assert_str_eq(json_str(line, "agent"), "agent");
	cr_assert_str_eq(json_str(line, "last_event"), "review.recorded");
	cr_assert_eq(json_integer_value(json_object_get(line, "insertions")), 2);
	cr_assert_eq(json_integer_value(json_object_get(line, "deletions")), 0);
	cr_assert_eq(json_integer_value(json_object_get(line, "round")), 1);
	cr_assert(json_is_true(json_object_get(line, "mergeable")));
	cr_assert(json_is_null(json_object_get(line, "verdict")));
	line = json_parse(run_ok(repo, "git agent trace --tasks --json changes"));
	cr_assert_str_eq(json_str(line, "state"), "changes requested");
	cr_assert_str_eq(json_str(line, "verdict"), "changes");
	line = json_parse(run_ok(repo, "git agent trace --tasks --json merged"));
	cr_assert_str_eq(json_str(line, "state"), "merged");
	cr_assert_str_eq(json_str(line, "verdict"), "merged");
	line = json_parse(run_ok(repo, "git agent trace --tasks --json abandoned"));
	cr_assert_str_eq(json_str(line, "state"), "abandoned");
	cr_assert_str_eq(json_str(line, "verdict"), "abandon");
	out = run_ok(repo, "git agent trace --tasks");
	assert_contains(out, "TASK       STATE              BRANCH           AGE  LAST EVENT       +/-    VERDICT\n");
	assert_contains(out, "\nreviewed   reviewed           agent/reviewed   ");
	assert_contains(out, "+2 -0  -\n");
}

Test(trace, tasks_failed_exited_and_emitted_events_do_not_move_a_task)
{
	char *repo = repo_with_log(
		EV("2026-11-21T10:00:00Z", "task.planned", "a", "")
		EV("2026-11-21T10:00:01Z", "setup.failed", "a", "")
		EV("2026-11-21T10:00:00Z", "worktree.created", "b", "")
		EV("2026-11-21T10:00:01Z", "agent.started", "b", "")
		EV("2026-11-21T10:00:02Z", "agent.exited", "b", "")
		EV("2026-11-21T10:00:03Z", "merge.done", "b", ",\"emitted\":true"));
	json_t *a = json_parse(run_ok(repo, "git agent trace --tasks --json a"));
	json_t *b = json_parse(run_ok(repo, "git agent trace --tasks --json b"));

	cr_assert_str_eq(json_str(a, "state"), "failed");
	cr_assert_str_eq(json_str(b, "state"), "exited");
	cr_assert_str_eq(json_str(b, "last_event"), "merge.done");
	cr_assert_eq(json_integer_value(json_object_get(b, "events")), 4);
	cr_assert_str_eq(json_str(b, "created"), "2026-11-21T10:00:00.000Z");
	cr_assert_str_eq(json_str(b, "updated"), "2026-11-21T10:00:03.000Z");
}

Test(trace, tasks_narrow_by_name_and_agent)
{
	char *repo = repo_with_log(sample);

	cr_assert_str_eq(run_ok(repo, "git agent trace --tasks --json 'billing-*' | cut -d, -f1"),
			 "{\"task\":\"billing-export\"\n{\"task\":\"billing-fix\"");
	cr_assert_str_eq(run_ok(repo, "git agent trace --tasks --json --agent claude | cut -d, -f1"),
			 "{\"task\":\"billing-fix\"");
}

/* --emit */

Test(trace, emit_from_a_worktree_appends_an_emitted_event)
{
	char *repo = make_repo("repo");
	const char *wt = json_str(spawn_json(repo, "--create --name t 'Task'"), "worktree");
	json_t *events, *e;

	make_dirs(strf("%s/docs", wt));
	run_ok(strf("%s/docs", wt), "git agent trace --emit tests.run -m 'ran 12 tests' "
	       "--field passed=12 --field failed=0");
	events = trace_read(log_path(repo));
	e = trace_find(events, "tests.run", "t");
	cr_assert(e);
	cr_assert(json_is_true(json_object_get(e, "emitted")));
	cr_assert_str_eq(json_str(e, "message"), "ran 12 tests");
	cr_assert_str_eq(json_str(e, "passed"), "12");
	cr_assert_str_eq(json_str(e, "failed"), "0");
	cr_assert_str_eq(run_ok(repo, "git agent trace --event tests.run | cut -c22-"),
			 "t  tests.run  message=\"ran 12 tests\" passed=12 failed=0");
}

Test(trace, emit_with_task_names_the_task_by_slug_or_branch)
{
	char *repo = make_repo("repo");
	json_t *events;

	spawn_json(repo, "--create --name t 'Task'");
	run_ok(repo, "git agent trace --emit note --task t");
	run_ok(repo, "git agent trace --emit note --task agent/t -m x");
	events = trace_read(log_path(repo));
	cr_assert_eq(trace_count(events, "note", "t"), 2);
}

Test(trace, emit_refuses_the_tools_own_event_names)
{
	static const char *reserved[] = { "merge.done", "verdict.merge", "review.recorded",
		"agent.started", "task.planned", "check.passed", "branch.deleted", "merge",
		"worktree.anything" };
	char *repo = make_repo("repo");
	struct result r;
	size_t i;

	spawn_json(repo, "--create --name t 'Task'");
	for (i = 0; i < sizeof(reserved) / sizeof(*reserved); i++) {
		run(&r, repo, "git agent trace --emit %s --task t", reserved[i]);
		assert_status(&r, 128);
		assert_contains(r.err, strf("fatal: event name '%s' is reserved", reserved[i]));
	}
	cr_assert_eq(json_array_size(trace_read(log_path(repo))), 3);
}

Test(trace, emit_errors)
{
	char *repo = make_repo("repo");
	struct result r;

	spawn_json(repo, "--create --name t 'Task'");
	run(&r, repo, "git agent trace --emit note");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: not inside a task's worktree; name the task with --task <task>\n");
	run(&r, repo, "git agent trace --emit note --task nope");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: task 'nope' not found");
	run(&r, repo, "git agent trace --emit 'Bad Name' --task t");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: bad event name 'Bad Name'");
	run(&r, repo, "git agent trace --emit \"$(printf 'x\\033[2J')\" --task t");
	assert_status(&r, 128);
	cr_assert(!strchr(r.err, '\033'));
	run(&r, repo, "git agent trace --emit note --task t --field ts=1");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: field 'ts' is reserved");
	run(&r, repo, "git agent trace --emit note --task t --field a=1 --field a=2");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: field 'a' is given twice");
	run(&r, repo, "git agent trace --emit note --task t --field Bad=1");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: bad field name 'Bad'");
	run(&r, repo, "git agent trace --emit note --task t --field \"$(head -c 65 /dev/zero | tr '\\0' k)=1\"");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: bad field name of 65 bytes: at most 64\n");
	run(&r, repo, "git agent trace --emit note --task t --field \"$(head -c 64 /dev/zero | tr '\\0' k)=1\"");
	assert_status(&r, 0);
	run(&r, repo, "git agent trace --emit note --task t --field novalue");
	assert_status(&r, 129);
	assert_contains(r.err, "--field needs <key>=<value>, not 'novalue'");
	run(&r, repo, "git agent trace --emit note --task t -m \"$(head -c 70000 /dev/zero | tr '\\0' x)\"");
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: the message is too long");
	cr_assert_eq(trace_count(trace_read(log_path(repo)), "note", NULL), 1);
}

Test(trace, usage_errors)
{
	static const struct { const char *args, *message; } cases[] = {
		{ "--since yesterday", "error: cannot read --since 'yesterday'" },
		{ "--until 2026-13-01", "error: cannot read --until '2026-13-01'" },
		{ "--color=sometimes", "error: --color takes always, never or auto, not 'sometimes'" },
		{ "--emit note --event x", "error: --emit takes only -m, --field and --task" },
		{ "-m hello", "error: -m, --field and --task only work with --emit" },
		{ "--tasks --since 2h", "error: --tasks takes only task names, --agent and --json" },
		{ "--tasks --follow", "error: --tasks takes only task names, --agent and --json" },
		{ "--bogus", "error: unknown option '--bogus'" },
		{ "--event", "error: option '--event' requires a value" },
	};
	char *repo = make_repo("repo");
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		run(&r, repo, "git agent trace %s", cases[i].args);
		assert_status(&r, 129);
		assert_contains(r.err, cases[i].message);
		assert_contains(r.err, "usage: git agent trace");
	}
	run(&r, repo, "git agent trace -h");
	assert_status(&r, 129);
	assert_contains(r.out, "usage: git agent trace");
}

/* The line scanner and the time parser, directly */

static const char *scan(const char *line)
{
	struct event_line ev;

	return event_scan(line, strlen(line), &ev);
}

Test(trace, scanner_accepts_json_objects_and_names_what_is_wrong)
{
	struct event_line ev;
	struct strbuf sb = STRBUF_INIT;
	const char *ok = "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"e\\u00e9\\ud83d\\ude00\","
			 "\"task\":\"t\",\"n\":[1,-2.5e3,true,false,null,{}],\"round\":7}";

	cr_assert_null(event_scan(ok, strlen(ok), &ev));
	json_span_text(&ev.event, &sb);
	cr_assert_str_eq(sb.buf, "e\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert(json_span_is(&ev.task, "t"));
	cr_assert_eq(json_span_int(&ev.round, -1), 7);
	cr_assert_eq(ev.when, 1795255200000LL);
	sb_release(&sb);
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"\\ud800\"}"), "not valid JSON");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"\\udc00x\"}"), "not valid JSON");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"\xed\xa0\x80\"}"), "not UTF-8");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"\xc0\xaf\"}"), "not UTF-8");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"a\tb\"}"), "not valid JSON");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"a\"} x"), "not valid JSON");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":01}"), "not valid JSON");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"a\",}"), "not valid JSON");
	cr_assert_str_eq(scan("\"just a string\""), "not a JSON object");
	cr_assert_str_eq(scan("{\"ts\":\"2026-02-30T10:00:00Z\",\"event\":\"a\"}"), "\"ts\" is not a time");
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21\",\"event\":\"a\"}"), "\"ts\" is not a time");
	cr_assert_null(scan("{\"ts\":\"2026-11-21T10:00:00.5+05:30\",\"event\":\"a\"}"));
	cr_assert_null(scan("  {\"event\":\"a\",\"ts\":\"2026-11-21 10:00\"}  "));
}

/*
 * Found by fuzz_trace_line (against jansson): an escaped key or "ts" was
 * passed over, so a line showed jq one task and us another.
 */
Test(trace, scanner_reads_escaped_keys_and_times_as_jansson_does)
{
	struct event_line ev;
	const char *spoof = "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"e\",\"task\":\"a\","
			    "\"t\\u0061sk\":\"b\",\"\\u0072ound\":3}";
	const char *ts = "{\"ts\":\"2026-11-21T10:00:00\\u005a\",\"ev\\u0065nt\":\"e\"}";

	cr_assert_null(event_scan(spoof, strlen(spoof), &ev));
	cr_assert(json_span_is(&ev.task, "b"), "the last \"task\" counts, as in jansson");
	cr_assert_eq(json_span_int(&ev.round, -1), 3);
	cr_assert_null(event_scan(ts, strlen(ts), &ev));
	cr_assert_eq(ev.when, 1795255200000LL);
	cr_assert(json_span_is(&ev.event, "e"));
	cr_assert_str_eq(scan("{\"ts\":\"2026-11-21T10:00:00Z\",\"ev\\u0065nt\":1}"),
			 "\"event\" is not a string");
}

Test(trace, scanner_survives_deep_nesting)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	sb_adds(&sb, "{\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"a\",\"x\":");
	for (i = 0; i < 100000; i++)
		sb_addch(&sb, '[');
	for (i = 0; i < 100000; i++)
		sb_addch(&sb, ']');
	sb_addch(&sb, '}');
	cr_assert_str_eq(event_scan(sb.buf, sb.len, &(struct event_line){ 0 }), "not valid JSON");
	sb_release(&sb);
}

Test(trace, times_parse_in_every_documented_form)
{
	long long t;
	int date_only;

	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	cr_assert_eq(parse_iso_time("2026-11-21T10:00:00Z", 20, 1, &t, &date_only), 0);
	cr_assert_eq(t, 1795255200000LL);
	cr_assert_eq(parse_iso_time("2026-11-21T15:30:00", 19, 1, &t, &date_only), 0);
	cr_assert_eq(t, 1795255200000LL, "local time is TZ's");
	cr_assert_eq(parse_iso_time("2026-11-21 12:00+02", 19, 1, &t, &date_only), 0);
	cr_assert_eq(t, 1795255200000LL);
	cr_assert_eq(parse_iso_time("2026-11-21T11:00:00.250+0100", 28, 1, &t, &date_only), 0);
	cr_assert_eq(t, 1795255200250LL);
	cr_assert_eq(parse_when("2026-11-21", 0, 0, &t), 0);
	cr_assert_eq(t, 1795255200000LL - 55800 * 1000LL, "midnight in Kolkata is 18:30 UTC");
	cr_assert_eq(parse_when("2026-11-21", 0, 1, &t), 0);
	cr_assert_eq(t, 1795255200000LL - 55800 * 1000LL + 86400 * 1000LL - 1);
	cr_assert_eq(parse_when("90m", 10000000, 0, &t), 0);
	cr_assert_eq(t, 10000000 - 90 * 60 * 1000LL);
	cr_assert_eq(parse_when("1w", 0, 0, &t), 0);
	cr_assert_eq(t, -7 * 86400 * 1000LL);
	cr_assert_lt(parse_when("2h ago", 0, 0, &t), 0);
	cr_assert_lt(parse_when("h", 0, 0, &t), 0);
	cr_assert_lt(parse_when("12", 0, 0, &t), 0);
	cr_assert_lt(parse_when("2026-11-21T25:00", 0, 0, &t), 0);
	cr_assert_lt(parse_when("2026-11-21T10:00Zjunk", 0, 0, &t), 0);
	cr_assert_lt(parse_when("", 0, 0, &t), 0);
}

/* Found by fuzz_time: a zone moved a time out of the years format_time_utc() writes. */
Test(trace, times_outside_the_four_digit_years_are_refused)
{
	char out[32];
	long long t;
	int date_only;

	cr_assert_eq(parse_iso_time("0000-01-01T00:00:00Z", 20, 0, &t, &date_only), 0);
	format_time_utc(out, t);
	cr_assert_str_eq(out, "0000-01-01T00:00:00.000Z");
	cr_assert_eq(parse_iso_time("9999-12-31T23:59:59.999Z", 24, 0, &t, &date_only), 0);
	format_time_utc(out, t);
	cr_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
	cr_assert_lt(parse_iso_time("0000-01-01T00:00+01:00", 22, 0, &t, &date_only), 0);
	cr_assert_lt(parse_iso_time("9999-12-31T23:59:59.999-00:01", 29, 0, &t, &date_only), 0);
	cr_assert_lt(parse_event_time("9999-12-31T23:30-01", 19, &t), 0);
	cr_assert_lt(parse_event_time("9999-12-31T23:59:60.999Z", 24, &t), 0, "a leap second too many");
	cr_assert_lt(parse_iso_time("9999-12-31T23:59:60Z", 20, 0, &t, &date_only), 0);
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	cr_assert_lt(parse_when("9999-12-31T20:00", 0, 0, &t), 0, "01:00 UTC in the year 10000");
	cr_assert_str_eq(scan("{\"ts\":\"0000-01-01T00:00+00:30\",\"event\":\"a\"}"),
			 "\"ts\" is not a time");
}

/* Found by fuzz_time: mktime()'s -1 was taken for failure wherever it fell. */
Test(trace, local_time_of_the_second_before_the_epoch_parses)
{
	long long t;
	int date_only;

	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	cr_assert_eq(parse_iso_time("1970-01-01T00:59:59", 19, 1, &t, &date_only), 0);
	cr_assert_eq(t, -1000LL);
	cr_assert_eq(parse_when("1970-01-01T00:59:59.5", 0, 0, &t), 0);
	cr_assert_eq(t, -500LL);
	setenv("TZ", "UTC0", 1);
	tzset();
	cr_assert_eq(parse_iso_time("1969-12-31T23:59:59", 19, 1, &t, &date_only), 0);
	cr_assert_eq(t, -1000LL);
}
