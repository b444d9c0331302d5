/* Slugs, quoting and escaping of untrusted text, paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "agent.h"

static int is_alnum_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char *slugify(const char *title, size_t max)
{
	struct strbuf slug = STRBUF_INIT;
	const unsigned char *p;
	int pending_dash = 0;

	for (p = (const unsigned char *)title; *p; p++) {
		if (!is_alnum_ascii(*p)) {
			pending_dash = slug.len > 0;
			continue;
		}
		if (pending_dash)
			sb_addch(&slug, '-');
		pending_dash = 0;
		sb_addch(&slug, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (slug.len > max)
			break;
	}
	if (slug.len > max) {
		/* Cut at the last '-' that keeps it within max; else cut hard. */
		char *cut = NULL;
		size_t i;

		for (i = 1; i <= max; i++)
			if (slug.buf[i] == '-')
				cut = slug.buf + i;
		slug.len = cut ? (size_t)(cut - slug.buf) : max;
		slug.buf[slug.len] = '\0';
	}
	if (!slug.len)
		sb_adds(&slug, "task");
	return sb_detach(&slug);
}

int slug_is_valid(const char *slug)
{
	const char *p;

	if (!*slug || strlen(slug) > SLUG_MAX || *slug == '-')
		return 0;
	for (p = slug; *p; p++) {
		if (*p == '-') {
			if (p[1] == '-' || !p[1])
				return 0;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
			return 0;
		}
	}
	return 1;
}

void sq_quote(struct strbuf *out, const char *s)
{
	sb_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_adds(out, "'\\''");
		else
			sb_addch(out, *s);
	}
	sb_addch(out, '\'');
}

/*
 * Length of the UTF-8 sequence at s (1-4), or 0 when it is not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included).
 */
static size_t utf8_seq(const unsigned char *s, size_t avail, unsigned *cp)
{
	size_t n, i;
	unsigned c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		if (!(n = utf8_seq(p + i, len - i, &cp)) || !cp)
			return 0;
		i += n;
	}
	return 1;
}

/* C1 controls and the bidirectional controls that reorder what is shown. */
static int is_dangerous_code_point(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

void escape_control(struct strbuf *out, const char *s)
{
	escape_control_keeping(out, s, "");
}

void escape_control_keeping(struct strbuf *out, const char *s, const char *keep)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	unsigned cp;

	while (i < len) {
		n = utf8_seq(p + i, len - i, &cp);
		if (!n) {
			sb_addf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (cp < 0x80 && strchr(keep, (int)cp))
			sb_addch(out, (int)cp);
		else if (cp == '\n')
			sb_adds(out, "\\n");
		else if (cp == '\t')
			sb_adds(out, "\\t");
		else if (cp == '\r')
			sb_adds(out, "\\r");
		else if (cp < 0x20 || cp == 0x7f)
			sb_addf(out, "\\x%02x", cp);
		else if (is_dangerous_code_point(cp))
			sb_addf(out, "\\u%04x", cp);
		else
			sb_add(out, p + i, n);
		i += n;
	}
}

void escape_json_for_terminal(struct strbuf *out, const char *json, size_t len)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		n = utf8_seq(p + i, len - i, &cp);
		if (!n) {
			sb_adds(out, "\\ufffd");	/* not JSON: nothing raw either */
			i++;
			continue;
		}
		if (cp == 0x7f || is_dangerous_code_point(cp))
			sb_addf(out, "\\u%04x", cp);
		else if (cp != '\r')	/* whitespace between values: it would move the cursor */
			sb_add(out, p + i, n);
		i += n;
	}
}

const char *esc(const char *s)
{
	static struct strbuf ring[8];
	static unsigned next;
	struct strbuf *sb = &ring[next++ % 8];

	sb_reset(sb);
	escape_control(sb, s);
	return sb->buf ? sb->buf : "";
}

const char *esc_free(char *s)
{
	int saved = errno;	/* for the die_errno() it is an argument of */
	const char *shown = esc(s);

	free(s);
	errno = saved;
	return shown;
}

void utf8_lossy(struct strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	unsigned cp;

	while (i < len) {
		n = utf8_seq(p + i, len - i, &cp);
		if (!n) {
			sb_adds(out, "\xef\xbf\xbd");
			i++;
		} else {
			sb_add(out, p + i, n);
			i += n;
		}
	}
}

void md_escape_line(struct strbuf *out, const char *s)
{
	struct strbuf plain = STRBUF_INIT;
	const char *p;

	escape_control(&plain, s);
	for (p = plain.buf ? plain.buf : ""; *p; p++) {
		if (strchr("\\`*_{}[]()<>#+-.!|~&", *p))
			sb_addch(out, '\\');
		sb_addch(out, *p);
	}
	sb_release(&plain);
}

/* The longest run of backticks in s: a code span or fence must be longer. */
static size_t longest_backtick_run(const char *s)
{
	size_t run = 0, longest = 0;

	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	return longest;
}

void md_code(struct strbuf *out, const char *s)
{
	struct strbuf body = STRBUF_INIT;
	size_t longest, i;

	escape_control(&body, s);
	longest = longest_backtick_run(body.buf ? body.buf : "");
	for (i = 0; i <= longest; i++)
		sb_addch(out, '`');
	if (longest)
		sb_addch(out, ' ');
	if (body.len)
		sb_add(out, body.buf, body.len);
	if (longest)
		sb_addch(out, ' ');
	for (i = 0; i <= longest; i++)
		sb_addch(out, '`');
	sb_release(&body);
}

