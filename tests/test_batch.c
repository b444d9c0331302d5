/*
 * Unit tests of batch.c, the reader of `git agent spawn --from FILE`: every
 * rule of the INI task file and of features.json that agent.h documents,
 * and every error with its exact message and line.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "lib.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

/* What the test parsed, released after it so LeakSanitizer sees no leak. */
static struct batch b;
static struct strbuf err = STRBUF_INIT;

static void release_batch(void)
{
	batch_release(&b);
	sb_release(&err);
}

TestSuite(ini, .fini = release_batch);
TestSuite(ini_errors, .fini = release_batch);
TestSuite(ini_limits, .fini = release_batch);
TestSuite(json, .fini = release_batch);
TestSuite(json_errors, .fini = release_batch);
TestSuite(batch, .fini = release_batch);

static const char *errtext(void)
{
	return err.buf ? err.buf : "";
}

static void parse_ok_len(const char *name, const char *text, size_t len)
{
	int ret = batch_parse(&b, name, text, len, &err);

	cr_assert_eq(ret, 0, "batch_parse failed: %s\n--- input:\n%.2000s", visible(errtext()),
		     visible(text));
	cr_assert_eq(err.len, 0, "err set on success: %s", visible(errtext()));
}

static void parse_ok(const char *text)
{
	parse_ok_len("tasks.ini", text, strlen(text));
}

static void parse_json_ok(const char *text)
{
	parse_ok_len("features.json", text, strlen(text));
}

static void expect_error_len(const char *name, const char *text, size_t len, const char *message)
{
	int ret = batch_parse(&b, name, text, len, &err);

	cr_assert_eq(ret, -1, "accepted, expected \"%s\"\n--- input:\n%.2000s", visible(message),
		     visible(text));
	cr_assert_str_eq(errtext(), message, "message \"%s\"\n      expected \"%s\"",
			 visible(errtext()), visible(message));
	cr_assert_eq(b.nr, 0, "an error kept %zu tasks", b.nr);
	cr_assert_null(b.tasks, "an error kept the task array");
}

static void expect_error(const char *text, const char *message)
{
	expect_error_len("tasks.ini", text, strlen(text), message);
}

static void expect_json_error(const char *text, const char *message)
{
	expect_error_len("features.json", text, strlen(text), message);
}

static struct batch_task *task(size_t i)
{
	cr_assert_lt(i, b.nr, "task %zu of %zu", i, b.nr);
	return &b.tasks[i];
}

static void assert_list(const struct strlist *list, const char **want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		cr_assert_lt(i, list->nr, "only %zu items, expected \"%s\" next", list->nr,
			     visible(want[i]));
		cr_assert_str_eq(list->items[i], want[i], "item %zu: \"%s\", expected \"%s\"", i,
				 visible(list->items[i]), visible(want[i]));
	}
	cr_assert_eq(list->nr, i, "%zu items, expected %zu", list->nr, i);
	cr_assert_null(list->items ? list->items[list->nr] : NULL);
}

