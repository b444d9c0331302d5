/*
 * slugify(), sq_quote() and escape_control() on arbitrary text.
 *
 * Properties: the quoted form, undone by the POSIX sh rules for quote removal
 * (a reference written here), is the input; the slug matches
 * [a-z0-9]+(-[a-z0-9]+)* and is at most SLUG_MAX characters (checked by a
 * matcher written here, and slug_is_valid() must agree with it on any
 * text); escaped text holds no C0 control, DEL, C1 control or bidirectional
 * control, and is valid UTF-8.
 */
#include "fuzz.h"

/* The slug pattern, at most max characters, written without slug_is_valid(). */
static int is_slug(const char *s, size_t max)
{
	size_t len = strlen(s), i;

	if (!len || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		/* A dash only between two runs of [a-z0-9]. */
		if (c != '-' || i == 0 || i == len - 1 || s[i + 1] == '-')
			return 0;
	}
	return 1;
}

/*
 * One shell word as sh reads it (XCU 2.2 Quoting, 2.6.7 Quote Removal),
 * quotes removed: single quotes keep everything up to the next one; outside
 * them a backslash keeps the next character and backslash-newline goes
 * away. Anything else that sh would not read as a plain character of one
 * word (blanks, operators, expansions, double quotes, globs, ~, #) is
 * refused, as is an unterminated quote: the quoted form must be one
 * literal word. Returns -1 when it is not.
 */
static int sh_unquote_word(const char *s, struct strbuf *out)
{
	int quoted = 0;

	for (; *s; s++) {
		if (quoted) {
			if (*s == '\'')
				quoted = 0;
			else
				sb_addch(out, *s);
		} else if (*s == '\'') {
			quoted = 1;
		} else if (*s == '\\') {
			if (!*++s)
				return -1;
			if (*s != '\n')
				sb_addch(out, *s);
		} else if (strchr(" \t\n|&;<>()$`\"*?[#~=%", *s)) {
			return -1;
		} else {
			sb_addch(out, *s);
		}
	}
	return quoted ? -1 : 0;
}

static void check_quote(const char *text)
{
	struct strbuf quoted = STRBUF_INIT, back = STRBUF_INIT;

	sb_adds(&quoted, "x=");	/* sq_quote appends to what is there */
	sq_quote(&quoted, text);
	fuzz_check(!strncmp(quoted.buf, "x=", 2), "sq_quote replaced what was in the buffer");
	fuzz_check(!sh_unquote_word(quoted.buf + 2, &back), "sq_quote('%s') is no single sh word: %s",
		   fuzz_show(text, strlen(text)), fuzz_show(quoted.buf, quoted.len));
	fuzz_check(back.len == strlen(text) && (!back.len || !memcmp(back.buf, text, back.len)),
		   "sh reads sq_quote('%s') as '%s'", fuzz_show(text, strlen(text)),
		   fuzz_show(back.buf ? back.buf : "", back.len));
	sb_release(&quoted);
	sb_release(&back);
}

static void check_slug(const char *text, size_t max)
{
	char *slug = slugify(text, max), *again;

	fuzz_check(is_slug(slug, max), "slugify('%s', %zu) = '%s'", fuzz_show(text, strlen(text)),
		   max, slug);
	if (max == SLUG_MAX)
		fuzz_check(slug_is_valid(slug), "slug_is_valid refuses slugify's '%s'", slug);
	again = slugify(slug, max);
	fuzz_check(!strcmp(again, slug), "slugify('%s') = '%s': a slug is not its own slug", slug,
		   again);
	free(again);
	free(slug);
}

/* The next UTF-8 character (strict: no overlong form, surrogate, or past U+10FFFF). */
static size_t utf8_next(const unsigned char *p, size_t avail, unsigned *cp)
{
	size_t n, i;
	unsigned min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80, *cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800, *cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000, *cp = p[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

static int is_bidi_control(unsigned cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

static void check_escaped(const char *text, const char *keep)
{
	struct strbuf out = STRBUF_INIT;
	const unsigned char *p;
	size_t i = 0, n;
	unsigned cp;

	escape_control_keeping(&out, text, keep);
	p = (const unsigned char *)(out.buf ? out.buf : "");
	while (i < out.len) {
		n = utf8_next(p + i, out.len - i, &cp);
		fuzz_check(n > 0, "escaping '%s' gives invalid UTF-8 at byte %zu",
			   fuzz_show(text, strlen(text)), i);
		fuzz_check(cp && (cp >= 0x20 || strchr(keep, (int)cp)) && cp != 0x7f &&
			   !(cp >= 0x80 && cp <= 0x9f) && !is_bidi_control(cp),
			   "escaping '%s' leaves U+%04X", fuzz_show(text, strlen(text)), cp);
		i += n;
	}
	fuzz_check(strlen((const char *)p) == out.len, "escaped text holds a NUL byte");
	sb_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	/* Limits other than SLUG_MAX too, from 4 ("task" must fit) to 80. */
	size_t max = 4 + (size ? data[size - 1] % 77 : 0);

	check_quote(text);
	check_slug(text, SLUG_MAX);
	check_slug(text, max);
	fuzz_check(slug_is_valid(text) == is_slug(text, SLUG_MAX), "slug_is_valid('%s') = %d",
		   fuzz_show(text, size), slug_is_valid(text));
	check_escaped(text, "");
	check_escaped(text, "\n");
	free(text);
	return 0;
}
