/*
 * The hostile input corpus. Every way text from outside reaches git agent
 * is fed every payload of the corpus below (shell injection, markdown
 * breakout, terminal escapes, path traversal, invalid UTF-8), plus absurd
 * lengths and NUL bytes where a file can hold them. What must happen:
 *
 *   input                         must
 *   ----------------------------  -----------------------------------------------
 *   title, -m, -F, --step,        exit 0; packet.md and README.md parse (cmark)
 *   --check (spawn)               into the blocks of any task's, the text inside
 *                                 its heading, quote, list item or fence; the
 *                                 record gives every byte back; the scripts pass
 *                                 sh -n and shellcheck and run nothing of it
 *   -F with a NUL byte            exit 128, nothing made
 *   --scope                       leaving the repository ("..", absolute): exit
 *                                 128, nothing made; else as text above
 *   --agent, agent.branchPrefix   not a branch name, or starting with '-': exit
 *                                 128, nothing made; shell metacharacters in a
 *                                 valid name: quoted everywhere, review and merge
 *                                 work
 *   --name                        not a slug: exit 128 or 129, nothing made
 *   agent.* values (-c and        a bad value: exit 128 naming key and value,
 *   .git/config)                  nothing made; a path in the main worktree
 *                                 (symlinks seen through): exit 128; odd but
 *                                 valid paths and patterns: used, quoted
 *   trace --emit name             not a free event name: exit 128, nothing added
 *   -m, --field, requested        one whole JSON line that cannot pass for the
 *   changes                       tool's own event; changes stay inside a fence
 *   the agent's files, commits,   review records them byte for byte and shows
 *   report and check output       them escaped; merge takes them as they are
 *   trace lines                   skipped with a warning or shown escaped
 *
 * And always: no file named PWNED anywhere; stdout and stderr of every
 * command, on a pipe and on a terminal, human and --json, carry no raw
 * control character, C1 control, bidirectional override or invalid UTF-8;
 * the trace stays one JSON object per line; nothing is written outside the
 * repository's common dir, the task folder and the worktree dir.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "lib.h"

TestSuite(hostile_input, .init = sandbox_setup, .fini = sandbox_teardown);

/* The corpus: what each payload tries. */
static const struct payload {
	const char *name;
	const char *text;
} corpus[] = {
	/* shell injection: anything that ran it makes a file PWNED */
	{ "command substitution", "$(touch PWNED)" },
	{ "backticks", "`touch PWNED`" },
	{ "semicolon", "x; touch PWNED; y" },
	{ "pipe and and", "x | touch PWNED && touch PWNED" },
	{ "double quotes", "\"; touch PWNED; \"$(touch PWNED)\"" },
	{ "single quotes", "'; touch PWNED; '" },
	{ "sh quote escape", "'\\''; touch PWNED; '\\''" },
	{ "newlines", "x\ntouch PWNED\n$(touch PWNED)" },
	{ "expansions", "${HOME} $IFS $((6*7)) ~ * ?" },
	/* markdown breakout (fences of every length: fence_payload()) */
	{ "headings", "# Injected title\n## Requested changes\n### After review round 01\n"
		      "Setext\n===\n---" },
	{ "html", "<script>alert(1)</script> <!-- </details> --> <img src=x onerror=alert(1)> "
		  "&amp; &#x1b;" },
	{ "inline markdown", "*em* **strong** [link](javascript:alert(1)) ![i](x) <http://x> "
			     "| a | b | \\" },
	{ "block starts", "> quote\n- item\n1. item\n    indented code\n[ref]: http://evil" },
	/* terminal escapes */
	{ "CSI", "\033[31mred\033[0m \033[2J\033[H \033[6n" },
	{ "OSC 52 clipboard", "\033]52;c;dG91Y2ggUFdORUQ=\007" },
	{ "OSC 8 hyperlink", "\033]8;;https://evil.example/\033\\click\033]8;;\033\\" },
	{ "OSC title", "\033]0;pwned\007 \033]2;pwned\033\\" },
	{ "DCS", "\033P$q\"p\033\\ \033Ptmux;\033\033]52;c;eA==\007\033\\" },
	{ "C0 controls", "bell\007 bs\b cr\r ff\f vt\v del\177 soh\001 us\037" },
	{ "C1 bytes", "csi\x9b" "31m osc\x9d" "0;t\x9c st" },
	{ "C1 code points", "csi\xc2\x9b" "31m osc\xc2\x9d" "0;t\xc2\x9c nel\xc2\x85" },
	{ "bidi controls", "\xe2\x80\xae" "gpj.exe \xe2\x80\xad lro \xe2\x81\xa6" "iso\xe2\x81\xa9 "
			   "\xe2\x80\x8f rlm \xd8\x9c alm" },
	/* path traversal */
	{ "dot dot", "../../../../tmp/PWNED" },
	{ "encoded dot dot", "..%2f..%2fPWNED %2e%2e/x" },
	{ "absolute", "/etc/passwd /tmp/PWNED" },
	/* invalid UTF-8 */
	{ "overlong", "slash\xc0\xaf dot\xe0\x80\xae nul\xc0\x80" },
	{ "surrogates", "high\xed\xa0\x80 low\xed\xbf\xbf pair\xed\xa0\xbd\xed\xb8\x80" },
	{ "lone continuation", "cont\x80 more\xbf\xbf" },
	{ "ff fe", "ff\xff fe\xfe cut\xe2\x82" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80 \xf8\x88\x80\x80\x80" },
};
#define CORPUS_NR (sizeof(corpus) / sizeof(*corpus))

/* Fenced blocks of 3 to 10 backticks and tildes (indented 0-3), each followed by a heading. */
static char *fence_payload(void)
{
	static const char ticks[] = "``````````", tildes[] = "~~~~~~~~~~";
	char *text = strf("%s", "text");
	int n;

	for (n = 3; n <= 10; n++)
		text = strf("%s\n%.*s\n## After %d backticks\n%.*s\n%*s%.*s\n## After %d tildes\n%.*s",
			    text, n, ticks, n, n, ticks, n % 4, "", n, tildes, n, n, tildes);
	return text;
}

/* Every payload at once. */
static char *whole_corpus(void)
{
	char *text = fence_payload();
	size_t i;

	for (i = 0; i < CORPUS_NR; i++)
		text = strf("%s\n%s", text, corpus[i].text);
	return text;
}

/* No command from the corpus ran: no PWNED in the sandbox, here or in /tmp. */
static void assert_nothing_ran(void)
{
	char *found = run_ok(NULL, "find . -name PWNED");

	cr_assert_str_empty(found, "an injected command ran: %s", found);
	cr_assert(!path_exists(strf("%s/PWNED", build_dir)), "an injected command ran in %s", build_dir);
	cr_assert(!path_exists("/tmp/PWNED"), "an injected command ran in /tmp");
}

/* stdout and stderr of r. */
static void assert_result_safe(const char *what, const struct result *r)
{
	assert_terminal_safe(strf("stdout of %s", what), r->out, r->out_len);
	assert_terminal_safe(strf("stderr of %s", what), r->err, r->err_len);
}

/*
 * Runs a command on a pipe and on a terminal; asserts its status and that
 * both are safe. On a pipe, --json output is JSON as it is: the strings may
 * hold DEL, C1 and bidi controls raw, never a C0 control.
 */
static struct result run_safe(const char *dir, int status, const char *command)
{
	struct result r, tty;
	size_t i;

	run(&r, dir, "%s", command);
	cr_assert_eq(r.status, status, "`%s`: exit %d, expected %d\n--- stdout:\n%s--- stderr:\n%s",
		     visible(command), r.status, status, visible(r.out), visible(r.err));
	if (strstr(command, "--json") && r.out_len) {
		for (i = 0; i < r.out_len; i++)
			cr_assert((unsigned char)r.out[i] >= 0x20 || r.out[i] == '\n' || r.out[i] == '\r',
				  "raw control byte 0x%02x in the JSON of %s", r.out[i], visible(command));
		if (!strstr(command, "agent trace"))	/* its lines are as they are stored */
			json_parse(r.out);
		assert_terminal_safe(strf("stderr of %s", visible(command)), r.err, r.err_len);
	} else {
		assert_result_safe(visible(command), &r);
	}
	run_on_terminal(&tty, dir, "NO_COLOR=1 %s", command);
	cr_assert_eq(tty.status, status, "`%s` on a terminal: exit %d\n%s", visible(command),
		     tty.status, visible(tty.out));
	assert_terminal_safe(strf("`%s` on a terminal", visible(command)), tty.out, tty.out_len);
	return r;
}

/* Runs a command that changes something once, on a terminal or a pipe; asserts as run_safe(). */
static struct result run_safe_once(const char *dir, int status, const char *command, int terminal)
{
	struct result r;

	if (terminal)
		run_on_terminal(&r, dir, "NO_COLOR=1 %s", command);
	else
		run(&r, dir, "%s", command);
	cr_assert_eq(r.status, status, "`%s`%s: exit %d, expected %d\n--- stdout:\n%s--- stderr:\n%s",
		     visible(command), terminal ? " on a terminal" : "", r.status, status,
		     visible(r.out), visible(r.err));
	assert_result_safe(visible(command), &r);
	return r;
}

/* Every path below the sandbox (HOME aside), NUL-terminated, one after the other. */
static struct result sandbox_tree(void)
{
	struct result r;

	run(&r, NULL, "find . -path ./home -prune -o -print0 | sort -z");
	cr_assert_eq(r.status, 0);
	return r;
}

/*
 * Asserts that every path made since before is below one of the allowed
 * directories (relative to the sandbox, "./repo/.git" style).
 */
static void assert_wrote_only_in(const struct result *before, const char *const allowed[])
{
	struct result after = sandbox_tree();
	const char *p, *end = after.out + after.out_len;

	for (p = after.out; p < end; p += strlen(p) + 1) {
		const char *q, *bend = before->out + before->out_len;
		size_t i;
		int old = 0;

		for (q = before->out; q < bend && !old; q += strlen(q) + 1)
			old = !strcmp(p, q);
		for (i = 0; !old && allowed[i]; i++)
			old = !strncmp(p, allowed[i], strlen(allowed[i])) &&
			      (!p[strlen(allowed[i])] || p[strlen(allowed[i])] == '/');
		cr_assert(old, "'%s' was written outside the common dir, task folder and worktree dir",
			  visible(p));
	}
}

static const char *const repo_dirs[] = { "./repo/.git", "./repo-worktrees", NULL };

/* The bytes of s with escape_control(): how the packet and the terminal show text. */
static char *escaped(const char *s, const char *keep)
{
	struct strbuf sb = STRBUF_INIT;
	char *out;

	escape_control_keeping(&sb, s, keep);
	out = strf("%s", sb.buf ? sb.buf : "");
	sb_release(&sb);
	return out;
}

/* s as a JSON string holds it: invalid UTF-8 as U+FFFD. */
static char *lossy(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	char *out;

	utf8_lossy(&sb, s);
	out = strf("%s", sb.buf ? sb.buf : "");
	sb_release(&sb);
	return out;
}

/* markdown, read by cmark, the CommonMark reference parser */

/* The document as cmark's XML: one node a line, indented by depth. */
static char *markdown_xml(const char *path)
{
	struct result r;

	run(&r, NULL, "cmark --to xml %s", sh_quote(path));
	cr_assert_eq(r.status, 0, "cmark failed (is it installed? make deps): %s", r.err);
	return r.out;
}

static char *xml_unescape(const char *s, size_t len)
{
	static const char *const entities[][2] = {
		{ "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&amp;", "&" },
	};
	char *out = keep(calloc(1, len + 1)), *o = out;
	size_t i, e;

	for (i = 0; i < len; ) {
		for (e = 0; e < 4; e++)
			if (!strncmp(s + i, entities[e][0], strlen(entities[e][0])))
				break;
		if (e < 4) {
			*o++ = entities[e][1][0];
			i += strlen(entities[e][0]);
		} else {
			*o++ = s[i++];
		}
	}
	return out;
}

/* Block nodes, one a line with their depth: the document's structure without its text. */
static char *block_structure(const char *xml)
{
	static const char *const blocks[] = { "document", "block_quote", "list", "item",
		"code_block", "html_block", "paragraph", "heading", "thematic_break", NULL };
	char *out = strf("%s", "");
	const char *line, *next;

	for (line = xml; *line; line = next) {
		size_t len = strcspn(line, "\n"), indent = strspn(line, " "), n, i;

		next = line + len + (line[len] == '\n');
		if (line[indent] != '<' || strchr("/?!", line[indent + 1]))
			continue;
		n = strcspn(line + indent + 1, " />");
		for (i = 0; blocks[i]; i++)
			if (strlen(blocks[i]) == n && !strncmp(line + indent + 1, blocks[i], n))
				out = strf("%s%*s%s\n", out, (int)indent, "", blocks[i]);
	}
	return out;
}

/*
 * The text of each node named name, in order: what its text, code and
 * code_block leaves hold, a line break for soft and hard breaks.
 */
static char **node_texts(const char *xml, const char *name, size_t *nr)
{
	char **out = keep(calloc(256, sizeof(char *)));
	char *open = strf("<%s", name), *close = strf("</%s>", name);
	const char *p = xml;

	*nr = 0;
	while ((p = strstr(p, open)) && *nr < 255) {
		const char *end, *q;
		char *text = strf("%s", "");

		p += strlen(open);
		if (*p != ' ' && *p != '>')
			continue;
		if (!(q = strchr(p, '>')))
			break;
		end = q[-1] == '/' ? q : strstr(q, close);	/* an empty element */
		cr_assert(end != NULL, "no %s in cmark's output", close);
		if (!strcmp(name, "code_block")) {
			text = xml_unescape(q + 1, (size_t)(end - q - 1));
		} else {
			for (q = p; (q = strchr(q, '<')) && q < end; q++) {
				const char *leaf = NULL, *start, *stop;

				if (!strncmp(q, "<text", 5))
					leaf = "</text>";
				else if (!strncmp(q, "<code ", 6) || !strncmp(q, "<code>", 6))
					leaf = "</code>";
				else if (!strncmp(q, "<softbreak", 10) || !strncmp(q, "<linebreak", 10))
					text = strf("%s\n", text);
				if (!leaf)
					continue;
				start = strchr(q, '>') + 1;
				stop = strstr(start, leaf);
				text = strf("%s%s", text, xml_unescape(start, (size_t)(stop - start)));
				q = stop;
			}
		}
		out[(*nr)++] = text;
		p = end;
	}
	return out;
}

static int has_text(char **texts, size_t nr, const char *text)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(texts[i], text))
			return 1;
	return 0;
}