/* n copies of c, NUL-terminated, kept until the end of the test. */
static char *repeat(char c, size_t n)
{
	char *s = keep(malloc(n + 1));

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* n bytes of text that is not one byte repeated: words, digits, punctuation. */
static char *long_text(size_t n)
{
	static const char words[] = "Check the $(login) `flow`, 'quotes' & \"more\"; then #42 \\o/ ";
	char *s = keep(malloc(n + 1));
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = words[(i * 7 + i / 61) % (sizeof(words) - 1)];
	s[n] = '\0';
	if (n && s[n - 1] == ' ')
		s[n - 1] = '.';
	if (n && s[0] == ' ')
		s[0] = '-';
	return s;
}

/* ------------------------------------------------------------------ */
/* INI: what is read                                                    */

Test(ini, every_key_of_a_task_is_read)
{
	parse_ok("[task \"fix-login\"]\n"
		 "title = Fix the login redirect\n"
		 "description = Users land on /home instead of where they were\n"
		 "scope = src/auth/\n"
		 "step = reproduce with the e2e test\n"
		 "check = make test\n"
		 "base = origin/main\n"
		 "agent = claude\n");
	cr_assert_eq(b.nr, 1);
	cr_assert_str_eq(task(0)->slug, "fix-login");
	cr_assert_str_eq(task(0)->title, "Fix the login redirect");
	cr_assert_str_eq(task(0)->description, "Users land on /home instead of where they were");
	cr_assert_str_eq(task(0)->base, "origin/main");
	cr_assert_str_eq(task(0)->agent, "claude");
	assert_list(&task(0)->scope, (const char *[]){ "src/auth/", NULL });
	assert_list(&task(0)->steps, (const char *[]){ "reproduce with the e2e test", NULL });
	assert_list(&task(0)->checks, (const char *[]){ "make test", NULL });
	cr_assert_eq(task(0)->line, 1);
}

Test(ini, optional_keys_left_out_are_null_and_empty_lists)
{
	parse_ok("[task \"a\"]\ntitle = A\n");
	cr_assert_null(task(0)->description);
	cr_assert_null(task(0)->base);
	cr_assert_null(task(0)->agent);
	cr_assert_eq(task(0)->scope.nr, 0);
	cr_assert_eq(task(0)->steps.nr, 0);
	cr_assert_eq(task(0)->checks.nr, 0);
}

Test(ini, tasks_come_in_file_order_with_the_line_of_their_section)
{
	parse_ok("# tasks for the sprint\n"
		 "\n"
		 "[task \"one\"]\n"
		 "title = One\n"
		 "\n"
		 "[task \"two\"]\n"
		 "title = Two\n"
		 "; a comment\n"
		 "[task \"three\"]\n"
		 "title = Three\n");
	cr_assert_eq(b.nr, 3);
	cr_assert_str_eq(task(0)->slug, "one");
	cr_assert_eq(task(0)->line, 3);
	cr_assert_str_eq(task(1)->slug, "two");
	cr_assert_eq(task(1)->line, 6);
	cr_assert_str_eq(task(2)->slug, "three");
	cr_assert_str_eq(task(2)->title, "Three");
	cr_assert_eq(task(2)->line, 9);
}

Test(ini, repeated_scope_step_and_check_are_lists_in_order)
{
	parse_ok("[task \"a\"]\n"
		 "step = first\n"
		 "scope = src/a\n"
		 "check = make lint\n"
		 "title = A\n"
		 "step = second\n"
		 "scope = src/b\n"
		 "step = third\n"
		 "check = make test\n"
		 "scope = docs/\n");
	assert_list(&task(0)->steps, (const char *[]){ "first", "second", "third", NULL });
	assert_list(&task(0)->scope, (const char *[]){ "src/a", "src/b", "docs/", NULL });
	assert_list(&task(0)->checks, (const char *[]){ "make lint", "make test", NULL });
}

Test(ini, lists_belong_to_their_own_task)
{
	parse_ok("[task \"a\"]\ntitle = A\nstep = a1\nstep = a2\n"
		 "[task \"b\"]\ntitle = B\nstep = b1\n");
	assert_list(&task(0)->steps, (const char *[]){ "a1", "a2", NULL });
	assert_list(&task(1)->steps, (const char *[]){ "b1", NULL });
}

Test(ini, a_single_key_may_be_set_again_in_the_next_task)
{
	parse_ok("[task \"a\"]\ntitle = A\nbase = main\n[task \"b\"]\ntitle = B\nbase = dev\n");
	cr_assert_str_eq(task(0)->base, "main");
	cr_assert_str_eq(task(1)->base, "dev");
}

Test(ini, key_and_section_names_are_case_insensitive)
{
	parse_ok("[TASK \"a\"]\nTitle = A\nSTEP = s\nDescription = d\nScope = x\nCHECK = c\n"
		 "Base = b\nAgent = g\n[Task \"b\"]\ntitle = B\n");
	cr_assert_str_eq(task(0)->title, "A");
	cr_assert_str_eq(task(0)->description, "d");
	cr_assert_str_eq(task(0)->base, "b");
	cr_assert_str_eq(task(0)->agent, "g");
	assert_list(&task(0)->steps, (const char *[]){ "s", NULL });
	assert_list(&task(0)->scope, (const char *[]){ "x", NULL });
	assert_list(&task(0)->checks, (const char *[]){ "c", NULL });
	cr_assert_str_eq(task(1)->slug, "b");
}

/* git config's layout; inih alone takes an indented line as a continuation. */
Test(ini, indented_keys_as_in_git_config_are_read_as_keys)
{
	parse_ok("[task \"a\"]\n"
		 "\ttitle = A\n"
		 "\tstep = one\n"
		 "    step = two\n"
		 "\tcheck = make\n"
		 "  [task \"b\"]\n"
		 "\t\ttitle = B\n");
	cr_assert_str_eq(task(0)->title, "A");
	assert_list(&task(0)->steps, (const char *[]){ "one", "two", NULL });
	assert_list(&task(0)->checks, (const char *[]){ "make", NULL });
	cr_assert_str_eq(task(1)->title, "B");
	cr_assert_eq(task(1)->line, 6);
}

/* inih strips every isspace() byte: none of them may hide a header from us. */
Test(ini, a_header_or_key_after_a_form_feed_or_vertical_tab_is_read)
{
	parse_ok("[task \"a\"]\ntitle = A\n\f[task \"b\"]\n\vtitle = B\n\r\f\vstep = s \f\n");
	cr_assert_eq(b.nr, 2);
	cr_assert_str_eq(task(1)->title, "B");
	assert_list(&task(1)->steps, (const char *[]){ "s", NULL });
	cr_assert_eq(task(0)->steps.nr, 0);
}

Test(ini, blanks_around_the_section_name_and_slug_are_allowed)
{
	parse_ok("[ task\t\"a\"  ]\ntitle = A\n[task   \"b\"]   \ntitle = B\n");
	cr_assert_str_eq(task(0)->slug, "a");
	cr_assert_str_eq(task(1)->slug, "b");
}

Test(ini, comments_start_with_hash_or_semicolon_at_the_start_of_a_line)
{
	parse_ok("# comment\n"
		 "; comment\n"
		 "[task \"a\"]\n"
		 "  # indented comment\n"
		 "\t; indented comment\n"
		 "# title = not this\n"
		 "title = A\n"
		 "; step = not this\n");
	cr_assert_str_eq(task(0)->title, "A");
	cr_assert_eq(task(0)->steps.nr, 0);
}

/* inih's default cuts a value at " ;": shell commands need it whole. */
Test(ini, semicolon_and_hash_inside_a_value_are_kept)
{
	parse_ok("[task \"a\"]\n"
		 "title = Fix #42 ; the redirect\n"
		 "step = make ; make test # all of it\n"
		 "check = grep -c ';' x;echo #done\n");
	cr_assert_str_eq(task(0)->title, "Fix #42 ; the redirect");
	assert_list(&task(0)->steps, (const char *[]){ "make ; make test # all of it", NULL });
	assert_list(&task(0)->checks, (const char *[]){ "grep -c ';' x;echo #done", NULL });
}

Test(ini, blanks_around_a_value_are_dropped)
{
	parse_ok("[task \"a\"]\ntitle   =   Spaced out \t \nstep=tight\n");
	cr_assert_str_eq(task(0)->title, "Spaced out");
	assert_list(&task(0)->steps, (const char *[]){ "tight", NULL });
}

Test(ini, colon_separates_a_key_too)
{
	parse_ok("[task \"a\"]\ntitle: A: the first\nstep = echo a:b\nstep: x = y\n");
	cr_assert_str_eq(task(0)->title, "A: the first");
	assert_list(&task(0)->steps, (const char *[]){ "echo a:b", "x = y", NULL });
}

Test(ini, an_equals_sign_in_a_value_is_kept)
{
	parse_ok("[task \"a\"]\ntitle = a = b\ncheck = test \"$X\" == 1\n");
	cr_assert_str_eq(task(0)->title, "a = b");
	assert_list(&task(0)->checks, (const char *[]){ "test \"$X\" == 1", NULL });
}

Test(ini, crlf_line_endings_are_read_like_lf)
{
	parse_ok("[task \"a\"]\r\ntitle = A\r\nstep = one\r\n\r\n[task \"b\"]\r\ntitle = B\r\n"
		 "description = \"x\\ny\"\r\n");
	cr_assert_str_eq(task(0)->title, "A");
	assert_list(&task(0)->steps, (const char *[]){ "one", NULL });
	cr_assert_str_eq(task(1)->title, "B");
	cr_assert_str_eq(task(1)->description, "x\ny");
	cr_assert_eq(task(1)->line, 5);
}

Test(ini, a_file_without_a_final_newline_is_read_whole)
{
	parse_ok("[task \"a\"]\ntitle = A\nstep = last");
	assert_list(&task(0)->steps, (const char *[]){ "last", NULL });
}

Test(ini, a_utf8_byte_order_mark_at_the_start_is_accepted)
{
	parse_ok("\xef\xbb\xbf[task \"a\"]\ntitle = A\n");
	cr_assert_str_eq(task(0)->slug, "a");
	cr_assert_eq(task(0)->line, 1);
	batch_release(&b);
	parse_ok("\xef\xbb\xbf# comment\r\n[task \"b\"]\r\ntitle = B\r\n");
	cr_assert_str_eq(task(0)->slug, "b");
}

/* Its header is 56 bytes: inih cuts section names at 50. */
Test(ini, a_slug_of_48_characters_is_read_whole)
{
	const char *slug = "add-billing-csv-export-for-the-quarterly-report0";

	cr_assert_eq(strlen(slug), 48);
	parse_ok(strf("[task \"%s\"]\ntitle = A\n[task \"%.47s1\"]\ntitle = B\n", slug, slug));
	cr_assert_str_eq(task(0)->slug, slug);
	cr_assert_str_eq(task(1)->slug, "add-billing-csv-export-for-the-quarterly-report1");
}

Test(ini, utf8_text_in_values_is_kept)
{
	parse_ok("[task \"a\"]\ntitle = Überprüfe die Anmeldung ✓\n"
		 "description = 日本語の説明 — with an em dash\n");
	cr_assert_str_eq(task(0)->title, "Überprüfe die Anmeldung ✓");
	cr_assert_str_eq(task(0)->description, "日本語の説明 — with an em dash");
}

/* ------------------------------------------------------------------ */
/* INI: quoting                                                         */

Test(ini, a_quoted_value_is_unquoted_with_its_escapes)
{
	parse_ok("[task \"a\"]\n"
		 "title = \"Quoted title\"\n"
		 "description = \"line one\\nline two\\n\\tindented \\\"q\\\" back\\\\slash\"\n");
	cr_assert_str_eq(task(0)->title, "Quoted title");
	cr_assert_str_eq(task(0)->description,
			 "line one\nline two\n\tindented \"q\" back\\slash");
}

Test(ini, quotes_keep_blanks_at_the_edges)
{
	parse_ok("[task \"a\"]\ntitle = A\nstep = \"  two leading, one trailing \"\n");
	assert_list(&task(0)->steps, (const char *[]){ "  two leading, one trailing ", NULL });
}

Test(ini, an_unquoted_value_is_taken_as_written)
{
	parse_ok("[task \"a\"]\n"
		 "title = say \"hi\" and \\n is not a newline\n"
		 "step = \"half quoted\n"
		 "step = half quoted\"\n"
		 "step = C:\\path\\to\\thing\n"
		 "step = \"\n");
	cr_assert_str_eq(task(0)->title, "say \"hi\" and \\n is not a newline");
	assert_list(&task(0)->steps, (const char *[]){
		"\"half quoted", "half quoted\"", "C:\\path\\to\\thing", "\"", NULL });
}

Test(ini, a_quoted_value_keeps_a_semicolon_and_a_hash)
{
	parse_ok("[task \"a\"]\ntitle = \"; not a comment # either\"\n");
	cr_assert_str_eq(task(0)->title, "; not a comment # either");
}

static const char *hostile_values[] = {
	"$(rm -rf /)",
	"`reboot`",
	"'; DROP TABLE tasks; --",
	"a && b || c | d > /etc/passwd < x 2>&1 &",
	"${HOME} $PATH %s %n %%",
	"\\\\server\\share \\x41 \\u0041 \\0",
	"[task \"evil\"]",
	"key = value",
	"\xe2\x80\xae reversed \xe2\x80\xac",	/* bidi override, valid UTF-8 */
	"\x1b[31mred\x1b[0m \x07",
	"emoji \xf0\x9f\x98\x80 and \xc3\xa9",
	NULL
};

Test(ini, hostile_content_comes_back_byte_for_byte)
{
	struct strbuf text = STRBUF_INIT;
	size_t i;

	sb_adds(&text, "[task \"a\"]\ntitle = A\n");
	for (i = 0; hostile_values[i]; i++)
		sb_addf(&text, "step = %s\n", hostile_values[i]);
	parse_ok(keep(sb_detach(&text)));
	assert_list(&task(0)->steps, hostile_values);
}

/* Quoting with the escapes: each hostile value, with newlines and tabs added. */
Test(ini, hostile_content_quoted_comes_back_byte_for_byte)
{
	struct strbuf text = STRBUF_INIT;
	const char *want[sizeof(hostile_values) / sizeof(*hostile_values)];
	size_t i;
	const char *p;

	sb_adds(&text, "[task \"a\"]\ntitle = A\n");
	for (i = 0; hostile_values[i]; i++) {
		want[i] = strf("\t%s\n\"%s\"\\", hostile_values[i], hostile_values[i]);
		sb_adds(&text, "check = \"");
		for (p = want[i]; *p; p++) {
			if (*p == '\n')
				sb_adds(&text, "\\n");
			else if (*p == '\t')
				sb_adds(&text, "\\t");
			else if (*p == '"' || *p == '\\')
				sb_addf(&text, "\\%c", *p);
			else
				sb_addch(&text, *p);
		}
		sb_adds(&text, "\"\n");
	}
	want[i] = NULL;
	parse_ok(keep(sb_detach(&text)));
	assert_list(&task(0)->checks, want);
}

/* ------------------------------------------------------------------ */
/* INI: errors, each with its line                                      */

Test(ini_errors, a_key_outside_any_section)
{
	expect_error("title = A\n[task \"a\"]\ntitle = A\n",
		     "tasks.ini:1: key 'title' outside any [task \"<slug>\"] section");
	expect_error("# header\n\nfoo = 1\n",
		     "tasks.ini:3: key 'foo' outside any [task \"<slug>\"] section");
}

Test(ini_errors, a_section_that_is_not_task_slug)
{
	expect_error("[task \"a\"]\ntitle = A\n[core]\n",
		     "tasks.ini:3: bad section '[core]': expected [task \"<slug>\"]");
	expect_error("[task]\ntitle = A\n",
		     "tasks.ini:1: bad section '[task]': expected [task \"<slug>\"]");
	expect_error("[task a]\n", "tasks.ini:1: bad section '[task a]': expected [task \"<slug>\"]");
	expect_error("[task.a]\n", "tasks.ini:1: bad section '[task.a]': expected [task \"<slug>\"]");
	expect_error("[tasks \"a\"]\n",
		     "tasks.ini:1: bad section '[tasks \"a\"]': expected [task \"<slug>\"]");
	expect_error("[task \"a\" \"b\"]\n",
		     "tasks.ini:1: bad section '[task \"a\" \"b\"]': expected [task \"<slug>\"]");
	expect_error("[task \"a]\n", "tasks.ini:1: bad section '[task \"a]': expected [task \"<slug>\"]");
	expect_error("[task \"a\"] title = A\n",
		     "tasks.ini:1: unterminated section header '[task \"a\"] title = A': no closing ']'");
}

Test(ini_errors, an_invalid_slug)
{
	static const char *bad[] = {
		"Fix-Login", "fix--login", "-fix", "fix-", "fix login", "fix_login", "",
		"caf\xc3\xa9", "a/b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 49 */
		NULL
	};
	size_t i;

	for (i = 0; bad[i]; i++) {
		expect_error(strf("[task \"ok\"]\ntitle = ok\n[task \"%s\"]\ntitle = A\n", bad[i]),
			     strf("tasks.ini:3: invalid slug '%s': use lower-case letters, digits "
				  "and single dashes, at most 48 characters", bad[i]));
		batch_release(&b);
	}
}

Test(ini_errors, a_long_invalid_slug_is_cut_in_the_message)
{
	expect_error(strf("[task \"%s\"]\n", repeat('x', 5000)),
		     strf("tasks.ini:1: invalid slug '%s...': use lower-case letters, digits "
			  "and single dashes, at most 48 characters", repeat('x', 60)));
}

Test(ini_errors, a_duplicate_slug)
{
	expect_error("[task \"a\"]\ntitle = A\n\n[task \"b\"]\ntitle = B\n[task \"a\"]\ntitle = A2\n",
		     "tasks.ini:6: duplicate task 'a' (first at line 1)");
}

Test(ini_errors, an_unknown_key)
{
	const char *keys = "the keys are title, description, scope, step, check, base and agent";

	expect_error("[task \"a\"]\ntitle = A\nsteps = one\n",
		     strf("tasks.ini:3: unknown key 'steps' in task 'a': %s", keys));
	expect_error("[task \"a\"]\ntitle = A\nslug = b\n",
		     strf("tasks.ini:3: unknown key 'slug' in task 'a': %s", keys));
	expect_error("[task \"a\"]\n = A\n",
		     strf("tasks.ini:2: unknown key '' in task 'a': %s", keys));
	expect_error("[task \"a\"]\nthe title = A\n",
		     strf("tasks.ini:2: unknown key 'the title' in task 'a': %s", keys));
}

Test(ini_errors, an_unterminated_section_header)
{
	expect_error("[task \"a\"]\ntitle = A\n[task \"x\"\ntitle = X\n",
		     "tasks.ini:3: unterminated section header '[task \"x\"': no closing ']'");
	expect_error("[task \"a\"]\ntitle = A\n[\n",
		     "tasks.ini:3: unterminated section header '[': no closing ']'");
}

Test(ini_errors, an_empty_file_or_one_without_tasks)
{
	expect_error("", "tasks.ini: no [task \"<slug>\"] section");
	expect_error("\n\n  \n", "tasks.ini: no [task \"<slug>\"] section");
	expect_error("# only a comment\n; and another\n", "tasks.ini: no [task \"<slug>\"] section");
	expect_error("\xef\xbb\xbf", "tasks.ini: no [task \"<slug>\"] section");
}

Test(ini_errors, a_task_without_a_title)
{
	expect_error("[task \"a\"]\ntitle = A\n\n[task \"b\"]\nstep = one\n[task \"c\"]\ntitle = C\n",
		     "tasks.ini:4: task 'b' has no title");
	expect_error("[task \"a\"]\n", "tasks.ini:1: task 'a' has no title");
}

Test(ini_errors, a_single_valued_key_given_twice)
{
	static const char *keys[] = { "description", "base", "agent", NULL };
	size_t i;

	expect_error("[task \"a\"]\ntitle = A\nTitle = B\n",
		     "tasks.ini:3: 'title' given twice in task 'a' (first at line 2): only scope, "
		     "step and check take several values");
	for (i = 0; keys[i]; i++) {
		expect_error(strf("[task \"a\"]\ntitle = A\n%s = x\nstep = s\n%s = y\n",
				  keys[i], keys[i]),
			     strf("tasks.ini:5: '%s' given twice in task 'a' (first at line 3): "
				  "only scope, step and check take several values", keys[i]));
		batch_release(&b);
	}
}

Test(ini_errors, an_empty_value)
{
	expect_error("[task \"a\"]\ntitle =\n", "tasks.ini:2: 'title' is empty");
	expect_error("[task \"a\"]\ntitle = A\nstep =   \t\n", "tasks.ini:3: 'step' is empty");
	expect_error("[task \"a\"]\ntitle = A\nbase = \"\"\n", "tasks.ini:3: 'base' is empty");
	expect_error("[task \"a\"]\ntitle = \"  \\t \"\n", "tasks.ini:2: 'title' is empty");
}

Test(ini_errors, a_line_that_is_neither_key_header_nor_comment)
{
	expect_error("[task \"a\"]\ntitle = A\njust some words\n",
		     "tasks.ini:3: expected 'key = value', a [task \"<slug>\"] header or a comment");
	expect_error("}\n",
		     "tasks.ini:1: expected 'key = value', a [task \"<slug>\"] header or a comment");
}

Test(ini_errors, bad_quoting)
{
	expect_error("[task \"a\"]\ntitle = \"say \"hi\" now\"\n",
		     "tasks.ini:2: quoted 'title' has a '\"' inside: write it as \\\"");
	expect_error("[task \"a\"]\ntitle = A\nstep = \"ends in \\\"\n",
		     "tasks.ini:3: quoted 'step' ends in a backslash: write it as \\\\");
	expect_error("[task \"a\"]\ntitle = A\ncheck = \"a\\qb\"\n",
		     "tasks.ini:3: unknown escape '\\q' in quoted 'check': use \\n, \\t, \\\" or \\\\");
	expect_error("[task \"a\"]\ntitle = \"a\\\x1b[2J\"\n",
		     "tasks.ini:2: unknown escape '\\\\x1b' in quoted 'title': use \\n, \\t, \\\" or \\\\");
	expect_error("[task \"a\"]\ntitle = \"caf\\\xc3\xa9\"\n",
		     "tasks.ini:2: unknown escape '\\\xc3\xa9' in quoted 'title': use \\n, \\t, \\\" or "
		     "\\\\");
}

Test(ini_errors, a_nul_byte_names_its_line)
{
	static const char text[] = "[task \"a\"]\ntitle = A\nstep = x\0y\n";

	expect_error_len("tasks.ini", text, sizeof(text) - 1,
			 "tasks.ini:3: a NUL byte: a task file is UTF-8 text");
}

Test(ini_errors, invalid_utf8_names_its_line)
{
	expect_error("[task \"a\"]\ntitle = caf\xe9\n",
		     "tasks.ini:2: invalid UTF-8: a task file is UTF-8 text");
	expect_error("[task \"a\"]\ntitle = A\n\nstep = \xc0\xaf overlong\n",
		     "tasks.ini:4: invalid UTF-8: a task file is UTF-8 text");
	expect_error("[task \"a\"]\ntitle = \xed\xa0\x80 surrogate\n",
		     "tasks.ini:2: invalid UTF-8: a task file is UTF-8 text");
	expect_error_len("tasks.ini", "\xff\xfe[\0t\0", 5,
			 "tasks.ini:1: a NUL byte: a task file is UTF-8 text");
}

Test(ini_errors, the_first_problem_is_the_one_reported)
{
	expect_error("[task \"a\"]\nfoo = 1\n[BAD]\ntitle = x\ntitle = y\n",
		     "tasks.ini:2: unknown key 'foo' in task 'a': the keys are title, description, "
		     "scope, step, check, base and agent");
}

Test(ini_errors, control_characters_in_names_are_escaped_in_the_message)
{
	expect_error("[task \"a\"]\n\x1b[31mtitle = A\n",
		     "tasks.ini:2: unknown key '\\x1b[31mtitle' in task 'a': the keys are title, "
		     "description, scope, step, check, base and agent");
	expect_error_len("evil\n\x1b[2Jname.ini", "[x]\n", 4,
			 "evil\\n\\x1b[2Jname.ini:1: bad section '[x]': expected [task \"<slug>\"]");
}

/* ------------------------------------------------------------------ */
/* INI: long values and limits                                          */

Test(ini_limits, a_5000_character_description_is_read_whole)
{
	const char *description = long_text(5000);

	parse_ok(strf("[task \"a\"]\ntitle = A\ndescription = %s\nstep = after\n", description));
	cr_assert_eq(strlen(task(0)->description), 5000);
	cr_assert_str_eq(task(0)->description, description);
	assert_list(&task(0)->steps, (const char *[]){ "after", NULL });
}

Test(ini_limits, a_60000_byte_description_is_read_whole)
{
	const char *description = long_text(60000);

	parse_ok(strf("[task \"a\"]\ntitle = A\ndescription = %s\n[task \"b\"]\ntitle = B\n",
		      description));
	cr_assert_eq(strlen(task(0)->description), 60000);
	cr_assert_str_eq(task(0)->description, description);
	cr_assert_eq(task(1)->line, 4, "lines after a long one are counted right");
}

Test(ini_limits, long_steps_and_a_long_title_are_read_whole)
{
	const char *title = long_text(1000), *step = long_text(20000);

	parse_ok(strf("[task \"a\"]\ntitle = %s\nstep = %s\nstep = %s\n", title, step, step));
	cr_assert_str_eq(task(0)->title, title);
	assert_list(&task(0)->steps, (const char *[]){ step, step, NULL });
}

Test(ini_limits, a_value_of_exactly_65536_bytes_is_accepted)
{
	parse_ok(strf("[task \"a\"]\ntitle = A\ndescription = %s\n", repeat('d', 65536)));
	cr_assert_eq(strlen(task(0)->description), 65536);
}

Test(ini_limits, a_value_over_65536_bytes_is_rejected)
{
	expect_error(strf("[task \"a\"]\ntitle = A\ndescription = %s\n", repeat('d', 65537)),
		     "tasks.ini:3: 'description' is longer than 65536 bytes");
	batch_release(&b);
	expect_error(strf("[task \"a\"]\ntitle = A\nstep = ok\nstep = %s\n", repeat('s', 70000)),
		     "tasks.ini:4: 'step' is longer than 65536 bytes");
}

/* Every byte escaped: the line is twice the value, and still fits. */
Test(ini_limits, a_quoted_65536_byte_value_of_escapes_is_read_whole)
{
	struct strbuf line = STRBUF_INIT;
	size_t i;

	sb_adds(&line, "[task \"a\"]\ntitle = A\ndescription = \"");
	for (i = 0; i < 65536; i++)
		sb_adds(&line, i % 2 ? "\\n" : "\\\"");
	sb_adds(&line, "\"\n");
	parse_ok(keep(sb_detach(&line)));
	cr_assert_eq(strlen(task(0)->description), 65536);
	cr_assert_eq(task(0)->description[0], '"');
	cr_assert_eq(task(0)->description[65535], '\n');
}

Test(ini_limits, a_line_too_long_for_any_value_is_rejected_by_its_key)
{
	expect_error(strf("[task \"a\"]\ntitle = A\nDescription = %s\n", repeat('d', 300000)),
		     "tasks.ini:3: 'description' is longer than 65536 bytes");
	batch_release(&b);
	expect_error(strf("[task \"a\"]\ntitle = A\nnotes = %s\n", repeat('n', 300000)),
		     "tasks.ini:3: unknown key 'notes' in task 'a': the keys are title, "
		     "description, scope, step, check, base and agent");
	batch_release(&b);
	expect_error(strf("[task \"a\"]\ntitle = A\n%s\n", repeat('w', 300000)),
		     "tasks.ini:3: line is longer than 132096 bytes");
}

Test(ini_limits, a_long_comment_is_skipped)
{
	parse_ok(strf("# %s\n[task \"a\"]\ntitle = A\n", repeat('c', 300000)));
	cr_assert_eq(task(0)->line, 2);
}

Test(ini_limits, a_thousand_tasks_are_accepted)
{
	struct strbuf text = STRBUF_INIT;
	int i;

	for (i = 1; i <= 1000; i++)
		sb_addf(&text, "[task \"t%d\"]\ntitle = Task %d\n", i, i);
	parse_ok(keep(sb_detach(&text)));
	cr_assert_eq(b.nr, 1000);
	cr_assert_str_eq(task(999)->slug, "t1000");
	cr_assert_eq(task(999)->line, 1999);
}

Test(ini_limits, more_than_a_thousand_tasks_are_rejected)
{
	struct strbuf text = STRBUF_INIT;
	int i;

	for (i = 1; i <= 1001; i++)
		sb_addf(&text, "[task \"t%d\"]\ntitle = Task %d\n", i, i);
	expect_error(keep(sb_detach(&text)), "tasks.ini:2001: more than 1000 tasks");
}

/* ------------------------------------------------------------------ */
/* features.json                                                        */

Test(json, an_array_of_features_is_read)
{
	parse_json_ok("[\n"
		      "  {\"id\": \"login-redirect\", \"category\": \"functional\",\n"
		      "   \"name\": \"Fix the login redirect\",\n"
		      "   \"description\": \"Users land on /home\",\n"
		      "   \"steps\": [\"open /login\", \"sign in\", \"see the page you came from\"],\n"
		      "   \"status\": \"open\"},\n"
		      "  {\"id\": \"csv-export\", \"name\": \"CSV export\"}\n"
		      "]\n");
	cr_assert_eq(b.nr, 2);
	cr_assert_str_eq(task(0)->slug, "login-redirect");
	cr_assert_str_eq(task(0)->title, "Fix the login redirect");
	cr_assert_str_eq(task(0)->description, "Category: functional\n\nUsers land on /home");
	assert_list(&task(0)->steps, (const char *[]){
		"open /login", "sign in", "see the page you came from", NULL });
	cr_assert_eq(task(0)->line, 2);
	cr_assert_str_eq(task(1)->slug, "csv-export");
	cr_assert_null(task(1)->description);
	cr_assert_null(task(1)->base);
	cr_assert_null(task(1)->agent);
	cr_assert_eq(task(1)->steps.nr, 0);
	cr_assert_eq(task(1)->scope.nr, 0);
	cr_assert_eq(task(1)->checks.nr, 0);
	cr_assert_eq(task(1)->line, 7);
}

Test(json, an_object_with_a_features_array_and_other_members_is_read)
{
	parse_json_ok("{\n"
		      "  \"project\": \"shop\",\n"
		      "  \"other\": [{\"id\": 99, \"name\": \"not a feature\"}, 2, [3]],\n"
		      "  \"features\": [\n"
		      "    {\"id\": 1, \"name\": \"One\"},\n"
		      "\n"
		      "    {\"id\": 2, \"name\": \"Two, with [brackets], {braces} and \\\"quotes\\\"\"}\n"
		      "  ],\n"
		      "  \"after\": [{\"id\": 98}]\n"
		      "}\n");
	cr_assert_eq(b.nr, 2);
	cr_assert_str_eq(task(0)->slug, "1");
	cr_assert_eq(task(0)->line, 5);
	cr_assert_str_eq(task(1)->slug, "2");
	cr_assert_str_eq(task(1)->title, "Two, with [brackets], {braces} and \"quotes\"");
	cr_assert_eq(task(1)->line, 7);
}

Test(json, features_all_on_one_line_are_on_line_one)
{
	parse_json_ok("{\"features\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"}]}");
	cr_assert_eq(task(0)->line, 1);
	cr_assert_eq(task(1)->line, 1);
}

