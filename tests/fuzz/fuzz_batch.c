/*
 * libFuzzer target for batch_parse(), the reader of `spawn --from FILE`.
 * Any input either parses into tasks that keep the header's promises (at
 * least one, at most BATCH_TASKS_MAX; valid, unique slugs; a title; values
 * within BATCH_VALUE_MAX) or fails with a message that starts with the
 * file's name, can go to a terminal as it is, and keeps nothing.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *	$(pkg-config --cflags libgit2 inih jansson) tests/fuzz/fuzz_batch.c common/[a-z]*.c \
 *	$(pkg-config --libs libgit2 inih jansson) -o fuzz_batch
 *   ./fuzz_batch -dict=tests/fuzz/batch.dict -max_total_time=60 tests/fuzz/corpus/batch
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

/* No file name: the text alone says INI or features.json. */
#define NAME "batch-file"

static void check(int ok, const char *what, const char *detail)
{
	if (ok)
		return;
	fprintf(stderr, "invariant broken: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void check_value(const char *value)
{
	if (value)
		check(strlen(value) <= BATCH_VALUE_MAX, "value over the limit", NULL);
}

static void check_list(const struct strlist *list)
{
	size_t i;

	check(!list->items || !list->items[list->nr], "list not NULL-terminated", NULL);
	for (i = 0; i < list->nr; i++) {
		check(list->items[i] && *list->items[i], "empty list item", NULL);
		check_value(list->items[i]);
	}
}

static void check_task(const struct batch *b, size_t i)
{
	const struct batch_task *t = &b->tasks[i];
	size_t j;

	check(t->slug && slug_is_valid(t->slug), "invalid slug", t->slug);
	for (j = 0; j < i; j++)
		check(strcmp(t->slug, b->tasks[j].slug) != 0, "duplicate slug", t->slug);
	check(t->title != NULL, "no title", t->slug);
	check(t->title[strspn(t->title, " \t\r\n\v\f")] != '\0', "blank title", t->slug);
	check(t->line >= 0, "negative line", t->slug);
	check_value(t->title);
	check_value(t->description);
	check_value(t->base);
	check_value(t->agent);
	check_list(&t->scope);
	check_list(&t->steps);
	check_list(&t->checks);
}

static void check_error(const struct batch *b, const struct strbuf *err)
{
	const unsigned char *p;

	check(err->len > 0, "failure without a message", NULL);
	check(!strncmp(err->buf, NAME ":", strlen(NAME ":")), "message without the name", err->buf);
	check(b->nr == 0 && b->tasks == NULL, "failure kept tasks", err->buf);
	for (p = (const unsigned char *)err->buf; *p; p++)
		check(*p >= 0x20 && *p != 0x7f, "control byte in the message", err->buf);
	check(utf8_valid(err->buf, err->len), "message not UTF-8", err->buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct batch b;
	size_t i;

	if (batch_parse(&b, NAME, (const char *)data, size, &err) == 0) {
		check(err.len == 0, "success with a message", err.buf);
		check(b.nr >= 1 && b.nr <= BATCH_TASKS_MAX, "task count out of range", NULL);
		for (i = 0; i < b.nr; i++)
			check_task(&b, i);
	} else {
		check_error(&b, &err);
	}
	batch_release(&b);
	sb_release(&err);
	return 0;
}
