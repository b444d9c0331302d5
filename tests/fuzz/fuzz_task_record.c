/*
 * task_parse() on arbitrary text, as a task record read from
 * .git/agent/tasks/<slug>.ini that anything could have written.
 *
 * Properties: no crash, no leak; a task it accepts, written by task_format()
 * and parsed again, is the same task (every field, every list item); and
 * written again, the same text.
 */
#include "fuzz.h"

static void check_string(const char *what, const char *a, const char *b)
{
	fuzz_check((!a && !b) || (a && b && !strcmp(a, b)), "%s: '%s' became '%s'", what,
		   a ? fuzz_show(a, strlen(a)) : "(none)", b ? fuzz_show(b, strlen(b)) : "(none)");
}

static void check_list(const char *what, const struct strlist *a, const struct strlist *b)
{
	size_t i;

	fuzz_check(a->nr == b->nr, "%s: %zu items became %zu", what, a->nr, b->nr);
	for (i = 0; i < a->nr; i++)
		check_string(what, a->items[i], b->items[i]);
}

static void check_same(const struct task *a, const struct task *b)
{
	check_string("slug", a->slug, b->slug);
	check_string("title", a->title, b->title);
	check_string("description", a->description, b->description);
	check_string("agent", a->agent, b->agent);
	check_string("branch", a->branch, b->branch);
	check_string("base", a->base, b->base);
	check_string("base-sha", a->base_sha, b->base_sha);
	check_string("worktree", a->worktree, b->worktree);
	check_string("folder", a->folder, b->folder);
	check_string("created", a->created, b->created);
	fuzz_check(a->port == b->port, "port %d became %d", a->port, b->port);
	fuzz_check(a->status == b->status, "status %s became %s", task_status_name(a->status),
		   task_status_name(b->status));
	fuzz_check(a->changes_round == b->changes_round, "changes-round %d became %d",
		   a->changes_round, b->changes_round);
	check_list("scope", &a->scope, &b->scope);
	check_list("step", &a->steps, &b->steps);
	check_list("check", &a->checks, &b->checks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	struct strbuf err = STRBUF_INIT, written = STRBUF_INIT, again = STRBUF_INIT;
	struct task first, second;

	if (task_parse(&first, text, &err) < 0) {
		fuzz_check(err.len > 0, "task_parse refused a record without saying why");
		task_release(&first);
		goto done;
	}
	task_format(&written, &first);
	sb_reset(&err);
	fuzz_check(!task_parse(&second, written.buf, &err), "task_parse refuses what task_format "
		   "wrote (%s):\n%s", err.buf, fuzz_show(written.buf, written.len));
	check_same(&first, &second);
	task_format(&again, &second);
	fuzz_check(again.len == written.len && !memcmp(again.buf, written.buf, again.len),
		   "written twice, the record differs");
	task_release(&first);
	task_release(&second);
done:
	sb_release(&err);
	sb_release(&written);
	sb_release(&again);
	free(text);
	return 0;
}