Test(json, a_key_escaped_as_features_is_found)
{
	parse_json_ok("{\"feat\\u0075res\":\n[\n{\"id\":1,\"name\":\"a\"}]}");
	cr_assert_str_eq(task(0)->slug, "1");
	cr_assert_eq(task(0)->line, 3);
}

Test(json, ids_may_be_integers_or_strings_and_are_slugified)
{
	parse_json_ok("[{\"id\": 7, \"name\": \"a\"},\n"
		      " {\"id\": -12, \"name\": \"b\"},\n"
		      " {\"id\": \"Fix Login!\", \"name\": \"c\"},\n"
		      " {\"id\": \"F-001 / auth\", \"name\": \"d\"},\n"
		      " {\"id\": 9007199254740993, \"name\": \"e\"}]");
	cr_assert_str_eq(task(0)->slug, "7");
	cr_assert_str_eq(task(1)->slug, "12");
	cr_assert_str_eq(task(2)->slug, "fix-login");
	cr_assert_str_eq(task(3)->slug, "f-001-auth");
	cr_assert_str_eq(task(4)->slug, "9007199254740993");
}

Test(json, a_long_id_makes_a_slug_of_at_most_48_characters)
{
	parse_json_ok(strf("[{\"id\": \"%s\", \"name\": \"a\"}]", repeat('x', 200)));
	cr_assert_str_eq(task(0)->slug, repeat('x', 48));
}

