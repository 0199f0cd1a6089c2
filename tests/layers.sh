#!/bin/sh
# layers.sh - the layers declared in tests/layers.txt hold: a folder's sources
# include headers only of the folders it may use; its object files use only
# symbols those folders define (nm of each built object: a file depends on
# another when it uses a symbol the other defines); in a folder with layer
# lines every source is listed, none uses a higher layer's symbols, and files
# of one layer use each other without a circle. Sources are read in the
# source tree, objects in $builddir (a VPATH build keeps them apart).
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd) || exit 99
builddir=${builddir:-.}
layers=$top_srcdir/tests/layers.txt
command -v nm >/dev/null || { echo "SKIP: no nm (binutils)"; exit 77; }

facts=$(mktemp "${TMPDIR:-/tmp}/swapfs-layers.XXXXXX") || exit 99
trap 'rm -f "$facts"' EXIT
trap 'exit 1' INT TERM

# facts, one a line: S source, I source header (both relative to the source
# tree), O source (an object of it was found), D source symbol (defined),
# U source symbol (used, defined elsewhere)
sources() {
	sed -n 's/^uses \([^:]*\):.*/\1/p' "$layers" | while read -r folder; do
		[ -d "$top_srcdir/$folder" ] || { echo "FAIL: tests/layers.txt: no folder $folder" >&2; return 1; }
		(cd "$top_srcdir" && find "$folder" \( -name '*.c' -o -name '*.h' \) -print) || return 1
	done
}
# the includes of $1 that name a file of the source tree, by the compiler's
# search: "x" beside the source first, then -I$(top_srcdir)
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\(["<][^">]*\)[">].*/\1/p' \
		"$top_srcdir/$1" | while read -r inc; do
		name=${inc#?}
		case $inc in
		\"*) if [ -f "$top_srcdir/${1%/*}/$name" ]; then echo "I $1 ${1%/*}/$name"; continue; fi ;;
		esac
		[ -f "$top_srcdir/$name" ] && echo "I $1 $name"
	done
}
# the symbols of $1's objects: automake names them NAME.o, or TARGET-NAME.o
# for a target with its own flags (TARGET canonical: letters, digits, _)
symbols() {
	base=${1##*/}
	base=${base%.c}
	for o in "$builddir/${1%/*}"/*.o; do
		b=${o##*/}
		b=${b%.o}
		if [ "$b" != "$base" ]; then
			p=${b%-"$base"}
			case $p in "$b" | '' | *[!A-Za-z0-9_]*) continue ;; esac
		fi
		syms=$(nm -P -g "$o") || { echo "FAIL: nm $o" >&2; return 1; }
		echo "O $1"
		printf '%s\n' "$syms" | awk -v src="$1" 'NF >= 2 {
			print ($2 ~ /^[Uvw]$/ ? "U" : "D"), src, $1 }'
	done
}

list=$(sources) || exit 1
for src in $list; do
	echo "S $src"
	includes "$src"
	case $src in *.c) symbols "$src" || exit 1 ;; esac
done >"$facts"
sort -u -o "$facts" "$facts" || exit 99
grep -q '^O ' "$facts" || { echo "FAIL: no object files under $builddir: build first"; exit 1; }