/*
 * Asserts that the markdown at path has the blocks of the reference's and
 * no HTML, link, image or emphasis: no text of the task's made any.
 */
static char *assert_same_blocks(const char *path, const char *reference)
{
	char *xml = markdown_xml(path), *ref = markdown_xml(reference);
	static const char *const inline_nodes[] = { "<html_block", "<html_inline", "<link",
		"<image", "<emph", "<strong", NULL };
	size_t i;

	cr_assert_str_eq(block_structure(xml), block_structure(ref),
			 "%s has other blocks than %s:\n%s", path, reference, visible(read_file(path)));
	for (i = 0; inline_nodes[i]; i++)
		cr_assert_eq(count_matches(xml, inline_nodes[i]), count_matches(ref, inline_nodes[i]),
			     "%s has %s nodes:\n%s", path, inline_nodes[i] + 1, visible(read_file(path)));
	return xml;
}

/* The record's fields, read back with the record reader. */
static struct task record_of(const char *path)
{
	struct strbuf err = STRBUF_INIT;
	struct task t;
	char *text = read_file(path);

	cr_assert(text != NULL, "no record %s", path);
	cr_assert_eq(task_parse(&t, text, &err), 0, "record %s: %s", path, err.buf);
	sb_release(&err);
	return t;
}