Test(json, only_open_features_and_those_without_status_are_taken)
{
	parse_json_ok("[{\"id\": 1, \"name\": \"a\", \"status\": \"open\"},\n"
		      " {\"id\": 2, \"name\": \"b\", \"status\": \"done\"},\n"
		      " {\"id\": 3, \"name\": \"c\"},\n"
		      " {\"id\": 4, \"name\": \"d\", \"status\": \"in_progress\"},\n"
		      " {\"id\": 5, \"name\": \"e\", \"status\": \"Open\"},\n"
		      " {\"id\": 6, \"name\": \"f\", \"status\": null}]");
	cr_assert_eq(b.nr, 3);
	cr_assert_str_eq(task(0)->slug, "1");
	cr_assert_str_eq(task(1)->slug, "3");
	cr_assert_eq(task(1)->line, 3);
	cr_assert_str_eq(task(2)->slug, "6");
}

Test(json, the_category_heads_the_description)
{
	parse_json_ok("[{\"id\": 1, \"name\": \"a\", \"category\": \"ui\"},\n"
		      " {\"id\": 2, \"name\": \"b\", \"category\": \"ui\", \"description\": \"d\"},\n"
		      " {\"id\": 3, \"name\": \"c\", \"description\": \"only\"},\n"
		      " {\"id\": 4, \"name\": \"d\", \"category\": null, \"description\": null}]");
	cr_assert_str_eq(task(0)->description, "Category: ui");
	cr_assert_str_eq(task(1)->description, "Category: ui\n\nd");
	cr_assert_str_eq(task(2)->description, "only");
	cr_assert_null(task(3)->description);
}

