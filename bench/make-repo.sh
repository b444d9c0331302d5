#!/bin/sh
# make-repo.sh DIR [FILES]
#
# Create a deterministic, realistic-looking git repository at DIR with FILES
# tracked files (default 5000): nested directories (up to 6 levels), text files
# of 100 B - 20 KB (log-uniform sizes, source-code-like or prose-like lines),
# a few binary files (random bytes with a PNG header), a few executable
# scripts, a .gitignore plus some ignored build output in the working tree, and
# three commits with fixed authors and dates (the commit ids are the same on
# every run and machine).  The objects are packed, as in a fresh clone.
#
# Contents come from a Park-Miller generator with a fixed seed implemented in
# awk (no $RANDOM, no awk srand(): those differ between shells and awks).
#
# If DIR already exists (file, directory or anything else) the script REFUSES
# and exits 1 without touching it; remove it yourself (bench/spawn.sh does).
set -eu

usage() {
	echo "usage: make-repo.sh DIR [FILES]" >&2
	exit 129
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
dir=$1
files=${2:-5000}
case $files in
'' | *[!0-9]*) echo "make-repo.sh: FILES must be a number, got '$files'" >&2; exit 129 ;;
esac
if [ "$files" -lt 10 ]; then
	echo "make-repo.sh: FILES must be at least 10" >&2
	exit 129
fi
if [ -e "$dir" ] || [ -L "$dir" ]; then
	echo "make-repo.sh: '$dir' already exists; refusing to overwrite it (remove it first)" >&2
	exit 1
fi

umask 022
LC_ALL=C
export LC_ALL
# Fixed identity and dates: same commit ids everywhere, no user config needed.
GIT_AUTHOR_NAME='Bench Author'
GIT_AUTHOR_EMAIL='bench@example.com'
GIT_COMMITTER_NAME='Bench Author'
GIT_COMMITTER_EMAIL='bench@example.com'
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

mkdir -p "$dir"
cd "$dir"
git -c init.defaultBranch=main init -q .
git config user.name "$GIT_AUTHOR_NAME"
git config user.email "$GIT_AUTHOR_EMAIL"
git config core.autocrlf false
git config commit.gpgsign false
git config gc.auto 0

# Scratch lists live inside .git so the working tree stays clean.
meta=.git/make-repo
mkdir "$meta"

