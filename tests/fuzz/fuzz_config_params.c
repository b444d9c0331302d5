/*
 * parse_config_parameters(): GIT_CONFIG_PARAMETERS, the `git -c` values git
 * hands its subcommands in the environment.
 *
 * Properties:
 * - no crash, no leak, accepted or refused;
 * - every key it gives has its section and variable name lower-cased (the
 *   subsection keeps its case), as git canonicalises keys;
 * - whatever git 2.39 itself accepts, it accepts with the same pairs: a
 *   model of git's reader written here from git-config(1) and git's quoting
 *   rules (git refuses malformed strings and invalid keys, which then never
 *   reach us: on those the parser may do anything but crash);
 * - pairs written as git writes them ('key'='value', 'key'= for a key alone,
 *   and the old 'key=value' of git before 2.31) are read back exactly.
 */
#include "fuzz.h"

static int git_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';	/* git's isspace() */
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Section and variable name lower-cased, the subsection as it is. */
static void check_canonical(const char *key)
{
	const char *first = strchr(key, '.'), *last = strrchr(key, '.'), *p;

	for (p = key; *p; p++)
		if ((!first || p < first || p > last) && *p >= 'A' && *p <= 'Z')
			fuzz_fail("key '%s' is not lower-cased", fuzz_show(key, strlen(key)));
}

struct pairs {
	struct config_param *items;
	size_t nr, alloc;
};

static void push_pair(struct pairs *p, char *key, char *value)
{
	if (p->nr == p->alloc) {
		p->alloc = p->alloc ? 2 * p->alloc : 8;
		p->items = xrealloc(p->items, p->alloc * sizeof(*p->items));
	}
	p->items[p->nr].key = key;
	p->items[p->nr].value = value;
	p->nr++;
}

/*
 * git's rules for a key (git-config(1)): section and variable name are
 * letters, digits and '-', the name starting with a letter, both compared
 * without case; a subsection (between the first and the last dot) holds
 * anything but a newline. The canonical key, or NULL when git refuses it.
 */