Test(json, unknown_members_are_ignored)
{
	parse_json_ok("[{\"id\": 1, \"name\": \"a\", \"passes\": false, \"priority\": 3,\n"
		      "  \"scope\": 5, \"agent\": [\"x\"], \"x-tool\": {\"nested\": [1, 2]}}]");
	cr_assert_eq(b.nr, 1);
	cr_assert_eq(task(0)->scope.nr, 0);
	cr_assert_null(task(0)->agent);
}

Test(json, hostile_content_comes_back_byte_for_byte)
{
	json_t *steps = json_array(), *feature = json_object(), *list = json_array();
	char *text;
	size_t i;

	for (i = 0; hostile_values[i]; i++)
		json_array_append_new(steps, json_string(hostile_values[i]));
	json_array_append_new(steps, json_string("multi\nline\ttabbed \"quoted\" \\ back"));
	json_object_set_new(feature, "id", json_string("$(id)"));
	json_object_set_new(feature, "name", json_string("`name` \n $(x)"));
	json_object_set_new(feature, "description", json_string("line\r\nline\x01"));
	json_object_set(feature, "steps", steps);
	json_array_append_new(list, feature);
	text = keep(json_dumps(list, JSON_INDENT(2)));
	parse_json_ok(text);
	cr_assert_str_eq(task(0)->slug, "id");
	cr_assert_str_eq(task(0)->title, "`name` \n $(x)");
	cr_assert_str_eq(task(0)->description, "line\r\nline\x01");
	for (i = 0; i < json_array_size(steps); i++)
		cr_assert_str_eq(task(0)->steps.items[i], json_string_value(json_array_get(steps, i)));
	cr_assert_eq(task(0)->steps.nr, json_array_size(steps));
	json_decref(steps);
	json_decref(list);
}

