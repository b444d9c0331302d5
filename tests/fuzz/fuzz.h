/*
 * What the libFuzzer targets share. A property that does not hold aborts
 * with a message, which libFuzzer reports as a crash and keeps the input of,
 * like any sanitizer report.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline FORMAT(1, 2) NORETURN void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("property failed: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* The message and its arguments are only worked out when the property fails. */
#define fuzz_check(ok, ...) do { if (!(ok)) fuzz_fail(__VA_ARGS__); } while (0)

/* The input as a C string: it ends at its first NUL byte, if any. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Cuts the first part, up to a separator byte, off the input: *data and
 * *size move past it. Without the separator the whole input is the part.
 */
static inline char *fuzz_take(const uint8_t **data, size_t *size, uint8_t separator)
{
	const uint8_t *end = memchr(*data, separator, *size);
	size_t n = end ? (size_t)(end - *data) : *size;
	char *part = fuzz_string(*data, n);

	*data += end ? n + 1 : n;
	*size -= end ? n + 1 : n;
	return part;
}

/* Printable, for a property message: the first 200 bytes, escaped (four live at once). */
static inline const char *fuzz_show(const char *s, size_t len)
{
	static struct strbuf ring[4];
	static unsigned next;
	struct strbuf *out = &ring[next++ % 4];
	char *copy = xstrndup(s, len < 200 ? len : 200);

	sb_reset(out);
	escape_control(out, copy);
	free(copy);
	return out->buf ? out->buf : "";
}

#endif