/* The scripts of each folder pass sh -n and shellcheck, then run without running the text. */
static void assert_scripts_safe(const char *repo, char **folders, size_t nr)
{
	char *all = strf("%s", "");
	size_t i;

	for (i = 0; i < nr; i++)
		all = strf("%s %s %s", all, sh_quote(strf("%s/commands/create-worktree.sh", folders[i])),
			   sh_quote(strf("%s/commands/review-before-merge.sh", folders[i])));
	run_ok(NULL, "for s in %s; do sh -n \"$s\" || exit 1; done", all);
	run_ok(NULL, "shellcheck %s", all);
	make_dirs(sandbox_path("tmp"));
	for (i = 0; i < nr; i++) {
		run_ok(repo, "sh %s/commands/create-worktree.sh", sh_quote(folders[i]));
		run_ok(repo, "TMPDIR=%s sh %s/commands/review-before-merge.sh >/dev/null",
		       sh_quote(sandbox_path("tmp")), sh_quote(folders[i]));
	}
	run_ok(NULL, "rm -rf tmp");
	assert_nothing_ran();
}

/* spawn: title, description, steps, checks */

/* The dry run every hostile task's files are compared with. */
static json_t *reference_task(const char *repo)
{
	return spawn_json(repo, "--name reference -m Text --step Step --check true 'Reference task'");
}

/* Asserts what the packet, README, record and trace of a dry run with text in every field hold. */
static void assert_task_files(json_t *task, json_t *reference, const char *title,
			      const char *description, const char *text)
{
	const char *folder = json_str(task, "folder"), *packet = json_str(task, "packet");
	char *xml, **texts;
	size_t nr;
	struct task t;

	assert_terminal_safe("packet.md", read_file(packet), strlen(read_file(packet)));
	xml = assert_same_blocks(packet, json_str(reference, "packet"));
	texts = node_texts(xml, "heading", &nr);
	cr_assert_str_eq(texts[0], strf("Task: %s", escaped(title, "")));
	texts = node_texts(xml, "code_block", &nr);
	cr_assert_eq(nr, 1);
	cr_assert_str_eq(texts[0], strf("%s\n", escaped(description, "\n")));
	texts = node_texts(xml, "item", &nr);
	cr_assert(has_text(texts, nr, escaped(text, "")), "the step is not a list item:\n%s",
		  visible(read_file(packet)));

	xml = assert_same_blocks(strf("%s/README.md", folder),
				 strf("%s/README.md", json_str(reference, "folder")));
	texts = node_texts(xml, "block_quote", &nr);
	cr_assert_str_eq(texts[0], escaped(title, ""));

	t = record_of(json_str(task, "record"));
	cr_assert_str_eq(t.title, title);
	cr_assert_str_eq(t.description, description);
	cr_assert_str_eq(t.steps.items[0], text);
	cr_assert_str_eq(t.checks.items[0], text);
	task_release(&t);

	cr_assert_str_eq(json_str(task, "title"), lossy(title));
	cr_assert_str_eq(json_str(trace_find(trace_read(json_str(task, "trace")), "task.planned",
					     json_str(task, "task")), "title"), lossy(title));
}

/* Trailing newlines of a -F file are not part of the description. */
static char *without_trailing_newlines(const char *s)
{
	char *out = strf("%s", s);
	size_t len = strlen(out);

	while (len && out[len - 1] == '\n')
		out[--len] = '\0';
	return out;
}

/* One dry run per payload, the payload in the title, -F description, --step and --check. */
Test(hostile_input, spawn_text_of_every_payload)
{
	static const char *const allowed[] = { "./repo/.git", "./repo-worktrees", "./input", NULL };
	char *repo = make_repo("repo"), **folders = keep(calloc(CORPUS_NR + 1, sizeof(char *)));
	json_t *reference = reference_task(repo);
	struct result before = sandbox_tree();
	size_t i;

	for (i = 0; i <= CORPUS_NR; i++) {
		const char *text = i < CORPUS_NR ? corpus[i].text : fence_payload();
		char *file = sandbox_path("input/%zu", i);
		char *args = strf("-F %s --step %s --check %s %s", sh_quote(file), sh_quote(text),
				  sh_quote(text), sh_quote(text));
		json_t *task;

		write_file(file, text, 0644);
		task = spawn_json(repo, "--name h%zu %s", i, args);
		assert_task_files(task, reference, text, without_trailing_newlines(text), text);
		folders[i] = strf("%s", json_str(task, "folder"));
		run_safe(repo, 0, strf("git agent spawn %s", args));
		run_safe(repo, 0, strf("git agent spawn --json %s", args));
	}
	assert_scripts_safe(repo, folders, CORPUS_NR + 1);
	trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	assert_wrote_only_in(&before, allowed);
}

/* Asserts that a refused spawn made nothing: no record, folder, branch, worktree or event. */
static void assert_nothing_made(const char *repo, const struct result *before)
{
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 0, "a task was made");
	cr_assert_str_eq(run_ok(repo, "git for-each-ref --format='%%(refname)' refs/heads/"),
			 "refs/heads/main");
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert(!path_exists(strf("%s/.git/agent/trace.jsonl", repo)), "an event was logged");
	assert_wrote_only_in(before, (const char *const[]){ "./input", NULL });
}

/* A -F file with a NUL byte: a clear error, nothing made (not a description cut short). */
Test(hostile_input, description_file_with_a_nul_byte_is_refused)
{
	char *repo = make_repo("repo"), *file = sandbox_path("input/nul");
	struct result r, before;

	make_dirs(sandbox_path("input"));
	run_ok(NULL, "printf 'before\\000after $(touch PWNED)\\n' > %s", sh_quote(file));
	before = sandbox_tree();
	r = run_safe(repo, 128, strf("git agent spawn -F %s 'NUL description'", sh_quote(file)));
	cr_assert_str_eq(r.err, strf("fatal: '%s' holds a NUL byte: the description must be text\n",
				     file));
	r = run_safe(repo, 128, strf("git agent spawn -F - 'NUL description' < %s", sh_quote(file)));
	assert_contains(r.err, "holds a NUL byte");
	assert_nothing_made(repo, &before);
	assert_nothing_ran();
}

/* A 1 MB description: all of it inside the packet's one fence, and back from the record. */
Test(hostile_input, description_of_one_megabyte)
{
	char *repo = make_repo("repo"), *file = sandbox_path("input/big"), *xml, **blocks;
	json_t *reference = reference_task(repo), *task;
	struct strbuf text = STRBUF_INIT;
	struct task t;
	size_t nr;

	while (text.len < 1024 * 1024)
		sb_addf(&text, "line %zu: ``` $(touch PWNED) \033[31m ## heading\n", text.len);
	write_file(file, text.buf, 0644);
	task = spawn_json(repo, "--name big -F %s --step Step --check true 'Big description'",
			  sh_quote(file));
	xml = assert_same_blocks(json_str(task, "packet"), json_str(reference, "packet"));
	blocks = node_texts(xml, "code_block", &nr);
	cr_assert_eq(nr, 1);
	cr_assert_str_eq(blocks[0], strf("%s\n", escaped(without_trailing_newlines(text.buf), "\n")));
	t = record_of(json_str(task, "record"));
	cr_assert_str_eq(t.description, without_trailing_newlines(text.buf));
	task_release(&t);
	json_str(spawn_json(repo, "--create --name big"), "worktree");
	sb_release(&text);
	assert_nothing_ran();
}

/* scope paths */

/* Whether a scope path leaves the repository: absolute, or a ".." component. */
static int leaves_repository(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return 1;
	for (; *p; p += strcspn(p, "/"), p += *p == '/')
		if (!strncmp(p, "..", 2) && (!p[2] || p[2] == '/'))
			return 1;
	return 0;
}

/*
 * Every payload as a scope path, alone and below "src/": refused when it
 * leaves the repository (exit 128, nothing made), else in the packet as
 * one code span of its own and in the record as it is.
 */