Test(json, is_recognised_by_name_or_by_its_first_character)
{
	const char *object = "  \n{\"features\": [{\"id\": 1, \"name\": \"a\"}]}";
	const char *array = "[{\"id\": 3, \"name\": \"c\"}]", *ini = "[task \"a\"]\ntitle = A\n";

	parse_ok_len("tasks.ini", object, strlen(object));
	cr_assert_str_eq(task(0)->slug, "1");
	batch_release(&b);
	parse_ok("\n\t[ {\"id\": 2, \"name\": \"b\"} ]");
	cr_assert_str_eq(task(0)->slug, "2");
	batch_release(&b);
	parse_ok_len("FEATURES.JSON", array, strlen(array));
	cr_assert_str_eq(task(0)->slug, "3");
	batch_release(&b);
	expect_error_len("x.json", ini, strlen(ini),
			 "x.json:1: invalid JSON: invalid token near 'task'");
}

Test(json, a_byte_order_mark_is_accepted)
{
	parse_json_ok("\xef\xbb\xbf[{\"id\": 1, \"name\": \"a\"},\n{\"id\": 2, \"name\": \"b\"}]");
	cr_assert_eq(task(1)->line, 2);
	batch_release(&b);
	parse_ok("\xef\xbb\xbf{\"features\": [{\"id\": 1, \"name\": \"a\"}]}");
	cr_assert_str_eq(task(0)->slug, "1");
}

Test(json, a_thousand_open_features_among_more_done_ones_are_accepted)
{
	struct strbuf text = STRBUF_INIT;
	int i;

	sb_adds(&text, "[\n");
	for (i = 1; i <= 3000; i++)
		sb_addf(&text, "%s{\"id\": %d, \"name\": \"f%d\", \"status\": \"%s\"}\n",
			i > 1 ? "," : "", i, i, i % 3 ? "done" : "open");
	sb_adds(&text, "]\n");
	parse_json_ok(keep(sb_detach(&text)));
	cr_assert_eq(b.nr, 1000);
	cr_assert_str_eq(task(999)->slug, "3000");
	cr_assert_eq(task(999)->line, 3001);
}