# Generate FILES - 2 files (plus .gitignore and CHANGELOG.md = FILES tracked).
awk -v nfiles=$((files - 2)) -v meta="$meta" '
function rnd() { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
function irand(n) { return int(rnd() * n) }
function pick(arr, n) { return arr[irand(n) + 1] }
function ident(  s) { s = pick(W, nw); if (rnd() < 0.5) s = s "_" pick(W, nw); return s }
function codeline(  ind, r) {
	ind = substr("                ", 1, 4 * irand(4))
	r = irand(8)
	if (r == 0) return ind "/* " pick(W, nw) " " pick(W, nw) " " pick(W, nw) " " pick(W, nw) " */"
	if (r == 1) return ind "if (" ident() " " pick(OP, nop) " " irand(1000) ") {"
	if (r == 2) return ind "}"
	if (r == 3) return ind "return " ident() "(" ident() ", " irand(256) ");"
	if (r == 4) return ""
	return ind ident() " = " ident() "(" ident() ", " ident() ") " pick(OP, nop) " " irand(65536) ";"
}
function proseline(  s, k, n) {
	n = 4 + irand(14); s = toupper(substr(pick(W, nw), 1, 1)) substr(pick(W, nw), 2)
	for (k = 1; k < n; k++) s = s " " pick(W, nw)
	return s "."
}
BEGIN {
	seed = 20240101
	nw = split("alpha beta gamma delta buffer cache index entry object tree commit blob " \
		"parse render config option value table record stream reader writer queue " \
		"node graph path file folder packet task agent worker branch remote fetch merge " \
		"review trace event status report setup check build test unit layout widget " \
		"session token socket server client handler request response header payload " \
		"matrix vector layer model shader texture sprite sound input output device", W, " ")
	nop = split("+ - * / & | ^ == != < >", OP, " ")
	ntop = split("src lib include tests docs tools assets vendor config scripts", TOP, " ")
	# Pools of lines; a file is a contiguous run of lines from a pool.
	np = 16384
	for (i = 0; i < np; i++) { CODE[i] = codeline(); PROSE[i] = proseline() }

	# Directory tree: the top-level directories, then random children.
	nd = 0
	for (i = 1; i <= ntop; i++) { D[++nd] = TOP[i]; DEPTH[nd] = 1; TOPOF[nd] = TOP[i]; SEEN[TOP[i]] = 1 }
	want = int(nfiles / 12); if (want < ntop + 2) want = ntop + 2
	while (nd < want) {
		# Of two random candidates take the shallower: bushy, not stringy.
		p = irand(nd) + 1; q = irand(nd) + 1
		if (DEPTH[q] < DEPTH[p]) p = q
		if (DEPTH[p] >= 6) continue
		d = D[p] "/" pick(W, nw)
		if (d in SEEN) d = d irand(100)
		if (d in SEEN) continue
		SEEN[d] = 1; D[++nd] = d; DEPTH[nd] = DEPTH[p] + 1; TOPOF[nd] = TOPOF[p]
	}
	dl = meta "/dirs"
	for (i = 1; i <= nd; i++) print D[i] > dl
	close(dl)
	if (system("xargs mkdir -p < " dl) != 0) exit 1

	nbin = int(nfiles / 600); if (nbin < 3) nbin = 3
	nexe = int(nfiles / 400); if (nexe < 2) nexe = 2
	bl = meta "/binaries"; xl = meta "/executables"; ml = meta "/modify"
	for (f = 1; f <= nfiles; f++) {
		if (f <= nbin) {
			# Binary: random bytes after a PNG signature, 1 KB - 20 KB.
			name = "assets/" pick(W, nw) "_" f ".png"
			size = 1024 + irand(19 * 1024)
			ef = meta "/bin" f
			printf "%s", "\\0211PNG\\015\\012\\032\\012" > ef
			for (k = 8; k < size; k += 64) {
				esc = ""
				for (j = k; j < k + 64 && j < size; j++) esc = esc sprintf("\\0%o", irand(256))
				printf "%s", esc > ef
			}
			close(ef)
			print name "\t" ef > bl
			continue
		}
		if (f <= nbin + nexe) {
			name = "scripts/" pick(W, nw) "-" f ".sh"; kind = "code"
			print name > xl
		} else {
			d = irand(nd) + 1; top = TOPOF[d]
			if (top == "docs") ext = ".md"
			else if (top == "include") ext = ".h"
			else if (top == "config") ext = (rnd() < 0.5) ? ".json" : ".yml"
			else if (top == "tests") ext = (rnd() < 0.5) ? ".c" : ".py"
			else if (top == "scripts") ext = (rnd() < 0.5) ? ".sh" : ".py"
			else { r = irand(10); ext = (r < 5) ? ".c" : (r < 8) ? ".h" : (r < 9) ? ".py" : ".txt" }
			kind = (ext == ".md" || ext == ".txt") ? "prose" : "code"
			name = D[d] "/" ident() ext
			if (name in SEEN) name = D[d] "/" ident() "_" f ext
			if (name in SEEN) { f--; continue }
		}
		SEEN[name] = 1
		# Log-uniform size between 100 B and 20 KB.
		size = int(100 * exp(rnd() * log(200)))
		start = irand(np); n = 0
		while (1) {
			line = (kind == "code") ? CODE[(start + n) % np] : PROSE[(start + n) % np]
			if (n >= 100 && n + length(line) + 1 > size) break
			printf "%s\n", line > name
			n += length(line) + 1
		}
		close(name)
		if (f % 37 == 0) print name > ml
	}
	close(bl); close(xl); close(ml)
}'

# Binary files (printf %b turns the \0ooo escapes into bytes, NULs included).
while IFS='	' read -r name ef; do
	printf '%b' "$(cat "$ef")" > "$name"
done < "$meta/binaries"
xargs chmod 755 < "$meta/executables"

cat > .gitignore <<'EOF'
# build output
/build/
*.o
*.a
*.so
# tooling
*.log
.env
__pycache__/
*.pyc
/node_modules/
.DS_Store
EOF

commit() { # commit DAY MESSAGE
	GIT_AUTHOR_DATE="2024-01-0$1T12:00:00Z" GIT_COMMITTER_DATE="2024-01-0$1T12:00:00Z" \
		git commit -q -m "$2"
}

git add -A
commit 1 "Initial import"

# Second commit: append a line to every 37th text file.
while IFS= read -r name; do
	printf '%s\n' "/* revised */" >> "$name"
done < "$meta/modify"
git add -A
commit 2 "Revise some files"

# Third commit: a rename and a new file.
first=$(head -n 1 "$meta/modify")
git mv "$first" "$first.old"
printf '# Changelog\n\n- Initial import\n- Revise some files\n' > CHANGELOG.md
git add -A
commit 3 "Add changelog, rename a file"
indexed=$(date +%s)

# Ignored build output (untracked but ignored: the worktree stays clean).
mkdir -p build/obj node_modules/pkg
for i in 1 2 3 4 5 6 7 8; do
	printf 'object %s\n' "$i" > "build/obj/unit$i.o"
done
printf 'log\n' > build.log
printf '{}\n' > node_modules/pkg/package.json

rm -rf "$meta"
git repack -a -d -q
git prune-packed
git pack-refs --all

# No "racily clean" index entries (files changed in the second the index was
# written): git would smudge them and libgit2 would re-hash them on every
# status.  Refresh the index in a later second, as any real checkout is.
if [ "$(date +%s)" = "$indexed" ]; then sleep 1; fi
git update-index -q --refresh

echo "make-repo.sh: created $(pwd) with $(git ls-files | wc -l | tr -d ' ') tracked files at $(git rev-parse --short HEAD)"