awk -v builddir="$builddir" '
function fail(msg) { print "FAIL: " msg; bad = 1 }
function folder_of(path,   f, best) {
	best = ""
	for (f in uses)
		if (index(path, f "/") == 1 && length(f) > length(best))
			best = f
	return best
}
function may_use(f, t) { return t == f || index(uses[f], " " t " ") > 0 }
function norm(path,   n, p, o, i, k, out) {
	n = split(path, p, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (p[i] == "" || p[i] == ".")
			continue
		if (p[i] == ".." && k > 0 && o[k] != "..") {
			k--
			continue
		}
		o[++k] = p[i]
	}
	out = o[1]
	for (i = 2; i <= k; i++)
		out = out "/" o[i]
	return out
}
function folder_arg(   f) {
	f = $2
	if (sub(/:$/, "", f) != 1)
		fail("tests/layers.txt:" FNR ": no colon after the folder: " $0)
	return f
}
FILENAME == ARGV[1] {
	sub(/#.*/, "")
	if (NF == 0)
		next
	if ($1 == "uses") {
		f = folder_arg()
		uses[f] = " "
		for (i = 3; i <= NF; i++)
			uses[f] = uses[f] $i " "
	} else if ($1 == "layer") {
		f = folder_arg()
		layered[f] = ++nlayers[f]
		for (i = 3; i <= NF; i++) {
			s = f "/" $i ".c"
			if (s in rank)
				fail("tests/layers.txt:" FNR ": " s " is listed twice")
			rank[s] = nlayers[f]
			listed[s] = FNR
		}
	} else if ($1 == "allow" && $4 == "->" && NF >= 6) {
		f = folder_arg()
		for (i = 6; i <= NF; i++)
			allow[f "/" $3 ".c", f "/" $5 ".c", $i] = FNR
	} else {
		fail("tests/layers.txt:" FNR ": not a uses, layer or allow line: " $0)
	}
	next
}
$1 == "S" { src[$2] = 1; next }
$1 == "O" { built[$2] = 1; next }
$1 == "I" { ninc++; inc_src[ninc] = $2; inc_hdr[ninc] = norm($3); next }
$1 == "D" { defs[$3] = defs[$3] " " $2; next }
$1 == "U" { nuse++; use_src[nuse] = $2; use_sym[nuse] = $3; next }
END {
	for (s in src) {
		f = folder_of(s)
		if (!(f in layered) || s !~ /\.c$/)
			continue
		if (!(s in rank))
			fail(s " is in no layer: add it to a \"layer " f ":\" line of tests/layers.txt")
		if (!(s in built))
			fail(s " has no object file in " builddir "/" f " (not built? not in Makefile.am?)")
	}
	for (s in rank)
		if (!(s in src))
			fail("tests/layers.txt:" listed[s] ": " s " does not exist: remove it")

	for (k = 1; k <= ninc; k++) {
		f = folder_of(inc_src[k])
		t = folder_of(inc_hdr[k])
		if (t != "" && !may_use(f, t))
			fail(inc_src[k] " includes " inc_hdr[k] ": " f " may include only from " f uses[f] "(tests/layers.txt)")
	}

	for (k = 1; k <= nuse; k++) {
		s = use_src[k]
		sym = use_sym[k]
		if (!(sym in defs))
			continue
		f = folder_of(s)
		n = split(defs[sym], d, " ")
		ok = 0
		for (j = 1; j <= n; j++)
			if (may_use(f, folder_of(d[j])))
				ok = 1
		if (!ok)
			fail(s " uses " sym " of " d[1] ": " f " may use only " f uses[f] "(tests/layers.txt)")
		if (!(f in layered) || !(s in rank))
			continue
		for (j = 1; j <= n; j++) {
			t = d[j]
			if (t == s || !(t in rank) || rank[t] < rank[s])
				continue
			if ((s, t, sym) in allow) {
				needed[s, t, sym] = 1
			} else if (rank[t] > rank[s]) {
				fail(s " uses " sym " of " t ", a higher layer (tests/layers.txt)")
			} else {
				if (!((s, t) in edge))
					nedges++
				edge[s, t] = edge[s, t] " " sym
			}
		}
	}

	# a circle among files of one layer: strip the files that no edge
	# left enters or leaves; the edges left run around a circle
	do {
		for (v in rank) {
			indeg[v] = 0
			outdeg[v] = 0
		}
		for (e in edge) {
			split(e, p, SUBSEP)
			outdeg[p[1]]++
			indeg[p[2]]++
		}
		stripped = 0
		for (e in edge) {
			split(e, p, SUBSEP)
			if (indeg[p[1]] == 0 || outdeg[p[2]] == 0)
				strip[++stripped] = e
		}
		for (i = 1; i <= stripped; i++)
			delete edge[strip[i]]
	} while (stripped)
	for (e in edge) {
		split(e, p, SUBSEP)
		fail("circle among files of one layer: " p[1] " uses" edge[e] " of " p[2] " (tests/layers.txt)")
	}

	for (a in allow)
		if (!(a in needed)) {
			split(a, p, SUBSEP)
			fail("tests/layers.txt:" allow[a] ": " p[1] " -> " p[2] " " p[3] " is allowed but not needed: remove it")
		}
	nsrc = 0
	for (s in src)
		nsrc++
	if (!bad)
		printf "layers: %d sources, %d includes, %d symbol uses checked; %d edges within a layer\n", nsrc, ninc, nuse, nedges
	exit bad
}' "$layers" "$facts"