/* ------------------------------------------------------------------ */
/* features.json: errors                                                */

Test(json_errors, invalid_json_names_jansson_s_line)
{
	expect_json_error("[\n  {\"id\": 1, \"name\": \"a\"},\n  {\"id\": 2, \"name\": \"b\",}\n]\n",
			  "features.json:3: invalid JSON: string or '}' expected near '}'");
	expect_json_error("", "features.json:1: invalid JSON: '[' or '{' expected near end of file");
	expect_json_error("[{\"id\": 1, \"name\": \"a\"}] []",
			  "features.json:1: invalid JSON: end of file expected near '['");
}

Test(json_errors, a_duplicate_member_names_its_line)
{
	expect_json_error("[\n{\"id\": 1,\n \"name\": \"a\", \"name\": \"b\"}]",
			  "features.json:3: invalid JSON: duplicate object key near '\"name\"'");
}

Test(json_errors, the_document_must_be_an_array_or_hold_one)
{
	const char *message = "features.json:1: expected an array of features, or an object "
			      "with a \"features\" array";

	expect_json_error("{\"tasks\": []}", message);
	expect_json_error("{\"features\": {\"id\": 1}}", message);
	expect_json_error("\"features\"", "features.json:1: invalid JSON: '[' or '{' expected near "
			  "'\"features\"'");
}

Test(json_errors, a_feature_that_is_not_an_object)
{
	expect_json_error("[{\"id\": 1, \"name\": \"a\"},\n \"b\"]",
			  "features.json:2: feature 2: not an object");
	expect_json_error("[{\"id\": 1, \"name\": \"a\"},\n null]",
			  "features.json:2: feature 2: not an object");
}

Test(json_errors, a_feature_without_an_id_or_with_a_bad_one)
{
	expect_json_error("[\n{\"name\": \"a\"}]", "features.json:2: feature 1: no 'id'");
	expect_json_error("[\n{\"id\": 1.5, \"name\": \"a\"}]",
			  "features.json:2: feature 1: 'id' is not a string or an integer");
	expect_json_error("[\n{\"id\": true, \"name\": \"a\"}]",
			  "features.json:2: feature 1: 'id' is not a string or an integer");
	expect_json_error("[\n{\"id\": null, \"name\": \"a\"}]",
			  "features.json:2: feature 1: 'id' is not a string or an integer");
	expect_json_error("[\n{\"id\": [1], \"name\": \"a\"}]",
			  "features.json:2: feature 1: 'id' is not a string or an integer");
	expect_json_error("[\n{\"id\": \"--- ü ---\", \"name\": \"a\"}]",
			  "features.json:2: feature 1: id '--- ü ---' has no ASCII letter or digit "
			  "to make a slug of");
	expect_json_error("[\n{\"id\": \"\", \"name\": \"a\"}]",
			  "features.json:2: feature 1: id '' has no ASCII letter or digit to make "
			  "a slug of");
}

Test(json_errors, a_feature_without_a_name_or_with_a_bad_one)
{
	expect_json_error("[{\"id\": 1}]",
			  "features.json:1: feature 1: no 'name' (the task's title)");
	expect_json_error("[{\"id\": 1, \"name\": null}]",
			  "features.json:1: feature 1: no 'name' (the task's title)");
	expect_json_error("[{\"id\": 1, \"name\": 5}]",
			  "features.json:1: feature 1: 'name' is not a string");
	expect_json_error("[{\"id\": 1, \"name\": \" \\n \"}]",
			  "features.json:1: feature 1: 'name' is empty");
}

Test(json_errors, members_of_the_wrong_type)
{
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"description\": 3}]",
			  "features.json:1: feature 1: 'description' is not a string");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"category\": [\"x\"]}]",
			  "features.json:1: feature 1: 'category' is not a string");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"status\": false}]",
			  "features.json:1: feature 1: 'status' is not a string");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"steps\": \"one\"}]",
			  "features.json:1: feature 1: 'steps' is not an array of strings");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"steps\": [\"one\", 2]}]",
			  "features.json:1: feature 1: step 2 is not a string");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"steps\": [\"one\", \"\"]}]",
			  "features.json:1: feature 1: step 2 is empty");
}

/* A file is checked whole: a done feature's bad member is an error too. */
Test(json_errors, a_skipped_feature_is_checked_all_the_same)
{
	expect_json_error("[{\"id\": 1, \"name\": \"a\"},\n"
			  " {\"id\": 2, \"name\": 2, \"status\": \"done\"}]",
			  "features.json:2: feature 2: 'name' is not a string");
}

Test(json_errors, a_duplicate_slug)
{
	expect_json_error("[{\"id\": 1, \"name\": \"a\"},\n"
			  " {\"id\": 2, \"name\": \"b\"},\n"
			  " {\"id\": \"1\", \"name\": \"c\"}]",
			  "features.json:3: feature 3: duplicate slug '1': feature 1 (line 1) has it too");
	expect_json_error("[{\"id\": \"Fix login\", \"name\": \"a\", \"status\": \"done\"},\n"
			  " {\"id\": \"fix-login\", \"name\": \"b\"}]",
			  "features.json:2: feature 2: duplicate slug 'fix-login': feature 1 (line 1) "
			  "has it too");
}

Test(json_errors, the_first_duplicate_in_the_file_is_reported)
{
	expect_json_error("[{\"id\": \"b\", \"name\": \"1\"},\n"
			  " {\"id\": \"a\", \"name\": \"2\"},\n"
			  " {\"id\": \"a\", \"name\": \"3\"},\n"
			  " {\"id\": \"b\", \"name\": \"4\"}]",
			  "features.json:3: feature 3: duplicate slug 'a': feature 2 (line 2) has it too");
}

Test(json_errors, no_features_or_no_open_one)
{
	expect_json_error("[]", "features.json: no features");
	expect_json_error("{\"features\": []}", "features.json: no features");
	expect_json_error("[{\"id\": 1, \"name\": \"a\", \"status\": \"done\"},\n"
			  " {\"id\": 2, \"name\": \"b\", \"status\": \"closed\"}]",
			  "features.json: no open feature (2 skipped by their status)");
}

Test(json_errors, a_value_over_65536_bytes)
{
	expect_json_error(strf("[{\"id\": 1, \"name\": \"a\", \"description\": \"%s\"}]",
			       repeat('d', 65537)),
			  "features.json:1: feature 1: 'description' is longer than 65536 bytes");
	batch_release(&b);
	expect_json_error(strf("[{\"id\": 1, \"name\": \"a\", \"category\": \"c\", "
			       "\"description\": \"%s\"}]", repeat('d', 65530)),
			  "features.json:1: feature 1: 'description' is longer than 65536 bytes");
	batch_release(&b);
	expect_json_error(strf("[{\"id\": 1, \"name\": \"a\", \"steps\": [\"%s\"]}]",
			       repeat('s', 65537)),
			  "features.json:1: feature 1: step 1 is longer than 65536 bytes");
}