Test(hostile_input, scope_paths_of_every_payload)
{
	static const char *const extra[] = { "..", "../x", "src/../../x", "./../x", "src/..", "/",
		"//etc", "", "..%2f..%2fetc", "...", "..x/x..", "src/.../x", NULL };
	char *repo = make_repo("repo"), *long_path = strf("%s", "src");
	json_t *reference = spawn_json(repo, "--name reference --scope src 'Reference task'");
	size_t i, j, n = 0;

	while (strlen(long_path) < 300)
		long_path = strf("%s/%s", long_path, "a-rather-long-directory-name");
	for (i = 0; i < CORPUS_NR + 13; i++) {
		const char *text = i < CORPUS_NR ? corpus[i].text : i < CORPUS_NR + 12 ?
			extra[i - CORPUS_NR] : long_path;

		for (j = 0; j < 2; j++) {
			char *scope = j ? strf("src/%s", text) : strf("%s", text), *xml, **items;
			struct result r, before = sandbox_tree();
			json_t *task;
			struct task t;
			size_t nr;

			if (leaves_repository(scope)) {
				r = run_safe(repo, 128, strf("git agent spawn --name s%zu --scope %s "
							     "'Scope task'", n++, sh_quote(scope)));
				cr_assert(!strncmp(r.err, "fatal: bad scope '", 18), "%s", visible(r.err));
				assert_wrote_only_in(&before, (const char *const[]){ NULL });
				continue;
			}
			task = spawn_json(repo, "--name s%zu --scope %s 'Scope task'", n++, sh_quote(scope));
			xml = assert_same_blocks(json_str(task, "packet"), json_str(reference, "packet"));
			items = node_texts(xml, "item", &nr);
			cr_assert(has_text(items, nr, escaped(scope, "")), "scope '%s' is not an item:\n%s",
				  visible(scope), visible(read_file(json_str(task, "packet"))));
			t = record_of(json_str(task, "record"));
			cr_assert_str_eq(t.scope.items[0], scope);
			task_release(&t);
		}
	}
	assert_nothing_ran();
}

/* branch prefixes */

/*
 * A prefix that makes no branch name, or one git would read as an option,
 * by --agent, git -c agent.branchPrefix and .git/config: exit 128, the
 * value escaped, nothing made.
 */
Test(hostile_input, bad_branch_prefixes_are_refused)
{
	static const char *const prefixes[] = { "-x", "--output=/tmp/PWNED", "..", "a..b", "x y",
		"x/", "/x", "x.lock", "x@{1}", "x~1", "x^", "x:y", "x?", "x*", "x[", "x\\y",
		"\033[31mred", "x\ty", "x\177", "$(touch PWNED)", "'; touch PWNED; '", "", NULL };
	char *repo = make_repo("repo");
	struct result before = sandbox_tree(), r;
	size_t i;

	for (i = 0; prefixes[i]; i++) {
		const char *q = sh_quote(prefixes[i]);

		r = run_safe(repo, 128, strf("git agent spawn --create --agent %s 'Prefix task'", q));
		assert_contains(r.err, "fatal: bad branch prefix '");
		r = run_safe(repo, 128, strf("git -c agent.branchPrefix=%s agent spawn 'Prefix task'", q));
		cr_assert(!strncmp(r.err, "fatal: ", 7) && strcasestr(r.err, "agent.branchPrefix"),
			  "%s", visible(r.err));
		run_ok(repo, "git config agent.branchPrefix %s", q);
		r = run_safe(repo, 128, "git agent spawn --create 'Prefix task'");
		cr_assert(strcasestr(r.err, "agent.branchPrefix") != NULL, "%s", visible(r.err));
		run_ok(repo, "git config --unset agent.branchPrefix");
	}
	assert_nothing_made(repo, &before);
	assert_nothing_ran();
}

/*
 * A prefix that is a valid branch name full of shell: the branch has that
 * exact name, the scripts quote it and run, review and merge work, and
 * every output shows it escaped.
 */
Test(hostile_input, shell_in_a_valid_branch_prefix_is_quoted_everywhere)
{
	static const char *const prefixes[] = { "$(touch${IFS}PWNED)", "`touch${IFS}PWNED`",
		"x;touch${IFS}PWNED", "x|touch${IFS}PWNED&&y", "'x'\"y\"", "csi\xc2\x9b" "31m",
		"bidi\xe2\x80\xae" "x", "x$IFS$(id)", NULL };
	char *repo = make_repo("repo"), **folders = keep(calloc(16, sizeof(char *)));
	struct result before = sandbox_tree();
	size_t i;

	for (i = 0; prefixes[i]; i++) {
		const char *q = sh_quote(prefixes[i]);
		char *slug = strf("p%zu", i), *branch = strf("%s/%s", prefixes[i], slug);
		struct result r;
		json_t *task;
		const char *wt;

		task = spawn_json(repo, "--name %s --agent %s 'Prefix task'", slug, q);
		cr_assert_str_eq(json_str(task, "branch"), lossy(branch));
		folders[i] = strf("%s", json_str(task, "folder"));
		run_safe(repo, 0, strf("git agent spawn --agent %s 'Prefix task'", q));
		task = spawn_json(repo, "--create --name %s", slug);
		wt = json_str(task, "worktree");
		cr_assert_str_eq(run_ok(NULL, "git -C %s symbolic-ref HEAD", sh_quote(wt)),
				 strf("refs/heads/%s", branch));
		write_file(strf("%s/src/new.c", wt), "int new_file;\n", 0644);
		run_ok(wt, "git add -A && git commit -q -m 'Add new.c'");
		run_safe(repo, 0, strf("git agent review %s", slug));
		run_safe(repo, 0, strf("git agent review --json %s", sh_quote(branch)));
		run_safe(repo, 0, "git agent trace");
		run_safe(repo, 0, "git agent trace --tasks");
		run(&r, repo, "git agent review %s --merge", slug);
		assert_status(&r, 0);
		assert_result_safe("review --merge", &r);
		run_ok(repo, "git reset -q --hard HEAD~1");
	}
	/* The merges took the branches and worktrees: the scripts make them again. */
	assert_scripts_safe(repo, folders, i);
	trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	assert_wrote_only_in(&before, repo_dirs);
}

/* names and bases */

/* --name must be a slug: anything else is refused with the name escaped, nothing made. */
Test(hostile_input, names_that_are_no_slug_are_refused)
{
	char *repo = make_repo("repo");
	struct result before = sandbox_tree(), r;
	size_t i;

	for (i = 0; i < CORPUS_NR; i++) {
		r = run_safe(repo, 128, strf("git agent spawn --name %s 'Named task'",
					     sh_quote(corpus[i].text)));
		assert_contains(r.err, "fatal: invalid task name '");
		assert_contains(r.err, escaped(corpus[i].text, "\t"));
	}
	run_safe(repo, 128, strf("git agent spawn --name %s x", strf("%049d", 0)));
	run_safe(repo, 128, "git agent spawn --name Upper x");
	run_safe(repo, 128, "git agent spawn --name a--b x");
	assert_nothing_made(repo, &before);
	assert_nothing_ran();
}

/* A base starting with '-' would be an option to the git of the scripts: refused. */
Test(hostile_input, base_starting_with_a_dash_is_refused)
{
	char *repo = make_repo("repo");
	struct result before, r;

	run_ok(repo, "git update-ref 'refs/heads/--output=/tmp/PWNED' HEAD");
	before = sandbox_tree();
	r = run_safe(repo, 128, "git agent spawn --base '--output=/tmp/PWNED' 'Dash base'");
	cr_assert_str_eq(r.err, "fatal: bad base '--output=/tmp/PWNED': a base starting with '-' "
			 "would read as an option of git\n");
	run_safe(repo, 128, "git -c agent.base=-x agent spawn --create 'Dash base'");
	assert_wrote_only_in(&before, (const char *const[]){ NULL });
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 0);
}

