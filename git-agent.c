/*
 * git-agent: the dispatcher. git looks up only the first word of
 * `git agent spawn ...`, so this execs git-agent-<command>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static const struct command {
	const char *name;
	const char *description;
} commands[] = {
	{ "spawn", "turn a task into a packet, a branch and an isolated worktree" },
	{ "review", "record evidence of a task's work, and merge or abandon it" },
	{ "trace", "print, filter, follow and summarize the event log" },
};

static void print_usage(FILE *out)
{
	size_t i;

	fputs("usage: git agent <command> [<args>]\n"
	      "   or: git agent help <command>\n"
	      "   or: git agent --version\n"
	      "\ncommands:\n", out);
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(out, "   %-10s %s\n", commands[i].name, commands[i].description);
	fputs("\nSee 'git agent help <command>' for the manual of a command.\n", out);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

NORETURN static void unknown_command(const char *name)
{
	fprintf(stderr, "git agent: '%s' is not a git agent command. See 'git agent -h'.\n",
		esc(name));
	exit(EXIT_USAGE);
}

/* The directory this program was run from, so an uninstalled build works. */
static char *own_directory(void)
{
	char *self = realpath("/proc/self/exe", NULL);
	char *slash;

	if (!self)
		return NULL;
	slash = strrchr(self, '/');
	*slash = '\0';
	return self;
}

NORETURN static void run_command(const struct command *cmd, int argc, char **argv)
{
	char *program = xstrfmt("git-agent-%s", cmd->name);
	char *dir = own_directory();

	argv[0] = program;
	if (dir) {
		char *path = path_join(dir, program);

		execv(path, argv);
		free(path);
		free(dir);
	}
	execvp(program, argv);
	(void)argc;
	if (errno == ENOENT)
		die("'%s' is not installed: git-agent-%s was not found next to git-agent or on PATH",
		    cmd->name, cmd->name);
	die_errno("cannot run '%s'", program);
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2)
		print_usage(stderr), exit(EXIT_USAGE);
	if (!strcmp(argv[1], "-h")) {
		print_usage(stdout);
		finish_stdout();
		exit(EXIT_USAGE);
	}
	if (!strcmp(argv[1], "--version")) {
		printf("git agent version %s\n", AGENT_VERSION);
		finish_stdout();
		return 0;
	}
	if (!strcmp(argv[1], "--help"))
		show_man_page(NULL);
	if (!strcmp(argv[1], "help")) {
		if (argc < 3)
			show_man_page(NULL);
		if (!find_command(argv[2]))
			unknown_command(argv[2]);
		show_man_page(argv[2]);
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "git agent: unknown option '%s'\n", esc(argv[1]));
		print_usage(stderr);
		exit(EXIT_USAGE);
	}
	if (!(cmd = find_command(argv[1])))
		unknown_command(argv[1]);
	if (argc > 2 && !strcmp(argv[2], "--help"))
		show_man_page(cmd->name);
	run_command(cmd, argc - 1, argv + 1);
}