Test(json_errors, more_than_a_thousand_open_features)
{
	struct strbuf text = STRBUF_INIT;
	int i;

	sb_adds(&text, "[\n");
	for (i = 1; i <= 1001; i++)
		sb_addf(&text, "%s{\"id\": %d, \"name\": \"f%d\"}\n", i > 1 ? "," : "", i, i);
	sb_adds(&text, "]\n");
	expect_json_error(keep(sb_detach(&text)),
			  "features.json:1002: feature 1001: more than 1000 open features");
}

Test(json_errors, nul_bytes_and_invalid_utf8)
{
	static const char nul[] = "[{\"id\": 1,\n\"name\": \"a\0\"}]";

	expect_error_len("features.json", nul, sizeof(nul) - 1,
			 "features.json:2: a NUL byte: a task file is UTF-8 text");
	expect_json_error("[{\"id\": 1,\n\"name\": \"\xff\"}]",
			  "features.json:2: invalid UTF-8: a task file is UTF-8 text");
	expect_json_error("[{\"id\": 1, \"name\": \"a\\u0000b\"}]",
			  "features.json:1: invalid JSON: \\u0000 is not allowed without "
			  "JSON_ALLOW_NUL near '\"a\\u0000b\"'");
}

/* ------------------------------------------------------------------ */
/* Both formats                                                         */

Test(batch, a_file_read_from_disk_is_parsed, .init = sandbox_setup, .fini = sandbox_teardown)
{
	struct strbuf text = STRBUF_INIT;
	const char *path = sandbox_path("tasks.ini");
	const char *description = long_text(5000);

	write_file(path, strf("; the sprint\r\n[task \"a\"]\r\n\ttitle = A\r\n\tdescription = %s\r\n"
			      "\tstep = \"two\\nlines\"\r\n", description), 0644);
	cr_assert_eq(sb_read_file(&text, path), 0);
	parse_ok_len(path, text.buf, text.len);
	cr_assert_str_eq(task(0)->description, description);
	assert_list(&task(0)->steps, (const char *[]){ "two\nlines", NULL });
	batch_release(&b);
	sb_reset(&text);
	path = sandbox_path("features.json");
	write_file(path, "{\"features\": [\n  {\"id\": 4, \"name\": \"Four\"}\n]}\n", 0644);
	cr_assert_eq(sb_read_file(&text, path), 0);
	parse_ok_len(path, text.buf, text.len);
	cr_assert_str_eq(task(0)->slug, "4");
	cr_assert_eq(task(0)->line, 2);
	batch_release(&b);
	write_file(path, "[{\"id\": 1}]", 0644);
	sb_reset(&text);
	cr_assert_eq(sb_read_file(&text, path), 0);
	expect_error_len(path, text.buf, text.len,
			 strf("%s:1: feature 1: no 'name' (the task's title)", path));
	sb_release(&text);
	release_batch();
}

Test(batch, the_text_need_not_end_in_a_nul)
{
	static const char text[] = "[task \"a\"]\ntitle = A\nstep = xyzzy";

	/* Only the first len bytes: "step = xy". */
	parse_ok_len("tasks.ini", text, sizeof(text) - 4);
	assert_list(&task(0)->steps, (const char *[]){ "xy", NULL });
}

Test(batch, an_error_replaces_what_err_held_and_success_leaves_it_empty)
{
	sb_adds(&err, "stale");
	expect_error("", "tasks.ini: no [task \"<slug>\"] section");
	sb_adds(&err, "stale");
	parse_ok("[task \"a\"]\ntitle = A\n");
}

Test(batch, a_second_parse_after_release_starts_afresh)
{
	parse_ok("[task \"a\"]\ntitle = A\n");
	batch_release(&b);
	cr_assert_eq(b.nr, 0);
	cr_assert_null(b.tasks);
	parse_ok("[task \"a\"]\ntitle = A2\n");
	cr_assert_eq(b.nr, 1);
	cr_assert_str_eq(task(0)->title, "A2");
}

/* task.c reads records with inih's defaults: batch.c must put them back. */
Test(batch, inih_options_are_put_back)
{
	int max_line = ini_max_line;
	bool multiline = ini_allow_multiline, comments = ini_allow_inline_comments;
	bool stack = ini_use_stack, stop = ini_stop_on_first_error;

	parse_ok("[task \"a\"]\ntitle = A\n");
	batch_release(&b);
	expect_error("[task \"a\"]\nfoo = 1\n", "tasks.ini:2: unknown key 'foo' in task 'a': the "
		     "keys are title, description, scope, step, check, base and agent");
	cr_assert_eq(ini_max_line, max_line);
	cr_assert_eq(ini_allow_multiline, multiline);
	cr_assert_eq(ini_allow_inline_comments, comments);
	cr_assert_eq(ini_use_stack, stack);
	cr_assert_eq(ini_stop_on_first_error, stop);
}

/* A fixed-seed generator, so every run checks the same inputs. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void check_invariants(const char *name, int ret, const char *input)
{
	size_t i, j;

	if (ret < 0) {
		cr_assert_gt(err.len, 0, "failed without a message: %s", visible(input));
		cr_assert_eq(strncmp(err.buf, name, strlen(name)), 0, "%s", visible(err.buf));
		cr_assert_eq(b.nr, 0);
		return;
	}
	cr_assert_gt(b.nr, 0);
	for (i = 0; i < b.nr; i++) {
		cr_assert(slug_is_valid(b.tasks[i].slug), "slug '%s'", visible(b.tasks[i].slug));
		cr_assert_not_null(b.tasks[i].title);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(b.tasks[i].slug, b.tasks[j].slug);
	}
}

/* Pieces of both formats, shuffled: whatever comes of it keeps the promises. */
Test(batch, random_mixes_of_valid_pieces_keep_the_invariants)
{
	static const char *pieces[] = {
		"[task \"a\"]\n", "[task \"b\"]\n", "[task \"a-1\"]\n", "[Task \"B\"]\n", "[task\n",
		"title = T\n", "title = \"q\\n\"\n", "step = s\n", "scope = x\n", "check = c\n",
		"base = m\n", "agent = g\n", "description = \"\n", "# c\n", "\n", "\r\n", "\t",
		"\"", "\\", "=", "[", "]", "{", "}", ",", ":", "\"id\"", "\"name\"", "1", "\"open\"",
		"\"status\"", "\"steps\"", "\"features\"", "[{\"id\": 1, \"name\": \"x\"}]",
		"\xef\xbb\xbf", "\xc3\xa9", "\xff", ";", " ", "x",
	};
	struct strbuf text = STRBUF_INIT;
	int round, n, i;

	for (round = 0; round < 3000; round++) {
		sb_reset(&text);
		n = 1 + rng() % 24;
		for (i = 0; i < n; i++)
			sb_adds(&text, pieces[rng() % (sizeof(pieces) / sizeof(*pieces))]);
		check_invariants("tasks.ini", batch_parse(&b, "tasks.ini", text.buf, text.len, &err),
				 text.buf);
		batch_release(&b);
	}
	sb_release(&text);
}