/* configuration */

/*
 * A bad value of every checked key, by git -c and by .git/config, for each
 * command: exit 128 naming the key and the value (escaped), nothing made.
 */
Test(hostile_input, bad_config_values_are_refused_by_every_command)
{
	static const struct { const char *key, *value; } cases[] = {
		{ "agent.checkTimeout", "9223372036854775807" },
		{ "agent.checkTimeout", "31536001" },
		{ "agent.checkTimeout", "-1" },
		{ "agent.checkTimeout", "1e3" },
		{ "agent.checkTimeout", "$(touch PWNED)" },
		{ "agent.checkTimeout", "\033]52;c;eA==\007" },
		{ "agent.mergeStyle", "rebase; touch PWNED" },
		{ "agent.mergeStyle", "merge\nfatal: forged line" },
		{ "agent.mode", "create\033[2J" },
		{ "agent.fetch", "yes\xc2\x9b" },
		{ "agent.removeAfterMerge", "\xe2\x80\xaetrue" },
		{ "agent.remote", "--upload-pack=touch PWNED" },
		{ "agent.branchPrefix", "-c" },
		{ "agent.jobs", "0x\xff" },
	};
	static const char *const commands[] = { "spawn 'Config task'", "review t", "trace",
		"trace --emit note --task t", NULL };
	char *repo = make_repo("repo"), *record;
	struct result before, r;
	size_t i, j;

	spawn_json(repo, "--create --name t 'Task'");
	record = read_file(strf("%s/.git/agent/tasks/t.ini", repo));
	before = sandbox_tree();
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *q = sh_quote(cases[i].value);

		for (j = 0; commands[j]; j++) {
			r = run_safe(repo, 128, strf("git -c %s=%s agent %s", cases[i].key, q, commands[j]));
			cr_assert(!strncmp(r.err, "fatal: bad value '", 18), "%s", visible(r.err));
			cr_assert(strcasestr(r.err, strf("'%s'", cases[i].key)), "%s", visible(r.err));
			assert_contains(r.err, escaped(cases[i].value, ""));
			cr_assert_eq(count_lines(r.err), 1, "one line: %s", visible(r.err));
		}
		run_ok(repo, "git config %s %s", cases[i].key, q);
		run_safe(repo, 128, "git agent spawn 'Config task'");
		run_ok(repo, "git config --unset %s", cases[i].key);
	}
	assert_wrote_only_in(&before, (const char *const[]){ "./repo/.git/config", NULL });
	cr_assert_str_eq(read_file(strf("%s/.git/agent/tasks/t.ini", repo)), record);
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 2);
	assert_nothing_ran();
}

/*
 * agent.worktreeDir and agent.dir that land in the main worktree, also
 * through a symlink or "..": refused, nothing made.
 */
Test(hostile_input, config_paths_into_the_main_worktree_are_refused)
{
	static const char *const values[] = { "sub", "./x/../y", "../repo/z", "link-in/deeper",
		".", "src/..", NULL };
	char *repo = make_repo("repo");
	struct result before, r;
	size_t i;

	run_ok(NULL, "ln -s repo/src link-in");
	before = sandbox_tree();
	for (i = 0; values[i]; i++) {
		const char *v = values[i][0] == 'l' ? sandbox_path("%s", values[i]) : values[i];

		r = run_safe(repo, 128, strf("git -c agent.worktreeDir=%s agent spawn --create x",
					     sh_quote(v)));
		assert_contains(r.err, "is inside the main worktree");
		r = run_safe(repo, 128, strf("git -c agent.dir=%s agent spawn x", sh_quote(v)));
		assert_contains(r.err, "is inside the main worktree");
		r = run_safe(repo, 128, strf("git agent spawn --out %s x", sh_quote(v)));
		assert_contains(r.err, "is inside the main worktree");
	}
	r = run_safe(repo, 128, "git -c agent.worktreeDir=.git/wt agent spawn --create x");
	run_ok(repo, "git config agent.worktreeDir %s", sh_quote(sandbox_path("link-in")));
	r = run_safe(repo, 128, "git agent spawn --create x");
	assert_contains(r.err, "is inside the main worktree");
	run_ok(repo, "git config --unset agent.worktreeDir");
	assert_nothing_made(repo, &before);
}

/* A directory whose name is the whole terminal and shell corpus (what a file name can hold). */
static char *hostile_dir_name(void)
{
	return strf("%s", "wt $(touch PWNED) `touch PWNED` ; '\\'' \" \033[31m \033]52;c;eA==\007 "
		    "\xc2\x9b \xe2\x80\xae \xff \n end");
}

/*
 * agent.worktreeDir, agent.dir and agent.trace naming directories full of
 * shell and escapes: the task is made there, every output escapes them, the
 * scripts quote them, review and merge work.
 */
Test(hostile_input, config_paths_with_hostile_names_are_used_and_quoted)
{
	char *repo = make_repo("repo"), *name = hostile_dir_name(), *args;
	char *wtdir = sandbox_path("%s", name), *dir = sandbox_path("%s-tasks", name);
	char *trace = sandbox_path("%s-trace.jsonl", name), *folder;
	const char *wt;
	json_t *task;
	struct result r;

	args = strf("-c agent.worktreeDir=%s -c agent.dir=%s -c agent.trace=%s -c agent.setup=%s",
		    sh_quote(wtdir), sh_quote(dir), sh_quote(trace),
		    sh_quote("true # $(touch PWNED) '\\'' \033[31m \xc2\x9b"));
	run_safe(repo, 0, strf("git %s agent spawn 'Dry task'", args));
	run(&r, repo, "git %s agent spawn --json --create --name t 'Hostile dirs'", args);
	assert_status(&r, 0);
	task = json_parse(r.out);
	wt = json_str(task, "worktree");
	cr_assert_str_eq(wt, lossy(strf("%s/t", wtdir)));
	cr_assert(worktree_listed(repo, strf("%s/t", wtdir)));
	folder = strf("%s/t", dir);
	cr_assert(is_dir(folder));
	run_safe(repo, 0, strf("git %s agent spawn --create 'Human output'", args));
	write_file(strf("%s/t/src/new.c", wtdir), "int new_file;\n", 0644);
	run_ok(strf("%s/t", wtdir), "git add -A && git commit -q -m 'Add new.c'");
	run_safe(strf("%s/t", wtdir), 0, strf("git %s agent review --check 'pwd'", args));
	run_safe(repo, 0, strf("git %s agent review --json t", args));
	run_safe(repo, 0, strf("git %s agent trace", args));
	run_safe(repo, 0, strf("git %s agent trace --json", args));
	run(&r, repo, "git %s agent review t --merge", args);
	assert_status(&r, 0);
	assert_result_safe("review --merge", &r);
	trace_read(trace);
	cr_assert(!path_exists(strf("%s/.git/agent/trace.jsonl", repo)));
	assert_scripts_safe(repo, &folder, 1);
	r = run_safe_once(repo, 128, strf("git %s -c agent.setup=%s agent spawn --create 'Failing setup'",
					  args, sh_quote("exit 3 # \033]52;c;eA==\007")), 1);
	assert_contains(r.out, "failed (exit 3)");
}

/*
 * agent.copy patterns that point outside, or hold shell, copy nothing from
 * outside the main worktree; agent.link values that leave it are refused.
 */
