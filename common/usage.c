/* Messages in git's style, exit codes, and allocation that cannot fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static void (*die_hook)(const char *message);

void set_die_hook(void (*hook)(const char *message))
{
	die_hook = hook;
}

/*
 * Every message passes through escape_control() before it reaches the
 * terminal: a task title quoted in an error must not drive the terminal.
 */
static void print_message(const char *prefix, const char *msg)
{
	struct strbuf out = STRBUF_INIT;

	/* Keep the message's own line breaks and tabs; escape every other control byte. */
	sb_adds(&out, prefix);
	escape_control_keeping(&out, msg, "\n\t");
	if (!out.len || out.buf[out.len - 1] != '\n')
		sb_addch(&out, '\n');
	fflush(stdout);
	if (write(STDERR_FILENO, out.buf, out.len) < 0) {
		/* nothing left to tell */
	}
	sb_release(&out);
}

static void report(const char *prefix, const char *err, const char *fmt, va_list ap)
{
	struct strbuf msg = STRBUF_INIT;

	sb_vaddf(&msg, fmt, ap);
	if (err)
		sb_addf(&msg, ": %s", err);
	print_message(prefix, msg.buf);
	sb_release(&msg);
}

/* The hook runs once, before the message, so "fatal:" is the last word. */
void die_with(const char *err, const char *fmt, va_list ap)
{
	struct strbuf msg = STRBUF_INIT;
	void (*hook)(const char *) = die_hook;

	sb_vaddf(&msg, fmt, ap);
	if (err)
		sb_addf(&msg, ": %s", err);
	die_hook = NULL;
	if (hook)
		hook(msg.buf);
	print_message("fatal: ", msg.buf);
	sb_release(&msg);
	exit(EXIT_FATAL);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_with(NULL, fmt, ap);
}

void die_errno(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	die_with(err, fmt, ap);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", NULL, fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", NULL, fmt, ap);
	va_end(ap);
}

void progress(const char *fmt, ...)
{
	static int tty = -1;
	struct strbuf msg = STRBUF_INIT;
	va_list ap;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	va_start(ap, fmt);
	sb_vaddf(&msg, fmt, ap);
	va_end(ap);
	print_message("", msg.buf);
	sb_release(&msg);
}

void usage_die(const char *usage)
{
	fprintf(stderr, "%s", usage);
	exit(EXIT_USAGE);
}

void usage_getopt(int c, const char *usage, const char *option)
{
	if (c == 'h') {
		fputs(usage, stdout);
		finish_stdout();
		exit(EXIT_USAGE);
	}
	if (c == ':')
		error("option '%s' requires a value", esc(option));
	else
		error("unknown option '%s'", esc(option));
	usage_die(usage);
}

void finish_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno == EPIPE)
		exit(EXIT_FATAL);
	die_errno("write error on standard output");
}

void show_man_page(const char *command)
{
	char *page = command ? xstrfmt("agent-%s", command) : xstrdup("agent");
	char *argv[] = { "git", "help", page, NULL };

	fflush(stdout);
	execvp(argv[0], argv);
	die_errno("cannot run 'git help %s'", page);
}

void ignore_file_size_signal(void)
{
	signal(SIGXFSZ, SIG_IGN);
}

void test_die_point(const char *step)
{
	const char *at = getenv("GIT_AGENT_TEST_DIE_AT");

	if (at && !strcmp(at, step))
		raise(SIGKILL);
}

static void *check_alloc(void *p)
{
	if (!p) {
		fputs("fatal: out of memory\n", stderr);
		exit(EXIT_FATAL);
	}
	return p;
}

void *xmalloc(size_t size)
{
	return check_alloc(malloc(size ? size : 1));
}

void *xcalloc(size_t nmemb, size_t size)
{
	return check_alloc(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *xrealloc(void *ptr, size_t size)
{
	return check_alloc(realloc(ptr, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check_alloc(strndup(s, n));
}

char *xstrfmt(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sb_detach(&sb);
}

void sb_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	if (need < sb->alloc * 2)
		need = sb->alloc * 2;
	if (need < 64)
		need = 64;
	sb->buf = xrealloc(sb->buf, need);
	sb->alloc = need;
	if (!sb->len)
		sb->buf[0] = '\0';
}

void sb_add(struct strbuf *sb, const void *data, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	sb_add(sb, &ch, 1);
}

void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	sb_grow(sb, 64);
	va_copy(again, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	if (n < 0)
		die("vsnprintf failed on '%s'", fmt);
	if ((size_t)n >= sb->alloc - sb->len) {
		sb_grow(sb, n);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, again);
	}
	va_end(again);
	sb->len += n;
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

char *sb_detach(struct strbuf *sb)
{
	char *buf = sb->buf ? sb->buf : xstrdup("");

	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return buf;
}

void sb_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

int sb_read_fd(struct strbuf *sb, int fd)
{
	ssize_t n;

	for (;;) {
		sb_grow(sb, 8192);
		n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sb->len += n;
		sb->buf[sb->len] = '\0';
	}
	return n < 0 ? -1 : 0;
}

int sb_read_file(struct strbuf *sb, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret, saved;

	if (fd < 0)
		return -1;
	ret = sb_read_fd(sb, fd);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

void strlist_push(struct strlist *list, const char *s)
{
	if (list->nr + 1 >= list->alloc) {
		list->alloc = list->alloc ? list->alloc * 2 : 4;
		list->items = xrealloc(list->items, list->alloc * sizeof(*list->items));
	}
	list->items[list->nr++] = xstrdup(s);
	list->items[list->nr] = NULL;
}

void strlist_copy(struct strlist *dst, const struct strlist *src)
{
	size_t i;

	strlist_clear(dst);
	for (i = 0; i < src->nr; i++)
		strlist_push(dst, src->items[i]);
}

void strlist_clear(struct strlist *list)
{
	size_t i;

	for (i = 0; i < list->nr; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->nr = list->alloc = 0;
}