void md_fenced(struct strbuf *out, const char *s)
{
	struct strbuf body = STRBUF_INIT;
	size_t longest, fence, i;

	escape_control_keeping(&body, s, "\n");
	longest = longest_backtick_run(body.buf ? body.buf : "");
	fence = longest >= 3 ? longest + 1 : 3;
	for (i = 0; i < fence; i++)
		sb_addch(out, '`');
	sb_adds(out, "text\n");
	if (body.len) {
		sb_add(out, body.buf, body.len);
		if (body.buf[body.len - 1] != '\n')
			sb_addch(out, '\n');
	}
	for (i = 0; i < fence; i++)
		sb_addch(out, '`');
	sb_addch(out, '\n');
	sb_release(&body);
}

int task_port(const char *slug)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *slug; slug++) {
		h ^= (unsigned char)*slug;
		h *= 16777619u;
	}
	return 10000 + (int)(h % 10000);
}

void format_time_utc(char out[32], long long ms)
{
	time_t t = (time_t)(ms / 1000 - (ms < 0 && ms % 1000));
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
		 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100,
		 (int)(((ms % 1000) + 1000) % 1000));
}

void format_timestamp(char out[32])
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	format_time_utc(out, (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

char *path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return xstrfmt("%.*s/%s", (int)len, dir, name);
}

char *path_resolve(const char *base, const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || !path[1])) {
		const char *home = getenv("HOME");

		if (!home)
			die("cannot expand '%s': HOME is not set", path);
		return xstrfmt("%s%s", home, path + 1);
	}
	if (path[0] == '/')
		return xstrdup(path);
	return path_join(base, path);
}

/*
 * Like `realpath -m`: symlinks are resolved one component at a time, even
 * dangling ones; once a component is missing, the rest is taken as written,
 * with "." and ".." resolved lexically.
 */
char *path_canonical(const char *path)
{
	struct strbuf out = STRBUF_INIT, todo = STRBUF_INIT;
	size_t pos = 0;
	int links = 0;

	if (path[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			die_errno("cannot get the current directory");
		sb_adds(&todo, cwd);
		sb_addch(&todo, '/');
		free(cwd);
	}
	sb_adds(&todo, path);
	while (pos < todo.len) {
		const char *comp = todo.buf + pos;
		size_t n = strcspn(comp, "/");
		struct stat st;

		pos += n + (comp[n] == '/');
		if (!n || (n == 1 && comp[0] == '.'))
			continue;
		if (n == 2 && comp[0] == '.' && comp[1] == '.') {
			char *slash = out.len ? strrchr(out.buf, '/') : NULL;

			out.len = slash ? (size_t)(slash - out.buf) : 0;
			if (out.buf)
				out.buf[out.len] = '\0';
			continue;
		}
		sb_addch(&out, '/');
		sb_add(&out, comp, n);
		/* Below a missing component lstat() fails too: taken as written. */
		if (!lstat(out.buf, &st) && S_ISLNK(st.st_mode) && links++ < 40) {
			char target[PATH_MAX];
			ssize_t len = readlink(out.buf, target, sizeof(target) - 1);
			struct strbuf rest = STRBUF_INIT;

			if (len < 0)
				continue;
			target[len] = '\0';
			/* Splice the target in place of the link and go on from there. */
			out.len -= n + 1;
			out.buf[out.len] = '\0';
			if (target[0] == '/')
				sb_reset(&out);
			sb_adds(&rest, target);
			sb_addch(&rest, '/');
			sb_add(&rest, todo.buf + pos, todo.len - pos);
			sb_release(&todo);
			todo = rest;
			pos = 0;
		}
	}
	if (!out.len)
		sb_addch(&out, '/');
	sb_release(&todo);
	return sb_detach(&out);
}

int path_is_inside(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	if (len == 1 && dir[0] == '/')
		return 1;
	return !strncmp(path, dir, len) && (path[len] == '/' || !path[len]);
}

int mkdir_p(const char *path, mode_t mode)
{
	char *copy, *p;
	int ret = 0;

	if (!*path) {
		errno = ENOENT;
		return -1;
	}
	copy = xstrdup(path);
	for (p = copy + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		{
			char saved = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				ret = -1;
				break;
			}
			*p = saved;
		}
		if (!*p)
			break;
	}
	if (!ret) {
		struct stat st;

		if (stat(path, &st) < 0)
			ret = -1;
		else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			ret = -1;
		}
	}
	free(copy);
	return ret;
}

int remove_tree(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if (!(dir = opendir(path)))
		return -1;
	while ((de = readdir(dir))) {
		char *child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = path_join(path, de->d_name);
		if (remove_tree(child) < 0)
			ret = -1;
		free(child);
	}
	closedir(dir);
	if (rmdir(path) < 0)
		ret = -1;
	return ret;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int mkdir_for(const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ret;

	if (!slash || slash == path)
		return 0;
	dir = xstrndup(path, slash - path);
	ret = mkdir_p(dir, mode);
	free(dir);
	return ret;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xstrfmt("%s.tmp-%ld", path, (long)getpid());
	int fd, saved;

	/* A new file, so the umask applies as it does to any file we create. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || write_all(fd, data, len) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}