Test(hostile_input, copy_and_link_patterns_stay_in_the_repository)
{
	static const char *const copies[] = { "../*", "../../*", "/etc/passwd", "/*",
		"$(touch PWNED)", "`touch PWNED`", "'; touch PWNED; '", "*.env\n../*", NULL };
	static const char *const links[] = { "..", "../outside", "/etc", "src/../../outside",
		"./../outside", NULL };
	char *repo = make_repo("repo"), *folder;
	struct result before, r;
	json_t *task;
	size_t i;

	write_file(sandbox_path("outside/secret.env"), "secret\n", 0644);
	write_file(strf("%s/.env", repo), "ignored and copied\n", 0644);
	before = sandbox_tree();
	for (i = 0; copies[i]; i++)
		run_ok(repo, "git config --add agent.copy %s", sh_quote(copies[i]));
	run_ok(repo, "git config --add agent.copy .env");
	run(&r, repo, "git agent spawn --json --create --name c 'Copy task'");
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(run_ok(json_str(task, "worktree"), "git ls-files --others"), ".env");
	cr_assert_eq(json_integer_value(json_object_get(trace_find(trace_read(json_str(task, "trace")),
								     "setup.done", "c"), "copied")), 1);
	folder = strf("%s", json_str(task, "folder"));
	run_ok(repo, "git agent review --abandon c >/dev/null");
	assert_scripts_safe(repo, &folder, 1);
	cr_assert_str_eq(run_ok(NULL, "git -C repo-worktrees/c ls-files --others"), ".env");
	run_ok(repo, "git config --unset-all agent.copy");
	for (i = 0; links[i]; i++) {
		r = run_safe(repo, 128, strf("git -c agent.link=%s agent spawn --create 'Link task'",
					     sh_quote(links[i])));
		assert_contains(r.err, "fatal: bad agent.link value '");
	}
	assert_wrote_only_in(&before, repo_dirs);
	assert_nothing_ran();
}

/*
 * A symlink committed in the base that leads out of the worktree: agent.copy
 * and agent.link put nothing through it, with a warning.
 */
Test(hostile_input, copy_and_link_never_follow_a_symlink_out_of_the_worktree)
{
	char *repo = make_repo("repo"), *outside = sandbox_path("outside");
	struct result before, r;

	make_dirs(outside);
	run_ok(repo, "git checkout -q -b evil && ln -s %s escape && git add escape && "
	       "git commit -q -m 'A symlink out' && git checkout -q main", sh_quote(outside));
	write_file(strf("%s/escape/copied.env", repo), "secret\n", 0644);
	write_file(strf("%s/escape/linked/x", repo), "x\n", 0644);
	before = sandbox_tree();
	r = run_safe(repo, 0, "git -c agent.copy='*.env' -c agent.link=escape/linked "
		     "agent spawn --create --allow-dirty --base evil 'Symlink task'");
	assert_contains(r.err, "warning: not copying or linking '");
	cr_assert_eq(count_entries(outside), 0, "something was put outside the worktree");
	assert_wrote_only_in(&before, repo_dirs);
}

/* the task environment, the agent's work and review */

/*
 * A created task made of the whole corpus: setup sees the exact title in
 * $AGENT_TITLE, and review, merge and trace show the agent's hostile
 * files, commits, report and check output escaped, while the evidence keeps
 * them byte for byte and the merge takes them as they are.
 */
Test(hostile_input, agent_work_full_of_the_corpus_is_reviewed_and_merged)
{
	char *repo = make_repo("repo"), *all = whole_corpus(), *seen = sandbox_path("input/title");
	char *check = sandbox_path("input/check.sh"), *round;
	struct result before, r;
	json_t *task, *summary;
	const char *wt;
	size_t i;

	make_dirs(sandbox_path("input"));
	write_file(check, strf("printf '%%s' %s\n", sh_quote(all)), 0755);
	run_ok(repo, "git config agent.setup %s", sh_quote(strf("printf %%s \"$AGENT_TITLE\" > %s",
								   sh_quote(seen))));
	before = sandbox_tree();
	run(&r, repo, "git agent spawn --json --create --name t --scope src -m %s --step %s --check %s %s",
	    sh_quote(all), sh_quote(all), sh_quote(check), sh_quote(all));
	assert_status(&r, 0);
	assert_terminal_safe("stderr of spawn --create", r.err, r.err_len);
	task = json_parse(r.out);
	wt = json_str(task, "worktree");
	cr_assert_str_eq(read_file(seen), all, "setup did not see the title as it is");

	/* The agent: a file and a commit per payload, and a report of everything. */
	for (i = 0; i < CORPUS_NR; i++) {
		char *name = strf("f%02zu %s", i, corpus[i].text), *p;

		for (p = name; *p; p++)
			*p = *p == '/' ? '_' : *p;	/* one file, not a path */
		write_file(strf("%s/%s", wt, name), corpus[i].text, 0644);
		run_ok(wt, "git add -A && git commit -q -m %s", sh_quote(strf("%s\n\n%s", corpus[i].text,
										   all)));
	}
	write_file(strf("%s/report.md", json_str(task, "folder")), all, 0644);
	write_file(strf("%s/uncommitted %s", wt, corpus[13].text), "x", 0644);

	/* A check whose text and output hold controls, and whose output holds a NUL. */
	run_ok(repo, "git config agent.check %s", sh_quote("printf 'nul\\000byte \\033[2J'; true # "
							   "\033]52;c;eA==\007 \xc2\x9b \xe2\x80\xae"));
	r = run_safe(repo, 0, "git agent review t");
	assert_contains(r.out, "uncommitted changes in the worktree");
	run_ok(NULL, "rm %s", sh_quote(strf("%s/uncommitted %s", wt, corpus[13].text)));
	r = run_safe(repo, 0, "git agent review --json t");
	summary = json_parse(r.out);
	round = strf("%s", json_str(summary, "evidence"));
	cr_assert_str_eq(read_file(strf("%s/checks/01.out", round)), all);
	run_ok(NULL, "printf 'nul\\000byte \\033[2J' | cmp - %s", sh_quote(strf("%s/checks/02.out", round)));
	cr_assert_str_eq(read_file(strf("%s/report.md", round)), all);
	cr_assert_str_eq(read_file(strf("%s/status.txt", round)), "");
	run_ok(repo, "git diff --stat=80 main...agent/t > %s", sh_quote(sandbox_path("input/stat")));
	cr_assert_str_eq(read_file(strf("%s/diffstat.txt", round)), read_file(sandbox_path("input/stat")));
	run_ok(NULL, "git -C %s apply --check %s/diff.patch", sh_quote(repo), sh_quote(round));
	run_safe(repo, 0, "git agent trace");
	run_safe(repo, 0, "git agent trace --json");
	run_safe(repo, 0, "git agent trace --tasks");
	run_safe(repo, 0, "git agent trace --tasks --json");
	/* Refused first: every file is out of scope, and the refusal lists their names. */
	r = run_safe_once(repo, 1, "git agent review t --merge", 1);
	assert_contains(r.out, "files out of scope changed");
	r = run_safe_once(repo, 1, "git agent review t --merge --json", 0);
	assert_contains(r.err, "files out of scope changed");
	run(&r, repo, "git agent review t --merge --allow-out-of-scope");
	assert_status(&r, 0);
	assert_result_safe("review --merge", &r);
	cr_assert_str_eq(run_ok(repo, "git rev-parse main^{tree}"),
			 run_ok(repo, "git rev-parse %s^{tree}", json_str(summary, "head")),
			 "the merge did not take the reviewed files as they are");
	trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	assert_wrote_only_in(&before, (const char *const[]){ "./repo", "./repo-worktrees", "./input",
							      NULL });
	assert_nothing_ran();
}

/* trace --emit */

/* A task 't' of a fresh repository, created, and the path of its trace. */
static char *created_task(char **repo)
{
	*repo = make_repo("repo");
	spawn_json(*repo, "--create --name t 'Task'");
	return strf("%s/.git/agent/trace.jsonl", *repo);
}

/* Event names that are no free name, or the tool's own: exit 128, nothing added. */
Test(hostile_input, emitted_event_names_from_the_corpus_are_refused)
{
	static const char *const names[] = { "merge.done", "task.planned", "verdict.merge",
		"review.recorded", "Merge.done", "merge.done\n", " merge.done", "note\033[31m",
		"note.\xc2\x9b", "-note", ".note", "", NULL };
	char *repo, *trace = created_task(&repo), *log = read_file(trace);
	struct result r;
	size_t i;

	for (i = 0; i < CORPUS_NR; i++) {
		r = run_safe(repo, 128, strf("git agent trace --emit %s --task t",
					     sh_quote(corpus[i].text)));
		assert_contains(r.err, "fatal: bad event name '");
	}
	for (i = 0; names[i]; i++) {
		r = run_safe(repo, 128, strf("git agent trace --emit %s --task t", sh_quote(names[i])));
		cr_assert(!strncmp(r.err, "fatal: ", 7), "%s", visible(r.err));
	}
	cr_assert_str_eq(read_file(trace), log, "a refused event was appended");
}