static char *git_key(const char *key)
{
	const char *first = strchr(key, '.'), *last = strrchr(key, '.'), *p;
	char *out, *o;

	if (!last || last == key || !last[1])
		return NULL;
	out = o = xstrdup(key);
	for (p = key; *p; p++, o++) {
		int outside = p < first || p > last;
		int c = (unsigned char)*p;

		if (outside && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '-'))
			goto bad;
		if (p == last + 1 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			goto bad;
		if (!outside && c == '\n')
			goto bad;
		*o = (char)(outside ? lower(c) : c);
	}
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * One single-quoted word as git's sq_quote writes it: '...', with ' and !
 * written as '\'' and '\!'. *p moves past it, to NULL at the end of the
 * string.
 */
static int git_dequote(const char **p, struct strbuf *out)
{
	const char *s = *p;

	if (*s++ != '\'')
		return -1;
	for (;;) {
		if (!*s)
			return -1;
		if (*s != '\'') {
			sb_addch(out, *s++);
			continue;
		}
		s++;
		if (s[0] == '\\' && (s[1] == '\'' || s[1] == '!') && s[2] == '\'') {
			sb_addch(out, s[1]);
			s += 3;
			continue;
		}
		*p = *s ? s : NULL;
		return 0;
	}
}

/* The old 'key=value': the key trimmed, no key an error, no '=' no value. */
static int git_old_pair(const char *text, struct pairs *out)
{
	const char *eq = strchr(text, '='), *start = text, *end = eq ? eq : text + strlen(text);
	char *name, *key;

	while (start < end && git_space(*start))
		start++;
	while (end > start && git_space(end[-1]))
		end--;
	if (start == end)
		return -1;
	name = xstrndup(start, (size_t)(end - start));
	key = git_key(name);
	free(name);
	if (!key)
		return -1;
	push_pair(out, key, eq ? xstrdup(eq + 1) : NULL);
	return 0;
}

/* What git 2.39 reads from GIT_CONFIG_PARAMETERS: 0, or -1 where git dies. */
static int git_model(const char *env, struct pairs *out)
{
	const char *cur = env;
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	int ret = -1;

	while (cur && *cur) {
		sb_reset(&key);
		sb_reset(&value);
		if (git_dequote(&cur, &key) < 0)
			goto done;
		if (!cur || git_space(*cur)) {
			if (git_old_pair(key.buf ? key.buf : "", out) < 0)
				goto done;
		} else if (*cur == '=') {
			char *canonical;
			int has_value = 0;

			cur++;
			if (*cur == '\'') {
				if (git_dequote(&cur, &value) < 0 || (cur && !git_space(*cur)))
					goto done;
				has_value = 1;
			} else if (*cur && !git_space(*cur)) {
				goto done;
			}
			if (!(canonical = git_key(key.buf ? key.buf : "")))
				goto done;
			push_pair(out, canonical, has_value ? xstrdup(value.buf ? value.buf : "") : NULL);
		} else {
			goto done;
		}
		while (cur && git_space(*cur))
			cur++;
	}
	ret = 0;
done:
	sb_release(&key);
	sb_release(&value);
	return ret;
}

static void check_same(const char *env, const struct config_param *got, size_t nr,
		       const struct pairs *want)
{
	size_t i;

	fuzz_check(nr == want->nr, "'%s': %zu pairs, git reads %zu", fuzz_show(env, strlen(env)),
		   nr, want->nr);
	for (i = 0; i < nr; i++) {
		const char *v = got[i].value, *w = want->items[i].value;

		fuzz_check(!strcmp(got[i].key, want->items[i].key), "'%s': key '%s', git reads '%s'",
			   fuzz_show(env, strlen(env)), fuzz_show(got[i].key, strlen(got[i].key)),
			   fuzz_show(want->items[i].key, strlen(want->items[i].key)));
		fuzz_check((!v && !w) || (v && w && !strcmp(v, w)),
			   "'%s': %s = '%s', git reads '%s'", fuzz_show(env, strlen(env)), got[i].key,
			   v ? fuzz_show(v, strlen(v)) : "(none)", w ? fuzz_show(w, strlen(w)) : "(none)");
	}
}

/* Parses env and holds it to the model of git. */
static void check_env(const char *env)
{
	struct config_param *params = NULL;
	struct pairs model = { NULL, 0, 0 };
	size_t nr = 0, i;
	int ours = parse_config_parameters(env, &params, &nr);
	int gits = git_model(env, &model);

	if (!ours)
		for (i = 0; i < nr; i++)
			check_canonical(params[i].key);
	if (!gits) {
		fuzz_check(!ours, "'%s' refused, but git reads it", fuzz_show(env, strlen(env)));
		check_same(env, params, nr, &model);
	}
	if (!ours)
		free_config_params(params, nr);
	free_config_params(model.items, model.nr);
}

/* git's sq_quote_buf(): ' and ! leave the quotes as \' and \!. */
static void git_quote(struct strbuf *out, const char *s)
{
	sb_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '!')
			sb_addf(out, "'\\%c'", *s);
		else
			sb_addch(out, *s);
	}
	sb_addch(out, '\'');
}

/*
 * Pairs from the input, written as git writes them: fields separated by
 * 0x01 make key, value, key, value...; a value starting with 0x02 is none
 * (`git -c key`); a key starting with 0x03 is written in the old format.
 */
static void check_written(const uint8_t *data, size_t size)
{
	struct strbuf env = STRBUF_INIT;
	struct pairs want = { NULL, 0, 0 };
	struct config_param *params = NULL;
	size_t nr = 0;

	while (size) {
		char *key = fuzz_take(&data, &size, 0x01), *value = fuzz_take(&data, &size, 0x01);
		int old = key[0] == 0x03, none = value[0] == 0x02;
		const char *k = key + old;
		char *canonical = git_key(k);

		if (canonical && (!old || !strchr(k, '='))) {
			if (env.len)
				sb_addch(&env, ' ');
			if (old) {
				char *kv = none ? xstrdup(k) : xstrfmt("%s=%s", k, value);

				git_quote(&env, kv);
				free(kv);
			} else {
				git_quote(&env, k);
				sb_addch(&env, '=');
				if (!none)
					git_quote(&env, value);
			}
			push_pair(&want, canonical, none ? NULL : xstrdup(value));
		} else {
			free(canonical);	/* git refuses such a key: it is never written */
		}
		free(key);
		free(value);
	}
	fuzz_check(!parse_config_parameters(env.buf ? env.buf : "", &params, &nr),
		   "refused what git writes: '%s'", fuzz_show(env.buf ? env.buf : "", env.len));
	check_same(env.buf ? env.buf : "", params, nr, &want);
	free_config_params(params, nr);
	free_config_params(want.items, want.nr);
	sb_release(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env = fuzz_string(data, size);

	check_env(env);
	free(env);
	check_written(data, size);
	return 0;
}