/*
 * Every payload as -m and as --field values: one whole JSON line each that
 * is an emitted event of the task and moves nothing in --tasks, shown
 * escaped by trace, human and --json, on a pipe and a terminal.
 */
Test(hostile_input, emitted_messages_and_fields_of_every_payload)
{
	char *repo, *trace = created_task(&repo), *tasks = run_ok(repo, "git agent trace --tasks --json");
	json_t *events;
	size_t i;

	for (i = 0; i <= CORPUS_NR; i++) {
		const char *text = i < CORPUS_NR ? corpus[i].text : fence_payload();
		const char *forged = "\"}\n{\"v\":1,\"ts\":\"2026-01-01T00:00:00Z\",\"event\":\"merge.done\","
			"\"task\":\"t\",\"emitted\":false,\"x\":\"";
		json_t *e;

		run_ok(repo, "git agent trace --emit note.hostile --task t -m %s --field text=%s "
		       "--field forged=%s", sh_quote(text), sh_quote(text), sh_quote(forged));
		events = trace_read(trace);
		e = json_array_get(events, json_array_size(events) - 1);
		cr_assert_str_eq(json_str(e, "event"), "note.hostile");
		cr_assert(json_is_true(json_object_get(e, "emitted")));
		cr_assert_str_eq(json_str(e, "message"), lossy(text));
		cr_assert_str_eq(json_str(e, "text"), lossy(text));
		cr_assert_str_eq(json_str(e, "forged"), forged);
	}
	cr_assert_eq(json_array_size(events), 3 + CORPUS_NR + 1, "one line per --emit");
	cr_assert_eq(trace_count(events, "merge.done", NULL), 0);
	cr_assert_str_eq(run_ok(repo, "git agent trace --tasks --json | sed 's/\"updated\":\"[^\"]*\",//; "
				"s/\"last_event\":\"[^\"]*\",//; s/\"events\":[0-9]*,//'"),
			 run_ok(NULL, "printf '%%s\\n' %s | sed 's/\"updated\":\"[^\"]*\",//; "
				"s/\"last_event\":\"[^\"]*\",//; s/\"events\":[0-9]*,//'", sh_quote(tasks)));
	run_safe(repo, 0, "git agent trace");
	run_safe(repo, 0, "git agent trace --json");
	run_safe(repo, 0, "git agent trace --tasks");
	run_safe(repo, 0, "git agent trace --grep PWNED --event 'note.*'");
}

/*
 * A field whose JSON is longer than a reader takes (120 KB of ESC, six
 * bytes each as \u001b): the event is written cut to fit and says so, and
 * every reader reads it.
 */
Test(hostile_input, emitted_field_too_long_for_a_line_is_cut_to_fit)
{
	char *repo, *trace = created_task(&repo);
	json_t *events, *e;

	run_ok(repo, "git agent trace --emit note --task t --field a=\"$(head -c 120000 /dev/zero | "
	       "tr '\\0' '\\033')\" --field b=\"$(head -c 120000 /dev/zero | tr '\\0' x)\"");
	cr_assert(strlen(read_file(trace)) < 3 * 1024 + TRACE_MAX_LINE);
	events = trace_read(trace);
	e = json_array_get(events, json_array_size(events) - 1);
	cr_assert(json_is_true(json_object_get(e, "truncated")));
	cr_assert(json_string_length(json_object_get(e, "a")) < 120000);
	cr_assert_eq(json_string_length(json_object_get(e, "b")), 120000, "the short field stays");
	cr_assert_str_eq(run_ok(repo, "git agent trace --event note --json 2>&1 | wc -l"), "1");
	run_safe(repo, 0, "git agent trace --event note");
	run_safe(repo, 128, "git agent trace --emit note --task t --field truncated=no");
}

/* --request-changes */

/*
 * Every payload as requested changes: the packet keeps its blocks plus the
 * section, the text inside the fence under its round; the trace event holds
 * the text; outputs are safe.
 */
Test(hostile_input, requested_changes_of_every_payload)
{
	char *repo, *trace = created_task(&repo), *packet = strf("%s/.git/agent/tasks/t/packet.md", repo);
	char *first = NULL, *xml, **blocks, *structure = NULL;
	size_t i, nr, headings;

	for (i = 0; i <= CORPUS_NR; i++) {
		const char *text = i < CORPUS_NR ? corpus[i].text : fence_payload();
		json_t *events;

		run_safe_once(repo, 0, strf("git agent review t --request-changes=%s", sh_quote(text)), i % 2);
		xml = markdown_xml(packet);
		if (!i) {
			first = xml;
			structure = block_structure(xml);
		} else {
			/* One more fenced block each time: the same blocks otherwise. */
			cr_assert_eq(count_matches(xml, "<code_block"), i + 1);
			cr_assert_eq(count_matches(xml, "<heading"), count_matches(first, "<heading") + i,
				     "the headings changed:\n%s", visible(read_file(packet)));
			cr_assert(!strncmp(block_structure(xml), structure, strlen(structure)));
		}
		cr_assert_eq(count_matches(xml, "<html_"), 0);
		blocks = node_texts(xml, "code_block", &nr);
		cr_assert_str_eq(blocks[nr - 1], strf("%s\n", escaped(text, "\n")));
		events = trace_read(trace);
		cr_assert_str_eq(json_str(json_array_get(events, json_array_size(events) - 1), "text"),
				 lossy(text));
	}
	blocks = node_texts(xml, "heading", &nr);
	for (i = 0, headings = 0; i < nr; i++)
		headings += !strcmp(blocks[i], "Requested changes");
	cr_assert_eq(headings, 1, "one section of requested changes");
	assert_terminal_safe("packet.md", read_file(packet), strlen(read_file(packet)));
}

/* A description holding the line "## Requested changes" does not take the section's place. */
Test(hostile_input, requested_changes_heading_in_the_description)
{
	char *repo = make_repo("repo"), *xml, **headings;
	json_t *task = spawn_json(repo, "--create --name t -m %s Task",
				  sh_quote("## Requested changes\n\nfake"));
	size_t nr;

	run_ok(repo, "git agent review t --request-changes='Do this'");
	xml = markdown_xml(json_str(task, "packet"));
	headings = node_texts(xml, "heading", &nr);
	cr_assert_str_eq(headings[nr - 2], "Requested changes", "%s", visible(read_file(json_str(task, "packet"))));
	cr_assert_str_eq(headings[nr - 1], "Before any review round");
}

/* Requested changes of 1 MB on stdin, and with a NUL byte. */
Test(hostile_input, requested_changes_of_one_megabyte_or_with_a_nul_byte)
{
	char *repo, *trace = created_task(&repo), *packet = strf("%s/.git/agent/tasks/t/packet.md", repo);
	char *before, **blocks;
	struct result r;
	json_t *events;
	size_t nr;

	make_dirs(sandbox_path("input"));
	run_ok(NULL, "printf 'keep\\000this' > input/nul && head -c 1048576 /dev/zero | "
	       "tr '\\0' '\\033' > input/big");
	before = read_file(packet);
	r = run_safe(repo, 128, strf("git agent review t --request-changes < %s",
				     sh_quote(sandbox_path("input/nul"))));
	cr_assert_str_eq(r.err, "fatal: the requested changes on stdin hold a NUL byte: they must be text\n");
	cr_assert_str_eq(read_file(packet), before);
	cr_assert_null(trace_find(trace_read(trace), "verdict.changes", "t"));

	run_ok(repo, "git agent review t --request-changes < %s", sh_quote(sandbox_path("input/big")));
	blocks = node_texts(markdown_xml(packet), "code_block", &nr);
	cr_assert_eq(strlen(blocks[nr - 1]), 4 * 1048576 + 1, "the whole request is in the packet");
	events = trace_read(trace);
	cr_assert(json_is_true(json_object_get(trace_find(events, "verdict.changes", "t"), "truncated")));
	r = run_safe(repo, 0, "git agent trace --tasks");
	assert_contains(r.out, "changes requested");
}

/* trace lines */

/*
 * The hostile log of tests/hostile/trace.jsonl, an over-long line and one
 * nested 100,000 deep: every command reads it to the end (exit 0), shows
 * what it can escaped, warns about the rest by line number, passes --json
 * lines through as they are, and an emitted merge.done merges nothing.
 */
Test(hostile_input, hostile_trace_lines_are_shown_escaped_or_skipped)
{
	char *repo = make_repo("repo"), *log = strf("%s/.git/agent/trace.jsonl", repo);
	char *data = strf("%s/tests/hostile/trace.jsonl", build_dir);
	struct strbuf more = STRBUF_INIT;
	struct result r;
	size_t n;

	cr_assert(path_exists(data), "no tests/hostile/trace.jsonl");
	sb_adds(&more, "{\"v\":1,\"ts\":\"2026-11-21T10:00:00Z\",\"event\":\"note\",\"task\":\"t\","
		"\"long\":\"");
	for (n = 0; n < TRACE_MAX_LINE; n += 8)
		sb_adds(&more, "\\u001b[2J");
	sb_adds(&more, "\"}\n");
	for (n = 0; n < 100000; n++)
		sb_addch(&more, '[');
	sb_addch(&more, '\n');
	write_file(sandbox_path("more.jsonl"), more.buf, 0644);
	sb_release(&more);
	make_dirs(strf("%s/.git/agent", repo));
	run_ok(NULL, "cat %s more.jsonl > %s", sh_quote(data), sh_quote(log));

	r = run_safe(repo, 0, "git agent trace");
	cr_assert_eq(count_lines(r.out), 9, "the readable events:\n%s", visible(r.out));
	assert_contains(r.out, "  forged  note.again\n");	/* as jq reads it: the last key wins */
	assert_contains(r.out, "t\\x1b]0;pwned\\x07  note.\\x1b[31m");
	assert_contains(r.out, "message=\"csi\\u009b31m osc\\u009d0;x\\u009c bidi\\u202egpj.exe");
	assert_contains(r.out, "t\\x00x  note  message=a\\x00b");
	assert_contains(r.err, "trace.jsonl:3: not valid JSON");
	assert_contains(r.err, "trace.jsonl:4: not UTF-8");
	assert_contains(r.err, "trace.jsonl:5: contains a NUL byte");
	assert_contains(r.err, "trace.jsonl:14: \"ts\" is not a time");
	assert_contains(r.err, "more bad lines");
	r = run_safe(repo, 0, "git agent trace --json");
	cr_assert(strstr(r.out, "csi\xc2\x9b" "31m") != NULL, "--json on a pipe is the line as it is");
	run_safe(repo, 0, "git agent trace --grep pwned --event 'note*' t");
	r = run_safe(repo, 0, "git agent trace --tasks");
	assert_contains(r.out, "forged             planned");
	r = run_safe(repo, 0, "git agent trace --tasks --json");
	assert_contains(r.out, "{\"task\":\"forged\",\"state\":\"planned\"");
	assert_nothing_ran();
}

/* absurd lengths */

/*
 * A title of 300 KB (many words: one argument holds 128 KB at most): the
 * task is planned and created, and its events, cut to fit, are read by
 * every reader.
 */
Test(hostile_input, title_of_300_kilobytes_leaves_a_readable_trace)
{
	char *repo = make_repo("repo"), *word = sh_quote("\033[31mword\033[0m $(touch PWNED) `x` 'x'");
	struct strbuf words = STRBUF_INIT;
	json_t *events;
	struct result r;

	/* In a script: sh -c takes one argument of 128 KB at most. */
	sb_adds(&words, "git agent spawn --create --name big");
	while (words.len < 300 * 1024)
		sb_addf(&words, " %s", word);
	write_file(sandbox_path("spawn.sh"), words.buf, 0644);
	sb_release(&words);
	r = run_safe_once(repo, 0, strf("sh %s", sh_quote(sandbox_path("spawn.sh"))), 0);
	cr_assert(strlen(read_file(strf("%s/.git/agent/tasks/big/packet.md", repo))) > 300000);
	events = trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	cr_assert(json_is_true(json_object_get(trace_find(events, "task.planned", "big"), "truncated")));
	r = run_safe(repo, 0, "git agent trace --tasks");
	assert_contains(r.out, "big   running");
	r = run_safe(repo, 0, "git agent trace big");
	cr_assert_eq(count_lines(r.out), 3, "task.planned, worktree.created, setup.done:\n%s",
		     visible(r.out));
	cr_assert_eq(r.err_len, 0, "a line was skipped: %s", visible(r.err));
	run_safe(repo, 0, "git agent review big");
	assert_nothing_ran();
}

/* The packet template */

/* agent.template that is missing (a hostile name), holds a NUL, or a hostile placeholder. */
Test(hostile_input, bad_packet_templates_are_refused)
{
	char *repo = make_repo("repo"), *name = sandbox_path("input/%s", hostile_dir_name());
	struct result before, r;

	make_dirs(sandbox_path("input"));
	run_ok(NULL, "printf '# {{title}}\\000{{description}}\\n' > input/nul.md");
	write_file(sandbox_path("input/placeholder.md"), "# {{title}}\n{{$(touch PWNED)\033[31m}}\n", 0644);
	before = sandbox_tree();
	r = run_safe(repo, 128, strf("git -c agent.template=%s agent spawn 'Template task'",
				     sh_quote(name)));
	assert_contains(r.err, "fatal: cannot read the packet template '");
	r = run_safe(repo, 128, strf("git -c agent.template=%s agent spawn 'Template task'",
				     sh_quote(sandbox_path("input/nul.md"))));
	assert_contains(r.err, "holds a NUL byte");
	r = run_safe(repo, 128, strf("git -c agent.template=%s agent spawn 'Template task'",
				     sh_quote(sandbox_path("input/placeholder.md"))));
	assert_contains(r.err, "fatal: unknown placeholder '{{$(touch PWNED)\\x1b[31m}}'");
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 0);
	assert_wrote_only_in(&before, repo_dirs);
	assert_nothing_ran();
}

/* The threat model */

/* Every test SECURITY.md names as proof (`test_x.c`: suite::name) exists. */
Test(hostile_input, security_md_names_only_tests_that_exist)
{
	char *text = read_file(strf("%s/SECURITY.md", build_dir)), *file = NULL, *source = NULL;
	const char *p;
	int named = 0;

	cr_assert(text != NULL, "no SECURITY.md");
	for (p = text; *p; p++) {
		if (!strncmp(p, "`test_", 6)) {
			size_t len = strcspn(p + 1, "`");

			file = strf("%.*s", (int)len, p + 1);
			source = read_file(strf("%s/tests/%s", build_dir, file));
			cr_assert(source != NULL, "SECURITY.md names %s, which does not exist", file);
			p += len;
		} else if (p[0] == ':' && p[1] == ':' && source) {
			const char *start = p, *end = p + 2;
			char *test;

			while (start > text && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
				start--;
			end += strspn(end, "abcdefghijklmnopqrstuvwxyz0123456789_");
			test = strf("Test(%.*s, %.*s", (int)(p - start), start, (int)(end - p - 2), p + 2);
			cr_assert(strstr(source, strf("%s)", test)) || strstr(source, strf("%s,", test)),
				  "SECURITY.md names %.*s in %s, which has no such test", (int)(end - start),
				  start, file);
			named++;
			p = end - 1;
		}
	}
	cr_assert_geq(named, 30, "SECURITY.md names %d tests", named);
}
